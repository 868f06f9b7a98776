//! Progress bars for long work (unpacking, pulling, building), on stderr and only on a
//! terminal, so piped output and tests stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` bytes (a spinner with a byte count when the length is unknown).
pub fn bytes(len: Option<u64>, message: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg:>12} {spinner} {bytes} {bytes_per_sec}")
                .expect("a valid template"),
        ),
    };
    bar.with_message(message.to_string())
}
