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
    // TODO 1: the child shares IPC, network and the cgroup view with the host.
    // Add the three namespaces that give it its own.
    vec![Namespace::Uts, Namespace::Pid, Namespace::Mount]
    // ANCHOR_END: child_namespaces
}

/// Runs in the child, inside its new namespaces, just before it executes the command.
pub fn setup_inside(hostname: &str) -> minidocker::Result<()> {
    sys::sethostname(hostname)?;
    // ANCHOR: setup_inside
    // TODO 2: `ls /proc` in the child still lists every process of the host. Mount a fresh
    // proc filesystem on /proc — without letting that mount reach the host's mount table.
    // ANCHOR_END: setup_inside
    Ok(())
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { child_namespaces, setup_inside };
