//! Exercise 08 — a volume is a bind mount made at the right moment, and copyData.
//!
//! `08-volumes-bind-mount --mine` runs with your code; `08-volumes-bind-mount --check` checks it.
//! The lab sheet is lessons/08-volumes-bind-mount/README.md.

use minidocker::sys;
use minidocker::volumes::{copy_contents, is_empty, Bind, MountPoint, Rules, Spec, SwitchRoot};
use nix::mount::MsFlags;
use nix::sys::statvfs::{statvfs, FsFlags};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// In the container's child, in its own mount namespace (private: nothing mounted here reaches
/// the host's): the container's root filesystem is the merged overlay at `merged`, with its
/// `/proc`, `/dev` and `/sys` already mounted, and `switch_root()` makes it the root
/// (`pivot_root`, the old root detached). Mount each of `binds` — the host directory, or file
/// when `file`, `source` at `destination` in the container, read-only when `read_only` — in
/// the order `-v` gave them, and switch root.
///
/// `MountPoint::find(tree, destination)` finds a mount point inside a tree (a symlink in the
/// image cannot lead out of it); `MountPoint::create_dir` and `MountPoint::create_file` make
/// one there. A mount point's `path()` names what is there now for `sys::mount`, which is
/// mount(2); `statvfs(path)?.flags()` says which of `FsFlags::ST_NOSUID`, `ST_NODEV`,
/// `ST_NOEXEC` and `ST_RDONLY` the mount there has.
pub fn mount_volumes(
    merged: &Path,
    binds: &[Bind],
    switch_root: &SwitchRoot,
) -> minidocker::Result<()> {
    // ANCHOR: mount_volumes
    // TODO 1: mount each of `binds` at its destination in the container — read-only where
    // asked, and at the right moment: before or after switch_root()? Where, in which tree,
    // in which order? (As shipped, the volumes are forgotten: the container runs with the
    // image's own /test.)
    let _ = (merged, binds, MountPoint::find, MsFlags::MS_BIND, sys::mount);
    let _ = (statvfs::<Path>, FsFlags::ST_NOSUID);
    switch_root()
    // ANCHOR_END: mount_volumes
}

/// Docker's copyData, in the monitor before the container starts: `image` is what the image
/// has at `spec.destination` (a directory), `dir` the host directory about to be mounted
/// there — a volume's `_data`, or the directory of `-v /host/dir:...`. Fill `dir` from
/// `image`, or leave it as it is.
///
/// `copy_contents(from, to)` copies what is in a directory, with owners, modes and times, and
/// leaves `to` itself as it is; `is_empty(dir)` says whether a directory has no entries;
/// `spec.is_volume()` and `spec.no_copy` say what the `-v` asked for.
pub fn fill_from_image(spec: &Spec, image: &Path, dir: &Path) -> minidocker::Result<()> {
    // ANCHOR: fill_from_image
    // TODO 2: the article says the image's files show up in the host's directory. Check its
    // premise: which kinds of mount does Docker fill from the image, and when not any more?
    // (As shipped, this does what the article says: it always copies.)
    let _ = (spec.is_volume(), spec.no_copy, is_empty(dir));
    let _ = (fs::metadata(image).map(|m| m.uid()), fs::Permissions::from_mode(0o755));
    copy_contents(image, dir)?;
    Ok(())
    // ANCHOR_END: fill_from_image
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { mount_volumes, fill_from_image };
