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

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { overlay_options, is_whiteout };
