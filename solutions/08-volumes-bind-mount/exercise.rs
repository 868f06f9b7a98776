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
    // Parents before children: a mount on /srv made after one on /srv/data would hide it.
    let mut binds: Vec<&Bind> = binds.iter().collect();
    binds.sort_by_key(|b| Path::new(&b.destination).components().count());
    // Before pivot_root: now the host's directories and the container's tree are both in
    // view. Afterwards the old root is gone, and with it every source.
    for b in binds {
        // In the merged tree — the container's view — never in a layer: overlay reads its
        // layers' directories, not what is mounted on them. A mount point the image lacks is
        // made, of the source's kind: a file is mounted on a file.
        let point = match MountPoint::find(merged, &b.destination)? {
            Some(point) => point,
            None if b.file => MountPoint::create_file(merged, &b.destination)?,
            None => MountPoint::create_dir(merged, &b.destination)?,
        };
        let source = b.source.to_string_lossy();
        // MS_REC, as Docker does: what is mounted below the source comes along.
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        sys::mount(Some(&source), &point.path()?, None, bind, None)?;
        if b.read_only {
            // A bind mount copies the source's flags and ignores MS_RDONLY: read-only is a
            // second call, a remount of this one mount (MS_BIND: not of its filesystem).
            let mut ro = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
            // The remount sets the mount's flags to exactly these: keep the source's nosuid,
            // nodev and noexec, or a read-only volume would allow what the source did not.
            let had = statvfs(&point.path()?)?.flags();
            for (st, ms) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            ] {
                if had.contains(st) {
                    ro |= ms;
                }
            }
            sys::mount(None, &point.path()?, None, ro, None)?;
        }
    }
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
    // Only a volume, only when asked (no `nocopy`), and only while it is empty: the first
    // container gets the image's files, the next ones find what the first one left. A host
    // directory is the user's — mounted as it is, empty or not; the image's files stay hidden
    // under it.
    if spec.is_volume() && !spec.no_copy && is_empty(dir) {
        copy_contents(image, dir)?;
        // And the volume takes the owner and mode of the image's directory, so a user the
        // image made can write to it (owner first: a chown clears set-id bits).
        let meta = fs::metadata(image)?;
        std::os::unix::fs::chown(dir, Some(meta.uid()), Some(meta.gid()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
    // ANCHOR_END: fill_from_image
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { mount_volumes, fill_from_image };
