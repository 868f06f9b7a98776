//! Whiteouts, the image format's deletions. On the wire (a layer tarball), a deleted `name`
//! is an empty file `.wh.name`, and a directory that hides everything below it holds
//! `.wh..wh..opq`. On disk, overlayfs's own: a 0/0 character device, and the
//! `trusted.overlay.opaque=y` attribute. [`super::unpack`] turns the first into the second,
//! exercise 07's walk (`commit::RULES`, through [`super::pack`]) the second into the first; the
//! union mount (`rootfs::overlay`) reads them.

use std::path::Path;

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// overlayfs's whiteout on disk: a character device numbered 0/0 (`mknod NAME c 0 0`).
pub fn is_overlay_whiteout(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// `trusted.overlay.opaque=y`: this directory hides the same directory in lower layers.
pub fn is_opaque(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else { return false };
    let mut v = [0u8; 1];
    // SAFETY: a NUL-terminated path and a buffer we own, of the length we pass.
    let n = unsafe {
        libc::lgetxattr(c.as_ptr(), c"trusted.overlay.opaque".as_ptr(), v.as_mut_ptr().cast(), 1)
    };
    n == 1 && v[0] == b'y'
}
