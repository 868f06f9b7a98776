//! Man pages for `minidocker`, from its clap definition (`minidocker::cli::Cli`): one page per
//! command, `minidocker.1`, `minidocker-run.1`, `minidocker-volume-ls.1`, …, written to the
//! directory given (default `target/man`). `scripts/man-pages` runs it. A cargo example
//! (`[[example]]` in Cargo.toml) rather than part of the binary, so the binaries do not carry
//! clap_mangen.

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("target/man"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let mut cli = minidocker::cli::Cli::command();
    // Built, so each command knows its full name (`minidocker-volume-ls`) for its page.
    cli.build();
    let mut written = 0;
    write_pages(&cli, &dir, &mut written)?;
    println!("{written} man pages in {}", dir.display());
    Ok(())
}

/// `cmd`'s page, then its commands' pages.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut usize) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render(&mut out)?;
    std::fs::write(dir.join(man.get_filename()), out)?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
