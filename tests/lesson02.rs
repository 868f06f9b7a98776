//! Lesson 02 as a user runs it: limits that hold, measured from outside; no cgroup left.

mod common;
use common::{assert_all_gone, bin, created_paths, have_root, run};
use std::time::{Duration, Instant};

/// The lesson's binary, found through the library's list of lessons.
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("02"));

/// Run a command and return (exit code, stdout, CPU time its whole process tree used), the
/// CPU time measured by the kernel for us as the parent (wait4's rusage), not by the lesson.
// The child is reaped by wait4 below, which std's wait() cannot replace: it has no rusage.
#[allow(clippy::zombie_processes)]
fn run_with_rusage(args: &[&str]) -> (i32, String, Duration) {
    use std::os::unix::process::ExitStatusExt;
    let child = bin(&BIN).args(args).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id() as i32;
    let mut stdout = child.stdout.unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    // SAFETY: rusage is plain data, all zeros is a valid value.
    let (mut status, mut ru) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: wait4 on our own child, writing into the status and rusage we own.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut ru) }, pid);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = std::process::ExitStatus::from_raw(status).code().unwrap_or(-1);
    (code, out, tv(ru.ru_utime) + tv(ru.ru_stime))
}

#[test]
fn cpu_quota_holds_a_burner() {
    if !have_root("cpu_quota_holds_a_burner") {
        return;
    }
    let (code, out, cpu) = run_with_rusage(&[
        "--cpus",
        "0.25",
        "--",
        "timeout",
        "4",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    assert_eq!(code, 124, "timeout should have ended the burner:\n{out}");
    assert!(
        cpu <= Duration::from_millis(1300),
        "used {cpu:?} of CPU in 4 s under --cpus 0.25\n{out}"
    );
    assert!(
        cpu >= Duration::from_millis(500),
        "the burner barely ran ({cpu:?}): is the test measuring it?\n{out}"
    );
    assert_all_gone(&created_paths(&out));
}

#[test]
fn memory_limit_ends_in_an_oom_kill() {
    if !have_root("memory_limit_ends_in_an_oom_kill") {
        return;
    }
    // The lesson binary's own memory hog: allocate and touch 200 MiB.
    let (code, out, _) =
        run_with_rusage(&["--memory", "32m", "--", BIN.as_str(), "__workload", "hog", "209715200"]);
    assert_eq!(code, 137, "the hog should die of SIGKILL:\n{out}");
    assert!(out.contains("command: killed by SIGKILL"), "{out}");
    assert!(out.contains("oom kills: 1"), "{out}");
    assert!(!out.contains("hog: all 200 MiB allocated"), "{out}");
    assert_all_gone(&created_paths(&out));
}

#[test]
fn default_demo_shows_all_three_limits() {
    if !have_root("default_demo_shows_all_three_limits") {
        return;
    }
    let (code, out, err) = run(&mut bin(&BIN));
    assert_eq!(code, 0, "{out}{err}");
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("  {key}")))
            .unwrap_or_else(|| panic!("no {key}:\n{out}"))
            .to_owned()
    };
    // "cpu used: 0.75 s in 3.00 s = 25.1 % of one CPU (quota 25 %)"
    let pct: f64 =
        line("cpu used:").split(" = ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((15.0..=32.0).contains(&pct), "CPU held at {pct} % under a 25 % quota");
    assert!(line("hog:").contains("killed by SIGKILL"));
    assert_eq!(line("oom kills:"), "  oom kills: 1");
    let refused: u64 = line("forks refused").rsplit(' ').next().unwrap().parse().unwrap();
    assert!(refused > 100, "only {refused} of 200 forks refused under --pids-limit 20");
    assert_all_gone(&created_paths(&out));
}

#[test]
fn solution_passes_and_untouched_exercise_fails_its_check() {
    if !have_root("02 check") {
        return;
    }
    let (code, out, err) = run(bin(&BIN).args(["--check", "--solution"]));
    assert_eq!(code, 0, "the reference answer fails its check:\n{out}{err}");
    let (code, out, _) = run(bin(&BIN).arg("--check"));
    assert_eq!(code, 1, "the untouched exercise passes its check:\n{out}");
    // What the kernel shows without the limits: the burner not held, the hog not killed.
    assert!(out.contains("FAIL the kernel holds it near 25 %"), "{out}");
    assert!(out.contains("FAIL the OOM killer kills it inside the group"), "{out}");
}

#[test]
fn mine_runs_the_students_code() {
    if !have_root("mine_runs_the_students_code") {
        return;
    }
    // The untouched exercise writes no memory limit, so nothing stops the hog.
    let hog = [BIN.as_str(), "__workload", "hog", "209715200"];
    let (code, out, _) = run(bin(&BIN).args(["--mine", "--memory", "32m", "--"]).args(hog));
    assert_eq!(code, 0, "{out}");
    let mine = minidocker::lessons::find("02").unwrap().exercise();
    assert!(out.contains(&format!("your code in {mine}")), "{out}");
    assert!(out.contains("hog: all 200 MiB allocated"), "{out}");
    let (code, out, _) = run(bin(&BIN).args(["--memory", "32m", "--"]).args(hog));
    assert_eq!(code, 137, "the reference answer's limit kills the hog:\n{out}");
}

#[test]
fn ctrl_c_removes_the_cgroup_and_its_processes() {
    if !have_root("ctrl_c_removes_the_cgroup_and_its_processes") {
        return;
    }
    let mut child = bin(&BIN)
        .args(["--pids-limit", "50", "--", "sh", "-c", "sleep 30 & sleep 30"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let layout = minidocker::cgroups::Layout::detect().unwrap();
    let pids_root = &layout.locate(minidocker::cgroups::Controller::Pids).unwrap().mountpoint;
    let dir = pids_root.join(format!("minidocker/lesson02-{pid}")).display().to_string();
    let procs = |d: &str| std::fs::read_to_string(format!("{d}/cgroup.procs")).unwrap_or_default();
    let start = Instant::now();
    // Wait until the shell and both sleeps are in the group.
    while procs(&dir).lines().count() < 3 {
        assert!(start.elapsed() < Duration::from_secs(10), "the command never started in {dir}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let inside: Vec<i32> = procs(&dir).lines().map(|l| l.parse().unwrap()).collect();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!std::path::Path::new(&dir).exists(), "{dir} left behind after Ctrl-C");
    // Killed processes whose parent died too are reaped by the host's init a moment later;
    // until then they are zombies, which hold no resources.
    let alive = |p: i32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| !r.starts_with('Z')))
    };
    for p in inside {
        assert!(!alive(p), "process {p} outlived the lesson");
    }
}

/// A bad value is a usage error (exit 2, no root needed), its first line says what is wrong.
#[test]
fn bad_values_are_one_clear_line() {
    for (args, want) in [
        (&["--memory", "lots"][..], "invalid size \"lots\""),
        (&["--cpus", "0"][..], "invalid --cpus \"0\""),
        (&["--pids-limit", "-3"][..], "invalid --pids-limit \"-3\""),
    ] {
        let (code, _, err) = run(bin(&BIN).args(args));
        assert_eq!(code, 2, "{err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid value") && first.contains(want),
            "{args:?}: {err}"
        );
    }
}
