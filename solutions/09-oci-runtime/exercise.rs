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
    // Write-only: opening one end of a FIFO blocks until the other end is opened. Nobody
    // reads it until `start` does — so here the init sleeps in open(2), with no process of
    // the runtime's alive to watch it. (Read-write would not block: the command would run
    // at `create`.)
    let mut f = OpenOptions::new().write(true).open(fifo)?;
    // One byte: `start` knows the init is through, not merely alive.
    f.write_all(b"0")?;
    Ok(())
    // ANCHOR_END: wait_for_start
}

/// In `start`, a process of its own, later: let the init waiting in `wait_for_start` go on.
/// `fifo` is the same FIFO, by its path in the state directory; `alive()` says whether the
/// init is still alive (it may have been killed while it waited). Return once the init has
/// gone on, or an error.
pub fn release(fifo: &Path, alive: &dyn Fn() -> bool) -> minidocker::Result<()> {
    // ANCHOR: release
    // Read-only and non-blocking: the open succeeds at once, and it is what lets the init's
    // open for writing through. A blocking open would hang if the init were already dead.
    let mut f = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(fifo)?;
    // Then wait for its byte; end-of-file or "would block" means not yet (or never: dead).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut byte = [0u8; 1];
    loop {
        match f.read(&mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) | Err(_) if !alive() => anyhow::bail!("the container's process is gone"),
            Err(e) if e.kind() != ErrorKind::WouldBlock => return Err(e.into()),
            _ if Instant::now() > deadline => {
                anyhow::bail!("the container's process did not go on within 10 s")
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    // ANCHOR_END: release
}

/// The answers above as one value, which the lesson passes to the runtime: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { wait_for_start, release };
