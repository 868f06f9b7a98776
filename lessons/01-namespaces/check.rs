//! The automatic check of exercise 01: `01-namespaces --check`.
//!
//! It runs the exercise's namespaces and setup on a tiny shell script and looks at the
//! result from the host and from inside — never at the code itself.

use minidocker::lesson::Lab;
use minidocker::namespaces::{self, Rules};
use minidocker::{report, sys};
use nix::mount::MntFlags;
use std::path::{Path, PathBuf};

/// What the script inside writes: its hostname, PID, the PIDs it sees and the interfaces.
const PROBE: &str = r#"exec > "$1"
read h < /proc/sys/kernel/hostname; echo "hostname $h"
echo "pid $$"
printf 'procs'; for p in /proc/[0-9]*; do printf ' %s' "${p#/proc/}"; done; echo
printf 'ifaces'; while read -r l; do case $l in *:*) printf ' %s' "${l%%:*}";; esac; done < /proc/net/dev; echo"#;

/// Removes the probe's output file however the check ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn proc_mounts() -> usize {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines().filter(|l| l.split(' ').nth(4) == Some("/proc")).count()
}

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let out = TempFile(
        std::env::temp_dir().join(format!("minidocker-check01-{}.out", std::process::id())),
    );
    let host_name = sys::hostname();
    let host_proc_mounts = proc_mounts();

    lab.step("Run the probe in the exercise's namespaces")?;
    let argv = ["/bin/sh", "-c", PROBE, "probe", &out.0.display().to_string()].map(String::from);
    let setup = || (rules.setup_inside)("check01");
    let (child, gate) = namespaces::spawn(&(rules.child_namespaces)(), &setup, &argv)?;
    let host = namespaces::links("self")?;
    let inside = namespaces::links(&child.pid().to_string())?;
    gate.open()?;
    let exit = child.wait()?;
    let text = std::fs::read_to_string(&out.0).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };

    lab.step("What the host sees")?;
    for ns in ["uts", "pid", "mnt", "ipc", "net", "cgroup"] {
        let target = |links: &[namespaces::NsLink]| {
            links.iter().find(|l| l.file == ns).map(|l| l.target.clone())
        };
        let (h, c) = (target(&host), target(&inside));
        lab.expect(
            h.is_some() && h != c,
            format!(
                "the child has its own {ns} namespace ({} vs {})",
                h.unwrap_or_default(),
                c.unwrap_or_default()
            ),
        );
    }
    // A mount made without private propagation shows up in the host's mount table.
    let leaked = proc_mounts().saturating_sub(host_proc_mounts);
    lab.expect(leaked == 0, "the child's /proc mount stayed out of the host's mount table");
    for _ in 0..leaked {
        sys::umount2(Path::new("/proc"), MntFlags::MNT_DETACH)?;
        report::cleanup("unmounted the /proc mount that leaked into the host");
    }
    lab.expect(sys::hostname() == host_name, format!("the host's hostname is still {host_name}"));

    lab.step("What the child saw")?;
    lab.expect(exit.success(), format!("the probe ran ({exit})"));
    lab.expect(
        field("hostname") == "check01",
        format!("hostname inside is check01 (got {:?})", field("hostname")),
    );
    lab.expect(
        field("pid") == "1",
        format!("the command is PID 1 inside (got {:?})", field("pid")),
    );
    lab.expect(
        field("procs") == "1",
        format!("its /proc lists only its own processes (got {:?})", field("procs")),
    );
    // A new network namespace has `lo` — and, where tunnel modules are loaded, their fallback
    // devices (sit0, tunl0, …), which are no more the host's than `lo` is.
    let ifaces = field("ifaces");
    lab.expect(
        namespaces::only_fresh_devices(&ifaces.split_whitespace().collect::<Vec<_>>()),
        format!(
            "its network interfaces are a new namespace's: lo, and at most the kernel's fallback \
             tunnels such as sit0 (got {ifaces:?})"
        ),
    );
    Ok(lab.check_outcome())
}
