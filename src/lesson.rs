//! The harness every lesson binary shares: flags, numbered steps, root, Ctrl-C, exit codes.
//!
//! A lesson's `main` is one line, `lesson::main(&INFO, run)`. The harness takes the flags all
//! lessons have — `--step`, `--explain`, `--mine`, `--check`, `--solution`, `--help` — and hands
//! the rest to `run`. Whatever `run` created is owned by guards (cgroups, children, mounts), so
//! leaving `run` — by success, by error or by Ctrl-C, which [`interrupt`] turns into an error —
//! cleans it up, and the harness prints the one-line error last.

use crate::{interrupt, report, sys, workload};
use colored::Colorize;
use std::ffi::OsString;
use std::process::ExitCode;

/// What a lesson says about itself in its banner and `--help`.
pub struct Info {
    /// The binary's name, `01-namespaces`.
    pub bin: &'static str,
    /// One line: what the lesson shows.
    pub title: &'static str,
    /// The part of the article it mirrors.
    pub article: &'static str,
    /// `01-namespaces [--hostname NAME] [-- CMD ARGS…]`
    pub usage: &'static str,
    /// A few lines on what the run demonstrates.
    pub about: &'static str,
    /// The lesson's own options, one per line, already formatted.
    pub options: &'static str,
    /// Why root is needed, for the one line printed when it is not.
    pub needs_root: &'static str,
}

/// The state of one lesson run.
pub struct Lab {
    pub info: &'static Info,
    /// `--step`: pause before each step.
    pub step_mode: bool,
    /// `--mine`: run the student's exercise code instead of the reference answer.
    pub mine: bool,
    /// `--check`: check the exercise instead of running the demonstration.
    pub check: bool,
    /// `--solution` (with `--check`): check the reference answer instead of the student's code.
    pub solution: bool,
    steps: usize,
    checks: Vec<(bool, String)>,
}

const COMMON_OPTIONS: &str =
    "  --step       pause before each step (press Enter to go on), for demos in front of a class
  --explain    print every system call as it is made, with its arguments and result
  --mine       run your exercise code (lessons/NN-*/exercise.rs) instead of the reference answer
  --check      check your exercise code automatically; exit 0 when it passes
  --solution   with --check: check the reference answer in solutions/ instead
  -h, --help   print this help";

impl Lab {
    /// Begin the next numbered step: stop if Ctrl-C came, pause in `--step` mode.
    pub fn step(&mut self, title: &str) -> crate::Result<()> {
        interrupt::check()?;
        self.steps += 1;
        if self.step_mode {
            pause(self.steps)?;
        }
        report::step(self.steps, title);
        Ok(())
    }

    /// Is the code under test (for `--mine` or `--check`) the student's?
    pub fn uses_mine(&self) -> bool {
        self.mine || (self.check && !self.solution)
    }

    /// Where the exercise code being run comes from, for the banner.
    pub fn exercise_source(&self) -> String {
        let dir = self.info.bin;
        if self.uses_mine() {
            format!("your code in lessons/{dir}/exercise.rs")
        } else {
            format!("the reference answer in solutions/{dir}/exercise.rs")
        }
    }

    /// Record and print one check's outcome.
    pub fn expect(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        report::verdict(ok, &what);
        self.checks.push((ok, what));
    }

    /// The exit code of a `--check` run: 0 only if every check passed.
    pub fn check_outcome(&self) -> i32 {
        let failed = self.checks.iter().filter(|c| !c.0).count();
        let total = self.checks.len();
        println!();
        if failed == 0 && total > 0 {
            println!("{} all {total} checks of {} pass", "CHECK OK:".green().bold(), self.info.bin);
            0
        } else {
            println!(
                "{} {failed} of {total} checks of {} fail — read lessons/{}/README.md, edit exercise.rs, run --check again",
                "CHECK FAILED:".red().bold(),
                self.info.bin,
                self.info.bin
            );
            1
        }
    }
}

/// `--step`: wait for Enter. Reads fd 0 directly, so Ctrl-C interrupts the wait at once.
fn pause(n: usize) -> crate::Result<()> {
    print!("\n  {} ", format!("[Enter: step {n}]").dimmed());
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: read(2) into a buffer we own.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 && (n == 0 || buf[..n as usize].contains(&b'\n')) {
            return Ok(());
        }
        interrupt::check()?;
    }
}

fn print_help(info: &Info) {
    println!("{} — {}\n", info.bin.bold(), info.title);
    println!("Mirrors: {}\n", info.article);
    println!("{}\n", info.about.trim_end());
    println!("Usage: {}\n", info.usage);
    if !info.options.is_empty() {
        println!("Options:\n{}", info.options.trim_end());
    }
    println!("{COMMON_OPTIONS}\n");
    println!(
        "Lab sheet: lessons/{}/README.md. Runs as root (cargo run asks sudo for you).",
        info.bin
    );
}

/// Run a lesson: `fn main() -> ExitCode { lesson::main(&INFO, run) }`.
///
/// `run` gets the lesson's own arguments and returns the exit code to end with.
pub fn main(
    info: &'static Info,
    run: fn(&mut Lab, Vec<OsString>) -> crate::Result<i32>,
) -> ExitCode {
    workload::run_if_requested();
    report::init_colors();
    let mut lab = Lab {
        info,
        step_mode: false,
        mine: false,
        check: false,
        solution: false,
        steps: 0,
        checks: Vec::new(),
    };
    let mut rest = Vec::new();
    let mut explain = false;
    let mut args = std::env::args_os().skip(1);
    // The common flags are taken only before `--`: what follows belongs to the command.
    for arg in args.by_ref() {
        match arg.to_str() {
            Some("--step") => lab.step_mode = true,
            Some("--explain") => explain = true,
            Some("--mine") => lab.mine = true,
            Some("--check") => lab.check = true,
            Some("--solution") => lab.solution = true,
            Some("-h" | "--help") => {
                print_help(info);
                return ExitCode::SUCCESS;
            }
            Some("--") => {
                rest.push(arg);
                break;
            }
            _ => rest.push(arg),
        }
    }
    rest.extend(args);
    report::set_explain(explain);
    if !sys::is_root() {
        eprintln!(
            "{}: needs root: {}. Run it with sudo, or as `cargo run --bin {}`, which asks sudo for you.",
            info.bin, info.needs_root, info.bin
        );
        return ExitCode::from(1);
    }
    interrupt::install();
    println!("{} — {}", info.bin.bold(), info.title);
    println!("{}", format!("Mirrors: {}", info.article).dimmed());
    match run(&mut lab, rest) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let usage = e.downcast_ref::<lexopt::Error>().is_some();
            let hint = if usage { format!(" (see {} --help)", info.bin) } else { String::new() };
            eprintln!("{} {e:#}{hint}", format!("{}: error:", info.bin).red().bold());
            match e.downcast_ref::<interrupt::Interrupted>() {
                Some(sig) => ExitCode::from((128 + sig.0) as u8),
                None if usage => ExitCode::from(2),
                None => ExitCode::from(1),
            }
        }
    }
}

/// The command after the lesson's own flags: everything from the first plain argument (or
/// after `--`) on, untouched, so `-- sh -c '…'` reaches the command as typed.
pub fn command_rest(first: OsString, parser: &mut lexopt::Parser) -> crate::Result<Vec<String>> {
    let mut cmd = vec![first];
    cmd.extend(parser.raw_args()?);
    cmd.into_iter()
        .map(|a| a.into_string().map_err(|a| anyhow::anyhow!("argument {a:?} is not valid UTF-8")))
        .collect()
}

/// A `--check`'s scratch directory, `$TMPDIR/minidocker-checkNN-<pid>`, removed when dropped
/// — whether the check passes, fails or is interrupted. (Not created: the check makes what
/// it needs inside.)
pub struct CheckDir(pub std::path::PathBuf);

impl CheckDir {
    /// `name` is `check03` and the like.
    pub fn new(name: &str) -> CheckDir {
        CheckDir(std::env::temp_dir().join(format!("minidocker-{name}-{}", std::process::id())))
    }
}

impl Drop for CheckDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
