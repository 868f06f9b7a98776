//! Exercise 06 — enter a running container: join one of its namespaces, and join them all
//! in an order that works.
//!
//! `06-exec-setns --mine` runs your code; `06-exec-setns --check` checks it.
//! The lab sheet is lessons/06-exec-setns/README.md.
#![allow(unused_imports)]

use anyhow::Context;
use minidocker::exec::{self, Rules};
use minidocker::namespaces::Namespace;
use std::fs::File;
use std::path::Path;

/// Make this process a member of the namespace `nsfile` stands for — `/proc/PID/ns/net`, say —
/// which is of kind `ns`. This is all the article's `set_ns` program does before it executes
/// its command.
pub fn join(nsfile: &Path, ns: Namespace) -> minidocker::Result<()> {
    // ANCHOR: join
    // TODO 1: open the file and hand the descriptor to setns(2), naming the namespace's kind
    // (ns.flag()). `exec::setns(&file, "what to call it in the trace", Some(ns))` makes the
    // call, traces it for --explain and turns a failure into one line.
    let _ = (nsfile, ns);
    Ok(())
    // ANCHOR_END: join
}

/// The order in which to join `namespaces`: a target's namespaces that this process is not
/// in, given in `Namespace::ALL`'s order (uts, pid, mnt, ipc, net, cgroup, user). Each is
/// joined with `join(/proc/PID/ns/FILE, ns)`, one after the other.
pub fn join_order(namespaces: &[Namespace]) -> Vec<Namespace> {
    // ANCHOR: join_order
    // TODO 2: the order given does not work. One namespace must be joined before all the
    // others, and one after all the others. Which — and why? (What does `/proc/PID` mean
    // once you are in the container's mount namespace? What may a process that is not root
    // on the host do to namespaces a user namespace owns?)
    namespaces.to_vec()
    // ANCHOR_END: join_order
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { join, join_order };
