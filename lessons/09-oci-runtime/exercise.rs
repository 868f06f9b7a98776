//! Exercise 09 — the create/start split: the exec FIFO that holds a created container.
//!
//! `09-oci-runtime --mine` runs with your code; `09-oci-runtime --check` checks it.
//! The lab sheet is lessons/09-oci-runtime/README.md.

use minidocker::oci::Rules;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// In the container's init, at the end of `create`: namespaces, cgroup, mounts and the switch
/// of root are done, and `create` has been told so (it returns now, the init stays). Return
/// only once `start` has come — the caller then `execve`s the command. `fifo` names the exec
/// FIFO, `<root>/<id>/exec.fifo`, which `create` made with mkfifo(3).
///
/// `OpenOptions` opens a file (`.read(true)`, `.write(true)`, `.custom_flags(libc::O_…)`);
/// open(2) on a FIFO says what blocks (`man 7 fifo`).
pub fn wait_for_start(fifo: &Path) -> minidocker::Result<()> {
    // ANCHOR: wait_for_start
    // TODO 1: hold the init here until `start` comes — with nothing but the FIFO: no
    // process of the runtime stays alive between `create` and `start`. Which open(2) of a
    // FIFO blocks, and until what? (As shipped, it does not wait: the command runs at
    // `create`.)
    let _ = (OpenOptions::new().write(true), fifo);
    Ok(())
    // ANCHOR_END: wait_for_start
}

/// In `start`, a process of its own, later: let the init waiting in `wait_for_start` go on.
/// `fifo` is the same FIFO, by its path in the state directory; `alive()` says whether the
/// init is still alive (it may have been killed while it waited). Return once the init has
/// gone on, or an error.
pub fn release(fifo: &Path, alive: &dyn Fn() -> bool) -> minidocker::Result<()> {
    // ANCHOR: release
    // TODO 2: let the init go on, and return once it has — or say it never will (dead, or
    // not through within 10 s). How does `start` know it got through? (As shipped, it
    // returns at once.)
    let _ = (OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK), fifo, alive());
    let _ = (Instant::now() + Duration::from_secs(10), ErrorKind::WouldBlock);
    let _ = (<std::fs::File as Read>::read, <std::fs::File as Write>::write_all);
    Ok(())
    // ANCHOR_END: release
}

/// The answers above as one value, which the lesson passes to the runtime: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { wait_for_start, release };
