//! Shared by the integration tests: root detection, running a binary, leak checks.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Root tests run as root. Without root they skip loudly — except in CI (`CI=true`), where a
/// skip would hide that they never ran, so it is a failure.
pub fn have_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{test}: needs root, and CI=true forbids skipping it");
    eprintln!("SKIPPED {test}: needs root (run the suite with scripts/test, which uses sudo)");
    false
}

/// A command for one of the workshop's binaries, with colours off so output is plain text.
pub fn bin(path: &str) -> Command {
    let mut c = Command::new(path);
    c.env("NO_COLOR", "1").env_remove("MINIDOCKER_ROOT");
    c
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("running the binary");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Every path a run reported under "created: …" — used to check it was removed again.
pub fn created_paths(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.trim().strip_prefix("created: ").map(str::to_owned)).collect()
}

pub fn assert_all_gone(paths: &[String]) {
    assert!(!paths.is_empty(), "the run reported nothing it created");
    for p in paths {
        assert!(!std::path::Path::new(p).exists(), "{p} was left behind");
    }
}
