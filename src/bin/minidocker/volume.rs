//! `volume ls|create|rm|inspect|prune`: the volumes in `$MINIDOCKER_ROOT/volumes/`.

use lexopt::prelude::*;
use minidocker::image::Store;
use minidocker::units;
use minidocker::volumes::{self, Volume};
use std::ffi::OsString;
use std::io::Write;

const USAGE: &str = "Usage: minidocker volume COMMAND

Manage volumes: directories in $MINIDOCKER_ROOT/volumes/<name>/_data that containers mount with
-v NAME:/path (named) or -v /path (anonymous, named by 64 hex digits).
  ls [-q]                   list volumes (-q: names only)
  create [NAME]             create a volume (no NAME: a random one); prints its name
  inspect [-f TEMPLATE] NAME...   details as JSON, as `docker volume inspect` shows them
  rm [-f] NAME...           remove volumes no container uses (-f: no error for missing ones)
  prune [-a] [-f]           remove the anonymous volumes no container uses (-a: named ones too)";

/// `minidocker volume …`
pub fn volume(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut args = args.into_iter();
    let sub = args.next().map(|a| a.to_string_lossy().into_owned());
    let rest: Vec<OsString> = args.collect();
    match sub.as_deref() {
        Some("ls" | "list") => ls(rest),
        Some("create") => create(rest),
        Some("inspect") => inspect(rest),
        Some("rm" | "remove") => rm(rest),
        Some("prune") => prune(rest),
        None | Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(0)
        }
        Some(other) => anyhow::bail!("unknown volume command {other:?}: ls, create, inspect, rm or prune (see 'minidocker volume --help')"),
    }
}

fn ls(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut quiet = false;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('q') | Long("quiet") => quiet = true,
            Short('h') | Long("help") => {
                return help(
                    "Usage: minidocker volume ls [-q]\n\nList volumes.\n  -q, --quiet   only names",
                )
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
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

fn create(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut name = None;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return help("Usage: minidocker volume create [NAME]\n\nCreate a volume (with no NAME, a random 64-hex one) and print its name.\nCreating one that exists is not an error, as in Docker."),
            Value(v) if name.is_none() => name = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let store = Store::open_default()?;
    let _lock = volumes::lock(store.root())?;
    let (v, _) = volumes::create(store.root(), name.as_deref(), false)?;
    println!("{}", v.name);
    Ok(0)
}

fn inspect(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut format, mut names) = (None, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("format") => format = Some(p.value()?.string()?),
            Short('h') | Long("help") => return help("Usage: minidocker volume inspect [-f TEMPLATE] NAME...\n\nDetails of volumes, as JSON; -f '{{.Mountpoint}}' picks a field."),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    anyhow::ensure!(
        !names.is_empty(),
        "volume inspect needs a volume name (see `minidocker volume ls`)"
    );
    let store = Store::open_default()?;
    let docs: Vec<serde_json::Value> = names
        .iter()
        .map(|n| volumes::get(store.root(), n).map(|v| docker_json(&v)))
        .collect::<minidocker::Result<_>>()?;
    crate::containers::print_inspect(&docs, format.as_deref())
}

/// A volume as `docker volume inspect` shapes it.
fn docker_json(v: &Volume) -> serde_json::Value {
    let labels = if v.anonymous {
        serde_json::json!({ "com.docker.volume.anonymous": "" })
    } else {
        serde_json::Value::Null
    };
    serde_json::json!({
        "CreatedAt": v.created_at,
        "Driver": "local",
        "Labels": labels,
        "Mountpoint": v.data(),
        "Name": v.name,
        "Options": null,
        "Scope": "local",
    })
}

fn rm(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut force, mut names) = (false, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("force") => force = true,
            Short('h') | Long("help") => return help("Usage: minidocker volume rm [-f] NAME...\n\nRemove volumes and their files. A volume a container uses (running or not) is refused:\nremove the container first. -f: a missing volume is not an error."),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    anyhow::ensure!(
        !names.is_empty(),
        "volume rm needs a volume name (see `minidocker volume ls`)"
    );
    let store = Store::open_default()?;
    let mut status = 0;
    for n in &names {
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

const PRUNE_HELP: &str = "Usage: minidocker volume prune [-a] [-f]

Remove the volumes no container uses — a container, running or stopped, uses the volumes it
was created with. As in Docker 23+, only anonymous volumes (-v /path) unless -a.
  -a, --all     remove named volumes no container uses too
  -f, --force   do not ask for confirmation";

/// `volume prune [-a] [-f]`, worded as `docker volume prune` is.
fn prune(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut all, mut force) = (false, false);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('a') | Long("all") => all = true,
            Short('f') | Long("force") => force = true,
            Short('h') | Long("help") => return help(PRUNE_HELP),
            _ => return Err(arg.unexpected().into()),
        }
    }
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

fn help(text: &str) -> minidocker::Result<i32> {
    println!("{text}");
    Ok(0)
}
