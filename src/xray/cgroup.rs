//! The container's cgroup: where it is (`/proc/PID/cgroup`), the limits written into it, and
//! what it uses now — the same reads on cgroup v1, v2 and hybrid hosts, each in the hierarchy
//! [`Layout::locate`] finds for the controller.

use crate::cgroups::{keyed, Controller, Layout, Version};
use crate::container::{run::cgroup_name, Container};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct CgroupInfo {
    /// "cgroup v2 only (unified)", "hybrid (…)", "cgroup v1 only".
    pub mode: String,
    /// The lines of `/proc/PID/cgroup`: `hierarchy-id:controllers:path`.
    pub paths: Vec<String>,
    pub limits: Limits,
    pub usage: Usage,
    /// Field → the file it was read from.
    pub sources: super::Sources,
}

/// The limits set (`None`: unlimited, or no group of its own for that controller).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Limits {
    /// CPUs' worth of time: quota ÷ period.
    pub cpus: Option<f64>,
    pub cpu_quota_us: Option<u64>,
    pub cpu_period_us: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub pids_max: Option<u64>,
}

/// What it uses now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Usage {
    /// CPU time used since it started, and the share of one CPU used during the measurement.
    pub cpu_usage_ns: Option<u64>,
    pub cpu_percent: Option<f64>,
    pub memory_current: Option<u64>,
    pub memory_peak: Option<u64>,
    pub pids_current: Option<u64>,
}

/// Where a controller's files of this container are: its own group's directory, if it has one
/// in that controller's hierarchy (a container started without `-m` has no memory group of its
/// own on v1: the group it sits in there is someone else's, and is not reported).
struct Place {
    dir: PathBuf,
    version: Version,
}

fn place(layout: &Layout, lines: &[String], c: Controller, own: &str) -> Option<Place> {
    let h = layout.locate(c)?;
    let path = lines.iter().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let hit = match h.version {
            Version::V2 => ctrls.is_empty(),
            Version::V1 => ctrls.split(',').any(|x| x == c.name()),
        };
        hit.then(|| path.to_string())
    })?;
    let dir = h.mountpoint.join(path.trim_start_matches('/'));
    (path.ends_with(own) && dir.is_dir()).then_some(Place { dir, version: h.version })
}

fn read_file(dir: &Path, file: &str, sources: &mut super::Sources, key: &str) -> Option<String> {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).ok()?;
    sources.insert(key.into(), p.display().to_string());
    Some(text.trim().to_string())
}

/// A number, with `max` (v2) and v1's "unlimited" (a page-rounded `i64::MAX`) as `None`.
fn limit(text: &str) -> Option<u64> {
    text.parse().ok().filter(|&n: &u64| n < 1 << 62)
}

pub(super) fn read(c: &Container, cpu_window: Duration) -> crate::Result<CgroupInfo> {
    let proc_cgroup = super::proc_file(c.state.pid, "cgroup")?;
    let mut info = read_in(&Layout::detect()?, &proc_cgroup, &c.config.id, cpu_window);
    info.sources.insert("paths".into(), format!("/proc/{}/cgroup", c.state.pid));
    Ok(info)
}

/// The cgroup of container `id`, whose `/proc/PID/cgroup` is `proc_cgroup`, on a host laid out
/// as `layout` (a test passes a directory laid out like a cgroupfs).
pub fn read_in(layout: &Layout, proc_cgroup: &str, id: &str, cpu_window: Duration) -> CgroupInfo {
    let paths: Vec<String> =
        proc_cgroup.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect();
    let own = cgroup_name(id);
    let at = |ctrl| place(layout, &paths, ctrl, &own);
    let mut sources = super::Sources::new();
    let mut limits = Limits::default();
    let mut usage = Usage::default();

    if let Some(p) = at(Controller::Cpu) {
        let (quota, period) = match p.version {
            Version::V2 => {
                let max = read_file(&p.dir, "cpu.max", &mut sources, "cpu_quota_us");
                let mut f = max.as_deref().unwrap_or("").split_whitespace();
                (f.next().and_then(limit), f.next().and_then(limit))
            }
            Version::V1 => (
                read_file(&p.dir, "cpu.cfs_quota_us", &mut sources, "cpu_quota_us")
                    .and_then(|q| limit(&q)),
                read_file(&p.dir, "cpu.cfs_period_us", &mut sources, "cpu_period_us")
                    .and_then(|q| limit(&q)),
            ),
        };
        limits.cpu_quota_us = quota;
        limits.cpu_period_us = period;
        limits.cpus = quota.zip(period).map(|(q, p)| q as f64 / p as f64);
    }
    if let Some(p) = at(Controller::Memory) {
        let (max, current, peak) = match p.version {
            Version::V2 => ("memory.max", "memory.current", "memory.peak"),
            Version::V1 => {
                ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes")
            }
        };
        limits.memory_bytes =
            read_file(&p.dir, max, &mut sources, "memory_bytes").and_then(|t| limit(&t));
        usage.memory_current =
            read_file(&p.dir, current, &mut sources, "memory_current").and_then(|t| limit(&t));
        usage.memory_peak =
            read_file(&p.dir, peak, &mut sources, "memory_peak").and_then(|t| limit(&t));
    }
    if let Some(p) = at(Controller::Pids) {
        limits.pids_max =
            read_file(&p.dir, "pids.max", &mut sources, "pids_max").and_then(|t| limit(&t));
        usage.pids_current =
            read_file(&p.dir, "pids.current", &mut sources, "pids_current").and_then(|t| limit(&t));
    }
    if let Some(p) = at(Controller::Cpuacct) {
        // Two readings `cpu_window` apart: the share of one CPU used meanwhile.
        let cpu_ns = |sources: &mut super::Sources| match p.version {
            Version::V2 => read_file(&p.dir, "cpu.stat", sources, "cpu_usage_ns")
                .and_then(|t| keyed(&t, "usage_usec"))
                .map(|us| us * 1000),
            Version::V1 => read_file(&p.dir, "cpuacct.usage", sources, "cpu_usage_ns")
                .and_then(|t| t.parse().ok()),
        };
        let (t0, start) = (cpu_ns(&mut sources), Instant::now());
        // In short steps: Ctrl-C ends the wait early (the share is of the time waited).
        while start.elapsed() < cpu_window && crate::interrupt::check().is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let t1 = cpu_ns(&mut sources);
        usage.cpu_usage_ns = t1;
        if let (Some(a), Some(b)) = (t0, t1) {
            let wall = start.elapsed().as_nanos().max(1) as f64;
            usage.cpu_percent = (!cpu_window.is_zero())
                .then(|| (b.saturating_sub(a) as f64 / wall * 1000.0).round() / 10.0);
        }
    }
    CgroupInfo { mode: layout.mode().to_string(), paths, limits, usage, sources }
}

#[cfg(test)]
mod tests {
    use super::limit;

    #[test]
    fn unlimited_reads_as_none() {
        assert_eq!(limit("67108864"), Some(67108864));
        assert_eq!(limit("max"), None);
        assert_eq!(limit("9223372036854771712"), None);
    }
}
