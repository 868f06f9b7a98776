//! The harness every lesson binary shares: flags, numbered steps, root, Ctrl-C, exit codes.
//!
//! A lesson's `main` is one line, `lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)`.
//! The lesson's arguments are a clap struct (its doc comment is the help's description) that
//! flattens [`LabFlags`] — `--step`, `--explain`, `--mine`, `--check`, `--solution` — which
//! every lesson has. The harness parses them before anything needs root, so `--help`,
//! `--version` and usage errors (exit 2) work for anyone, then hands the arguments to `run`.
//! Whatever `run` created is owned by guards (cgroups, children, mounts), so leaving `run` — by
//! success, by error or by Ctrl-C, which [`interrupt`] turns into an error — cleans it up, and
//! the harness prints the one-line error last.
//!
//! A student's code is plugged in the same way in every lesson: the exercise's module declares
//! `pub struct Rules` (the exercise's functions, as function pointers), `exercise.rs` — the
//! student's and the reference answer alike — ends with `pub const RULES: Rules`, and the
//! lesson picks one with [`Lab::rules`] and passes it down to the library functions that use it.

use crate::lessons::{self, Lesson};
use crate::{interrupt, report, sys, workload};
use clap::{CommandFactory, FromArgMatches};
use colored::Colorize;
use std::process::ExitCode;

/// The flags every lesson takes: flattened into each lesson's own arguments.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Lab options (every lesson has them)")]
pub struct LabFlags {
    /// Pause before each step (press Enter to go on), for demos in front of a class
    #[arg(long)]
    pub step: bool,
    /// Print every system call as it is made, with its arguments and result
    #[arg(long)]
    pub explain: bool,
    /// Run your exercise code (lessons/NN-*/exercise.rs) instead of the reference answer
    #[arg(long)]
    pub mine: bool,
    /// Check your exercise code automatically; exit 0 when it passes
    #[arg(long)]
    pub check: bool,
    /// With --check: check the reference answer in solutions/ instead
    #[arg(long, requires = "check", conflicts_with = "mine")]
    pub solution: bool,
}

/// The state of one lesson run.
pub struct Lab {
    /// The lesson, from the list in [`crate::lessons`].
    pub lesson: &'static Lesson,
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

impl Lab {
    /// A run of `lesson` with these flags.
    pub fn new(lesson: &'static Lesson, flags: &LabFlags) -> Lab {
        Lab {
            lesson,
            step_mode: flags.step,
            mine: flags.mine,
            check: flags.check,
            solution: flags.solution,
            steps: 0,
            checks: Vec::new(),
        }
    }

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

    /// The exercise's rules this run uses: the student's `RULES` (from `lessons/NN-*/exercise.rs`)
    /// under `--mine` and `--check`, the reference answer's (`solutions/NN-*/exercise.rs`)
    /// otherwise and under `--check --solution`.
    pub fn rules<'r, R>(&self, mine: &'r R, solution: &'r R) -> &'r R {
        if self.uses_mine() {
            mine
        } else {
            solution
        }
    }

    /// Where the exercise code being run comes from, for the banner.
    pub fn exercise_source(&self) -> String {
        if self.uses_mine() {
            format!("your code in {}", self.lesson.exercise())
        } else {
            format!("the reference answer in {}", self.lesson.solution())
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
        let name = self.lesson.name;
        println!();
        if failed == 0 && total > 0 {
            println!("{} all {total} checks of {name} pass", "CHECK OK:".green().bold());
            0
        } else {
            // The capstone has no exercise.rs of its own: every lesson's is under test.
            let edit = match self.lesson.name == lessons::CAPSTONE.name {
                true => "find the exercise behind the first FAIL (--only NN narrows it), fix it",
                false => "edit exercise.rs",
            };
            println!(
                "{} {failed} of {total} checks of {name} fail — read {}, {edit}, run --check again",
                "CHECK FAILED:".red().bold(),
                self.lesson.lab_sheet(),
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
        // SAFETY: read(2) into a buffer we own, at most its length.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 && (n == 0 || buf[..n as usize].contains(&b'\n')) {
            return Ok(());
        }
        interrupt::check()?;
    }
}

/// The lesson's command line: its own arguments `A` (a clap struct that flattens
/// [`LabFlags`]), with the name, version and texts of `lesson`.
pub fn command<A: CommandFactory>(lesson: &Lesson) -> clap::Command {
    A::command()
        .name(lesson.name)
        .bin_name(lesson.name)
        .version(env!("CARGO_PKG_VERSION"))
        .before_help(format!("{} — {}\n\nMirrors: {}", lesson.name, lesson.title, lesson.article))
        .after_help(format!(
            "Lab sheet: {}. Runs as root (cargo run asks sudo for you).",
            lesson.lab_sheet()
        ))
}

/// Run a lesson: `fn main() -> ExitCode { lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run) }`.
///
/// `bin` names the lesson in [`crate::lessons::LESSONS`]; `needs_root` says why it needs root,
/// for the one line printed when it is not; `run` gets the parsed arguments and returns the exit
/// code to end with.
pub fn main<A: clap::Parser>(
    bin: &str,
    needs_root: &str,
    run: fn(&mut Lab, A) -> crate::Result<i32>,
) -> ExitCode {
    workload::run_if_requested();
    report::init_colors();
    let lesson = lessons::of_binary(bin);
    // Help, --version and usage errors (exit 2) are clap's, and never need root.
    let matches = command::<A>(lesson).get_matches();
    let (args, flags) = match (A::from_arg_matches(&matches), LabFlags::from_arg_matches(&matches))
    {
        (Ok(a), Ok(f)) => (a, f),
        (Err(e), _) | (_, Err(e)) => e.format(&mut command::<A>(lesson)).exit(),
    };
    report::set_explain(flags.explain);
    if !sys::is_root() {
        eprintln!(
            "{bin}: needs root: {needs_root}. Run it with sudo, or as `cargo run --bin {bin}`, \
             which asks sudo for you."
        );
        return ExitCode::from(1);
    }
    interrupt::install();
    let mut lab = Lab::new(lesson, &flags);
    println!("{} — {}", lesson.name.bold(), lesson.title);
    println!("{}", format!("Mirrors: {}", lesson.article).dimmed());
    match run(&mut lab, args) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("{} {e:#}", format!("{bin}: error:").red().bold());
            match e.downcast_ref::<interrupt::Interrupted>() {
                Some(sig) => ExitCode::from((128 + sig.0) as u8),
                None => ExitCode::from(1),
            }
        }
    }
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

/// A child a `--check` forked to run the student's code in (in its own namespaces, say), kept
/// stopped after it ran so the check can look at it from outside, and what it said: the
/// text `run` returned, or its error. Killed and reaped when dropped.
pub struct Forked {
    pub pid: nix::unistd::Pid,
    pub said: String,
}

impl Drop for Forked {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// Fork; in the child run `run`, send its text or error through a pipe, then wait to be killed.
pub fn fork_child(run: &dyn Fn() -> crate::Result<String>) -> crate::Result<Forked> {
    use std::io::Read;
    let (read, write) = nix::unistd::pipe()?;
    std::io::Write::flush(&mut std::io::stdout())?;
    // SAFETY: a check runs on one thread; the child makes system calls, writes to the pipe
    // and never returns from this function.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            drop(read);
            // A panic must not unwind into the rest of the check, running it twice.
            let said = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
                Ok(r) => r.unwrap_or_else(|e| format!("{e:#}")),
                Err(_) => "it panicked".to_string(),
            };
            let _ = nix::unistd::write(&write, said.as_bytes());
            drop(write);
            loop {
                nix::unistd::pause();
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(write);
            let mut said = String::new();
            // The child closes its end once it has spoken (or dies): read to the end.
            let _ = std::fs::File::from(read).read_to_string(&mut said);
            Ok(Forked { pid: child, said })
        }
    }
}

/// A mount a check made, detached when dropped.
pub struct Unmount(pub std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = sys::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}
