//! The volumes on disk: `$MINIDOCKER_ROOT/volumes/<name>/_data` and its `volume.json`,
//! created whole or not at all, under one lock. Which containers use a volume is the
//! containers' business (`container::volumes` removes and prunes).

use super::{valid_name, Mount, Source};
use crate::{files, sys, units};
use anyhow::{ensure, Context};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A volume: `volumes/<name>/_data` holds its files, `volumes/<name>/volume.json` this.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub created_at: String,
    /// Made for one container by `-v /path` (Docker marks these with a label).
    #[serde(default)]
    pub anonymous: bool,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Volume {
    /// What is mounted into containers: Docker's `Mountpoint`.
    pub fn data(&self) -> PathBuf {
        self.dir.join("_data")
    }
}

pub fn volumes_dir(root: &Path) -> PathBuf {
    root.join("volumes")
}

pub fn data_dir(root: &Path, name: &str) -> PathBuf {
    volumes_dir(root).join(name).join("_data")
}

/// The volumes' lock: held while volumes are created, taken by a new container or removed.
/// Also clears what a creator (or a prune) killed half-way left behind.
pub struct Lock(#[allow(dead_code)] Flock<File>);

pub fn lock(root: &Path) -> crate::Result<Lock> {
    let dir = volumes_dir(root);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let f = File::options().create(true).truncate(false).write(true).open(dir.join(".lock"))?;
    let lock = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| sys::failure("flock(volumes/.lock)", e))?;
    for e in fs::read_dir(&dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(".new-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    Ok(Lock(lock))
}

/// The volume called `name`.
pub fn get(root: &Path, name: &str) -> crate::Result<Volume> {
    let dir = volumes_dir(root).join(name);
    ensure!(
        valid_name(name) && dir.join("volume.json").is_file(),
        "no such volume: {name} (see `minidocker volume ls`)"
    );
    let mut v: Volume = files::read_json(&dir.join("volume.json"))?;
    v.dir = dir;
    Ok(v)
}

/// Every volume, by name.
pub fn list(root: &Path) -> crate::Result<Vec<Volume>> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(volumes_dir(root)) else { return Ok(out) };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if valid_name(&name) && e.path().join("volume.json").is_file() {
            out.push(get(root, &name)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Create the volume `name` (a random 64-hex name when `None`) unless it exists. Returns it
/// and whether it was made now. Laid out in a scratch directory and renamed into place, so a
/// volume is there whole or not at all. Call it holding [`lock`].
pub fn create(root: &Path, name: Option<&str>, anonymous: bool) -> crate::Result<(Volume, bool)> {
    let name = match name {
        Some(n) => n.to_string(),
        None => files::new_id()?,
    };
    ensure!(valid_name(&name), "invalid volume name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, two characters at least");
    if let Ok(v) = get(root, &name) {
        return Ok((v, false));
    }
    let dir = volumes_dir(root);
    fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".new-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let made = (|| -> crate::Result<Volume> {
        fs::create_dir(&tmp)?;
        fs::create_dir(tmp.join("_data"))?;
        fs::set_permissions(tmp.join("_data"), fs::Permissions::from_mode(0o755))?;
        let v = Volume {
            name: name.clone(),
            created_at: units::rfc3339_now(),
            anonymous,
            dir: dir.join(&name),
        };
        files::write_json(&tmp.join("volume.json"), &v)?;
        fs::rename(&tmp, &v.dir).with_context(|| format!("creating {}", v.dir.display()))?;
        Ok(v)
    })();
    if made.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    Ok((made?, true))
}

/// What [`prune_unused`] removed: the volumes' names, and the bytes their files took.
#[derive(Debug, Default)]
pub struct Pruned {
    pub names: Vec<String>,
    pub bytes: u64,
}

/// Remove volume `v` and its files. Call it holding [`lock`], having checked no container
/// uses it.
pub fn delete(v: &Volume) -> crate::Result<()> {
    fs::remove_dir_all(&v.dir).with_context(|| format!("removing {}", v.dir.display()))
}

/// Remove the volumes `in_use` says no container uses — only anonymous ones unless `all`.
/// Call it holding [`lock`], with `in_use` read under it.
pub fn prune_unused(
    root: &Path,
    all: bool,
    in_use: &dyn Fn(&str) -> bool,
) -> crate::Result<Pruned> {
    let mut pruned = Pruned::default();
    for v in list(root)? {
        if !(all || v.anonymous) || in_use(&v.name) {
            continue;
        }
        let bytes = disk_usage(&v.data());
        // Out of sight in one rename, then removed: an interrupted removal leaves a `.new-PID-`
        // directory that the next [`lock`] clears, never half a volume that `volume ls` lists.
        let gone = volumes_dir(root).join(format!(".new-{}-pruned-{}", std::process::id(), v.name));
        fs::rename(&v.dir, &gone).with_context(|| format!("removing {}", v.dir.display()))?;
        fs::remove_dir_all(&gone).with_context(|| format!("removing {}", gone.display()))?;
        pruned.names.push(v.name);
        pruned.bytes += bytes;
    }
    Ok(pruned)
}

/// The bytes the files under `dir` take, as Docker counts a volume's: sizes of everything
/// but directories, symlinks not followed, a hard-linked file once.
fn disk_usage(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        let Ok(entries) = fs::read_dir(dir) else { return 0 };
        let mut total = 0;
        for e in entries.flatten() {
            let Ok(m) = fs::symlink_metadata(e.path()) else { continue };
            if m.is_dir() {
                total += walk(&e.path(), seen);
            } else if seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
        total
    }
    walk(dir, &mut std::collections::HashSet::new())
}

/// What [`attach`] did, to be undone if the container cannot be created. Holds the lock.
pub struct Attached {
    _lock: Option<Lock>,
    created: Vec<PathBuf>,
}

impl Attached {
    /// Remove the volumes this container's creation made.
    pub fn undo(self) {
        for d in &self.created {
            let _ = fs::remove_dir_all(d);
        }
    }
}

/// At `create`: give each anonymous volume its name, create the volumes not there yet, and
/// the missing host directories (as Docker's `-v` does). The lock stays held until the
/// returned [`Attached`] is dropped — after the container's `config.json` is written, so a
/// `volume rm` in between sees the new user.
pub fn attach(root: &Path, mounts: &mut [Mount]) -> crate::Result<Attached> {
    if mounts.is_empty() {
        return Ok(Attached { _lock: None, created: Vec::new() });
    }
    let lock = lock(root)?;
    let mut done = Attached { _lock: Some(lock), created: Vec::new() };
    let result = (|| -> crate::Result<()> {
        for m in mounts.iter_mut() {
            match &m.spec.source {
                Source::Host(p) => {
                    if fs::symlink_metadata(p).is_err() {
                        fs::create_dir_all(p).with_context(|| {
                            format!("creating the host directory {}", p.display())
                        })?;
                    }
                }
                src => {
                    let name = match src {
                        Source::Named(n) => Some(n.as_str()),
                        _ => None,
                    };
                    let (v, made) = create(root, name, name.is_none())?;
                    if made {
                        done.created.push(v.dir.clone());
                    }
                    m.volume = v.name;
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(done),
        Err(e) => {
            done.undo();
            Err(e)
        }
    }
}
