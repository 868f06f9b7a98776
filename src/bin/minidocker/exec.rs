//! `exec`: run a command in a running container — join its namespaces, cgroups and root,
//! with its environment, working directory, user and capabilities (`src/exec.rs`).

use colored::Colorize;
use minidocker::cli::containers::ExecArgs;
use minidocker::cli::values::resolve_env;
use minidocker::container::state;
use minidocker::exec::{self, Spec, StartError};
use minidocker::image::Store;

/// `minidocker exec`.
pub fn exec(args: ExecArgs, rules: &exec::Rules) -> minidocker::Result<i32> {
    let (interactive, tty) = (args.interactive, args.tty);
    anyhow::ensure!(
        !(tty && interactive) || std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "the input device is not a TTY; drop -t or run from a terminal"
    );
    let store = Store::open_default()?;
    let c = state::find(&store, &args.container)?;
    // A frozen container would freeze the command too, the moment it joins its cgroups.
    anyhow::ensure!(
        !minidocker::container::run::paused(&c),
        "container {} is paused: unpause it before exec",
        c.config.name
    );
    let target = exec::target_of(&c)?;
    let mut spec = Spec::for_container(&c, args.command);
    spec.stdin = interactive;
    spec.tty = tty;
    if tty && !spec.env.iter().any(|e| e.starts_with("TERM=")) {
        spec.set_env("TERM=xterm");
    }
    for e in resolve_env(&args.env) {
        spec.set_env(&e);
    }
    if let Some(w) = args.workdir {
        spec.workdir = w;
    }
    if let Some(u) = args.user {
        spec.user = u;
    }
    match exec::exec(target, &spec, rules) {
        Ok(exit) => Ok(exit.code()),
        // The command never ran: say why, and end as a shell would (126 or 127).
        Err(e) => match e.downcast_ref::<StartError>() {
            Some(s) => {
                eprintln!("{} {s}", "minidocker: error:".red().bold());
                Ok(s.code)
            }
            None => Err(e),
        },
    }
}
