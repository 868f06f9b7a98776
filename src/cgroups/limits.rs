//! The limits `docker run --cpus -m --pids-limit` sets, and the counters that show them work.
//!
//! This is where cgroup v1 and v2 differ: the same limit or counter is a different file (and
//! format) in each. The CPU and memory limit files are exercise 02: the library writes them
//! with the reference answer, `solutions/02-cgroups/exercise.rs` (this module's [`Rules`]).

use super::{keyed, Cgroup, Controller, Rules, Version};
use anyhow::Context;
use std::time::Duration;

/// The CFS period both versions use by default: a quota is CPU time per 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;

/// What to limit; `None` leaves a resource unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// CPUs' worth of time, `--cpus 0.5` = half of one CPU.
    pub cpus: Option<f64>,
    /// Bytes of memory (and no swap beyond it, as `-m 64m --memory-swap 64m`), `-m 64m`.
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

    /// Write every limit that is set into `cg`, CPU and memory with `rules` (exercise 02;
    /// the library's are [`super::RULES`]).
    pub fn apply(&self, cg: &Cgroup, rules: &Rules) -> crate::Result<()> {
        if let Some(cpus) = self.cpus {
            anyhow::ensure!(cpus > 0.0, "--cpus must be more than 0, got {cpus}");
            (rules.limit_cpus)(cg, cpus)?;
        }
        if let Some(bytes) = self.memory {
            (rules.limit_memory)(cg, bytes)?;
        }
        if let Some(max) = self.pids {
            limit_pids(cg, max)?;
        }
        Ok(())
    }
}

/// `--pids-limit N`: at most N processes (threads included). The pids controller has the same
/// file on v1 and v2; once the group holds N tasks, every further fork() in it fails (EAGAIN).
// ANCHOR: limit_pids
pub fn limit_pids(cg: &Cgroup, max: u64) -> crate::Result<()> {
    cg.write(Controller::Pids, "pids.max", &max.to_string())
}
// ANCHOR_END: limit_pids

/// How many forks the pids limit has refused so far: `max` in the flat-keyed `pids.events`.
pub fn forks_refused(cg: &Cgroup) -> crate::Result<u64> {
    Ok(keyed(&cg.read(Controller::Pids, "pids.events")?, "max").unwrap_or(0))
}

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
