//! Exercise 02 — `docker run --cpus` and `--memory`: two limits, each a file to write, and a
//! different file on cgroup v1 and v2.
//!
//! `02-cgroups --mine` runs your code; `02-cgroups --check` checks it.
//! The lab sheet is lessons/02-cgroups/README.md.

use minidocker::cgroups::limits::CPU_PERIOD_US;
use minidocker::cgroups::{Cgroup, Controller, Rules, Version};

/// `--cpus N`: let the group's processes run N × `CPU_PERIOD_US` microseconds of CPU time in
/// every period of `CPU_PERIOD_US` microseconds (0.25 = a quarter of one CPU, 2 = two CPUs).
///
/// `cg.version(Controller::Cpu)?` says which cgroup version the cpu controller is used through
/// on this host. v2 has one file for quota and period, v1 has one file for each; both count in
/// microseconds. The group may have been limited before, with another period.
pub fn limit_cpus(cg: &Cgroup, cpus: f64) -> minidocker::Result<()> {
    // ANCHOR: limit_cpus
    // The kernel refuses a quota under 1 ms.
    let quota = ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000);
    match cg.version(Controller::Cpu)? {
        // One file, "$QUOTA $PERIOD".
        Version::V2 => cg.write(Controller::Cpu, "cpu.max", &format!("{quota} {CPU_PERIOD_US}")),
        // Two files: the period first, so the quota is never read against an older period.
        Version::V1 => {
            cg.write(Controller::Cpu, "cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
            cg.write(Controller::Cpu, "cpu.cfs_quota_us", &quota.to_string())
        }
    }
    // ANCHOR_END: limit_cpus
}

/// `-m BYTES`: a hard limit of `bytes` on the group's memory, and no swap on top of it —
/// Docker's `-m X --memory-swap X`. (Docker's `-m X` alone allows as much swap again: memory
/// and swap together up to 2X.)
///
/// A file of the memory controller may be missing when the kernel does not account swap:
/// `cg.has(Controller::Memory, file)` tells.
pub fn limit_memory(cg: &Cgroup, bytes: u64) -> minidocker::Result<()> {
    // ANCHOR: limit_memory
    let bytes = bytes.to_string();
    match cg.version(Controller::Memory)? {
        Version::V2 => {
            cg.write(Controller::Memory, "memory.max", &bytes)?;
            // v2 limits swap on its own: none at all.
            if cg.has(Controller::Memory, "memory.swap.max") {
                cg.write(Controller::Memory, "memory.swap.max", "0")?;
            }
        }
        Version::V1 => {
            // First the memory limit: the kernel refuses a memsw limit below it.
            cg.write(Controller::Memory, "memory.limit_in_bytes", &bytes)?;
            // v1's memsw counts memory and swap together: equal to the limit means no swap.
            if cg.has(Controller::Memory, "memory.memsw.limit_in_bytes") {
                cg.write(Controller::Memory, "memory.memsw.limit_in_bytes", &bytes)?;
            }
        }
    }
    Ok(())
    // ANCHOR_END: limit_memory
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { limit_cpus, limit_memory };
