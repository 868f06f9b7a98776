//! Control groups: a directory in a cgroup filesystem is a group of processes, and the files
//! in it are the group's limits and counters.
//!
//! Creating a group is `mkdir`, joining it is writing a PID into `cgroup.procs`, setting a
//! limit is writing a file, and removing it is `rmdir` once no process is left. The same
//! [`Cgroup`] works on cgroup v1, v2 and hybrid hosts: each controller's directory sits in the
//! hierarchy [`Layout::locate`] finds for it.

pub mod devices;
pub mod freezer;
mod layout;
pub mod limits;

pub use layout::{Controller, Hierarchy, Layout, Version};
pub use limits::Limits;

/// Exercise 02's reference answer, compiled as this module's own code: the library's
/// `--cpus` and `--memory` are its `limit_cpus` and `limit_memory`.
#[path = "../../solutions/02-cgroups/exercise.rs"]
pub mod solution;

/// Exercise 02, `--cpus` and `--memory` as cgroup files (v1 and v2): the reference answer's
/// ([`RULES`]) or a student's (`02-cgroups --mine`). Passed to [`Limits::apply`].
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Write a CPU quota of this many CPUs into the group.
    pub limit_cpus: fn(&Cgroup, f64) -> crate::Result<()>,
    /// Write a memory limit of this many bytes, and no swap, into the group.
    pub limit_memory: fn(&Cgroup, u64) -> crate::Result<()>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;

use crate::{report, sys};
use anyhow::{bail, Context};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A cgroup made by this process, present in every hierarchy one of its controllers lives in.
/// Dropping it kills what is still inside and removes its directories.
#[derive(Debug)]
pub struct Cgroup {
    /// (controller, version, directory) for each controller asked for.
    placements: Vec<(Controller, Version, PathBuf)>,
    /// The directories this group made, in creation order (several controllers may share one).
    dirs: Vec<PathBuf>,
    /// Every file written, with its value, for the lesson to show.
    written: RefCell<Vec<(PathBuf, String)>>,
    /// Removed without a word (a group that is a detail of the story being told).
    quiet: bool,
    /// Left in place when dropped (only [`Cgroup::destroy`] removes it).
    kept: bool,
}

impl Cgroup {
    /// No group yet; `kept`: one another process made, left in place when dropped (and quiet).
    fn empty(kept: bool) -> Cgroup {
        Cgroup {
            placements: Vec::new(),
            dirs: Vec::new(),
            written: RefCell::new(Vec::new()),
            quiet: kept,
            kept,
        }
    }

    /// Create the group `name` (a relative path such as `minidocker/lesson02-4242`) for the
    /// given controllers. On v2, the controllers are switched on in every ancestor's
    /// `cgroup.subtree_control` first, as the kernel requires.
    pub fn create(
        layout: &Layout,
        name: &str,
        controllers: &[Controller],
    ) -> crate::Result<Cgroup> {
        let mut cg = Cgroup::empty(false);
        for &c in controllers {
            let Some(h) = layout.locate(c) else {
                bail!(
                    "cgroup controller '{c}' is not available on this host: no v1 hierarchy has it and the v2 one does not offer it (see /proc/cgroups and cgroup.controllers)"
                );
            };
            let dir = h.mountpoint.join(name);
            if h.version == Version::V2 {
                if let Some(switch) = c.v2_name() {
                    cg.enable_v2(&h.mountpoint, name, switch)?;
                }
            }
            if !cg.dirs.contains(&dir) {
                cg.make_dirs(&h.mountpoint, &dir)?;
            }
            cg.placements.push((c, h.version, dir));
        }
        Ok(cg)
    }

    /// The group `name` another process made (an OCI runtime's `create`), for the given
    /// controllers: its directories must exist. Dropping it leaves it; [`Cgroup::destroy`]
    /// removes it.
    pub fn reopen(
        layout: &Layout,
        name: &str,
        controllers: &[Controller],
    ) -> crate::Result<Cgroup> {
        let mut cg = Cgroup::empty(true);
        for &c in controllers {
            if let Some(h) = layout.locate(c) {
                let dir = h.mountpoint.join(name);
                anyhow::ensure!(dir.is_dir(), "cgroup {} is gone", dir.display());
                if !cg.dirs.contains(&dir) {
                    cg.dirs.push(dir.clone());
                }
                cg.placements.push((c, h.version, dir));
            }
        }
        Ok(cg)
    }

    /// Leave the group in place when this is dropped: its processes outlive this one (an OCI
    /// runtime's `create`, whose container is removed by a later `delete`).
    pub fn leave(mut self) {
        self.kept = true;
    }

    /// mkdir every missing directory from the hierarchy's root down to `dir`. Parents (such
    /// as `minidocker/`) are shared between groups and stay; `dir` itself is ours to remove.
    fn make_dirs(&mut self, root: &Path, dir: &Path) -> crate::Result<()> {
        let rel = dir.strip_prefix(root).expect("cgroup dir is inside its hierarchy");
        let mut at = root.to_path_buf();
        for part in rel.components() {
            at.push(part);
            if at == dir {
                sys::mkdir(&at).with_context(|| format!("creating cgroup {}", dir.display()))?;
                self.dirs.push(dir.to_owned());
            } else if !at.is_dir() {
                match sys::mkdir(&at) {
                    Err(_) if at.is_dir() => {} // another run made it meanwhile
                    r => r?,
                }
            }
        }
        Ok(())
    }

    /// On v2, a controller is usable in a group only if its parent lists it in
    /// `cgroup.subtree_control`; switch it on from the root down to our parent.
    // ANCHOR: enable_v2
    fn enable_v2(&self, root: &Path, name: &str, controller: &str) -> crate::Result<()> {
        let mut at = root.to_path_buf();
        let parents: Vec<_> = Path::new(name).components().collect();
        for (i, part) in parents.iter().enumerate() {
            let control = at.join("cgroup.subtree_control");
            let on = std::fs::read_to_string(&control).unwrap_or_default();
            if !on.split_whitespace().any(|c| c == controller) {
                self.write_at(&control, &format!("+{controller}"))?;
            }
            at.push(part);
            if i + 1 < parents.len() && !at.is_dir() {
                sys::mkdir(&at)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: enable_v2

    fn write_at(&self, path: &Path, value: &str) -> crate::Result<()> {
        sys::write_file(path, value)?;
        self.written.borrow_mut().push((path.to_owned(), value.to_owned()));
        Ok(())
    }

    fn placement(&self, c: Controller) -> crate::Result<&(Controller, Version, PathBuf)> {
        self.placements
            .iter()
            .find(|p| p.0 == c)
            .with_context(|| format!("this cgroup was not created with the '{c}' controller"))
    }

    /// Remove the group without reporting it (see [`crate::report::cleanup`]).
    pub fn quietly(mut self) -> Cgroup {
        self.quiet = true;
        self
    }

    /// The directory that holds controller `c`'s files for this group.
    pub fn dir(&self, c: Controller) -> crate::Result<&Path> {
        Ok(&self.placement(c)?.2)
    }

    /// The cgroup version controller `c` is used through.
    pub fn version(&self, c: Controller) -> crate::Result<Version> {
        Ok(self.placement(c)?.1)
    }

    /// All directories of this group, one per hierarchy it is in.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Write `value` into controller `c`'s `file`, e.g. `(Pids, "pids.max", "20")`.
    pub fn write(&self, c: Controller, file: &str, value: &str) -> crate::Result<()> {
        let path = self.dir(c)?.join(file);
        self.write_at(&path, value).with_context(|| format!("setting {file} to {value}"))
    }

    /// Read controller `c`'s `file`, trimmed.
    pub fn read(&self, c: Controller, file: &str) -> crate::Result<String> {
        let path = self.dir(c)?.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(text.trim().to_owned())
    }

    /// Does controller `c` have `file` here? (Some files exist only on newer kernels.)
    pub fn has(&self, c: Controller, file: &str) -> bool {
        self.dir(c).is_ok_and(|d| d.join(file).exists())
    }

    /// The files written so far, with their values, in order.
    pub fn written(&self) -> Vec<(PathBuf, String)> {
        self.written.borrow().clone()
    }

    /// Move process `pid` into the group, in every hierarchy.
    // ANCHOR: add
    pub fn add(&self, pid: Pid) -> crate::Result<()> {
        for dir in &self.dirs {
            sys::write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }
    // ANCHOR_END: add

    /// The processes in the group (union over its hierarchies).
    pub fn procs(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect::<Vec<i32>>())
            .map(Pid::from_raw)
            .collect();
        pids.sort();
        pids.dedup();
        pids
    }

    /// Kill everything inside, then remove the group's directories (deepest first).
    pub fn destroy(mut self) -> crate::Result<()> {
        self.remove()
    }

    fn remove(&mut self) -> crate::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        // Processes may still be forking (a fork bomb), so kill until none is left.
        loop {
            let pids = self.procs();
            if pids.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                bail!("processes {pids:?} would not leave cgroup {}", self.dirs[0].display());
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        while let Some(dir) = self.dirs.pop() {
            // A killed process leaves the group a moment after it dies: retry briefly.
            loop {
                match sys::rmdir(&dir) {
                    Ok(()) => break,
                    Err(_) if !dir.exists() => break,
                    Err(e) if Instant::now() > deadline => {
                        self.dirs.push(dir);
                        return Err(e);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            if !self.quiet {
                report::cleanup(&format!("removed cgroup {}", dir.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Err(e) = self.remove() {
            eprintln!("warning: could not remove cgroup: {e:#}");
        }
    }
}

/// Remove the group `dir` and the (empty) groups under it, deepest first: what a daemon that
/// made groups of its own (a private dockerd, its containerd) leaves once its processes are
/// gone. A group that still has a process stays, and its error is returned.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

/// The number after `key` in a flat-keyed cgroup file such as `cpu.stat`, `memory.events`
/// or `pids.events` ("key value" per line).
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_reads_flat_keyed_files() {
        let stat = "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n";
        assert_eq!(keyed(stat, "usage_usec"), Some(1234));
        assert_eq!(keyed(stat, "usage"), None);
        assert_eq!(keyed("max 0", "max"), Some(0));
    }
}
