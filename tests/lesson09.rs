//! Lesson 09 end to end: the same bundle through runc and through ours, create/start split
//! and all, a private dockerd with our runtime when Docker is installed, and nothing left;
//! the check passes with the reference answer and fails with the untouched starter.
//!
//! Debian packages: runc (scripts/common.sh's SETUP_PACKAGES); docker.io for the Docker part.

mod common;

use common::{have_root, run, TestRoot};

/// The lesson's binary, found through the library's list of lessons.
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("09"));

/// What the lesson (`lesson09-`) or its check (`check09-`) leaves in the temporary directory.
fn leftovers(kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(kind))
        .collect();
    names.sort();
    names
}

#[test]
fn both_runtimes_hold_the_command_until_start_and_leave_nothing() {
    if !have_root("both_runtimes_hold_the_command_until_start_and_leave_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("l09-demo");
    let before = leftovers("lesson09-");
    let mut cmd = root.cmd(&BIN);
    if !common::dockerd::available("lesson09 (its Docker part)") {
        cmd.arg("--no-docker");
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    // Per runtime: created with an init that is not the command, running after start.
    let created: Vec<&str> = out.lines().filter(|l| l.contains("status \"created\"")).collect();
    assert_eq!(created.len(), 2, "runc and ours each say created once:\n{out}");
    let running: Vec<&str> = out.lines().filter(|l| l.contains("status \"running\"")).collect();
    assert_eq!(running.len(), 2, "{out}");
    let cmdlines: Vec<&str> = out.lines().filter(|l| l.contains("/cmdline:")).collect();
    assert_eq!(cmdlines.len(), 4, "{out}");
    for pair in cmdlines.chunks(2) {
        assert!(!pair[0].ends_with("sleep 1"), "the init ran the command at create: {pair:?}");
        assert!(pair[1].ends_with("sleep 1"), "start did not run the command: {pair:?}");
    }
    assert!(out.contains("exec.fifo: a FIFO"), "{out}");
    if !out.contains("--no-docker") && !out.contains("Docker is not installed") {
        assert!(out.contains("hello from docker run --runtime mini"), "{out}");
        assert!(
            out.lines().any(|l| l.contains("minidocker-runc") && l.contains(" create ")),
            "{out}"
        );
        assert!(
            out.lines().any(|l| l.contains("minidocker-runc") && l.contains(" start ")),
            "{out}"
        );
        assert!(out.contains("hooks.prestart"), "{out}");
    }
    assert_eq!(leftovers("lesson09-"), before, "the lesson left files in the temporary directory");
    let cgroups = std::process::Command::new("sh")
        .args(["-c", "find /sys/fs/cgroup -maxdepth 3 -name '*lesson09*'"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cgroups.stdout), "", "cgroups left");
}

#[test]
fn the_check_passes_with_the_answer_and_fails_with_the_starter() {
    if !have_root("the_check_passes_with_the_answer_and_fails_with_the_starter") {
        return;
    }
    let root = TestRoot::with_busybox("l09-check");
    let before = leftovers("check09-");
    let (code, out, err) = run(root.cmd(&BIN).args(["--check", "--solution"]));
    assert_eq!(code, 0, "the reference answer fails its check:\n{out}{err}");
    let (code, out, err) = run(root.cmd(&BIN).arg("--check"));
    assert_eq!(code, 1, "the starter passes its check:\n{out}{err}");
    assert!(out.contains("FAIL after create the command has not run"), "{out}");
    assert!(out.contains("PASS after delete its cgroup is gone"), "{out}");
    assert_eq!(leftovers("check09-"), before, "the check left files in the temporary directory");
}
