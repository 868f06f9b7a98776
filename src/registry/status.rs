//! What `pull` and `push` show, shaped like Docker's: one line per layer,
//! `<12 hex digits>: Downloading [====>    ] 1.2MB/2.5MB` becoming `…: Pull complete`.
//!
//! On a terminal (stderr) each layer is an `indicatif` bar in a `MultiProgress`; otherwise —
//! piped output, tests — only each layer's final state is printed, as a plain line on stdout.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read};

pub(crate) struct Board {
    multi: Option<MultiProgress>,
    quiet: bool,
}

/// A board dropped before it settled is one whose command failed: its lines stay as they
/// ended (`Failed`), and the cursor goes below them, so that the error is printed on a line of
/// its own instead of glued to the last bar.
impl Drop for Board {
    fn drop(&mut self) {
        if self.multi.take().is_some() {
            eprintln!();
        }
    }
}

/// One layer's line.
pub(crate) struct Line {
    bar: Option<ProgressBar>,
    short: String,
    quiet: bool,
}

fn text_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}").expect("a valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg:<12} [{wide_bar}] {bytes}/{total_bytes}")
        .expect("a valid template")
        .progress_chars("=> ")
}

impl Board {
    pub fn new(quiet: bool) -> Board {
        let multi = (!quiet && std::io::stderr().is_terminal()).then(MultiProgress::new);
        Board { multi, quiet }
    }

    /// A line of text on stdout (above the bars while they are drawn).
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.multi {
            Some(m) => m.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    /// Every layer's line is in its final state: what follows is printed below them.
    pub fn settle(&mut self) {
        self.multi = None;
    }

    /// A layer's line, in its first state.
    pub fn layer(&self, short: &str, status: &str) -> Line {
        let bar = self.multi.as_ref().map(|m| {
            m.add(
                ProgressBar::new(0)
                    .with_style(text_style())
                    .with_prefix(short.to_string())
                    .with_message(status.to_string()),
            )
        });
        Line { bar, short: short.to_string(), quiet: self.quiet }
    }
}

impl Line {
    /// A state that lasts (`Extracting`): redrawn while it does, since nothing else draws it.
    pub fn status(&self, status: &str) {
        if let Some(b) = &self.bar {
            b.set_style(text_style());
            b.set_message(status.to_string());
            b.enable_steady_tick(std::time::Duration::from_millis(200));
        }
    }

    /// Start counting `total` bytes under `verb` (`Downloading`, `Pushing`).
    pub fn transfer(&self, verb: &str, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(0);
            b.set_style(bar_style());
            b.set_message(verb.to_string());
        }
    }

    /// `r`, counted on this line's bar.
    pub fn wrap<R: Read>(&self, r: R) -> Counted<'_, R> {
        Counted { inner: r, bar: self.bar.as_ref() }
    }

    /// The final state, left on screen (or printed).
    pub fn done(&self, status: &str) {
        match &self.bar {
            Some(b) => {
                b.set_style(text_style());
                b.finish_with_message(status.to_string());
            }
            None if !self.quiet => println!("{}: {status}", self.short),
            None => {}
        }
    }

    /// Stop drawing an unfinished line after a failure (what failed is said once, by the error).
    pub fn abandon(&self, status: &str) {
        if let Some(b) = self.bar.as_ref().filter(|b| !b.is_finished()) {
            b.set_style(text_style());
            b.abandon_with_message(status.to_string());
        }
    }
}

pub(crate) struct Counted<'a, R> {
    inner: R,
    bar: Option<&'a ProgressBar>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(b) = self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }
}
