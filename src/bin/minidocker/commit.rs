//! `commit`: a container's read-write layer becomes a new image.

use lexopt::prelude::*;
use minidocker::commit::{self, Options};
use minidocker::container::state;
use minidocker::image::{reference, Store};
use std::ffi::OsString;

const USAGE: &str = "Usage: minidocker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]

Create a new image from a container's changes: its read-write layer becomes one more layer on
top of its image's, and its configuration (command, environment, working directory, user) the
new image's. Works on a running container. The init layer's files (/etc/hosts, /etc/hostname,
/etc/resolv.conf) are left out even when the container changed them. Prints the image's ID.
  -m, --message MSG     the history entry's comment
  -a, --author AUTHOR   the author, e.g. \"Jane Doe <jane@example.com>\"
  -c, --change INSTR    apply a Dockerfile instruction to the configuration (repeatable):
                        CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR
  -p, --pause[=BOOL]    freeze a running container while its files are read (default true;
                        --pause=false lets it run on, at the risk of a half-written file)";

/// `minidocker commit [-m MSG] [-a AUTHOR] [-c INSTR]... CONTAINER [REPOSITORY[:TAG]]`
pub fn commit(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut opts = Options::default();
    let mut values = Vec::new();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('m') | Long("message") => opts.message = Some(p.value()?.string()?),
            Short('a') | Long("author") => opts.author = Some(p.value()?.string()?),
            Short('c') | Long("change") => opts.changes.push(p.value()?.string()?),
            Short('p') | Long("pause") => {
                opts.pause = match p.optional_value().map(|v| v.string()).transpose()?.as_deref() {
                    None | Some("true") => true,
                    Some("false") => false,
                    Some(other) => anyhow::bail!("invalid --pause value {other:?}: true or false"),
                }
            }
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(0);
            }
            Value(v) => values.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let (container, name) = match values.as_slice() {
        [c] => (c.clone(), None),
        [c, n] => (c.clone(), Some(reference::parse_tagged(n)?)),
        _ => anyhow::bail!("commit takes a container and optionally a name: minidocker commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]"),
    };
    // A bad -c is refused before anything is written.
    commit::parse_changes(&opts.changes)?;
    let store = Store::open_default()?;
    let c = state::find(&store, &container)?;
    let _lock = store.lock()?;
    let done = commit::commit(&store, &c, name.as_ref(), &opts)?;
    println!("{}", done.image.id);
    Ok(0)
}
