//! Exercise 07 — the read-write layer as an OCI layer.
//!
//! `07-commit --mine` commits with your code; `07-commit --check` checks it.
//! The lab sheet is lessons/07-commit/README.md.

use minidocker::commit::Rules;
use minidocker::image::pack::Layer;
use minidocker::image::whiteout::{OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX};
use minidocker::sys;
use std::fs;
use std::path::Path;

/// Put what lies in directory `dir` of the read-write layer `upper` into `layer`, the way an
/// OCI layer carries it — and what lies below it, directory by directory.
///
/// `upper` is a container's overlay upper directory, as the kernel left it; `dir` is relative
/// to it (the library calls this with `""`, the top). Name every entry as it is relative to
/// `upper` (`etc/motd`). `layer.add(path, from)` packs the file `from` as it is, named `path`;
/// `layer.add_empty_file(path, &meta)` packs an empty file. `sys::lgetxattr(path, name)` reads
/// an extended attribute. An OCI layer has no 0:0 devices and no overlay attributes: only
/// names (see the constants imported above).
pub fn pack_rw_layer(upper: &Path, dir: &Path, layer: &mut Layer) -> minidocker::Result<()> {
    // ANCHOR: pack_rw_layer
    // TODO: walk `upper/dir` (fs::read_dir, in sorted order) and, for each entry:
    // - an overlay whiteout (what does lesson 03 say a deleted file leaves behind?) becomes
    //   an OCI whiteout: which name, in which directory?
    // - anything else is added as it is; a directory is then walked too (call this function
    //   again), and an opaque one (its trusted.overlay.opaque attribute is "y") is marked.
    let _ = (upper, dir, layer, fs::read_dir::<&Path>, sys::lgetxattr);
    let _ = (OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX);
    Ok(())
    // ANCHOR_END: pack_rw_layer
}

/// The answer above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { pack_rw_layer };
