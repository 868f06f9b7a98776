//! The limits `docker run --cpus -m --pids-limit` sets, and the counters that show them work.
//!
//! This is where cgroup v1 and v2 differ: the same limit is a different file (and format) in
//! each. Every difference is written down here, once.

use super::{keyed, Cgroup, Controller, Version};
use anyhow::Context;
use std::time::Duration;

/// The CFS period both versions use by default: a quota is CPU time per 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

/// What to limit; `None` leaves a resource unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// CPUs' worth of time, `--cpus 0.5` = half of one CPU.
    pub cpus: Option<f64>,
    /// Bytes of memory (and no swap beyond it), `-m 64m`.
    pub memory: Option<u64>,
    /// Maximum number of processes (threads count too), `--pids-limit 20`.
    pub pids: Option<u64>,
}

impl Limits {
    /// The controllers these limits need, plus CPU accounting to measure usage.
    pub fn controllers(&self) -> Vec<Controller> {
        let mut c = vec![Controller::Cpuacct];
        if self.cpus.is_some() {
            c.push(Controller::Cpu);
        }
        if self.memory.is_some() {
            c.push(Controller::Memory);
        }
        if self.pids.is_some() {
            c.push(Controller::Pids);
        }
        c
    }

    /// Write every limit that is set into `cg`.
    pub fn apply(&self, cg: &Cgroup) -> crate::Result<()> {
        if let Some(cpus) = self.cpus {
            limit_cpus(cg, cpus)?;
        }
        if let Some(bytes) = self.memory {
            limit_memory(cg, bytes)?;
        }
        if let Some(max) = self.pids {
            (super::RULES.limit_pids)(cg, max)?;
        }
        Ok(())
    }
}

/// `--cpus N`: a quota of N × period microseconds of CPU time in every period.
// ANCHOR: limit_cpus
pub fn limit_cpus(cg: &Cgroup, cpus: f64) -> crate::Result<()> {
    anyhow::ensure!(cpus > 0.0, "--cpus must be more than 0, got {cpus}");
    // The kernel refuses quotas under 1 ms.
    let quota = ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000);
    match cg.version(Controller::Cpu)? {
        Version::V2 => cg.write(Controller::Cpu, "cpu.max", &format!("{quota} {CPU_PERIOD_US}")),
        Version::V1 => {
            cg.write(Controller::Cpu, "cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
            cg.write(Controller::Cpu, "cpu.cfs_quota_us", &quota.to_string())
        }
    }
}
// ANCHOR_END: limit_cpus

/// `-m BYTES`: the hard limit, and no swap on top — Docker's `-m X --memory-swap X`. (Docker's
/// `-m X` alone allows as much swap again: memory and swap together up to 2X.) The two versions
/// say "no swap" with different knobs: v1's `memsw` limits memory *plus* swap, so it is set to
/// the memory limit; v2's `memory.swap.max` limits swap *alone*, so it is set to 0.
// ANCHOR: limit_memory
pub fn limit_memory(cg: &Cgroup, bytes: u64) -> crate::Result<()> {
    match cg.version(Controller::Memory)? {
        Version::V2 => {
            cg.write(Controller::Memory, "memory.max", &bytes.to_string())?;
            if cg.has(Controller::Memory, "memory.swap.max") {
                cg.write(Controller::Memory, "memory.swap.max", "0")?;
            }
            Ok(())
        }
        Version::V1 => {
            cg.write(Controller::Memory, "memory.limit_in_bytes", &bytes.to_string())?;
            // memsw is memory + swap together (equal to the limit: no swap); it exists only
            // when the kernel accounts swap.
            if cg.has(Controller::Memory, "memory.memsw.limit_in_bytes") {
                cg.write(Controller::Memory, "memory.memsw.limit_in_bytes", &bytes.to_string())?;
            }
            Ok(())
        }
    }
}
// ANCHOR_END: limit_memory

/// CPU time used by the group so far.
// ANCHOR: cpu_usage
pub fn cpu_usage(cg: &Cgroup) -> crate::Result<Duration> {
    match cg.version(Controller::Cpuacct)? {
        Version::V2 => {
            let stat = cg.read(Controller::Cpuacct, "cpu.stat")?;
            let us = keyed(&stat, "usage_usec").context("cpu.stat has no usage_usec")?;
            Ok(Duration::from_micros(us))
        }
        Version::V1 => {
            let ns = cg.read(Controller::Cpuacct, "cpuacct.usage")?;
            Ok(Duration::from_nanos(ns.parse().context("cpuacct.usage is not a number")?))
        }
    }
}
// ANCHOR_END: cpu_usage

/// How many times the kernel's OOM killer killed a process of the group.
pub fn oom_kills(cg: &Cgroup) -> crate::Result<u64> {
    let (file, text) = match cg.version(Controller::Memory)? {
        Version::V2 => ("memory.events", cg.read(Controller::Memory, "memory.events")?),
        Version::V1 => ("memory.oom_control", cg.read(Controller::Memory, "memory.oom_control")?),
    };
    keyed(&text, "oom_kill")
        .with_context(|| format!("{file} has no oom_kill counter (kernel older than 4.13?)"))
}

/// The most memory the group ever used, where the kernel records it.
pub fn memory_peak(cg: &Cgroup) -> crate::Result<Option<u64>> {
    let file = match cg.version(Controller::Memory)? {
        Version::V2 => "memory.peak",
        Version::V1 => "memory.max_usage_in_bytes",
    };
    if !cg.has(Controller::Memory, file) {
        return Ok(None);
    }
    Ok(cg.read(Controller::Memory, file)?.parse().ok())
}

/// Processes (and threads) in the group right now.
pub fn pids_current(cg: &Cgroup) -> crate::Result<u64> {
    cg.read(Controller::Pids, "pids.current")?.parse().context("pids.current is not a number")
}
