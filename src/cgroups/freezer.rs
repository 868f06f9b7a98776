//! The freezer: stop every process of a group where it stands, and let them go again —
//! `docker pause`, and what `docker commit` does for the moment it reads a container's
//! read-write layer, so no file is packed half-written.
//!
//! Frozen processes are not sent a signal (SIGSTOP could be seen, caught or undone by the
//! container's own processes); the kernel simply stops scheduling them. On v1 the freezer is a
//! controller of its own (`freezer.state`: THAWED → FREEZING → FROZEN); on v2 every group has
//! `cgroup.freeze`, and `cgroup.events` says `frozen 1` once all of its processes are stopped.

use super::{Controller, Layout, Version};
use crate::sys;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The group `name` (such as `minidocker/<id>`) frozen until this is dropped (see [`freeze`]).
#[derive(Debug)]
pub struct Frozen {
    group: Option<Group>,
    /// The file that says who froze it ([`freeze_marked`]), removed once thawed.
    marker: Option<PathBuf>,
}

/// A group's directory in the hierarchy that has the freezer.
#[derive(Debug)]
struct Group {
    dir: PathBuf,
    version: Version,
}

// ANCHOR: freeze
/// Freeze the group `name` and wait until all of its processes are stopped (`docker pause`).
pub fn pause(layout: &Layout, name: &str) -> crate::Result<()> {
    freeze_group(&locate(layout, name)?)
}

fn freeze_group(group: &Group) -> crate::Result<()> {
    anyhow::ensure!(
        group.dir.is_dir(),
        "no cgroup {} to freeze (a container started without one; commit it with --pause=false)",
        group.dir.display()
    );
    group.set(true).with_context(|| format!("freezing {}", group.dir.display()))?;
    // Freezing takes effect as each process reaches a safe point: wait for all of them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !group.is_frozen() {
        if Instant::now() > deadline {
            let _ = group.set(false);
            bail!("the processes of {} did not all stop within 10 s", group.dir.display());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
// ANCHOR_END: freeze

/// [`pause`], undone when the result is dropped — unless the group was paused already (by
/// `minidocker pause`), which it then stays.
pub fn freeze(layout: &Layout, name: &str) -> crate::Result<Frozen> {
    let group = locate(layout, name)?;
    if group.is_frozen() {
        return Ok(Frozen { group: None, marker: None });
    }
    freeze_group(&group)?;
    Ok(Frozen { group: Some(group), marker: None })
}

// ANCHOR: freeze_marked
/// [`freeze`], with our PID (and start time) written to `marker` before the group is frozen
/// and the file removed once it is thawed. A process killed with -9 in between cannot thaw
/// what it froze; the marker tells whoever comes next ([`thaw_abandoned`]) that the freeze
/// is nobody's any more — unlike a `pause`, which leaves no marker and stays.
pub fn freeze_marked(layout: &Layout, name: &str, marker: &Path) -> crate::Result<Frozen> {
    let group = locate(layout, name)?;
    if group.is_frozen() {
        return Ok(Frozen { group: None, marker: None });
    }
    let pid = std::process::id() as i32;
    let start = crate::process::start_time(pid).unwrap_or(0);
    std::fs::write(marker, format!("{pid} {start}\n"))
        .with_context(|| format!("writing {}", marker.display()))?;
    let frozen = Frozen { group: Some(group), marker: Some(marker.to_path_buf()) };
    freeze_group(frozen.group.as_ref().expect("just set"))?;
    Ok(frozen)
}

/// If `marker` names a process that is gone, thaw the group `name` it froze and remove the
/// marker. Returns whether there was such an abandoned freeze.
pub fn thaw_abandoned(layout: &Layout, name: &str, marker: &Path) -> crate::Result<bool> {
    if !abandoned(marker) {
        return Ok(false);
    }
    thaw(layout, name)?;
    let _ = std::fs::remove_file(marker);
    Ok(true)
}

/// Does `marker` exist and name a process that is gone?
pub fn abandoned(marker: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(marker) else { return false };
    let mut words = text.split_whitespace().map(|w| w.parse::<u64>().ok());
    match (words.next().flatten(), words.next().flatten()) {
        (Some(pid), Some(start)) => !crate::process::process_alive(pid as i32, start),
        _ => true,
    }
}
// ANCHOR_END: freeze_marked

/// Whether the group `name` is frozen.
pub fn is_paused(layout: &Layout, name: &str) -> bool {
    locate(layout, name).is_ok_and(|g| g.is_frozen())
}

/// Thaw the group `name` if it exists and is frozen — what a freezer left behind by a
/// process killed meanwhile needs before its processes can even die (on v1, a frozen process
/// does not act on SIGKILL until it is thawed).
pub fn thaw(layout: &Layout, name: &str) -> crate::Result<()> {
    let group = locate(layout, name)?;
    if group.dir.is_dir() && group.is_frozen() {
        group.set(false)?;
    }
    Ok(())
}

fn locate(layout: &Layout, name: &str) -> crate::Result<Group> {
    let h = layout
        .locate(Controller::Freezer)
        .context("this host has no cgroup freezer (v1 freezer controller or v2 cgroup.freeze)")?;
    Ok(Group { dir: h.mountpoint.join(name), version: h.version })
}

impl Group {
    /// Freeze (`true`) or thaw the group.
    fn set(&self, freeze: bool) -> crate::Result<()> {
        let (file, value) = match (self.version, freeze) {
            (Version::V1, true) => ("freezer.state", "FROZEN"),
            (Version::V1, false) => ("freezer.state", "THAWED"),
            (Version::V2, true) => ("cgroup.freeze", "1"),
            (Version::V2, false) => ("cgroup.freeze", "0"),
        };
        sys::write_file(&self.dir.join(file), value)
    }

    fn is_frozen(&self) -> bool {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        match self.version {
            Version::V1 => read("freezer.state").trim() == "FROZEN",
            Version::V2 => super::keyed(&read("cgroup.events"), "frozen") == Some(1),
        }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Some(group) = &self.group {
            if let Err(e) = group.set(false) {
                eprintln!("warning: could not thaw {}: {e:#}", group.dir.display());
                return;
            }
        }
        if let Some(m) = &self.marker {
            let _ = std::fs::remove_file(m);
        }
    }
}
