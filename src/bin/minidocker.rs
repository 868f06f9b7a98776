//! `minidocker` — the lessons' mechanisms behind a docker-like command line.
//!
//! The commands arrive lesson by lesson; each one not built yet says so in one line.

use std::process::ExitCode;

/// Docker's command set as this workshop will have it, with the lesson that builds each.
const COMMANDS: &[(&str, &str, &str)] = &[
    ("build", "Build an image from a Dockerfile", "04"),
    ("images", "List images", "03"),
    ("import", "Import a rootfs tarball as a one-layer image", "03"),
    ("tag", "Give an image another name", "03"),
    ("rmi", "Remove images", "03"),
    ("pull", "Pull an image from a registry", "registry"),
    ("push", "Push an image to a registry", "registry"),
    ("login", "Log in to a registry", "registry"),
    ("run", "Run a command in a new container", "05"),
    ("ps", "List containers", "05"),
    ("logs", "Fetch the logs of a container", "05"),
    ("stop", "Stop running containers", "05"),
    ("kill", "Kill running containers", "05"),
    ("rm", "Remove containers", "05"),
    ("inspect", "Low-level information on a container", "05"),
    ("exec", "Run a command in a running container", "06"),
    ("commit", "Create a new image from a container's changes", "07"),
    ("volume", "Manage volumes", "08"),
    ("system", "Prune unused data", "05"),
];

fn help() {
    println!("Usage: minidocker COMMAND [OPTIONS]\n\nA docker-like CLI rebuilt lesson by lesson.\n\nCommands:");
    for (name, what, lesson) in COMMANDS {
        println!("  {name:<9} {what} (lesson {lesson})");
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            help();
            ExitCode::SUCCESS
        }
        Some(cmd) => match COMMANDS.iter().find(|c| c.0 == cmd) {
            Some((name, _, lesson)) => {
                eprintln!("minidocker: '{name}' is not built yet: it arrives with lesson {lesson} of the workshop");
                ExitCode::from(1)
            }
            None => {
                eprintln!("minidocker: unknown command '{cmd}'; run 'minidocker --help' for the list");
                ExitCode::from(2)
            }
        },
    }
}
