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
    // The file is the namespace: open it, and hand the descriptor to setns. Naming the kind
    // (the article passes 0, "any") makes the kernel refuse a file of another kind.
    let file = File::open(nsfile).with_context(|| format!("open {}", nsfile.display()))?;
    exec::setns(&file, &nsfile.display().to_string(), Some(ns))
    // ANCHOR_END: join
}

/// The order in which to join `namespaces`: a target's namespaces that this process is not
/// in, given in `Namespace::ALL`'s order (uts, pid, mnt, ipc, net, cgroup, user). Each is
/// joined with `join(/proc/PID/ns/FILE, ns)`, one after the other.
pub fn join_order(namespaces: &[Namespace]) -> Vec<Namespace> {
    // ANCHOR: join_order
    // The user namespace first: joining it gives the capabilities that joining the others —
    // which it owns — requires of a process that is not root on the host. The mount
    // namespace last: once in it, /proc is the container's, where the target's host PID
    // means nothing, and no /proc/PID/ns/* path opens any more. (The sort is stable.)
    let mut order = namespaces.to_vec();
    order.sort_by_key(|ns| match ns {
        Namespace::User => 0,
        Namespace::Mount => 2,
        _ => 1,
    });
    order
    // ANCHOR_END: join_order
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { join, join_order };
