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

pub mod init;
pub mod runtime;
pub mod spec;

pub use runtime::Runtime;
pub use spec::Spec;
