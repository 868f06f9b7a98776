//! Exercise 02 — contain a fork bomb with the pids controller.
//!
//! `02-cgroups --mine --pids-limit 20` runs your code; `02-cgroups --check` checks it.
//! The lab sheet is lessons/02-cgroups/README.md.

use minidocker::cgroups::{keyed, Cgroup, Controller, Rules};

/// Allow at most `max` processes (threads included) in `cg`.
///
/// The pids controller has the same file on cgroup v1 and v2: `pids.max`. Once the group
/// holds `max` tasks, every further fork()/clone() in it fails with EAGAIN.
pub fn limit_pids(cg: &Cgroup, max: u64) -> minidocker::Result<()> {
    // ANCHOR: limit_pids
    // TODO 1: write `max` into the group's pids.max (Cgroup::write).
    let _ = (cg, max, Controller::Pids);
    Ok(())
    // ANCHOR_END: limit_pids
}

/// How many forks the limit has refused so far.
///
/// The kernel counts them in `pids.events`, a flat-keyed file: `max 17`.
pub fn forks_refused(cg: &Cgroup) -> minidocker::Result<u64> {
    // ANCHOR: forks_refused
    // TODO 2: read pids.events (Cgroup::read) and return the number after "max" (keyed).
    let _ = (cg, keyed);
    Ok(0)
    // ANCHOR_END: forks_refused
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { limit_pids, forks_refused };
