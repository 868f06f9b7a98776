//! In the container's child: the volumes' bind mounts, made by exercise 08's `mount_volumes`
//! between the two halves of entering the rootfs.

use super::Rules;
use crate::mounts::Bind;
use crate::rootfs::{self, enter as rootfs_enter};
use anyhow::{ensure, Context};
use std::cell::Cell;
use std::path::Path;

// ANCHOR: enter
/// Enter the rootfs at `merged` with the volumes `binds` mounted: it is made ready (private
/// propagation, `/proc`, `/dev`, `/sys`), then `rules.mount_volumes` makes the bind mounts
/// and calls the switch of root (Docker's masks, then `root_rules.switch_root`) when it
/// chooses — before them, after them, or never, which is refused.
pub fn enter(
    merged: &Path,
    binds: &[Bind],
    rules: &Rules,
    root_rules: &rootfs::Rules,
) -> crate::Result<()> {
    rootfs_enter::ready(merged)?;
    let switched = Cell::new(false);
    let switch_root = || -> crate::Result<()> {
        ensure!(!switched.get(), "switch_root was called twice");
        rootfs_enter::switch(merged, root_rules)?;
        switched.set(true);
        Ok(())
    };
    (rules.mount_volumes)(merged, binds, &switch_root)
        .context("mounting the volumes (exercise 08's mount_volumes)")?;
    ensure!(
        switched.get(),
        "mount_volumes returned without calling switch_root: the container would run on the \
         host's root (exercise 08, TODO 1)"
    );
    Ok(())
}
// ANCHOR_END: enter
