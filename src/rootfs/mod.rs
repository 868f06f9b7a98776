//! A container's root filesystem: the image's read-only layers, the init layer and a
//! read-write layer, union-mounted with overlayfs; then `pivot_root` into it.
//!
//! - [`overlay`]: the union mount and overlay's lookup rule
//! - [`init_layer`]: `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`
//! - [`enter`]: pivot_root, `/proc`, a minimal `/dev`, read-only `/sys`

pub mod enter;
pub mod init_layer;
pub mod overlay;

pub use init_layer::InitFiles;
pub use overlay::{Layers, Origin};

/// Exercise 03's reference answer, compiled as this module's own code.
#[path = "../../solutions/03-rootfs-aufs/exercise.rs"]
pub mod solution;

/// Exercise 03, the overlay's options, the whiteout it leaves and the switch of root: the
/// reference answer's ([`RULES`]) or a student's (`03-rootfs-aufs --mine`). Passed to
/// [`Rootfs::mount`], which keeps them for [`enter::enter_with`].
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The data string of the overlay mount for these layers.
    pub overlay_options: fn(&Layers) -> String,
    /// Does this directory entry of a layer hide the same name in the layers below it?
    pub is_whiteout: fn(&std::fs::Metadata) -> bool,
    /// Make this directory the process's root, the old root gone from its mount table.
    pub switch_root: fn(&Path) -> crate::Result<()>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;

impl Default for Rules {
    fn default() -> Rules {
        RULES
    }
}

use crate::image::Store;
use crate::sys;
use anyhow::Context;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use std::fs;
use std::path::{Path, PathBuf};

/// A container's filesystem on disk: `init/`, `upper/`, `work/`, `merged/` in `dir`.
/// Dropping it unmounts `merged` if it was mounted; the directory's owner removes `dir`.
pub struct Rootfs {
    /// The store root: overlay paths are relative to it.
    pub base: PathBuf,
    pub dir: PathBuf,
    pub layers: Layers,
    mounted: bool,
    /// The rules it was mounted with: the container entering it switches root with them.
    rules: Rules,
}

impl Rootfs {
    /// Lay out the layers `diff_ids` (an image's, bottom first) in `dir` (inside the store
    /// root) and write the init layer.
    pub fn create(
        store: &Store,
        diff_ids: &[crate::image::Digest],
        dir: &Path,
        init: &InitFiles,
    ) -> crate::Result<Rootfs> {
        let base = store.root().to_path_buf();
        let rel = |p: &Path| {
            p.strip_prefix(&base)
                .map(Path::to_path_buf)
                .with_context(|| format!("{} is not inside the store", p.display()))
        };
        let mut image_layers = Vec::new();
        for d in stacked(diff_ids) {
            let l = store.layer_dir(d);
            anyhow::ensure!(store.has_layer(d), "layer {d} of the image is not unpacked whole (the store is damaged: see `minidocker system check`; remove and re-import the image)");
            image_layers.push(rel(&l)?);
        }
        for sub in ["init", "upper", "work", "merged"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        init.write(&dir.join("init"))?;
        let layers = Layers {
            image: image_layers,
            init: rel(&dir.join("init"))?,
            upper: rel(&dir.join("upper"))?,
            work: rel(&dir.join("work"))?,
        };
        Ok(Rootfs { base, dir: dir.to_path_buf(), layers, mounted: false, rules: RULES })
    }

    /// The layers already laid out in `dir` by [`Rootfs::create`] (a container's, on disk).
    pub fn open(
        store: &Store,
        diff_ids: &[crate::image::Digest],
        dir: &Path,
    ) -> crate::Result<Rootfs> {
        let base = store.root().to_path_buf();
        let rel = |p: &Path| {
            p.strip_prefix(&base)
                .map(Path::to_path_buf)
                .with_context(|| format!("{} is not inside the store", p.display()))
        };
        let image = stacked(diff_ids)
            .into_iter()
            .map(|d| rel(&store.layer_dir(d)))
            .collect::<crate::Result<_>>()?;
        let layers = Layers {
            image,
            init: rel(&dir.join("init"))?,
            upper: rel(&dir.join("upper"))?,
            work: rel(&dir.join("work"))?,
        };
        anyhow::ensure!(
            dir.join("upper").is_dir(),
            "{} has no read-write layer: the container's files are damaged",
            dir.display()
        );
        Ok(Rootfs { base, dir: dir.to_path_buf(), layers, mounted: false, rules: RULES })
    }

    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }

    /// Mount the union at `merged/`, with the overlay options `rules` build; a container
    /// entering it will switch root with `rules` too.
    pub fn mount(&mut self, rules: &Rules) -> crate::Result<()> {
        self.layers.mount(&self.base, &self.merged(), rules)?;
        self.mounted = true;
        self.rules = *rules;
        Ok(())
    }

    /// The exercise's rules this root filesystem was mounted with.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Which layer `path` (inside the container) comes from.
    pub fn origin(&self, path: &str) -> Origin {
        self.layers.origin(&self.base, Path::new(path))
    }

    /// The host path of `path` (inside the container) in `layer`.
    pub fn in_layer(&self, layer: &Path, path: &str) -> PathBuf {
        self.base.join(layer).join(path.trim_start_matches('/'))
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = sys::umount2(&self.merged(), MntFlags::MNT_DETACH);
        }
    }
}

// ANCHOR: private_ns
/// Give this process a mount namespace of its own with private propagation: what it mounts
/// from now on is invisible to the host and vanishes when the last process in it exits —
/// even on `kill -9`, no overlay is left mounted.
pub fn private_mount_namespace() -> crate::Result<()> {
    sys::unshare(CloneFlags::CLONE_NEWNS)?;
    sys::mount(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)
}
// ANCHOR_END: private_ns

/// An image's layers mounted read-only, without a read-write layer: to read the files of an
/// image (`COPY --from`, user names for `--chown`) without starting a container.
pub struct View {
    merged: PathBuf,
    mounted: bool,
}

// ANCHOR: stacked
/// The layers an overlay stacks for `diff_ids` (bottom first): each one once, at its topmost
/// place. overlayfs refuses a directory twice in `lowerdir` ("Too many symbolic links"), and
/// images do repeat layers: every RUN step that changed nothing adds the same empty layer.
/// Dropping the lower copies changes nothing: above them, the topmost copy holds every path
/// they hold (whiteouts and opaque directories included), with the same content.
fn stacked(diff_ids: &[crate::image::Digest]) -> Vec<&crate::image::Digest> {
    diff_ids
        .iter()
        .enumerate()
        .filter(|(i, d)| !diff_ids[i + 1..].contains(d))
        .map(|(_, d)| d)
        .collect()
}
// ANCHOR_END: stacked

impl View {
    /// Mount the layers `diff_ids` (bottom first) at `dir/merged`; `dir` is inside the store.
    pub fn mount(
        store: &Store,
        diff_ids: &[crate::image::Digest],
        dir: &Path,
    ) -> crate::Result<View> {
        let merged = dir.join("merged");
        fs::create_dir_all(&merged)?;
        if diff_ids.is_empty() {
            return Ok(View { merged, mounted: false }); // FROM scratch: nothing to see
        }
        // overlay needs two lower layers when it has no upper one: an empty one at the bottom.
        let empty = dir.join("empty");
        fs::create_dir_all(&empty)?;
        let rel = |p: &Path| {
            p.strip_prefix(store.root()).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf())
        };
        let mut lower: Vec<String> = stacked(diff_ids)
            .into_iter()
            .rev()
            .map(|d| rel(&store.layer_dir(d)).display().to_string())
            .collect();
        lower.push(rel(&empty).display().to_string());
        let back = fs::File::open(".")?;
        sys::chdir(store.root())?;
        let r = sys::mount(
            Some("overlay"),
            &merged,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(&format!("lowerdir={}", lower.join(":"))),
        );
        nix::unistd::fchdir(&back)?;
        r.context("mounting the image read-only")?;
        Ok(View { merged, mounted: true })
    }

    pub fn path(&self) -> &Path {
        &self.merged
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.mounted {
            let _ = sys::umount2(&self.merged, MntFlags::MNT_DETACH);
        }
    }
}
