//! The automatic check of exercise 09: `09-oci-runtime --check`.
//!
//! It makes a bundle of busybox whose command leaves a file in its root (`/started`) and then
//! sleeps, and drives this library's runtime, with the exercise's rules, through create,
//! start, a second start and delete. After each it asks the kernel, not the runtime: is the
//! init alive, what is its /proc/PID/cmdline, is `/started` there, is anything left (the
//! process, the state directory, the cgroup)?

use super::{Bundle, Oci, Ours};
use minidocker::lesson::Lab;
use minidocker::oci::{Rules, Runtime};
use minidocker::report;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const COMMAND: &str = "touch /started; exec sleep 30";

pub fn run(lab: &mut Lab, rules: Rules, image_ref: &str) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let tag = std::process::id();
    let id = format!("check09-{tag}");

    lab.step("create: the init is there, waiting; the command has not run")?;
    let bundle = Bundle::new(image_ref, &format!("check09-{tag}"), &["sh", "-c", COMMAND])?;
    let started = bundle.rootfs().join("started");
    let ours = Ours::new(&format!("check09-ours-{tag}"), rules);
    let created = ours.create(&bundle, &id);
    lab.expect(created.is_ok(), format!("create returns: {}", said(&created)));
    created?;
    // Time for a wrong answer to show itself: an init that does not wait runs the command now.
    std::thread::sleep(Duration::from_millis(500));
    let saved = ours.rt.load(&id)?;
    let pid = saved.pid;
    let cmdline = super::cmdline(pid);
    let alive = Path::new(&format!("/proc/{pid}")).exists() && !cmdline.starts_with('(');
    lab.expect(alive, format!("after create the init, PID {pid}, is alive ({cmdline})"));
    lab.expect(
        !cmdline.starts_with("sleep") && !started.exists(),
        format!(
            "after create the command has not run: /proc/{pid}/cmdline is {cmdline:?}, /started \
             is {}",
            if started.exists() { "there" } else { "not there" }
        ),
    );
    let status = ours.state(&id)?["status"].clone();
    lab.expect(status == "created", format!("state says {status} (want \"created\")"));

    lab.step("start: the init goes on to the command")?;
    let first = start_within(&ours.rt, &id, Duration::from_secs(15));
    lab.expect(first.is_ok(), format!("start returns: {}", said(&first)));
    let deadline = Instant::now() + Duration::from_secs(3);
    while !(started.exists() && super::cmdline(pid) == "sleep 30") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let now = super::cmdline(pid);
    lab.expect(
        started.exists() && now == "sleep 30",
        format!(
            "after start the command ran: /started is {}, /proc/{pid}/cmdline is {now:?}",
            if started.exists() { "there" } else { "not there" }
        ),
    );
    let status = ours.state(&id)?["status"].clone();
    lab.expect(status == "running", format!("state says {status} (want \"running\")"));
    let second = start_within(&ours.rt, &id, Duration::from_secs(15));
    lab.expect(
        second.is_err(),
        format!(
            "a second start fails: {}",
            second.err().unwrap_or_else(|| "it returned Ok".into())
        ),
    );

    lab.step("delete: nothing is left")?;
    let deleted = ours.delete(&id);
    lab.expect(deleted.is_ok(), format!("delete returns: {}", said(&deleted)));
    let gone = !Path::new(&format!("/proc/{pid}")).exists();
    lab.expect(gone, format!("after delete PID {pid} is gone (killed and reaped)"));
    let dir = ours.root().join(&id);
    lab.expect(!dir.exists(), format!("after delete {} is gone", dir.display()));
    let layout = minidocker::cgroups::Layout::detect()?;
    let cgroups: Vec<String> = layout
        .mountpoints()
        .map(|m| m.join(saved.cgroup.trim_start_matches('/')))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    lab.expect(cgroups.is_empty(), format!("after delete its cgroup is gone: {cgroups:?}"));
    drop((ours, bundle));
    Ok(lab.check_outcome())
}

/// `ok`, or the error in one line.
fn said<E: std::fmt::Display>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{e:#}"),
    }
}

/// `start`, on a thread of its own: an answer that blocks for ever fails here instead of
/// hanging the check.
fn start_within(rt: &Runtime, id: &str, limit: Duration) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let rt = Runtime { root: rt.root.clone(), rules: rt.rules };
    let id = id.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(rt.start(&id).map_err(|e| format!("{e:#}")));
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| Err(format!("start did not return within {} s", limit.as_secs())))
}
