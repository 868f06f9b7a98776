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
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    // Sorted: the same tree always gives the same tarball, so the same diff_id.
    let mut names = Vec::new();
    for entry in fs::read_dir(upper.join(dir))? {
        names.push(entry?.file_name());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let full = upper.join(&path);
        let meta = fs::symlink_metadata(&full)?;
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            // overlay deleted `name` here: OCI says so with an empty `.wh.name` in the same
            // directory.
            let whiteout = format!("{WHITEOUT_PREFIX}{}", name.to_string_lossy());
            layer.add_empty_file(&dir.join(whiteout), &meta)?;
            continue;
        }
        layer.add(&path, &full)?;
        if meta.is_dir() {
            // An opaque directory hides everything the lower layers have below it: OCI marks
            // it with an entry inside it, before the directory's own new content.
            if sys::lgetxattr(&full, OPAQUE_XATTR)?.as_deref() == Some(b"y") {
                layer.add_empty_file(&path.join(OPAQUE_MARKER), &meta)?;
            }
            pack_rw_layer(upper, &path, layer)?;
        }
    }
    Ok(())
    // ANCHOR_END: pack_rw_layer
}

/// The answer above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { pack_rw_layer };
