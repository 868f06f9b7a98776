//! The OCI runtime: what `runc` does for containerd, Docker and Podman, on this library.
//!
//! An engine writes a *bundle* (a `config.json` and a root filesystem) and calls the runtime:
//! `create` makes the container's namespaces, cgroup and mounts and leaves its first process
//! waiting on the *exec FIFO* (`<root>/<id>/exec.fifo`) with no process of ours watching it —
//! the engine's shim is the parent that reaps it; `start` opens the FIFO's other end, which
//! lets that process go on to `execve` the command. `state`, `kill`, `delete`, `exec`, `ps`,
//! `pause` and `resume` work from the state directory and the kernel alone.
//!
//! - [`spec`]: `config.json`'s serde types, the parts engines send
//! - [`init`]: inside the container: mounts, the switch of root, user, capabilities, seccomp
//! - [`runtime`]: the commands, and the state directory they share
//!
//! Exercise 09 is the create/start split: [`solution`] is the reference answer the runtime
//! uses ([`RULES`]); lesson 09 passes a student's instead.

/// Exercise 09's reference answer, compiled as this module's own code.
#[path = "../../solutions/09-oci-runtime/exercise.rs"]
pub mod solution;

pub mod init;
pub mod runtime;
pub mod spec;

pub use runtime::Runtime;
pub use spec::Spec;

use std::path::Path;

/// Exercise 09, the create/start split through the exec FIFO: the reference answer's
/// ([`RULES`]) or a student's (`09-oci-runtime --mine`). A [`Runtime`] holds one.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// In the container's init, everything set up and `create` told so: return only once
    /// `start` has come. The path names the exec FIFO (`/proc/self/fd/N`).
    pub wait_for_start: fn(&Path) -> crate::Result<()>,
    /// In `start`: let the init waiting at the FIFO go on; the function given says whether it
    /// is still alive.
    pub release: fn(&Path, &dyn Fn() -> bool) -> crate::Result<()>,
}

/// The rules `minidocker-runc` uses: the reference answer's.
pub use solution::RULES;
