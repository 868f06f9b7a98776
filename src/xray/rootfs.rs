//! The container's root filesystem: the overlay mounted as its `/` (its own mount table), the
//! read-write layer and what changed in it, the init layer, and the image's layers with the
//! instruction that made each.

use crate::container::Container;
use crate::image::Store;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct RootfsInfo {
    /// The line of `/proc/PID/mountinfo` whose mount point is `/`.
    pub mount_line: String,
    pub fstype: String,
    /// The read-write layer (`upperdir`).
    pub upper_dir: String,
    pub upper_bytes: u64,
    /// What the container changed: new files, files copied up from a layer below, whiteouts.
    pub added: u64,
    pub changed: u64,
    pub deleted: u64,
    pub init_dir: String,
    /// The init layer's files, as paths inside the container.
    pub init_files: Vec<String>,
    /// The image's layers, bottom first.
    pub layers: Vec<ImageLayer>,
    pub sources: super::Sources,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageLayer {
    /// The first 12 hex digits of its diff_id.
    pub short_diff_id: String,
    pub diff_id: String,
    pub size: u64,
    /// The history entry that made it (`created_by`), as `docker history` shows it.
    pub created_by: String,
}

pub(super) fn read(store: &Store, c: &Container) -> crate::Result<RootfsInfo> {
    let pid = c.state.pid;
    let mountinfo = super::proc_file(pid, "mountinfo")?;
    let mount_line = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_default()
        .to_string();
    let fstype = mount_line
        .split_once(" - ")
        .and_then(|(_, r)| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let dir = c.dir.join("rootfs");
    let (upper, init) = (dir.join("upper"), dir.join("init"));
    let lowers: Vec<PathBuf> = std::iter::once(init.clone())
        .chain(c.config.diff_ids.iter().rev().map(|d| store.layer_dir(d)))
        .collect();
    let mut counts = Counts::default();
    walk(&upper, Path::new(""), &lowers, &mut counts);
    let mut init_files = Vec::new();
    files_under(&init, Path::new("/"), &mut init_files);
    init_files.sort();

    // Each layer's history entry: the entries that made a layer (not `empty_layer`), in order.
    let image = store.resolve(&c.config.image_id).ok();
    let mut made_by = image
        .iter()
        .flat_map(|i| i.config.history.iter())
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone().unwrap_or_default());
    let layers = c
        .config
        .diff_ids
        .iter()
        .map(|d| ImageLayer {
            short_diff_id: d.hex()[..12].to_string(),
            diff_id: d.to_string(),
            size: store.layer_meta(d).map_or(0, |m| m.size),
            created_by: made_by.next().unwrap_or_default().replace(['\n', '\t'], " "),
        })
        .collect();
    let sources = super::Sources::from([
        ("mount_line".into(), format!("/proc/{pid}/mountinfo")),
        ("upper_dir".into(), format!("walk of {}", upper.display())),
        ("init_files".into(), format!("walk of {}", init.display())),
        (
            "layers".into(),
            "the image's config (rootfs.diff_ids, history) and layers/*/meta.json".into(),
        ),
    ]);
    Ok(RootfsInfo {
        mount_line,
        fstype,
        upper_dir: upper.display().to_string(),
        upper_bytes: counts.bytes,
        added: counts.added,
        changed: counts.changed,
        deleted: counts.deleted,
        init_dir: init.display().to_string(),
        init_files,
        layers,
        sources,
    })
}

#[derive(Default)]
struct Counts {
    bytes: u64,
    added: u64,
    changed: u64,
    deleted: u64,
}

/// Count the read-write layer's entries: a whiteout (a 0:0 character device) is a deletion, a
/// file some lower layer also has was copied up (changed), anything else is new. Directories
/// count only when new: the ones above a copied-up file were merely made to hold it.
fn walk(dir: &Path, rel: &Path, lowers: &[PathBuf], n: &mut Counts) {
    let Ok(entries) = fs::read_dir(dir.join(rel)) else { return };
    for e in entries.flatten() {
        let rel = rel.join(e.file_name());
        let Ok(m) = e.metadata() else { continue };
        let below = lowers.iter().any(|l| fs::symlink_metadata(l.join(&rel)).is_ok());
        if crate::image::whiteout::is_overlay_whiteout(&m) {
            n.deleted += 1;
        } else if m.is_dir() {
            n.added += u64::from(!below);
            walk(dir, &rel, lowers, n);
        } else {
            n.bytes += m.len();
            if below {
                n.changed += 1;
            } else {
                n.added += 1;
            }
        }
    }
}

/// The files (not directories) under `dir`, as paths below `at`.
fn files_under(dir: &Path, at: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = at.join(e.file_name());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            files_under(&e.path(), &path, out);
        } else {
            out.push(path.display().to_string());
        }
    }
}
