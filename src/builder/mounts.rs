//! The mounts of `RUN --mount` (parsed by [`super::run_flags`]): a cache directory the store
//! keeps across builds, a tmpfs, or a bind mount of the context or of a stage — made in the
//! build container by the volumes' mechanism ([`crate::mounts::mount_all`]), so they are in
//! no layer; and the mount points they needed, removed from the layer afterwards.

use super::copy;
use super::run_flags::RunMount;
use crate::files;
use crate::image::{Digest, Store};
use crate::mounts::Bind;
use crate::rooted::{self, Root};
use crate::rootfs::View;
use anyhow::{anyhow, ensure};
use std::fs;
use std::path::{Path, PathBuf};

// ANCHOR: prepare
/// RUN's `--mount`s as the mounts the container gets, with the content hash of each bind
/// mount's source. Views of stages or images (`from=`, found by `source_layers`) are mounted
/// under `views`, in the build's work dir, until the result is dropped; a cache mount's
/// directory is the store's; `context` is the build context's snapshot.
pub fn prepare(
    store: &Store,
    context: &Path,
    mounts: &[RunMount],
    views: &Path,
    source_layers: &dyn Fn(&str) -> crate::Result<Vec<Digest>>,
) -> crate::Result<RunMounts> {
    let mut out = RunMounts::default();
    for (i, m) in mounts.iter().enumerate() {
        let destination = m.target().to_string();
        match m {
            RunMount::Tmpfs { size, .. } => {
                let options = size.as_ref().map_or(String::new(), |s| format!("size={s}"));
                out.binds.push(Bind {
                    source: PathBuf::new(),
                    destination,
                    read_only: false,
                    file: false,
                    tmpfs: Some(options),
                });
            }
            RunMount::Cache { id, read_only, uid, gid, mode, .. } => {
                let dir = cache_dir(store).join(Digest::of(id.as_bytes()).hex());
                if !dir.is_dir() {
                    fs::create_dir_all(&dir)?;
                    nix::unistd::chown(&dir, Some((*uid).into()), Some((*gid).into()))?;
                    fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(*mode))?;
                }
                out.binds.push(Bind {
                    source: dir,
                    destination,
                    read_only: *read_only,
                    file: false,
                    tmpfs: None,
                });
            }
            RunMount::Bind { source, from, read_write, .. } => {
                let root = match from {
                    Some(from) => {
                        let layers = source_layers(from).map_err(|_| {
                            anyhow!("from={from}: no stage and no image of that name")
                        })?;
                        let view = View::mount(store, &layers, &views.join(format!("from-{i}")))?;
                        let path = view.path().to_path_buf();
                        out.views.push(view);
                        path
                    }
                    None => context.to_path_buf(),
                };
                // Resolved inside its root: a symlink in the context cannot show the host.
                let held =
                    Root::new(&root)?.open(source, nix::fcntl::OFlag::O_PATH).map_err(|e| {
                        anyhow!(
                            "source={source}: not found in the {} ({e})",
                            if from.is_some() { "stage or image" } else { "build context" }
                        )
                    })?;
                let path = rooted::real_path(&held)?;
                out.hashes.push(copy::content_hash(std::slice::from_ref(&path))?);
                if *read_write {
                    out.copies.push((out.binds.len(), views.join(format!("rw-{i}"))));
                }
                let file = !path.is_dir();
                out.binds.push(Bind {
                    source: path,
                    destination,
                    read_only: !read_write,
                    file,
                    tmpfs: None,
                });
            }
        }
    }
    Ok(out)
}
// ANCHOR_END: prepare

/// Where `RUN --mount=type=cache` keeps its directories: one per cache id, kept across builds.
fn cache_dir(store: &Store) -> PathBuf {
    store.root().join("build-cache")
}

/// Removes every cache mount's directory (`system prune`); returns their names.
pub fn prune_caches(store: &Store) -> crate::Result<Vec<String>> {
    let dir = cache_dir(store);
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).into_iter().flatten() {
        let entry = entry?;
        fs::remove_dir_all(entry.path())?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// What RUN's `--mount`s give the container, and what stays mounted until the step ends.
#[derive(Default)]
pub struct RunMounts {
    pub binds: Vec<Bind>,
    pub hashes: Vec<Digest>,
    views: Vec<View>,
    /// The `rw` bind mounts, by index in `binds`, and where their copies go.
    copies: Vec<(usize, PathBuf)>,
}

impl RunMounts {
    /// Once the step is known to run (not from the cache): the copies that `rw` bind mounts
    /// show instead of their source, so that what the step writes there is thrown away.
    /// Owners, modes, times and special files are kept, as volumes' copyData keeps them.
    pub fn make_copies(&mut self) -> crate::Result<()> {
        for (index, copy) in std::mem::take(&mut self.copies) {
            let bind = &mut self.binds[index];
            fs::create_dir_all(&copy)?;
            if bind.file {
                let to = copy.join("file");
                files::copy_file(&bind.source, &to)?;
                bind.source = to;
            } else {
                files::copy_data(&bind.source, &copy)?;
                bind.source = copy;
            }
        }
        Ok(())
    }
}

/// Before the step, in the image mounted at `merged`: the mount points the mounts will have to
/// create, as (the topmost missing directory, the target), both relative. A target the image
/// has must be of the mount's kind (a directory, or a file for a file's bind mount).
pub fn stubs(merged: &Path, binds: &[Bind]) -> crate::Result<Vec<(PathBuf, PathBuf)>> {
    let root = Root::new(merged)?;
    let mut stubs = Vec::new();
    for b in binds {
        let target = Path::new(b.destination.trim_start_matches('/')).to_path_buf();
        let mut missing = None;
        for prefix in target.ancestors().collect::<Vec<_>>().into_iter().rev().skip(1) {
            if root.open(prefix, nix::fcntl::OFlag::O_PATH).is_err() {
                missing = Some(prefix.to_path_buf());
                break;
            }
        }
        match missing {
            Some(stub) => stubs.push((stub, target)),
            None => {
                let held = root.open(&target, nix::fcntl::OFlag::O_PATH)?;
                let is_dir = fs::metadata(rooted::fd_path(&held))?.is_dir();
                ensure!(
                    is_dir != b.file,
                    "cannot mount on {}: the image has a {} there",
                    b.destination,
                    if is_dir { "directory" } else { "file" }
                );
            }
        }
    }
    Ok(stubs)
}

/// After the step: the mount points it created are removed from its layer while still empty,
/// from the target up to the topmost one, as BuildKit does — what was mounted is not in the
/// image, and neither is where.
pub fn remove_stubs(upper: &Path, stubs: &[(PathBuf, PathBuf)]) -> crate::Result<()> {
    for (stub, target) in stubs.iter().rev() {
        for rel in target.ancestors().take_while(|p| p.starts_with(stub)) {
            let path = upper.join(rel);
            let Ok(meta) = fs::symlink_metadata(&path) else { break };
            let empty = match meta.is_dir() {
                true => files::is_empty(&path),
                false => meta.is_file() && meta.len() == 0,
            };
            if !empty {
                break;
            }
            if meta.is_dir() {
                fs::remove_dir(&path)?
            } else {
                fs::remove_file(&path)?
            }
        }
    }
    Ok(())
}
