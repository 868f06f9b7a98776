//! Exercise 03 — stack the layers into one tree, and recognise what a delete leaves behind.
//!
//! `03-rootfs-aufs --mine` runs your code; `03-rootfs-aufs --check` checks it.
//! The lab sheet is lessons/03-rootfs-aufs/README.md.

use minidocker::rootfs::{Layers, Rules};
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

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

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { overlay_options, is_whiteout };
