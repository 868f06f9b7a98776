//! `volume ls|create|rm|inspect|prune`: the volumes in `$MINIDOCKER_ROOT/volumes/`.

use minidocker::cli::volume::VolumeCommand;
use minidocker::container::inspect;
use minidocker::image::Store;
use minidocker::units;
use minidocker::volumes;
use std::io::Write;

/// `minidocker volume …`
pub fn volume(command: VolumeCommand) -> minidocker::Result<i32> {
    match command {
        VolumeCommand::Ls { quiet } => ls(quiet),
        VolumeCommand::Create { name } => create(name),
        VolumeCommand::Inspect { format, names } => show(format, &names),
        VolumeCommand::Rm { force, names } => rm(force, &names),
        VolumeCommand::Prune { all, force } => prune(all, force),
    }
}

fn ls(quiet: bool) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let all = volumes::list(store.root())?;
    if !quiet {
        println!("{:<10}VOLUME NAME", "DRIVER");
    }
    for v in all {
        if quiet {
            println!("{}", v.name);
        } else {
            println!("{:<10}{}", "local", v.name);
        }
    }
    Ok(0)
}

fn create(name: Option<String>) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let _lock = volumes::lock(store.root())?;
    let (v, _) = volumes::create(store.root(), name.as_deref(), false)?;
    println!("{}", v.name);
    Ok(0)
}

fn show(format: Option<String>, names: &[String]) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let docs: Vec<serde_json::Value> = names
        .iter()
        .map(|n| volumes::get(store.root(), n).map(|v| inspect::volume_json(&v)))
        .collect::<minidocker::Result<_>>()?;
    println!("{}", inspect::render(&docs, format.as_deref())?);
    Ok(0)
}

fn rm(force: bool, names: &[String]) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let mut status = 0;
    for n in names {
        if force && volumes::get(store.root(), n).is_err() {
            continue;
        }
        match minidocker::container::volumes::remove(&store, n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("minidocker: error: {e:#}");
                status = 1;
            }
        }
    }
    Ok(status)
}

/// `volume prune [-a] [-f]`, worded as `docker volume prune` is.
fn prune(all: bool, force: bool) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    if !force {
        let which = if all { "all" } else { "anonymous" };
        // Docker asks on stdout and reads a line of stdin, a terminal or not.
        print!("WARNING! This will remove {which} local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        if !matches!(super::prompt::read_line()?.trim(), "y" | "Y") {
            // Docker: "volume prune has been cancelled", exit 0, nothing more printed.
            return Ok(0);
        }
    }
    let pruned = minidocker::container::volumes::prune(&store, all)?;
    print_pruned(&pruned);
    Ok(0)
}

/// `Deleted Volumes:` and the names (if any), then `Total reclaimed space:`, as Docker prints them.
fn print_pruned(pruned: &volumes::Pruned) {
    if !pruned.names.is_empty() {
        println!("Deleted Volumes:\n{}\n", pruned.names.join("\n"));
    }
    println!("Total reclaimed space: {}", units::docker_size(pruned.bytes));
}
