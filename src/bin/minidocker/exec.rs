//! `exec`: run a command in a running container — join its namespaces, cgroups and root,
//! with its environment, working directory, user and capabilities (`src/exec.rs`).

use colored::Colorize;
use lexopt::prelude::*;
use minidocker::container::state;
use minidocker::exec::{self, Spec, StartError};
use minidocker::image::Store;
use std::ffi::OsString;

const USAGE: &str = "Usage: minidocker exec [OPTIONS] CONTAINER COMMAND [ARG...]

Run a command in a running container: in its namespaces and cgroups, on its root, with its
environment, working directory, user and capabilities. Exits with the command's status.
  -i, --interactive         keep standard input open (otherwise it is /dev/null)
  -t, --tty                 allocate a pseudo-terminal (TERM=xterm unless set)
  -e, --env KEY=VALUE       set an environment variable (KEY alone: take it from here)
  -w, --workdir DIR         working directory inside the container (it must exist)
  -u, --user USER[:GROUP]   run as this user";

/// `minidocker exec`.
pub fn exec(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut interactive, mut tty, mut env_flags, mut workdir, mut user) =
        (false, false, Vec::new(), None, None);
    let (mut name, mut cmd) = (None, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('i') | Long("interactive") => interactive = true,
            Short('t') | Long("tty") => tty = true,
            Short('e') | Long("env") => env_flags.push(p.value()?.string()?),
            Short('w') | Long("workdir") => workdir = Some(p.value()?.string()?),
            Short('u') | Long("user") => user = Some(p.value()?.string()?),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(0);
            }
            Value(v) => {
                name = Some(v.string()?);
                cmd = p
                    .raw_args()?
                    .map(|a| {
                        a.into_string().map_err(|a| anyhow::anyhow!("argument {a:?} is not UTF-8"))
                    })
                    .collect::<minidocker::Result<_>>()?;
                break;
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let name = name.ok_or_else(|| anyhow::anyhow!("exec needs a container and a command: minidocker exec [OPTIONS] CONTAINER COMMAND [ARG...]"))?;
    anyhow::ensure!(!cmd.is_empty(), "exec needs a command to run in {name}: minidocker exec [OPTIONS] CONTAINER COMMAND [ARG...]");
    anyhow::ensure!(
        !(tty && interactive) || std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "the input device is not a TTY; drop -t or run from a terminal"
    );
    let store = Store::open_default()?;
    let c = state::find(&store, &name)?;
    // A frozen container would freeze the command too, the moment it joins its cgroups.
    anyhow::ensure!(
        !minidocker::container::run::paused(&c),
        "container {} is paused: unpause it before exec",
        c.config.name
    );
    let target = exec::target_of(&c)?;
    let mut spec = Spec::for_container(&c, cmd);
    spec.stdin = interactive;
    spec.tty = tty;
    if tty && !spec.env.iter().any(|e| e.starts_with("TERM=")) {
        spec.set_env("TERM=xterm");
    }
    for e in env_flags {
        match e.split_once('=') {
            Some(_) => spec.set_env(&e),
            None => {
                if let Ok(v) = std::env::var(&e) {
                    spec.set_env(&format!("{e}={v}"));
                }
            }
        }
    }
    if let Some(w) = workdir {
        spec.workdir = w;
    }
    if let Some(u) = user {
        spec.user = u;
    }
    match exec::exec(target, &spec, &exec::RULES) {
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
