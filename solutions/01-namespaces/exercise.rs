//! Exercise 01 — give the child its own namespaces and its own /proc.
//!
//! `01-namespaces --mine` runs your code; `01-namespaces --check` checks it.
//! The lab sheet is lessons/01-namespaces/README.md.
#![allow(unused_imports)]

use minidocker::namespaces::{Namespace, Rules};
use minidocker::sys;
use nix::mount::MsFlags;
use std::path::Path;

/// The namespaces the child is cloned into.
pub fn child_namespaces() -> Vec<Namespace> {
    // ANCHOR: child_namespaces
    vec![
        Namespace::Uts,
        Namespace::Pid,
        Namespace::Mount,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Cgroup,
    ]
    // ANCHOR_END: child_namespaces
}

/// Runs in the child, inside its new namespaces, just before it executes the command.
pub fn setup_inside(hostname: &str) -> minidocker::Result<()> {
    sys::sethostname(hostname)?;
    // ANCHOR: setup_inside
    // Our mount namespace starts as a copy of the host's, and mounts may propagate back to
    // the host through shared peer groups: make every mount private before changing any.
    sys::mount(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)?;
    // A proc filesystem shows the PID namespace of whoever mounts it: mount a fresh one over
    // /proc, and `ps` inside sees only the container's processes.
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys::mount(Some("proc"), Path::new("/proc"), Some("proc"), flags, None)?;
    // ANCHOR_END: setup_inside
    Ok(())
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { child_namespaces, setup_inside };
