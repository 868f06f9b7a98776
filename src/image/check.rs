//! `minidocker system check`, the image store's part: every blob, layer and image against
//! what the store says, and what a crash left behind.
//!
//! Two kinds of finding. A *problem* is something a command could misread or trip over: a
//! blob whose content is not its digest, a directory in `layers/` that is not a whole layer,
//! an image whose manifest, config or layers are missing. A *leftover* is what a process
//! killed with -9 left and nothing reads: scratch in `tmp/`, blobs and layers no image uses,
//! a dead build's lease. The store's own writes are made so that a crash leaves leftovers
//! only (written aside and renamed into place; removed by first renaming aside), and the next
//! writer clears most of them; `--fix` removes them all, and repairs what it can.

use super::oci::{ImageConfig, Manifest};
use super::store::Store;
use super::Digest;
use super::Hashing;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

/// One finding of `system check`.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    /// What is wrong, one line: `layer 3f4e… is incomplete (no meta.json)`.
    pub what: String,
    /// With `--fix`: what was done about it (None: not fixed, or not asked to).
    pub fixed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something a command could misread: the store is not clean until it is gone.
    Problem,
    /// What a crash left that nothing reads: only takes room.
    Leftover,
}

impl Finding {
    pub fn problem(what: impl Into<String>) -> Finding {
        Finding { kind: Kind::Problem, what: what.into(), fixed: None }
    }

    pub fn leftover(what: impl Into<String>) -> Finding {
        Finding { kind: Kind::Leftover, what: what.into(), fixed: None }
    }

    /// Record the outcome of a repair: what was done, or why it failed (then it stays).
    pub fn fix(&mut self, done: crate::Result<String>) {
        match done {
            Ok(d) => self.fixed = Some(d),
            Err(e) => self.what = format!("{} (could not fix: {e:#})", self.what),
        }
    }
}

// ANCHOR: check
/// Check the image store; with `fix`, repair what can be. The caller holds the store's lock
/// (taken with [`Store::lock_as_is`], so that nothing is cleared before it is seen).
pub fn check(store: &Store, fix: bool) -> crate::Result<Vec<Finding>> {
    let mut out = Vec::new();
    // What the index refers to, and every image's own soundness.
    let mut blobs = BTreeSet::new();
    let mut layers = BTreeSet::new();
    // Only when every image could be read is "used by no image" sure enough to delete on.
    let mut all_read = true;
    match store.index() {
        Err(e) => {
            out.push(Finding::problem(format!("{e:#}")));
            all_read = false;
        }
        Ok(index) => {
            for desc in &index.manifests {
                let name =
                    desc.ref_name().map_or_else(|| desc.digest.short().to_string(), str::to_owned);
                all_read &=
                    check_image(store, &name, &desc.digest, fix, &mut blobs, &mut layers, &mut out);
            }
        }
    }
    let unused = |what: String| match all_read {
        true => Finding::leftover(what),
        false => Finding::leftover(format!("{what} (kept: not every image could be read)")),
    };
    let fix_unused = fix && all_read;
    // Blobs: each must be what its name says; those no image uses are leftovers.
    for e in fs::read_dir(store.images().join("blobs/sha256"))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let digest = Digest::parse(&format!("sha256:{name}")).ok();
        let Some(d) = digest else {
            let mut f = Finding::leftover(format!("{} is not a blob", path.display()));
            if fix {
                f.fix(remove(&path));
            }
            out.push(f);
            continue;
        };
        let used = blobs.contains(d.hex());
        if hash_file(&path)? != d && used {
            // Not removed: the image would only be missing it instead.
            out.push(Finding::problem(format!("blob {} is corrupt: its content does not match its digest — remove the images that use it (rmi -f) and import or pull them again", d.short())));
        } else if !used {
            let mut f = unused(format!("blob {} is used by no image", d.short()));
            if fix_unused {
                f.fix(remove(&path));
            }
            out.push(f);
        }
    }
    // Layers: whole ones only (meta.json, written last, names the layer); used by an image.
    for e in fs::read_dir(store.root().join("layers"))?.flatten() {
        let hex = e.file_name().to_string_lossy().into_owned();
        let digest = Digest::parse(&format!("sha256:{hex}")).ok();
        let whole = digest.as_ref().is_some_and(|d| store.has_layer(d));
        let (mut f, may_fix) = if !whole && layers.contains(&hex) {
            continue; // reported (and with --fix, unpacked again) with its image
        } else if !whole {
            (Finding::problem(format!("layer {} is not a whole layer (no valid meta.json or diff/): a half-written or half-deleted one", short(&hex))), fix)
        } else if !layers.contains(&hex) {
            (unused(format!("layer {} is used by no image", short(&hex))), fix_unused)
        } else {
            continue;
        };
        if may_fix {
            f.fix(store.trash(&e.path()).map(|_| "removed".into()));
        }
        out.push(f);
    }
    // Scratch of dead processes, and dead builds' leases.
    for p in store.dead_scratch()? {
        let mut f = Finding::leftover(format!("{} is a dead process's scratch", p.display()));
        if fix {
            f.fix(remove(&p));
        }
        out.push(f);
    }
    out.extend(half_written(store.root(), fix));
    for p in store.stale_leases()? {
        let mut f =
            Finding::leftover(format!("{} is the lease of a build that is gone", p.display()));
        if fix {
            f.fix(remove(&p));
        }
        out.push(f);
    }
    Ok(out)
}
// ANCHOR_END: check

/// One image: its manifest and config readable and whole, each layer's blob there and the
/// layer unpacked (with `fix`, unpacked again from its blob).
fn check_image(
    store: &Store,
    name: &str,
    manifest_digest: &Digest,
    fix: bool,
    blobs: &mut BTreeSet<String>,
    layers: &mut BTreeSet<String>,
    out: &mut Vec<Finding>,
) -> bool {
    blobs.insert(manifest_digest.hex().to_owned());
    let read = |d: &Digest, what: &str| -> Result<Vec<u8>, String> {
        store.read_blob(d).map_err(|e| format!("image {name}: its {what}: {e:#}"))
    };
    let manifest: Manifest = match read(manifest_digest, "manifest").and_then(|b| {
        serde_json::from_slice(&b).map_err(|e| format!("image {name}: its manifest: {e}"))
    }) {
        Ok(m) => m,
        Err(e) => {
            out.push(Finding::problem(e));
            return false;
        }
    };
    blobs.insert(manifest.config.digest.hex().to_owned());
    blobs.extend(manifest.layers.iter().map(|l| l.digest.hex().to_owned()));
    let config: ImageConfig = match read(&manifest.config.digest, "config").and_then(|b| {
        serde_json::from_slice(&b).map_err(|e| format!("image {name}: its config: {e}"))
    }) {
        Ok(c) => c,
        Err(e) => {
            out.push(Finding::problem(e));
            return false;
        }
    };
    layers.extend(config.rootfs.diff_ids.iter().map(|d| d.hex().to_owned()));
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        out.push(Finding::problem(format!(
            "image {name}: its manifest has {} layers, its config {} diff_ids",
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        )));
        return true;
    }
    for (desc, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
        let have_blob = store.blob_path(&desc.digest).is_file();
        if !have_blob {
            out.push(Finding::problem(format!("image {name}: layer blob {} is missing — remove the image (rmi -f) and import or pull it again", desc.digest.short())));
        }
        if !store.has_layer(diff_id) {
            let mut f = Finding::problem(format!(
                "image {name}: layer {} is not unpacked whole",
                diff_id.short()
            ));
            if fix && have_blob {
                f.fix(
                    store
                        .ensure_unpacked(desc, diff_id)
                        .map(|_| "unpacked again from its blob".into()),
                );
            }
            out.push(f);
        }
    }
    true
}

/// The files in `dir` a killed process was writing, to be renamed over the real one:
/// `state.tmp<PID>` ([`crate::files::write_json`]), `build-cache.json.<PID>`.
pub fn half_written(dir: &Path, fix: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let writer = name
            .rsplit_once(".tmp")
            .or_else(|| name.rsplit_once(".json."))
            .and_then(|(_, p)| p.parse::<i32>().ok());
        if writer.is_some_and(|p| !crate::process::process_alive(p, 0)) {
            let mut f = Finding::leftover(format!(
                "{} is a file a killed process was writing",
                e.path().display()
            ));
            if fix {
                f.fix(remove(&e.path()));
            }
            out.push(f);
        }
    }
    out
}

fn hash_file(path: &Path) -> crate::Result<Digest> {
    let mut h = Hashing::new(io::sink());
    io::copy(&mut fs::File::open(path)?, &mut h)?;
    Ok(h.finish().0)
}

fn remove(p: &Path) -> crate::Result<String> {
    match fs::symlink_metadata(p)?.is_dir() {
        true => fs::remove_dir_all(p)?,
        false => fs::remove_file(p)?,
    }
    Ok("removed".into())
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}
