//! How the workshop talks: numbered step headings, evidence, syscall traces, cleanup notes.
//!
//! Everything a lesson prints goes through here, so colours (and `NO_COLOR`) are decided once.

use colored::Colorize;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static EXPLAIN: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// No narration at all: `minidocker` prints what Docker prints and nothing of the lessons'.
pub fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Colours only for a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
/// Also: output piped into `head` ends the program quietly, as any Unix tool does, instead of
/// Rust's default panic on a broken pipe.
pub fn init_colors() {
    // SAFETY: restoring the default disposition of SIGPIPE, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || !std::io::stdout().is_terminal() {
        colored::control::set_override(false);
    }
}

/// Turn syscall tracing (`--explain`) on or off for this process.
pub fn set_explain(on: bool) {
    EXPLAIN.store(on, Ordering::Relaxed);
}

pub fn explaining() -> bool {
    EXPLAIN.load(Ordering::Relaxed)
}

/// `Step N  Title`, the heading of one numbered step.
pub fn step(n: usize, title: &str) {
    if quiet() {
        return;
    }
    println!("\n{} {}", format!("Step {n}").bold().cyan(), title.bold());
}

/// A sentence of narration under a step.
pub fn say(text: &str) {
    if quiet() {
        return;
    }
    println!("  {text}");
}

/// A line of evidence read from the kernel (a file, a link, a counter).
pub fn evidence(label: &str, value: &str) {
    if quiet() {
        return;
    }
    println!("  {} {}", format!("{label}:").dimmed(), value);
}

/// One syscall as it happened, when `--explain` is on: `call = result`.
pub fn syscall(call: &str, result: &str) {
    if explaining() {
        println!("    {} {} = {}", "syscall".yellow(), call, result);
        let _ = std::io::stdout().flush();
    }
}

/// Something the run created was removed again.
pub fn cleanup(what: &str) {
    if quiet() {
        return;
    }
    println!("  {} {}", "cleanup".green(), what);
}

/// Something worth a learner's attention.
pub fn note(text: &str) {
    if quiet() {
        return;
    }
    println!("  {} {}", "note".magenta(), text);
}

/// A check passed (`ok`) or failed, for `--check`.
pub fn verdict(ok: bool, text: &str) {
    let mark = if ok { "PASS".green().bold() } else { "FAIL".red().bold() };
    println!("  {mark} {text}");
}

/// `text` safe to print: its control characters (ESC, CR, BEL, newlines…, with which a
/// hostile server could clear the screen or forge lines of ours) shown as `\x1b` escapes.
/// For anything a server or a file says, before it goes into a message.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| if c.is_control() { format!("\\x{:02x}", c as u32) } else { c.to_string() })
        .collect::<String>()
        .into()
}

/// `text` cut to at most `max` characters for a message, saying how much was left out: a
/// 5 MB command line is not echoed whole in an error.
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut).into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_and_short() {
        assert_eq!(super::printable("plain ünïcode"), "plain ünïcode");
        assert_eq!(super::printable("a\x1b[2Jb\r\nc\u{9b}"), "a\\x1b[2Jb\\x0d\\x0ac\\x9b");
        assert_eq!(super::shorten("abcdef", 10), "abcdef");
        assert_eq!(super::shorten("abcdéf", 4), "abcd… (3 more bytes)");
    }
}
