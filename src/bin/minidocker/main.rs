//! `minidocker` — the lessons' mechanisms behind a docker-like command line.
//!
//! Each command is a thin layer over a library module.

mod build;
mod commit;
mod containers;
mod exec;
mod images;
mod prompt;
mod registry;
mod system;
mod volume;

use colored::Colorize;
use minidocker::{interrupt, report, sys};
use std::ffi::OsString;
use std::process::ExitCode;

type Command = fn(Vec<OsString>) -> minidocker::Result<i32>;

/// Docker's command set as this workshop has it: name, summary, the lesson that builds it, code.
const COMMANDS: &[(&str, &str, &str, Command)] = &[
    ("build", "Build an image from a Dockerfile", "04", build::build),
    ("history", "Show the history of an image", "04", images::history),
    ("images", "List images", "03", images::images),
    ("import", "Import a rootfs tarball as a one-layer image", "03", images::import),
    ("load", "Load the images of an OCI layout (directory or tar)", "03", images::load),
    ("tag", "Give an image another name", "03", images::tag),
    ("rmi", "Remove images", "03", images::rmi),
    ("pull", "Pull an image from a registry", "registry", registry::pull),
    ("push", "Push an image to a registry", "registry", registry::push),
    ("login", "Log in to a registry", "registry", registry::login),
    ("logout", "Log out from a registry", "registry", registry::logout),
    ("run", "Run a command in a new container", "05", containers::run),
    ("ps", "List containers", "05", containers::ps),
    ("logs", "Fetch the logs of a container", "05", containers::logs),
    ("stop", "Stop running containers", "05", containers::stop),
    ("kill", "Kill running containers", "05", containers::kill),
    ("pause", "Freeze all processes of containers", "07", containers::pause),
    ("unpause", "Let paused containers run again", "07", containers::unpause),
    ("rm", "Remove containers", "05", containers::rm),
    ("inspect", "Low-level information on a container", "05", containers::inspect),
    ("exec", "Run a command in a running container", "06", exec::exec),
    ("commit", "Create a new image from a container's changes", "07", commit::commit),
    ("volume", "Manage volumes", "08", volume::volume),
    ("system", "Prune unused data: system prune", "05", system::system),
];

fn help() {
    println!("Usage: minidocker COMMAND [OPTIONS]\n\nA docker-like CLI rebuilt lesson by lesson.\n\nCommands:");
    for (name, what, lesson, _) in COMMANDS {
        println!("  {name:<9} {what} (lesson {lesson})");
    }
    println!(
        "\nState lives in $MINIDOCKER_ROOT (default {}).",
        minidocker::image::store::DEFAULT_ROOT
    );
}

fn main() -> ExitCode {
    report::init_colors();
    report::set_quiet(true);
    let mut args = std::env::args_os().skip(1);
    let Some(cmd) = args.next() else {
        help();
        return ExitCode::SUCCESS;
    };
    let cmd = cmd.to_string_lossy().into_owned();
    if matches!(cmd.as_str(), "-h" | "--help" | "help") {
        help();
        return ExitCode::SUCCESS;
    }
    let Some(&(name, _, _, run)) = COMMANDS.iter().find(|c| c.0 == cmd) else {
        eprintln!("minidocker: unknown command '{cmd}'; run 'minidocker --help' for the list");
        return ExitCode::from(2);
    };
    if !sys::is_root() {
        eprintln!("minidocker: needs root: images and containers live in {} and are unpacked, mounted and isolated with root-only calls; run it with sudo", minidocker::image::store::default_root().display());
        return ExitCode::from(1);
    }
    interrupt::install();
    match run(args.collect()) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let usage = e.downcast_ref::<lexopt::Error>().is_some();
            let hint =
                if usage { format!(" (see 'minidocker {name} --help')") } else { String::new() };
            eprintln!("{} {e:#}{hint}", "minidocker: error:".red().bold());
            match e.downcast_ref::<interrupt::Interrupted>() {
                Some(sig) => ExitCode::from((128 + sig.0) as u8),
                None if usage => ExitCode::from(2),
                None => ExitCode::from(1),
            }
        }
    }
}
