//! Lesson 01 as a user runs it: the binary, its output, its exit code, nothing left behind.

mod common;
use common::{bin, have_root, run};
use std::time::{Duration, Instant};

/// The lesson's binary, found through the library's list of lessons.
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("01"));

#[test]
fn hostname_and_pid_1_inside() {
    if !have_root("hostname_and_pid_1_inside") {
        return;
    }
    let (code, out, err) =
        run(bin(&BIN).args(["--hostname", "box1", "--", "/bin/sh", "-c", "hostname; echo $$"]));
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let at =
        lines.iter().position(|l| *l == "box1").unwrap_or_else(|| panic!("no 'box1' line:\n{out}"));
    assert_eq!(lines[at + 1], "1", "the command is not PID 1:\n{out}");
    // The table marks the six namespaces the child got as NEW, and the user namespace shared.
    for ns in ["uts", "pid", "mnt", "ipc", "net", "cgroup"] {
        let row = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(ns) && l.contains(":["))
            .unwrap();
        assert!(row.ends_with("NEW"), "{ns} not marked new: {row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_ne!(cols[1], cols[2], "{row}");
    }
    let user = lines.iter().find(|l| l.starts_with("  user ") && l.contains(":[")).unwrap();
    assert!(user.ends_with("shared"), "{user}");
    // The host's hostname is untouched.
    assert!(!out.contains("hostname: box1"), "{out}");
}

#[test]
fn default_demo_sees_only_itself() {
    if !have_root("default_demo_sees_only_itself") {
        return;
    }
    let (code, out, err) = run(&mut bin(&BIN));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("inside: hostname is box1, my PID is 1"), "{out}");
    assert!(out.contains("inside: processes in /proc: 1\n"), "{out}");
    assert!(out.contains("inside: network interfaces: lo\n"), "{out}");
}

#[test]
fn exit_code_of_the_command_is_passed_on() {
    if !have_root("exit_code_of_the_command_is_passed_on") {
        return;
    }
    let (code, out, _) = run(bin(&BIN).args(["--", "/bin/sh", "-c", "exit 7"]));
    assert_eq!(code, 7, "{out}");
    let (code, _, err) = run(bin(&BIN).args(["--", "/no/such/program"]));
    assert_eq!(code, 127);
    assert!(err.contains("cannot run \"/no/such/program\""), "{err}");
}

#[test]
fn explain_prints_the_syscalls() {
    if !have_root("explain_prints_the_syscalls") {
        return;
    }
    let (code, out, _) = run(bin(&BIN).args(["--explain", "--", "true"]));
    assert_eq!(code, 0);
    assert!(out.contains("syscall clone(") && out.contains("CLONE_NEWPID"), "{out}");
    assert!(out.contains("syscall sethostname(\"box1\") = 0"), "{out}");
    assert!(out.contains("syscall mount(\"proc\", \"/proc\", \"proc\""), "{out}");
    let (_, quiet, _) = run(bin(&BIN).args(["--", "true"]));
    assert!(!quiet.contains("syscall"), "{quiet}");
}

#[test]
fn solution_passes_and_untouched_exercise_fails_its_check() {
    if !have_root("solution_passes_and_untouched_exercise_fails_its_check") {
        return;
    }
    let (code, out, err) = run(bin(&BIN).args(["--check", "--solution"]));
    assert_eq!(code, 0, "the reference answer fails its check:\n{out}{err}");
    assert!(out.contains("CHECK OK"), "{out}");
    let (code, out, _) = run(bin(&BIN).arg("--check"));
    assert_eq!(code, 1, "the untouched exercise passes its check:\n{out}");
    assert!(out.contains("FAIL the child has its own net namespace"), "{out}");
    assert!(out.contains("FAIL its /proc lists only its own processes"), "{out}");
}

#[test]
fn ctrl_c_kills_the_child_and_leaves_nothing() {
    if !have_root("ctrl_c_kills_the_child_and_leaves_nothing") {
        return;
    }
    let marker = format!("minidocker-test01-{}", std::process::id());
    let mut child = bin(&BIN)
        .args([
            "--",
            "/bin/sh",
            "-c",
            &format!("sh -c 'sleep 30; : {marker}' & sleep 30; : {marker}"),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let count = |m: &str| {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(m))
            })
            .count()
    };
    let start = Instant::now();
    // Both shells carry the marker: the outer one is PID 1 of the new PID namespace.
    while count(&marker) < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C should end the lesson with 128+SIGINT");
    assert_eq!(count(&marker), 0, "the command outlived the lesson");
}

/// A usage error is clap's: what is wrong first, the usage, a pointer to --help; exit 2 — and
/// no root needed to be told.
#[test]
fn bad_flag_is_a_usage_error_and_exit_2() {
    let (code, _, err) = run(bin(&BIN).arg("--no-such-flag"));
    assert_eq!(code, 2);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: unexpected argument '--no-such-flag'"), "{err}");
    let usage = format!("Usage: {}", minidocker::lessons::find("01").unwrap().name);
    assert!(err.contains(&usage) && err.contains("--help"), "{err}");
}

#[test]
fn help_names_the_article_section() {
    let out = std::process::Command::new(BIN.as_str()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("Mirrors: Linux Namespaces"), "{text}");
    assert!(
        text.contains("--hostname <NAME>") && text.contains("--explain") && text.contains("--step"),
        "{text}"
    );
}

#[test]
fn without_root_it_says_why_in_one_line() {
    if !have_root("without_root_it_says_why_in_one_line") {
        return;
    }
    // Drop to nobody for this one run.
    let (code, _, err) = run(std::process::Command::new("setpriv").args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        BIN.as_str(),
    ]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs root") && err.contains("sudo"), "{err}");
}
