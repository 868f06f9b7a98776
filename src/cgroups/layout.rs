//! Where each cgroup controller lives on this host: cgroup v1, v2, or both (hybrid).
//!
//! cgroup v1 mounts one hierarchy per controller (or per group of controllers, like
//! `cpu,cpuacct`); cgroup v2 has a single hierarchy where controllers are switched on per
//! subtree. A hybrid host (systemd's default for years, and the machines this workshop is
//! developed on) has both: the controllers bound to a v1 hierarchy cannot be used on v2.

use anyhow::Context;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        })
    }
}

/// The controllers the workshop uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Controller {
    /// CPU bandwidth: a quota of CPU time per period.
    Cpu,
    /// CPU usage accounting. A controller of its own on v1; on v2 every group's `cpu.stat`
    /// has it, with nothing to switch on.
    Cpuacct,
    Memory,
    Pids,
    /// Stopping and resuming a group's processes. A controller of its own on v1; on v2 every
    /// group has `cgroup.freeze`, with nothing to switch on.
    Freezer,
    /// Which device files may be opened or made. Files on v1; on v2 an eBPF program attached
    /// to the group, with nothing to switch on.
    Devices,
}

impl Controller {
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Freezer => "freezer",
            Controller::Devices => "devices",
        }
    }

    /// The name to write into a v2 `cgroup.subtree_control`, if it must be switched on.
    pub(crate) fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpuacct | Controller::Freezer | Controller::Devices => None,
            c => Some(c.name()),
        }
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    pub mountpoint: PathBuf,
    /// v1: the controllers bound to this mount; v2: those listed in `cgroup.controllers`.
    pub controllers: Vec<String>,
}

/// All cgroup hierarchies mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub hierarchies: Vec<Hierarchy>,
}

impl Layout {
    /// Read this host's layout from `/proc/self/mountinfo`.
    pub fn detect() -> crate::Result<Layout> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .context("reading /proc/self/mountinfo")?;
        let layout = Layout::from_mountinfo(&text, &|mnt| {
            std::fs::read_to_string(mnt.join("cgroup.controllers")).unwrap_or_default()
        });
        anyhow::ensure!(
            !layout.hierarchies.is_empty(),
            "no cgroup filesystem is mounted on this host (see /proc/self/mountinfo)"
        );
        Ok(layout)
    }

    /// Where each hierarchy is mounted, e.g. to find a group by its path in every one.
    pub fn mountpoints(&self) -> impl Iterator<Item = &Path> {
        self.hierarchies.iter().map(|h| h.mountpoint.as_path())
    }

    /// Parse mountinfo text; `v2_controllers` reads `cgroup.controllers` of a v2 mount.
    pub fn from_mountinfo(text: &str, v2_controllers: &dyn Fn(&Path) -> String) -> Layout {
        let mut hierarchies = Vec::new();
        for line in text.lines() {
            // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory"
            let Some((left, right)) = line.split_once(" - ") else { continue };
            let Some(mountpoint) = left.split(' ').nth(4) else { continue };
            let mut right = right.split(' ');
            let (fstype, _source, options) =
                (right.next(), right.next(), right.next().unwrap_or(""));
            let mountpoint = PathBuf::from(unescape_octal(mountpoint));
            match fstype {
                Some("cgroup") => hierarchies.push(Hierarchy {
                    version: Version::V1,
                    controllers: options
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro") && !o.contains('=') && !o.starts_with("no")
                        })
                        .filter(|o| {
                            !matches!(
                                *o,
                                "relatime" | "clone_children" | "xattr" | "cpuset_v2_mode"
                            )
                        })
                        .map(str::to_owned)
                        .collect(),
                    mountpoint,
                }),
                Some("cgroup2") => hierarchies.push(Hierarchy {
                    version: Version::V2,
                    controllers: v2_controllers(&mountpoint)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    mountpoint,
                }),
                _ => {}
            }
        }
        Layout { hierarchies }
    }

    /// A host with only the v2 hierarchy mounted at `mountpoint` (for tests and pure-v2 VMs).
    pub fn v2_at(mountpoint: &Path, controllers: &[&str]) -> Layout {
        Layout {
            hierarchies: vec![Hierarchy {
                version: Version::V2,
                mountpoint: mountpoint.to_owned(),
                controllers: controllers.iter().map(|c| c.to_string()).collect(),
            }],
        }
    }

    /// Where `c` lives: the v1 hierarchy it is bound to, else the v2 hierarchy if it offers
    /// it there. A controller bound to v1 is not usable on v2, so v1 wins on hybrid hosts.
    // ANCHOR: locate
    pub fn locate(&self, c: Controller) -> Option<&Hierarchy> {
        let v1 = self
            .hierarchies
            .iter()
            .find(|h| h.version == Version::V1 && h.controllers.iter().any(|n| n == c.name()));
        v1.or_else(|| {
            self.hierarchies.iter().find(|h| {
                h.version == Version::V2
                    && c.v2_name().is_none_or(|n| h.controllers.iter().any(|x| x == n))
            })
        })
    }
    // ANCHOR_END: locate

    /// "cgroup v2 only", "cgroup v1 only" or "hybrid (v1 and v2)".
    pub fn mode(&self) -> &'static str {
        let v1 = self.hierarchies.iter().any(|h| h.version == Version::V1);
        let v2 = self.hierarchies.iter().any(|h| h.version == Version::V2);
        match (v1, v2) {
            (true, true) => "hybrid (v1 and v2 hierarchies side by side)",
            (true, false) => "cgroup v1 only",
            _ => "cgroup v2 only (unified)",
        }
    }
}

/// Mountinfo escapes space, tab, newline and backslash as `\040`-style octal.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 22 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:6 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids
";
    const PURE_V2: &str = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

    #[test]
    fn hybrid_prefers_v1_for_bound_controllers() {
        let l = Layout::from_mountinfo(HYBRID, &|_| String::new());
        assert_eq!(l.mode(), "hybrid (v1 and v2 hierarchies side by side)");
        let cpu = l.locate(Controller::Cpu).unwrap();
        assert_eq!(
            (cpu.version, cpu.mountpoint.as_path()),
            (Version::V1, Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(l.locate(Controller::Cpuacct), Some(cpu));
        assert_eq!(
            l.locate(Controller::Pids).unwrap().mountpoint,
            Path::new("/sys/fs/cgroup/pids")
        );
        // name=systemd is a named hierarchy without controllers.
        assert!(l
            .hierarchies
            .iter()
            .any(|h| h.mountpoint.ends_with("systemd") && h.controllers.is_empty()));
    }

    #[test]
    fn pure_v2_reads_cgroup_controllers() {
        let l = Layout::from_mountinfo(PURE_V2, &|p| {
            assert_eq!(p, Path::new("/sys/fs/cgroup"));
            "cpuset cpu io memory hugetlb pids rdma misc\n".into()
        });
        assert_eq!(l.mode(), "cgroup v2 only (unified)");
        for c in [Controller::Cpu, Controller::Cpuacct, Controller::Memory, Controller::Pids] {
            assert_eq!(l.locate(c).unwrap().version, Version::V2, "{c}");
        }
    }

    #[test]
    fn v2_without_the_controller_cannot_host_it() {
        let l = Layout::from_mountinfo(PURE_V2, &|_| "memory\n".into());
        assert!(l.locate(Controller::Pids).is_none());
        assert!(l.locate(Controller::Memory).is_some());
        // Usage accounting needs no controller on v2.
        assert!(l.locate(Controller::Cpuacct).is_some());
    }

    #[test]
    fn octal_escapes_in_mountpoints() {
        assert_eq!(unescape_octal(r"/mnt/my\040cgroups"), "/mnt/my cgroups");
        assert_eq!(unescape_octal(r"/plain\0"), r"/plain\0");
    }
}
