//! `workshop` — the student's front door: list the lessons, check an exercise.
//!
//! `cargo run --bin workshop -- check 02` builds and runs `02-cgroups --check`, which checks
//! the student's `lessons/02-cgroups/exercise.rs` against the real kernel. The lessons are the
//! library's list, `minidocker::lessons::LESSONS`.

use clap::{Parser, Subcommand};
use minidocker::lessons::{self, Lesson, LESSONS};
use std::process::{Command, ExitCode};

/// The workshop's lessons, and the automatic checks of their exercises.
///
/// Each lesson is a binary (`cargo run --bin 01-namespaces`) with its lab sheet in
/// lessons/NN-name/README.md; your code goes in lessons/NN-name/exercise.rs.
#[derive(Parser)]
#[command(name = "workshop", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the lessons: number, binary, lab sheet and what each shows
    List {
        /// Only the lessons' names (binaries and folders), one a line, for scripts
        #[arg(long)]
        names: bool,
    },
    /// Check your exercise code: build the lesson and run it with --check (exit 0: it passes)
    Check {
        /// The lesson: its number (02), its name (02-cgroups), or `all`
        #[arg(value_name = "NN|NAME|all", value_parser = pick)]
        lesson: Picked,
        /// Check the reference answer in solutions/ instead of your code
        #[arg(long)]
        solution: bool,
    },
}

/// The lessons `workshop check` was asked for.
#[derive(Clone)]
struct Picked(Vec<&'static Lesson>);

fn pick(which: &str) -> Result<Picked, String> {
    if which == "all" {
        return Ok(Picked(LESSONS.iter().collect()));
    }
    match lessons::find(which) {
        Some(l) => Ok(Picked(vec![l])),
        None => Err(format!("no lesson with an exercise is called {which:?}; try `workshop list`")),
    }
}

fn check(bin: &str, solution: bool) -> bool {
    // Through cargo, so the student's latest edit is compiled first.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["run", "--quiet", "--bin", bin, "--", "--check"])
        .args(solution.then_some("--solution"))
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
    match Cli::parse().command {
        Cmd::List { names: true } => {
            for l in LESSONS {
                println!("{}", l.name);
            }
        }
        Cmd::List { names: false } => {
            for l in LESSONS {
                println!("{}  {:<24} {:<40} {}", l.number, l.name, l.lab_sheet(), l.title);
            }
        }
        Cmd::Check { lesson: Picked(picked), solution } => {
            let failed: Vec<&str> =
                picked.iter().filter(|l| !check(l.name, solution)).map(|l| l.number).collect();
            if !failed.is_empty() {
                eprintln!("workshop: exercises not passing yet: {}", failed.join(", "));
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
