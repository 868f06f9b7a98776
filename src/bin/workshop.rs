//! `workshop` — the student's front door: the lessons and how far you got, checks of your
//! exercises (once, or on every save), hints in stages, the starter back, what to do next.
//!
//! `cargo run --bin workshop -- check 02` builds and runs `02-cgroups --check`, which checks the
//! student's `lessons/02-cgroups/exercise.rs` against the real kernel. `workshop` itself runs as
//! the student (cargo's runner, scripts/as-root, lets it through without sudo): only the lesson
//! binary it runs for a check goes through sudo, so the progress file stays the student's.
//!
//! Where things are: the workshop's folder is the crate's (`WORKSHOP_DIR` overrides it, for the
//! tests); the progress — each lesson's last check and how many hints were shown — is the
//! git-ignored `.workshop-progress` there (`WORKSHOP_PROGRESS` overrides it). `CARGO` names the
//! cargo that builds and runs the checks, as cargo itself sets it.

use clap::{Parser, Subcommand};
use colored::Colorize;
use minidocker::lessons::{self, Lesson, CAPSTONE, LESSONS};
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, Termios};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, SystemTime};

/// The workshop's lessons, your progress, and the automatic checks of your exercises.
///
/// Each lesson is a binary (`cargo run --bin 01-namespaces`) with its lab sheet in
/// lessons/NN-name/README.md; your code goes in lessons/NN-name/exercise.rs. Start with
/// `workshop next`.
#[derive(Parser)]
#[command(name = "workshop", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every lesson with your progress: ✓ passed, ✗ failed, · not checked yet (the default)
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
        /// Check the reference answer in solutions/ instead of your code (not recorded)
        #[arg(long)]
        solution: bool,
    },
    /// Check the exercise again on every save; the first failing check first (q quits)
    Watch {
        /// The lesson (default: the first one not passed yet, then the next ones)
        #[arg(value_name = "NN|NAME", value_parser = pick_one)]
        lesson: Option<&'static Lesson>,
    },
    /// One more hint for a lesson's exercise each time you ask
    Hint {
        #[arg(value_name = "NN|NAME", value_parser = pick_one)]
        lesson: &'static Lesson,
    },
    /// Put the untouched starter back into a lesson's exercise.rs (asks first)
    Reset {
        #[arg(value_name = "NN|NAME", value_parser = pick_one)]
        lesson: &'static Lesson,
        /// Do not ask
        #[arg(short, long)]
        yes: bool,
    },
    /// The first lesson not passed yet: its lab sheet and the commands to run
    Next,
}

/// The lessons `workshop check` was asked for.
#[derive(Clone)]
struct Picked(Vec<&'static Lesson>);

fn pick(which: &str) -> Result<Picked, String> {
    if which == "all" {
        return Ok(Picked(lessons::with_capstone().collect()));
    }
    pick_one(which).map(|l| Picked(vec![l]))
}

fn pick_one(which: &str) -> Result<&'static Lesson, String> {
    lessons::find(which).ok_or_else(|| {
        format!("no lesson with an exercise is called {which:?}; try `workshop list`")
    })
}

/// The workshop's folder and its progress file.
struct Workshop {
    dir: PathBuf,
    progress_file: PathBuf,
}

impl Workshop {
    fn from_env() -> Workshop {
        let dir = std::env::var_os("WORKSHOP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let progress_file = std::env::var_os("WORKSHOP_PROGRESS")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join(".workshop-progress"));
        Workshop { dir, progress_file }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn progress(&self) -> Progress {
        Progress::parse(&std::fs::read_to_string(&self.progress_file).unwrap_or_default())
    }

    /// Save the progress; a failure only warns (the check's verdict stands).
    fn save(&self, p: &Progress) {
        let tmp = self.progress_file.with_extension("tmp");
        let r = std::fs::write(&tmp, p.render())
            .and_then(|()| std::fs::rename(&tmp, &self.progress_file));
        if let Err(e) = r {
            eprintln!(
                "workshop: warning: cannot save progress in {}: {e}",
                self.progress_file.display()
            );
        }
    }

    fn record(&self, lesson: &Lesson, passed: bool) {
        let mut p = self.progress();
        p.results.insert(lesson.number.to_string(), passed);
        self.save(&p);
    }
}

/// Each lesson's last check (`01 passed`, `02 failed`) and hints shown (`01 hints 2`), one a line.
#[derive(Default)]
struct Progress {
    results: BTreeMap<String, bool>,
    hints: BTreeMap<String, usize>,
}

impl Progress {
    fn parse(text: &str) -> Progress {
        let mut p = Progress::default();
        for line in text.lines() {
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [n, "passed"] => drop(p.results.insert(n.into(), true)),
                [n, "failed"] => drop(p.results.insert(n.into(), false)),
                [n, "hints", k] => drop(p.hints.insert(n.into(), k.parse().unwrap_or(0))),
                _ => {}
            }
        }
        p
    }

    fn render(&self) -> String {
        let mut out = String::from("# workshop progress: each lesson's last check, hints shown\n");
        for (n, passed) in &self.results {
            out += &format!("{n} {}\n", if *passed { "passed" } else { "failed" });
        }
        for (n, k) in &self.hints {
            out += &format!("{n} hints {k}\n");
        }
        out
    }

    fn mark(&self, lesson: &Lesson) -> colored::ColoredString {
        match self.results.get(lesson.number) {
            Some(true) => "✓".green().bold(),
            Some(false) => "✗".red().bold(),
            None => "·".dimmed(),
        }
    }

    /// The first lesson whose exercise has not passed its check.
    fn next(&self) -> Option<&'static Lesson> {
        lessons::with_capstone().find(|l| self.results.get(l.number) != Some(&true))
    }
}

/// What one check of a lesson gave.
struct Outcome {
    passed: bool,
    /// Ended by a signal (Ctrl-C): not a verdict, not recorded.
    interrupted: bool,
    /// The check's output, when captured (`watch`).
    output: String,
}

/// Build and run `NAME --check` through cargo, so the latest edit is compiled first; cargo's
/// runner asks sudo for the lesson binary. With `capture`, its output (stdout and stderr, in
/// order) is returned instead of printed.
fn run_check(w: &Workshop, lesson: &Lesson, solution: bool, capture: bool) -> Outcome {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The capstone checks `minidocker --mine`: that binary, with your latest code, first.
    if lesson.name == CAPSTONE.name {
        let built = Command::new(&cargo)
            .current_dir(&w.dir)
            .args(["build", "--quiet", "--bin", "minidocker"])
            .stdout(Stdio::null())
            .stderr(if capture { Stdio::piped() } else { Stdio::inherit() })
            .output();
        match built {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                let output = String::from_utf8_lossy(&o.stderr).into_owned();
                return Outcome { passed: false, interrupted: o.status.code().is_none(), output };
            }
            Err(e) => {
                let output = format!("workshop: cannot run {cargo}: {e}\n");
                return Outcome { passed: false, interrupted: false, output };
            }
        }
    }
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&w.dir)
        .args(["run", "--quiet", "--bin", lesson.name, "--", "--check"])
        .args(solution.then_some("--solution"));
    let failed = |e: std::io::Error| {
        let output = format!("workshop: cannot run {cargo}: {e}\n");
        if !capture {
            eprint!("{output}");
        }
        Outcome { passed: false, interrupted: false, output }
    };
    let mut output = String::new();
    let status = if capture {
        let (reader, writer) = match nix::unistd::pipe() {
            Ok(p) => p,
            Err(e) => return failed(e.into()),
        };
        let spawned = writer.try_clone().and_then(|w2| {
            cmd.stdin(Stdio::null()).stdout(Stdio::from(writer)).stderr(Stdio::from(w2)).spawn()
        });
        // The command keeps the pipe's write end open until it is dropped.
        drop(cmd);
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let _ = std::fs::File::from(reader).read_to_string(&mut output);
        child.wait()
    } else {
        cmd.status()
    };
    match status {
        Ok(s) => Outcome {
            passed: s.success(),
            interrupted: matches!(s.code(), None | Some(130) | Some(143)),
            output,
        },
        Err(e) => failed(e),
    }
}

fn list(w: &Workshop) {
    let p = w.progress();
    for l in LESSONS {
        println!("{} {}  {:<24} {}", p.mark(l), l.number, l.name, l.title);
    }
    // The capstone last, set apart: no exercise of its own, all of yours together.
    let l = &CAPSTONE;
    println!("{} ★   {:<24} {}", p.mark(l), l.name, l.title);
    let total = lessons::with_capstone().count();
    let passed =
        lessons::with_capstone().filter(|l| p.results.get(l.number) == Some(&true)).count();
    println!();
    match p.next() {
        Some(l) => println!(
            "{passed} of {total} passed. Next: {} — `cargo run --bin workshop -- next` says how.",
            l.number
        ),
        None => println!("All {total} passed: your own docker works."),
    }
}

fn check(w: &Workshop, picked: &[&'static Lesson], solution: bool) -> ExitCode {
    let mut failed = Vec::new();
    for l in picked {
        let out = run_check(w, l, solution, false);
        if out.interrupted {
            return ExitCode::from(130);
        }
        if !solution {
            w.record(l, out.passed);
        }
        if !out.passed {
            failed.push(l.number);
        }
    }
    if !failed.is_empty() {
        eprintln!("workshop: exercises not passing yet: {}", failed.join(", "));
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn next(w: &Workshop) {
    let Some(l) = w.progress().next() else {
        println!("Every exercise passes. The book's appendix \"Answers\" has the reference answers to compare with.");
        return;
    };
    println!("{} {} — {}", "Next:".bold(), l.name.bold(), l.title);
    println!("  1. read   {} (the book: book/src/{})", l.lab_sheet(), l.chapter);
    println!("  2. run    cargo run --bin {}", l.name);
    println!("  3. edit   {}", what_to_edit(l));
    println!(
        "  4. check  cargo run --bin workshop -- watch {n}   (once: check {n}; stuck: hint {n})",
        n = l.number
    );
}

/// The `## Hint N` sections of a lesson's hints.md, in order.
fn hints_of(text: &str) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            hints.extend(current.take());
            if line.starts_with("## Hint") {
                current = Some(String::new());
            }
        } else if let Some(h) = current.as_mut() {
            h.push_str(line);
            h.push('\n');
        }
    }
    hints.extend(current);
    hints.into_iter().map(|h| h.trim().to_string()).collect()
}

fn hint(w: &Workshop, l: &Lesson) -> ExitCode {
    let file = w.path(&l.hints());
    let hints = match std::fs::read_to_string(&file) {
        Ok(text) => hints_of(&text),
        Err(e) => {
            eprintln!("workshop: cannot read {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    if hints.is_empty() {
        eprintln!("workshop: {} has no `## Hint 1` section", l.hints());
        return ExitCode::from(1);
    }
    let mut p = w.progress();
    let shown = (p.hints.get(l.number).copied().unwrap_or(0) + 1).min(hints.len());
    p.hints.insert(l.number.to_string(), shown);
    w.save(&p);
    for (i, h) in hints[..shown].iter().enumerate() {
        let title = format!("Hint {} of {} for {}", i + 1, hints.len(), l.name);
        println!("{}\n{h}\n", if i + 1 == shown { title.bold() } else { title.dimmed() });
    }
    if shown < hints.len() {
        println!("Still stuck? `workshop hint {}` gives the next one.", l.number);
    } else {
        println!(
            "That was the last hint. The reference answer is in the book's appendix \"Answers\"."
        );
    }
    ExitCode::SUCCESS
}

fn reset(w: &Workshop, l: &Lesson, yes: bool) -> ExitCode {
    if l.name == CAPSTONE.name {
        eprintln!(
            "workshop: the capstone has no exercise of its own — it runs yours of lessons 01 to \
             08: reset one of those (`workshop reset NN`)"
        );
        return ExitCode::from(2);
    }
    let (starter, exercise) = (w.path(&l.starter()), w.path(&l.exercise()));
    let text = match std::fs::read(&starter) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("workshop: cannot read the starter {}: {e}", starter.display());
            return ExitCode::from(1);
        }
    };
    if std::fs::read(&exercise).is_ok_and(|now| now == text) {
        println!("{} is the starter already: nothing to do.", l.exercise());
        return ExitCode::SUCCESS;
    }
    if !yes {
        print!("Put the starter back into {}? Your code in it is lost. [y/N] ", l.exercise());
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing changed.");
            return ExitCode::SUCCESS;
        }
    }
    if let Err(e) = std::fs::write(&exercise, text) {
        eprintln!("workshop: cannot write {}: {e}", exercise.display());
        return ExitCode::from(1);
    }
    let mut p = w.progress();
    p.results.remove(l.number);
    w.save(&p);
    println!("{} is the starter again (from {}).", l.exercise(), l.starter());
    ExitCode::SUCCESS
}

/// What identifies a version of a file: its inode (editors that save by rename make a new
/// one), size and modification time.
fn stamp(path: &Path) -> Option<(u64, u64, SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()?))
}

/// The terminal in single-key mode (no line editing, no echo, Ctrl-C as a key), restored when
/// dropped. Nothing when stdin is not a terminal.
struct Keys(Option<Termios>);

fn set_mode(mode: &Termios) {
    let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, mode);
}

impl Keys {
    fn new() -> Keys {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Keys(None);
        }
        let Ok(saved) = tcgetattr(stdin.as_fd()) else { return Keys(None) };
        let mut keys = saved.clone();
        keys.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        set_mode(&keys);
        Keys(Some(saved))
    }

    /// Run `f` with the terminal as it was (the check's sudo may ask for a password).
    fn cooked<T>(&self, f: impl FnOnce() -> T) -> T {
        let Some(saved) = &self.0 else { return f() };
        let keys = tcgetattr(std::io::stdin().as_fd()).ok();
        set_mode(saved);
        let r = f();
        if let Some(k) = &keys {
            set_mode(k);
        }
        r
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            set_mode(saved);
        }
    }
}

/// A key from stdin within `wait`, if one came. `None` at end of input (then it sleeps).
fn key(wait: Duration, eof: &mut bool) -> Option<u8> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    if *eof {
        std::thread::sleep(wait);
        return None;
    }
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::NONE);
    if poll(&mut fds, ms).unwrap_or(0) <= 0 {
        return None;
    }
    let mut b = [0u8; 1];
    match nix::unistd::read(stdin.as_fd(), &mut b) {
        Ok(1) => Some(b[0]),
        _ => {
            *eof = true;
            None
        }
    }
}

/// The check's output for the screen: the first failing check (or the compiler's first error)
/// first, then everything.
fn render(l: &Lesson, out: &Outcome) -> String {
    let mut s = format!(
        "{} {} — {}\n{}\n\n",
        "workshop watch".bold(),
        l.name.bold(),
        l.title,
        format!("exercise: {}   lab sheet: {}", what_to_edit(l), l.lab_sheet()).dimmed()
    );
    let first_fail = out.output.lines().find_map(|line| line.trim_start().strip_prefix("FAIL "));
    let compile_error = out.output.lines().find(|line| line.starts_with("error"));
    if out.passed {
        s += &format!("{} every check of {} passes.\n\n", "✓".green().bold(), l.number);
    } else if let Some(e) = compile_error {
        s += &format!("{} it does not compile: {e}\n\n", "✗".red().bold());
    } else if let Some(f) = first_fail {
        s += &format!("{} first failing check: {}\n\n", "✗".red().bold(), f.bold());
    } else {
        s += &format!("{} the check failed (its output below).\n\n", "✗".red().bold());
    }
    s += &out.output;
    s
}

/// The file a lesson's exercise is in: for the capstone, any of them.
fn what_to_edit(l: &Lesson) -> String {
    match l.name == CAPSTONE.name {
        true => "lessons/NN-*/exercise.rs (any)".into(),
        false => l.exercise(),
    }
}

/// The files whose save re-runs a lesson's check: its exercise — for the capstone, every one.
fn watched_files(w: &Workshop, lesson: &Lesson) -> Vec<PathBuf> {
    match lesson.name == CAPSTONE.name {
        true => lessons::in_minidocker().map(|l| w.path(&l.exercise())).collect(),
        false => vec![w.path(&lesson.exercise())],
    }
}

fn watch(w: &Workshop, start: Option<&'static Lesson>) -> ExitCode {
    // Without a lesson, follow the path: the first one not passed, then on to the next.
    let follow = start.is_none();
    let Some(mut lesson) = start.or_else(|| w.progress().next()) else {
        println!("Every exercise passes: nothing to watch.");
        return ExitCode::SUCCESS;
    };
    let keys = Keys::new();
    let mut eof = false;
    loop {
        let watched = watched_files(w, lesson);
        let stamps = || watched.iter().map(|f| stamp(f)).collect::<Vec<_>>();
        let before = stamps();
        let out = keys.cooked(|| run_check(w, lesson, false, true));
        if out.interrupted {
            return ExitCode::from(130);
        }
        w.record(lesson, out.passed);
        print!("\x1b[2J\x1b[H{}", render(lesson, &out));
        let after_pass = follow.then(|| w.progress().next()).flatten().filter(|_| out.passed);
        match after_pass {
            Some(n) => {
                println!("\n{}", format!("n: on to {}   r: check again   q: quit", n.name).bold())
            }
            None if out.passed && follow => {
                println!("\nEvery exercise passes. q: quit");
            }
            None if out.passed => println!(
                "\n{}",
                "r: check again   q: quit — then `cargo run --bin workshop -- next`".bold()
            ),
            None => println!(
                "\n{}",
                format!(
                    "Save {} and it is checked again.   h: a hint   r: check again   q: quit",
                    what_to_edit(lesson)
                )
                .bold()
            ),
        }
        let _ = std::io::stdout().flush();
        loop {
            match key(Duration::from_millis(250), &mut eof) {
                Some(b'q' | b'Q' | 3 | 4) => return ExitCode::SUCCESS,
                Some(b'r') => break,
                Some(b'h') => {
                    keys.cooked(|| hint(w, lesson));
                }
                Some(b'n') if after_pass.is_some() => {
                    lesson = after_pass.unwrap_or(lesson);
                    break;
                }
                _ => {}
            }
            if stamps() != before {
                break;
            }
        }
    }
}

fn main() -> ExitCode {
    minidocker::report::init_colors();
    let w = Workshop::from_env();
    match Cli::parse().command {
        Some(Cmd::List { names: true }) => {
            for l in LESSONS {
                println!("{}", l.name);
            }
        }
        None | Some(Cmd::List { names: false }) => list(&w),
        Some(Cmd::Check { lesson: Picked(picked), solution }) => {
            return check(&w, &picked, solution)
        }
        Some(Cmd::Watch { lesson }) => return watch(&w, lesson),
        Some(Cmd::Hint { lesson }) => return hint(&w, lesson),
        Some(Cmd::Reset { lesson, yes }) => return reset(&w, lesson, yes),
        Some(Cmd::Next) => next(&w),
    }
    ExitCode::SUCCESS
}
