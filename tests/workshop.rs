//! `workshop`: progress remembered between runs, hints in stages, reset after a confirmation,
//! watch re-checking on a save, next.
//!
//! Most tests run `workshop` on a copy of the lessons' files in a temporary folder
//! (`WORKSHOP_DIR`), never on the real `lessons/`, with a stand-in for cargo (`CARGO`) whose
//! check passes when the exercise contains `PASSME` — the workshop's own behaviour is what they
//! test. One test runs the real check of the real, untouched starter.

mod common;

use common::run;
use minidocker::lessons::{self, LESSONS};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORKSHOP: &str = env!("CARGO_BIN_EXE_workshop");

/// Stands in for `cargo run --quiet --bin NAME -- --check` in the workshop's folder.
const FAKE_CARGO: &str = r#"#!/bin/sh
echo "$@" >> cargo-calls
[ "$1" = build ] && exit 0
name=$4
if grep -qs PASSME "lessons/$name/exercise.rs" || [ -e "lessons/$name/PASSME" ]; then
    echo "  PASS the only check"
    exit 0
fi
echo "  PASS the first check"
echo "  FAIL the second check: the link is the host's"
echo "  FAIL the third check"
exit 1
"#;

/// A copy of the workshop's lesson files in a temporary folder, removed when dropped.
struct Copy(PathBuf);

impl Copy {
    fn new(test: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("workshop-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let real = Path::new(env!("CARGO_MANIFEST_DIR"));
        for l in lessons::with_capstone() {
            for file in [l.exercise(), l.hints(), l.starter(), l.lab_sheet()] {
                if !real.join(&file).exists() {
                    continue; // the capstone has no exercise of its own
                }
                let to = dir.join(&file);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(real.join(&file), &to).unwrap();
            }
        }
        let cargo = dir.join("fake-cargo");
        std::fs::write(&cargo, FAKE_CARGO).unwrap();
        std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Copy(dir)
    }

    fn workshop(&self) -> Command {
        let mut c = Command::new(WORKSHOP);
        c.env("WORKSHOP_DIR", &self.0)
            .env("CARGO", self.0.join("fake-cargo"))
            .env_remove("WORKSHOP_PROGRESS")
            .env("NO_COLOR", "1");
        c
    }

    fn exercise(&self, key: &str) -> PathBuf {
        self.0.join(lessons::find(key).unwrap().exercise())
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The line of `workshop list` for lesson `n`.
fn list_line(copy: &Copy, n: &str) -> String {
    let (code, out, err) = run(copy.workshop().arg("list"));
    assert_eq!(code, 0, "{err}");
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(n))
        .unwrap_or_else(|| panic!("no line for {n}:\n{out}"))
        .to_string()
}

#[test]
fn list_remembers_each_check_between_runs_and_next_follows_it() {
    let copy = Copy::new("list");
    assert!(list_line(&copy, "01").starts_with('·'), "not started yet");
    // No subcommand is the list.
    let (code, out, _) = run(&mut copy.workshop());
    let none = format!("0 of {} passed. Next: 01", lessons::with_capstone().count());
    assert!(code == 0 && out.contains(&none), "{out}");

    let (code, out, err) = run(copy.workshop().args(["check", "01"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("FAIL the second check") && err.contains("not passing yet: 01"), "{err}");
    let calls = std::fs::read_to_string(copy.0.join("cargo-calls")).unwrap();
    assert_eq!(calls.trim(), "run --quiet --bin 01-namespaces -- --check");
    assert!(list_line(&copy, "01").starts_with('✗'), "{}", list_line(&copy, "01"));

    let mut text = std::fs::read_to_string(copy.exercise("01")).unwrap();
    text.push_str("// PASSME\n");
    std::fs::write(copy.exercise("01"), text).unwrap();
    let (code, _, err) = run(copy.workshop().args(["check", "1"]));
    assert_eq!(code, 0, "{err}");
    assert!(list_line(&copy, "01").starts_with('✓'));
    assert!(list_line(&copy, "02").starts_with('·'));
    // --solution is not the student's work: not recorded.
    let (code, _, _) = run(copy.workshop().args(["check", "02", "--solution"]));
    assert_eq!(code, 1);
    assert!(list_line(&copy, "02").starts_with('·'));
    let progress = std::fs::read_to_string(copy.0.join(".workshop-progress")).unwrap();
    assert!(progress.contains("01 passed") && !progress.contains("02"), "{progress}");

    let (code, out, _) = run(copy.workshop().arg("next"));
    assert_eq!(code, 0);
    assert!(out.starts_with("Next: 02-cgroups"), "{out}");
    for want in ["lessons/02-cgroups/README.md", "cargo run --bin 02-cgroups", "watch 02"] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
}

/// The capstone comes last: after every lesson passed, `next` points at it; its check builds
/// minidocker (with the student's code) before it runs; it has no exercise to reset.
#[test]
fn the_capstone_comes_last_and_checks_a_freshly_built_minidocker() {
    let copy = Copy::new("capstone");
    let (_, out, _) = run(copy.workshop().arg("list"));
    let last = out.lines().filter(|l| !l.trim().is_empty()).nth_back(1).unwrap_or_default();
    assert!(last.contains("★") && last.contains("capstone"), "{out}");
    for l in LESSONS {
        let mut text = std::fs::read_to_string(copy.exercise(l.number)).unwrap();
        text.push_str("// PASSME\n");
        std::fs::write(copy.exercise(l.number), text).unwrap();
    }
    let (code, _, err) = run(copy.workshop().args(["check", "all"]));
    assert_eq!(code, 1, "the capstone's stand-in check fails: {err}");
    assert!(err.contains("not passing yet: capstone"), "{err}");
    let calls = std::fs::read_to_string(copy.0.join("cargo-calls")).unwrap();
    let tail: Vec<&str> = calls.lines().rev().take(2).collect();
    assert_eq!(
        tail,
        ["run --quiet --bin capstone -- --check", "build --quiet --bin minidocker"],
        "{calls}"
    );
    let (_, out, _) = run(copy.workshop().arg("next"));
    assert!(out.starts_with("Next: capstone"), "{out}");
    assert!(out.contains("lessons/NN-*/exercise.rs (any)"), "{out}");
    std::fs::write(copy.0.join("lessons/capstone/PASSME"), "").unwrap();
    let (code, _, err) = run(copy.workshop().args(["check", "capstone"]));
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(copy.workshop().arg("list"));
    let all = format!("All {} passed", lessons::with_capstone().count());
    assert!(out.contains(&all), "{out}");
    let (code, _, err) = run(copy.workshop().args(["reset", "capstone", "-y"]));
    assert!(code == 2 && err.contains("no exercise of its own"), "{err}");
}

#[test]
fn hints_come_one_more_each_time() {
    let copy = Copy::new("hint");
    let total = std::fs::read_to_string(copy.0.join(lessons::find("03").unwrap().hints()))
        .unwrap()
        .matches("## Hint ")
        .count();
    assert!(total >= 3);
    for shown in 1..=total + 1 {
        let (code, out, err) = run(copy.workshop().args(["hint", "03"]));
        assert_eq!(code, 0, "{err}");
        let stage = shown.min(total);
        assert!(out.contains(&format!("Hint {stage} of {total}")), "{out}");
        assert!(!out.contains(&format!("Hint {} of", stage + 1)), "one more, not all:\n{out}");
        assert_eq!(out.contains("That was the last hint"), stage == total, "{out}");
    }
    // Another lesson's hints start at 1.
    let (_, out, _) = run(copy.workshop().args(["hint", "04"]));
    assert!(out.contains("Hint 1 of") && !out.contains("Hint 2 of"), "{out}");
    let (code, _, err) = run(copy.workshop().args(["hint", "99"]));
    assert!(code == 2 && err.contains("workshop list"), "{err}");
}

#[test]
fn reset_asks_first_and_puts_the_starter_back() {
    let copy = Copy::new("reset");
    let starter = std::fs::read_to_string(copy.exercise("06")).unwrap();
    std::fs::write(copy.exercise("06"), "my work\n").unwrap();
    let answer = |text: &str| {
        let mut child = copy
            .workshop()
            .args(["reset", "06"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for no in ["\n", "n\n", ""] {
        let (code, out) = answer(no);
        assert!(code == Some(0) && out.contains("[y/N]") && out.contains("Nothing changed"));
        assert_eq!(std::fs::read_to_string(copy.exercise("06")).unwrap(), "my work\n");
    }
    let (code, out) = answer("y\n");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(copy.exercise("06")).unwrap(), starter);
    let (_, out) = answer("");
    assert!(out.contains("the starter already"), "{out}");
}

#[test]
fn watch_checks_again_on_every_save_and_shows_the_first_failing_check_first() {
    let copy = Copy::new("watch");
    let mut child = copy
        .workshop()
        .args(["watch", "05"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (seen, mut stdout) = (seen.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                seen.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen.lock().unwrap().contains(what) {
            assert!(Instant::now() < deadline, "no {what:?} in:\n{}", seen.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("FAIL the third check");
    {
        let screen = seen.lock().unwrap();
        assert!(screen.starts_with("\x1b[2J"), "the screen is cleared first");
        let first = screen.find("first failing check: the second check").expect("first fail");
        assert!(first < screen.find("PASS the first check").unwrap(), "{screen}");
    }
    // A save the student makes: the exercise changes, the check runs again.
    let mut text = std::fs::read_to_string(copy.exercise("05")).unwrap();
    text.push_str("// PASSME\n");
    std::fs::write(copy.exercise("05"), text).unwrap();
    wait_for("every check of 05 passes");
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "q did not end watch");
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    assert!(status.success());
    let calls = std::fs::read_to_string(copy.0.join("cargo-calls")).unwrap();
    assert_eq!(calls.lines().count(), 2, "one check per version of the file:\n{calls}");
    assert!(list_line(&copy, "05").starts_with('✓'));
}

#[test]
fn the_real_check_of_the_untouched_starter_fails_and_is_remembered() {
    if !common::have_root("the_real_check_of_the_untouched_starter_fails_and_is_remembered") {
        return;
    }
    // The real workshop folder and cargo; only the progress file is the test's own.
    let progress = std::env::temp_dir().join(format!("workshop-real-{}", std::process::id()));
    let workshop = || {
        let mut c = Command::new(WORKSHOP);
        c.env_remove("WORKSHOP_DIR").env("WORKSHOP_PROGRESS", &progress).env("NO_COLOR", "1");
        c
    };
    let (code, out, err) = run(workshop().args(["check", "01"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("FAIL") && out.contains("CHECK FAILED"), "{out}");
    let (_, list, _) = run(&mut workshop());
    let _ = std::fs::remove_file(&progress);
    assert!(list.lines().next().is_some_and(|l| l.starts_with("✗ 01")), "{list}");
}
