//! `xray`: a running container whole, as text, JSON or SVG; `--watch` redraws it every second.

use anyhow::Context;
use minidocker::cli::xray::{XrayArgs, XrayFormat};
use minidocker::image::Store;
use minidocker::{interrupt, xray};
use std::time::Duration;

/// `minidocker xray [--format text|json] [--svg FILE] [--watch] CONTAINER`
pub fn xray(args: XrayArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    loop {
        // CPU usage is measured over a quarter of a second, or the whole second when watching.
        let window = Duration::from_millis(if args.watch { 1000 } else { 250 });
        let x = xray::read(&store, &args.container, window)?;
        if args.watch && interrupt::check().is_err() {
            return Ok(0);
        }
        if let Some(path) = &args.svg {
            std::fs::write(path, xray::svg::render(&x))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        let out = match args.format {
            XrayFormat::Json => serde_json::to_string_pretty(&x)?,
            XrayFormat::Text => xray::text::render(&x),
        };
        if args.watch {
            // Clear the screen and go home, then the figure.
            print!("\x1b[2J\x1b[H");
        }
        println!("{}", out.trim_end());
        if !args.watch {
            return Ok(0);
        }
    }
}
