//! The automatic check of exercise 06: `06-exec-setns --check`.
//!
//! It needs no image: it makes its own targets — a process in namespaces of its own, and one
//! made by an unprivileged user with a user namespace of its own — enters them with the
//! exercise's `join` and `join_order`, and asks the kernel, never the code, whether the
//! command got in: its `/proc/PID/ns` links against the target's, its PID in there, what it
//! sees from inside.

use minidocker::exec::{self, Rules, Spec};
use minidocker::lesson::{CheckDir, Lab};
use minidocker::namespaces::{self, Namespace};
use minidocker::process::{Running, DEFAULT_PATH};
use minidocker::{report, sys};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::unistd::{ForkResult, Gid, Uid};
use std::fs;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

const HOSTNAME: &str = "check06";
const USERNS_HOSTNAME: &str = "check06-userns";
const MARKER: &str = "only in the target's mount namespace";

/// What the command run in the target writes: its PID, the hostname, the name of PID 1, the
/// PIDs in /proc, and a file that exists only in the target's mount namespace.
const PROBE: &str = r#"exec > "$1"
echo "pid $$"
read h < /proc/sys/kernel/hostname; echo "hostname $h"
read c < /proc/1/comm; echo "init $c"
printf 'procs'; for p in /proc/[0-9]*; do printf ' %s' "${p#/proc/}"; done; echo
echo "marker $(cat "$2" 2>/dev/null)""#;

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let base = CheckDir::new("check06");
    let private = base.0.join("private");
    fs::create_dir_all(&private)?;

    lab.step("A target: a process in uts, pid, mnt, ipc and net namespaces of its own")?;
    let target = spawn_target(&private)?;
    let t = target.pid().as_raw();
    report::evidence("target", &format!("PID {t} on the host: `sleep 1000`, PID 1 in its PID namespace, hostname {HOSTNAME}, its own /proc, a tmpfs at {}", private.display()));

    lab.step("Enter it through the library's exec, with your join and join_order")?;
    let plan = exec::plan(t, rules)?;
    report::evidence(
        "join_order",
        &plan.namespaces.iter().map(|n| n.file()).collect::<Vec<_>>().join(", "),
    );
    let out = base.0.join("probe.out");
    let argv = ["/bin/sh", "-c", PROBE, "probe"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string(), private.join("marker").display().to_string()])
        .collect();
    let spec = Spec { argv, env: vec![format!("PATH={DEFAULT_PATH}")], ..Spec::default() };
    match exec::start(t, &spec, rules) {
        Err(e) => lab.expect(false, format!("the command starts in the target ({e:#})")),
        Ok(started) => {
            lab.expect(true, "the command starts in the target");
            let g = started.command_pid().as_raw();
            for ns in
                [Namespace::Uts, Namespace::Pid, Namespace::Mount, Namespace::Ipc, Namespace::Net]
            {
                let (ours, theirs) = (link(g, ns), link(t, ns));
                lab.expect(
                    ours == theirs,
                    format!("the command's {} is the target's ({ours} vs {theirs})", ns.file()),
                );
            }
            let inside = super::nspid(g).unwrap_or(0);
            let in_pid_ns = link(g, Namespace::Pid) == link(t, Namespace::Pid);
            lab.expect(in_pid_ns && inside > 1, format!("in the target's PID namespace, the command has a PID of its own, more than 1 (host PID {g}, PID {inside} in {})", link(g, Namespace::Pid)));
            let exit = started.run();
            lab.expect(
                exit.as_ref().is_ok_and(|e| e.success()),
                format!(
                    "the command ran and exited 0 ({})",
                    exit.as_ref().map_or_else(|e| format!("{e:#}"), |e| e.to_string())
                ),
            );
            let text = fs::read_to_string(&out).unwrap_or_default();
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            let pid = field("pid ");
            lab.expect(
                pid == inside.to_string(),
                format!("inside, the command sees itself as PID {inside} (it says {pid:?})"),
            );
            let procs = field("procs");
            lab.expect(
                procs.split(' ').any(|p| p == pid),
                format!(
                    "its PID is in the target's /proc, which ps reads there (/proc has {procs:?})"
                ),
            );
            lab.expect(
                field("init ") == "sleep",
                format!("PID 1 in there is the target's sleep (it is {:?})", field("init ")),
            );
            lab.expect(
                field("hostname ") == HOSTNAME,
                format!("the hostname in there is {HOSTNAME:?} (it is {:?})", field("hostname ")),
            );
            lab.expect(
                field("marker ") == MARKER,
                "the file on the target's private tmpfs is there",
            );
        }
    }

    lab.step("join names the kind: a net namespace file offered as uts is refused")?;
    let wrong =
        in_child(&|| match (rules.join)(&exec::ns_path(t, Namespace::Net), Namespace::Uts) {
            Ok(()) => Err("join accepted it".to_string()),
            Err(e) => Ok(format!("{e:#}")),
        })?;
    lab.expect(
        wrong.is_ok(),
        format!("join(/proc/{t}/ns/net, Uts) fails ({})", wrong.unwrap_or_else(|e| e)),
    );
    drop(target);

    lab.step("A target with a user namespace of its own, made by `nobody`, entered by `nobody`")?;
    let (owner, made) = spawn_userns_target()?;
    match made {
        Err(why) => {
            report::note(&format!("this host does not let an unprivileged process make a user namespace ({why}); checking the order on paper instead"));
            let order = (rules.join_order)(&Namespace::ALL);
            lab.expect(
                order.first() == Some(&Namespace::User),
                format!("join_order puts the user namespace first ({order:?})"),
            );
        }
        Ok(()) => {
            let u = owner.pid().as_raw();
            let order = (rules.join_order)(&exec::differing(u)?);
            report::evidence(
                "join_order",
                &order.iter().map(|n| n.file()).collect::<Vec<_>>().join(", "),
            );
            let joined = in_child(&|| {
                become_nobody().map_err(|e| format!("{e:#}"))?;
                for &ns in &order {
                    (rules.join)(&exec::ns_path(u, ns), ns).map_err(|e| format!("{e:#}"))?;
                }
                let link = |f: &str| exec::ns_link("self", f).unwrap_or_default();
                Ok(format!("{} {} {}", sys::hostname(), link("user"), link("uts")))
            })?;
            lab.expect(
                joined.is_ok(),
                format!(
                    "a process that is not root on the host joins them all ({})",
                    joined.as_ref().map_or_else(|e| e.clone(), |_| "joined".into())
                ),
            );
            if let Ok(seen) = joined {
                let want = format!(
                    "{USERNS_HOSTNAME} {} {}",
                    link(u, Namespace::User),
                    link(u, Namespace::Uts)
                );
                lab.expect(seen == want, format!("it is in the target's user and uts namespaces and sees its hostname ({seen})"));
            }
        }
    }
    Ok(lab.check_outcome())
}

fn link(pid: i32, ns: Namespace) -> String {
    exec::ns_link(&pid.to_string(), ns.file()).unwrap_or_else(|_| "?".into())
}

/// `sleep 1000` as PID 1 of new uts, pid, mnt, ipc and net namespaces, with its own /proc, a
/// hostname, and a file on a tmpfs only its mount namespace has.
fn spawn_target(private: &Path) -> minidocker::Result<Running> {
    let setup = || -> minidocker::Result<()> {
        sys::mount(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)?;
        sys::mount(
            Some("proc"),
            Path::new("/proc"),
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        )?;
        sys::mount(Some("tmpfs"), private, Some("tmpfs"), MsFlags::empty(), Some("size=64k"))?;
        fs::write(private.join("marker"), MARKER)?;
        sys::sethostname(HOSTNAME)
    };
    let set = [Namespace::Uts, Namespace::Pid, Namespace::Mount, Namespace::Ipc, Namespace::Net];
    let (child, gate) =
        namespaces::spawn(&set, &setup, &["sleep".to_string(), "1000".to_string()])?;
    gate.open()?;
    // Ready once it executes sleep: its setup is done.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fs::read_to_string(format!("/proc/{}/comm", child.pid())).unwrap_or_default().trim()
        != "sleep"
    {
        anyhow::ensure!(Instant::now() < deadline, "the check's target did not start");
        minidocker::interrupt::check()?;
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child)
}

/// Drop root: no groups, then gid and uid 65534 (`nobody`). Capabilities go with uid 0.
fn become_nobody() -> minidocker::Result<()> {
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(Gid::from_raw(65534))?;
    nix::unistd::setuid(Uid::from_raw(65534))?;
    Ok(())
}

/// A process of `nobody` that made a user namespace and, owned by it, uts, ipc, net and mount
/// namespaces, and set a hostname there. `Err` when the host refuses.
fn spawn_userns_target() -> minidocker::Result<(Running, Result<(), String>)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    std::io::Write::flush(&mut std::io::stdout())?;
    // SAFETY: the check is single-threaded; the child ends in _exit or pauses until killed.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Child => {
            drop(r);
            let made = (|| -> minidocker::Result<()> {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                become_nobody()?;
                // Changing uid made it undumpable: then only root could open its /proc/PID/ns.
                nix::sys::prctl::set_dumpable(true)?;
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                let flags = CloneFlags::CLONE_NEWUSER
                    | CloneFlags::CLONE_NEWUTS
                    | CloneFlags::CLONE_NEWIPC
                    | CloneFlags::CLONE_NEWNET
                    | CloneFlags::CLONE_NEWNS;
                sys::unshare(flags)?;
                sys::sethostname(USERNS_HOSTNAME)
            })();
            tell(&w, &made.as_ref().map_or_else(|e| format!("{e:#}"), |_| "ok".into()));
            drop(w);
            if made.is_ok() {
                loop {
                    nix::unistd::pause();
                }
            }
            // SAFETY: ending the child without the check's exit handlers.
            unsafe { libc::_exit(1) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let guard = Running::new(child);
            let msg = read_all(&r)?;
            Ok((guard, if msg == "ok" { Ok(()) } else { Err(msg) }))
        }
    }
}

/// Run `f` in a forked child — it may join namespaces, change its user: none of it touches
/// the check — and bring back its answer.
fn in_child(f: &dyn Fn() -> Result<String, String>) -> minidocker::Result<Result<String, String>> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    std::io::Write::flush(&mut std::io::stdout())?;
    // SAFETY: the check is single-threaded; the child ends in _exit.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Child => {
            drop(r);
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            let answer = match f() {
                Ok(s) => format!("ok {s}"),
                Err(e) => format!("error {e}"),
            };
            tell(&w, &answer);
            // SAFETY: ending the child without the check's exit handlers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let guard = Running::new(child);
            let msg = read_all(&r)?;
            guard.wait()?;
            Ok(match msg.split_once(' ') {
                Some(("ok", s)) => Ok(s.to_string()),
                Some((_, e)) => Err(e.to_string()),
                None => Err("the child died without an answer".into()),
            })
        }
    }
}

fn tell(fd: &OwnedFd, text: &str) {
    let _ = nix::unistd::write(fd, text.as_bytes());
}

fn read_all(fd: &OwnedFd) -> minidocker::Result<String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => minidocker::interrupt::check()?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(String::from_utf8_lossy(&text).trim().to_string())
}
