//! The union mount. AUFS stacked *branches* (`br=rw:ro:ro`); mainline Linux has overlayfs,
//! which takes the same idea as `lowerdir` (read-only, topmost first), `upperdir` (where
//! writes land) and `workdir` (overlay's scratch space for atomic copy-up).
//!
//! The paths handed to the kernel are relative to the store's root (the mount is made from
//! there): the option string stays short — it must fit one page — and the mount table
//! inside a container shows no host path.

use crate::image::whiteout::is_opaque;
use crate::{report, sys};
use anyhow::Context;
use nix::mount::MsFlags;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A container's layers, as paths relative to the store root.
#[derive(Debug, Clone)]
pub struct Layers {
    /// The image's layers, bottom first (the order of the config's `diff_ids`).
    pub image: Vec<PathBuf>,
    /// The init layer: above the image, below the container's writes.
    pub init: PathBuf,
    /// The read-write layer (可读写层).
    pub upper: PathBuf,
    pub work: PathBuf,
}

/// Where a path of the merged tree comes from, by overlay's lookup rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Found in this layer (a path relative to the store root).
    In(PathBuf),
    /// Deleted: this layer holds a whiteout for it.
    WhitedOut(PathBuf),
    Nowhere,
}

impl Layers {
    /// Every layer, topmost first: upper, init, then the image's from the top down.
    pub fn top_down(&self) -> Vec<&Path> {
        let mut v = vec![self.upper.as_path(), self.init.as_path()];
        v.extend(self.image.iter().rev().map(PathBuf::as_path));
        v
    }

    // ANCHOR: mount
    /// Mount the union at `merged`, with the kernel resolving our relative paths from `base`.
    pub fn mount(&self, base: &Path, merged: &Path, rules: &super::Rules) -> crate::Result<()> {
        let data = (rules.overlay_options)(self);
        let back = fs::File::open(".").context("opening the current directory")?;
        sys::chdir(base)?;
        let mounted =
            sys::mount(Some("overlay"), merged, Some("overlay"), MsFlags::empty(), Some(&data));
        nix::unistd::fchdir(&back).context("returning to the previous directory")?;
        mounted.context("mounting the overlay")
    }
    // ANCHOR_END: mount

    // ANCHOR: origin
    /// Overlay's lookup, done by hand: the first layer from the top that has `path` wins; a
    /// whiteout there means deleted; an opaque directory on the way hides everything below.
    pub fn origin(&self, base: &Path, path: &Path) -> Origin {
        let rel = path.strip_prefix("/").unwrap_or(path);
        for layer in self.top_down() {
            let full = base.join(layer).join(rel);
            if let Ok(meta) = fs::symlink_metadata(&full) {
                return if (super::RULES.is_whiteout)(&meta) {
                    Origin::WhitedOut(layer.into())
                } else {
                    Origin::In(layer.into())
                };
            }
            let hidden_below = rel.ancestors().skip(1).any(|a| {
                let dir = base.join(layer).join(a);
                !a.as_os_str().is_empty()
                    && (is_opaque(&dir)
                        || fs::symlink_metadata(&dir).is_ok_and(|m| (super::RULES.is_whiteout)(&m)))
            });
            if hidden_below {
                return Origin::Nowhere;
            }
        }
        Origin::Nowhere
    }
    // ANCHOR_END: origin
}

/// `inode 1234 on dev 0:45`: the identity of a file, the evidence copy-up changes.
pub fn identity(path: &Path) -> String {
    match fs::symlink_metadata(path) {
        Ok(m) => format!(
            "inode {} on device {}:{}",
            m.ino(),
            nix::sys::stat::major(m.dev()),
            nix::sys::stat::minor(m.dev())
        ),
        Err(_) => "absent".into(),
    }
}

/// The mount table line for `mountpoint` in this process's mount namespace.
pub fn mountinfo_line(mountpoint: &Path) -> Option<String> {
    let table = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let want = mountpoint.to_string_lossy();
    table.lines().find(|l| l.split(' ').nth(4) == Some(&want)).map(str::to_owned)
}

/// Print what the union looks like: one line per layer, topmost first.
pub fn describe(layers: &Layers) {
    report::evidence(
        "upperdir ",
        &format!("{} (read-write: every change lands here)", layers.upper.display()),
    );
    report::evidence("lowerdir1", &format!("{} (the init layer)", layers.init.display()));
    for (i, l) in layers.image.iter().rev().enumerate() {
        report::evidence(
            &format!("lowerdir{}", i + 2),
            &format!("{} (image layer, read-only)", l.display()),
        );
    }
    report::evidence("workdir  ", &format!("{} (overlay's scratch space)", layers.work.display()));
}
