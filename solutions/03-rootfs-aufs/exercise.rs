//! Exercise 03 — stack the layers into one tree, recognise what a delete leaves behind, and
//! make the tree the root.
//!
//! `03-rootfs-aufs --mine` runs your code; `03-rootfs-aufs --check` checks it.
//! The lab sheet is lessons/03-rootfs-aufs/README.md.

use minidocker::rootfs::{Layers, Rules};
use minidocker::sys;
use nix::mount::{MntFlags, MsFlags};
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// The data string for `mount("overlay", merged, "overlay", 0, data)`.
///
/// `layers.image` lists the image's layers bottom first, as the image config's `diff_ids`
/// do; the init layer sits above them; writes go to `layers.upper`, and overlay needs
/// `layers.work` (on the same filesystem as upper) to copy files up atomically.
pub fn overlay_options(layers: &Layers) -> String {
    // ANCHOR: overlay_options
    // overlay reads lowerdir from the top down: the init layer first, then the image's
    // layers from the last (topmost) to the first.
    let lower: Vec<String> = std::iter::once(&layers.init)
        .chain(layers.image.iter().rev())
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        layers.upper.display(),
        layers.work.display()
    )
    // ANCHOR_END: overlay_options
}

/// Does this directory entry of a layer hide the same name in the layers below it?
pub fn is_whiteout(meta: &Metadata) -> bool {
    // ANCHOR: is_whiteout
    // overlayfs records a delete as a character device with device number 0:0.
    meta.file_type().is_char_device() && meta.rdev() == 0
    // ANCHOR_END: is_whiteout
}

/// Make `new_root` this process's root directory, with nothing of the old root left in its
/// mount table; end with the current directory at the new `/`.
///
/// Runs in the container's child, in its own mount namespace with private propagation, just
/// before the command is executed. `new_root` is a directory — the merged overlay, or a plain
/// directory (as an OCI bundle's `rootfs/` is) that nothing is mounted on. The `sys` module
/// has `mount`, `chdir`, `pivot_root` and `umount2`, each as the system call of that name.
pub fn switch_root(new_root: &Path) -> minidocker::Result<()> {
    // ANCHOR: switch_root
    // pivot_root wants new_root to be a mount point: bind it onto itself (with what is
    // mounted below it: /proc, /dev, the volumes).
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    sys::mount(Some(&new_root.to_string_lossy()), new_root, None, bind, None)?;
    // pivot_root(".", "."): the new root and the old one stacked on the same mount point;
    // unmounting "." then takes the old root (the top of the stack) away. MNT_DETACH: the
    // host's mounts below it are busy, a plain umount would fail.
    sys::chdir(new_root)?;
    sys::pivot_root(Path::new("."), Path::new("."))?;
    sys::umount2(Path::new("."), MntFlags::MNT_DETACH)?;
    sys::chdir(Path::new("/"))
    // ANCHOR_END: switch_root
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { overlay_options, is_whiteout, switch_root };
