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
    // TODO 1: return "lowerdir=A:B:C,upperdir=U,workdir=W". Which layer must come first in
    // lowerdir — and where does the init layer go? (Path::display turns a path into text.)
    let _ = layers;
    String::new()
    // ANCHOR_END: overlay_options
}

/// Does this directory entry of a layer hide the same name in the layers below it?
pub fn is_whiteout(meta: &Metadata) -> bool {
    // ANCHOR: is_whiteout
    // TODO 2: overlayfs marks a deleted file with a special kind of file. Which one, and
    // with which device number? (FileTypeExt and MetadataExt have what you need.)
    let _ = (meta.file_type().is_char_device(), meta.rdev());
    false
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
    // TODO 3: make new_root the root (pivot_root), then take the old root out of the mount
    // table. What does pivot_root ask of new_root and put_old — and what if new_root is not
    // a mount point? (man 2 pivot_root)
    let _ = (new_root, MsFlags::MS_BIND, MntFlags::MNT_DETACH, sys::chdir);
    Ok(())
    // ANCHOR_END: switch_root
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { overlay_options, is_whiteout, switch_root };
