//! `workshop` — the student's front door: list the lessons, check an exercise.
//!
//! `cargo run --bin workshop -- check 02` builds and runs `02-cgroups --check`, which checks
//! the student's `lessons/02-cgroups/exercise.rs` against the real kernel.

use std::process::{Command, ExitCode};

/// The lessons with an exercise, and their binaries.
const LESSONS: &[(&str, &str)] = &[
    ("01", "01-namespaces"),
    ("02", "02-cgroups"),
    ("03", "03-rootfs-aufs"),
    ("04", "04-dockerfile-build"),
    ("05", "05-run-and-port"),
    ("06", "06-exec-setns"),
    ("07", "07-commit"),
    ("08", "08-volumes-bind-mount"),
];

fn usage() -> ExitCode {
    eprintln!("usage: workshop list | workshop check NN [--solution] | workshop check all");
    ExitCode::from(2)
}

fn check(bin: &str, extra: &[String]) -> bool {
    // Through cargo, so the student's latest edit is compiled first.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["run", "--quiet", "--bin", bin, "--", "--check"])
        .args(extra)
        .status();
    match status {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("workshop: cannot run cargo: {e}");
            false
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for (n, bin) in LESSONS {
                println!("{n}  {bin:<24} lessons/{bin}/README.md");
            }
            ExitCode::SUCCESS
        }
        Some("check") => {
            let Some(which) = args.get(1) else { return usage() };
            let picked: Vec<_> = LESSONS
                .iter()
                .filter(|(n, b)| which == "all" || which == n || which == b)
                .collect();
            if picked.is_empty() {
                eprintln!(
                    "workshop: no lesson with an exercise is called {which:?}; try `workshop list`"
                );
                return ExitCode::from(2);
            }
            let failed: Vec<_> =
                picked.iter().filter(|(_, bin)| !check(bin, &args[2..])).map(|(n, _)| *n).collect();
            if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("workshop: exercises not passing yet: {}", failed.join(", "));
                ExitCode::from(1)
            }
        }
        _ => usage(),
    }
}
