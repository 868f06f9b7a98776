//! Volumes: a directory of the host bind-mounted into a container — made in the container's
//! mount namespace, after its rootfs is ready and before `pivot_root`, so the host's mount
//! table never shows it.
//!
//! Three kinds of `-v`, as in Docker:
//! - `-v /test`: an *anonymous* volume, `$MINIDOCKER_ROOT/volumes/<64 hex>/_data`, made for
//!   this one container (`rm -v` and `run --rm` remove it with the container);
//! - `-v NAME:/test`: the *named* volume NAME, created on first use, kept until `volume rm`;
//! - `-v /host/dir:/test`: a *bind mount* of a host directory (or file), used as it is.
//!
//! Add `:ro` to any of them for a read-only mount, `:nocopy` to a volume to keep it empty.
//!
//! An empty volume is filled from the image first — Docker's *copyData*: the files the image
//! has at the mount point, with their owners, modes and times, are copied into the volume,
//! so a container finds what its image put there, and keeps it across containers. A host
//! directory is never filled: the bind mount hides whatever the image had there. Exercise 08
//! decides both — how `-v` is read and when a volume is filled ([`solution`] is the reference
//! answer the library uses).
//!
//! Where things happen:
//! - [`attach`], in `create`: anonymous volumes get their names, named ones are created,
//!   under the volumes' lock, so `volume rm` and [`prune`] never remove one a new container
//!   is taking;
//! - [`prepare`], in the container's monitor (in its own mount namespace, the overlay
//!   mounted): copyData into empty volumes, and the list of bind mounts to make;
//! - [`mount_all`], in the container's child process, from `rootfs::enter`'s hook: each
//!   mount point found (symlinks resolved *inside* the rootfs, [`crate::rooted`]) or created
//!   in the merged tree and held open, `mount(source, /proc/self/fd/N, MS_BIND|MS_REC)` onto
//!   that very descriptor, and a read-only remount for `:ro`.

// The reference answer of exercise 08 is this module's code (the library's `solutions` list
// is lib.rs's; this module keeps its own answer next to the code that uses it, as commit does).
#[path = "../solutions/08-volumes-bind-mount/exercise.rs"]
#[doc(hidden)]
pub mod solution;

use crate::builder::copy::clean_abs;
use crate::container::{state, ContainerConfig};
use crate::image::Store;
use crate::rooted::{self, Root};
use crate::{rootfs, sys, units};
use anyhow::{bail, ensure, Context};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, ResolveFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// Where a `-v` takes its directory from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `-v /test`: a new volume with a random name, for this container.
    Anonymous,
    /// `-v NAME:/test`: the volume called NAME, created on first use.
    Named(String),
    /// `-v /host/dir:/test`: a directory (or file) of the host, as it is.
    Host(PathBuf),
}

/// One `-v`, as read from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub source: Source,
    /// Where it appears in the container: absolute and clean (`/test`, never `/test/`).
    pub destination: String,
    /// `:ro`
    pub read_only: bool,
    /// `:nocopy`: never fill the volume from the image.
    pub no_copy: bool,
}

impl Spec {
    /// Is this a volume (named or anonymous) rather than a host directory?
    pub fn is_volume(&self) -> bool {
        !matches!(self.source, Source::Host(_))
    }
}

/// A container's mount, as its `config.json` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub spec: Spec,
    /// The volume it mounts: the name given, or the one an anonymous volume got when the
    /// container was created. Empty for a host directory.
    #[serde(default)]
    pub volume: String,
}

impl Mount {
    /// `volume` or `bind`, as `docker inspect` says.
    pub fn kind(&self) -> &'static str {
        if self.spec.is_volume() {
            "volume"
        } else {
            "bind"
        }
    }

    /// The directory (or file) of the host that is mounted.
    pub fn host_path(&self, root: &Path) -> PathBuf {
        match &self.spec.source {
            Source::Host(p) => p.clone(),
            _ => data_dir(root, &self.volume),
        }
    }
}

/// The two decisions exercise 08 asks for: the reference answers, or a student's.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `-v TEXT` → what it asks for.
    pub parse: fn(&str) -> crate::Result<Spec>,
    /// Is the directory `dir`, about to be mounted for `spec`, filled from the image first?
    pub fills_from_image: fn(&Spec, &Path) -> bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { parse: solution::parse, fills_from_image: solution::fills_from_image }
    }
}

static RULES: OnceLock<Rules> = OnceLock::new();

/// Use `rules` in this process — and in the container monitors it forks — instead of the
/// reference answers (lesson 08's `--mine`). Only the first call counts.
pub fn use_rules(rules: Rules) {
    let _ = RULES.set(rules);
}

/// The rules in use: the reference answers unless [`use_rules`] said otherwise.
pub fn rules() -> Rules {
    RULES.get().copied().unwrap_or_default()
}

/// A volume name, as Docker allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Read one `-v` with `rules`; the error names the specification.
pub fn parse_with(rules: Rules, text: &str) -> crate::Result<Spec> {
    (rules.parse)(text).with_context(|| format!("invalid volume specification {text:?}"))
}

/// Read every `-v` of a `run` (with the rules in use): each must be valid and no two may
/// share a destination. Nothing is created here.
pub fn parse_all(texts: &[String]) -> crate::Result<Vec<Mount>> {
    let mut out: Vec<Mount> = Vec::new();
    for t in texts {
        let spec = parse_with(rules(), t)?;
        ensure!(
            !out.iter().any(|m| m.spec.destination == spec.destination),
            "duplicate mount point {}: two -v name the same path in the container",
            spec.destination
        );
        out.push(Mount { spec, volume: String::new() });
    }
    Ok(out)
}

// ---- volumes on disk --------------------------------------------------------------------

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
    let mut v: Volume = state::read_json(&dir.join("volume.json"))?;
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
        None => rootfs::new_id()?,
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
        state::write_json(&tmp.join("volume.json"), &v)?;
        fs::rename(&tmp, &v.dir).with_context(|| format!("creating {}", v.dir.display()))?;
        Ok(v)
    })();
    if made.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    Ok((made?, true))
}

/// Does container `c` mount volume `name`? (Its `config.json` says so, running or not.)
fn uses(c: &ContainerConfig, name: &str) -> bool {
    c.volumes.iter().any(|m| m.spec.is_volume() && m.volume == name)
}

/// Every container's configuration, stopped ones included. Read under the volumes' lock, so
/// no container that takes volumes is half-created.
fn configs(store: &Store) -> crate::Result<Vec<ContainerConfig>> {
    Ok(state::list(store)?.into_iter().map(|c| c.config).collect())
}

/// The containers (IDs) whose mounts name volume `name`, stopped ones included.
pub fn users(store: &Store, name: &str) -> crate::Result<Vec<String>> {
    Ok(configs(store)?.into_iter().filter(|c| uses(c, name)).map(|c| c.id).collect())
}

/// `volume rm`: remove volume `name` and its files — refused while a container uses it.
pub fn remove(store: &Store, name: &str) -> crate::Result<()> {
    let _lock = lock(store.root())?;
    let v = get(store.root(), name)?;
    let users = users(store, name)?;
    if let Some(first) = users.first() {
        bail!("volume {name} is in use by container {}: remove the container first (minidocker rm), then the volume", &first[..12]);
    }
    fs::remove_dir_all(&v.dir).with_context(|| format!("removing {}", v.dir.display()))
}

/// `rm -v`, `run --rm`: remove the anonymous volumes of container `c` (already removed) that
/// no other container uses. Returns their names.
pub fn remove_anonymous(store: &Store, c: &ContainerConfig) -> crate::Result<Vec<String>> {
    let anonymous: Vec<&Mount> = c
        .volumes
        .iter()
        .filter(|m| m.spec.source == Source::Anonymous && !m.volume.is_empty())
        .collect();
    if anonymous.is_empty() {
        return Ok(Vec::new());
    }
    let _lock = lock(store.root())?;
    let mut removed = Vec::new();
    for m in anonymous {
        let Ok(v) = get(store.root(), &m.volume) else { continue };
        if users(store, &m.volume)?.iter().all(|id| *id == c.id) {
            fs::remove_dir_all(&v.dir).with_context(|| format!("removing {}", v.dir.display()))?;
            removed.push(v.name);
        }
    }
    Ok(removed)
}

/// What [`prune`] removed: the volumes' names, and the bytes their files took.
#[derive(Debug, Default)]
pub struct Pruned {
    pub names: Vec<String>,
    pub bytes: u64,
}

/// `volume prune`: remove the volumes no container uses — a container, running or stopped,
/// whose `config.json` names a volume uses it. Only anonymous ones unless `all`, as Docker 23+
/// does (`volume prune -a` for the named ones too).
pub fn prune(store: &Store, all: bool) -> crate::Result<Pruned> {
    // The volumes' lock, held from reading the containers to the last removal. [`attach`]
    // takes the same lock before it creates or names a volume for a new container, and keeps
    // it until that container's `config.json` is written. So a `run -v` racing this prune
    // either attached first — its `config.json` is on disk when [`configs`] reads the
    // containers below, and its volume counts as used — or it waits here and attaches after
    // the prune, finding its named volume gone and creating it afresh. No volume is ever
    // taken by a container without being named in a `config.json` while this lock is free.
    let _lock = lock(store.root())?;
    let containers = configs(store)?;
    let mut pruned = Pruned::default();
    for v in list(store.root())? {
        if !(all || v.anonymous) || containers.iter().any(|c| uses(c, &v.name)) {
            continue;
        }
        let bytes = disk_usage(&v.data());
        // Out of sight in one rename, then removed: an interrupted removal leaves a `.new-PID-`
        // directory that the next [`lock`] clears, never half a volume that `volume ls` lists.
        let gone = volumes_dir(store.root()).join(format!(
            ".new-{}-pruned-{}",
            std::process::id(),
            v.name
        ));
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

// ---- at start: copyData, then the bind mounts -------------------------------------------

/// One bind mount the container's child makes.
#[derive(Debug, Clone)]
pub struct Bind {
    pub source: PathBuf,
    /// In the container: `/test`.
    pub destination: String,
    pub read_only: bool,
    /// The source is a file: the mount point is made as an empty file.
    pub file: bool,
    /// Not a bind mount: an empty tmpfs, with these options (`size=64m`, or none) — a
    /// build's `RUN --mount=type=tmpfs`.
    pub tmpfs: Option<String>,
}

/// In the monitor, the container's overlay mounted at `merged`: check each mount's source,
/// fill the empty volumes `rules` says to fill from what `merged` has at the destination,
/// and return the bind mounts to make, parents before children.
pub fn prepare(
    root: &Path,
    mounts: &[Mount],
    merged: &Path,
    rules: Rules,
) -> crate::Result<Vec<Bind>> {
    let mut binds = Vec::new();
    let image = Root::new(merged)?;
    for m in mounts {
        let source = m.host_path(root);
        let meta = fs::metadata(&source).with_context(|| match m.spec.is_volume() {
            true => format!("volume {} is gone (removed behind the container's back?)", m.volume),
            false => format!("the host path {} of -v is missing", source.display()),
        })?;
        // What the image has at the destination, resolved inside it and held open: it is
        // read through the descriptor, never by a path walked again.
        let held = image.open(&m.spec.destination, OFlag::O_PATH).ok();
        let in_image = held.as_ref().map(rooted::fd_path);
        if let Some(p) = &in_image {
            let is_dir = fs::metadata(p)?.is_dir();
            ensure!(
                is_dir == meta.is_dir(),
                "cannot mount {} on {}: the image has a {} there",
                source.display(),
                m.spec.destination,
                if is_dir { "directory" } else { "file" }
            );
        }
        // ANCHOR: fill
        if m.spec.is_volume() {
            // One container at a time fills a volume; a second one starting with it waits, then
            // finds it no longer empty.
            let _filling = Flock::lock(File::open(&source)?, FlockArg::LockExclusive)
                .map_err(|(_, e)| sys::failure("flock(volume)", e))?;
            if (rules.fills_from_image)(&m.spec, &source) {
                if let Some(from) = in_image.filter(|p| p.is_dir()) {
                    copy_data(&from, &source).with_context(|| {
                        format!(
                            "copying the image's {} into volume {}",
                            m.spec.destination, m.volume
                        )
                    })?;
                }
            }
        } else if (rules.fills_from_image)(&m.spec, &source) {
            // Only a student's rule gets here: the reference answer never fills a host directory.
            if let Some(from) = in_image.filter(|p| p.is_dir()) {
                copy_data(&from, &source)?;
            }
        }
        // ANCHOR_END: fill
        binds.push(Bind {
            source,
            destination: m.spec.destination.clone(),
            read_only: m.spec.read_only,
            file: !meta.is_dir(),
            tmpfs: None,
        });
    }
    binds.sort_by_key(|b| Path::new(&b.destination).components().count());
    Ok(binds)
}

/// In the container's child, in its own mount namespace, before `pivot_root`: make each bind
/// mount onto the merged tree at `merged`. Returns the mount points.
pub fn mount_all(merged: &Path, binds: &[Bind]) -> crate::Result<Vec<PathBuf>> {
    let root = Root::new(merged)?;
    let mut targets = Vec::new();
    for b in binds {
        // ANCHOR: bind
        // The mount point, resolved inside the rootfs and held open. mount(2) gets its
        // /proc/self/fd/N, the object that was resolved: a path would be walked again, and a
        // symlink swapped in meanwhile could take the mount out of the rootfs (runc's
        // CVE-2021-30465).
        let target = mount_point(&root, &b.destination, b.file)?;
        if let Some(options) = &b.tmpfs {
            let options = Some(options.as_str()).filter(|o| !o.is_empty());
            sys::mount(
                Some("tmpfs"),
                &rooted::fd_path(&target),
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                options,
            )?;
            targets.push(rooted::real_path(&target)?);
            continue;
        }
        let source =
            b.source.to_str().with_context(|| format!("{} is not UTF-8", b.source.display()))?;
        sys::mount(
            Some(source),
            &rooted::fd_path(&target),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        if b.read_only {
            // A bind mount takes the source's flags; read-only is a second step, on the new
            // mount only (the source stays writable on the host).
            let new = mount_on(&root, &target, &b.source)?;
            sys::mount(
                None,
                &rooted::fd_path(&new),
                None,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None,
            )?;
        }
        // ANCHOR_END: bind
        targets.push(rooted::real_path(&target)?);
    }
    Ok(targets)
}

/// The mount just made on `point`. `point` is the directory *under* it, so its path is walked
/// once more — symlinks refused, since it has none — and what is found must be the root of
/// a mount of `source`, or the remount is refused.
fn mount_on(root: &Root, point: &OwnedFd, source: &Path) -> crate::Result<OwnedFd> {
    let rel = root.relative(point)?;
    let fd = root
        .open_with(&rel, OFlag::O_PATH | OFlag::O_NOFOLLOW, ResolveFlag::RESOLVE_NO_SYMLINKS)
        .map_err(|e| {
            sys::failure(&format!("openat2({:?}, RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS)", rel), e)
        })?;
    let (got, want) = (File::from(fd.try_clone()?).metadata()?, fs::metadata(source)?);
    ensure!(
        (got.dev(), got.ino()) == (want.dev(), want.ino()),
        "the mount on /{} changed before it was made read-only — refused",
        rel.display()
    );
    Ok(fd)
}

/// `dest` in the tree at `root`, made if missing — directories, and the last component an
/// empty file when `file` — with every symlink on the way resolved as if `root` were `/`,
/// dangling ones included: their targets are made, inside `root`. (An image with
/// `/test -> /etc` must not get a volume mounted over the host's `/etc`.) Returns it open
/// (`O_PATH`).
pub fn mount_point(root: &Root, dest: &str, file: bool) -> crate::Result<OwnedFd> {
    let failed = |rel: &Path, e| {
        sys::failure(
            &format!("openat2({:?}, RESOLVE_IN_ROOT) in the rootfs", Path::new("/").join(rel)),
            e,
        )
    };
    let names = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                _ => None,
            })
            .collect()
    };
    let mut todo = names(Path::new(dest));
    let mut rel = PathBuf::new();
    let mut links = 0;
    while !todo.is_empty() {
        let name = todo.remove(0);
        let next = rel.join(&name);
        match root.open(&next, OFlag::O_PATH) {
            Ok(_) => {
                rel = next;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(failed(&next, e)),
        }
        // Missing — or a symlink to something missing: then its target is what to make.
        let parent =
            root.open(&rel, OFlag::O_PATH | OFlag::O_DIRECTORY).map_err(|e| failed(&rel, e))?;
        if let Ok(target) = nix::fcntl::readlinkat(&parent, name.as_os_str()) {
            links += 1;
            ensure!(links <= 40, "too many levels of symbolic links in {dest}");
            // An absolute target replaces what it is joined to: it starts at the root.
            let joined = Path::new("/").join(root.relative(&parent)?).join(target);
            todo.splice(0..0, names(Path::new(&clean_abs(&joined))));
            rel = PathBuf::new();
            continue;
        }
        let made = if todo.is_empty() && file {
            nix::fcntl::openat(
                &parent,
                name.as_os_str(),
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_CLOEXEC
                    | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(0o644),
            )
            .map(drop)
        } else {
            nix::sys::stat::mkdirat(&parent, name.as_os_str(), Mode::from_bits_truncate(0o755))
        };
        made.map_err(|e| {
            sys::failure(
                &format!("making the mount point {:?} in the rootfs", Path::new("/").join(&next)),
                e,
            )
        })?;
        rel = next;
    }
    root.open(&rel, OFlag::O_PATH).map_err(|e| failed(&rel, e))
}

/// Docker's copyData: the image's files at the mount point `from` — owners, modes, times,
/// symlinks, hard links, device nodes — copied into the empty volume directory `to`, which
/// then takes `from`'s own owner and mode. Returns how many entries were copied.
pub fn copy_data(from: &Path, to: &Path) -> crate::Result<u64> {
    let mut links = HashMap::new();
    let n = copy_dir(from, to, &mut links)?;
    // Followed: `from` may be the `/proc/self/fd/N` of the directory, a link to it.
    set_attrs(&fs::metadata(from)?, to)?;
    Ok(n)
}

fn copy_dir(
    from: &Path,
    to: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> crate::Result<u64> {
    let mut names: Vec<_> = fs::read_dir(from)?.flatten().map(|e| e.file_name()).collect();
    names.sort();
    let mut n = 0;
    for name in names {
        let (s, d) = (from.join(&name), to.join(&name));
        let m = fs::symlink_metadata(&s)?;
        let t = m.file_type();
        // The volume is empty when the reference rule copies. A rule that copies anyway (a
        // student's, say) copies the image's version over what is there.
        match fs::symlink_metadata(&d) {
            Ok(old) if old.is_dir() && t.is_dir() => {}
            Ok(old) if old.is_dir() => fs::remove_dir_all(&d)?,
            Ok(_) => fs::remove_file(&d)?,
            Err(_) => {}
        }
        if t.is_dir() {
            if !d.is_dir() {
                fs::create_dir(&d)?;
            }
            n += copy_dir(&s, &d, links)?;
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s)?, &d)?;
        } else if t.is_file() {
            if m.nlink() > 1 {
                if let Some(first) = links.get(&(m.dev(), m.ino())) {
                    fs::hard_link(first, &d)?;
                    n += 1;
                    continue;
                }
                links.insert((m.dev(), m.ino()), d.clone());
            }
            fs::copy(&s, &d)?;
        } else if t.is_fifo() || t.is_char_device() || t.is_block_device() {
            let kind = nix::sys::stat::SFlag::from_bits_truncate(m.mode() & libc::S_IFMT);
            nix::sys::stat::mknod(&d, kind, Mode::from_bits_truncate(m.mode() & 0o7777), m.rdev())?;
        } else {
            continue; // a socket means nothing without the process that listened on it
        }
        set_attrs(&m, &d)?;
        n += 1;
    }
    Ok(n)
}

/// Copies one regular file with its owner, mode and times (a build's `RUN --mount=…,rw` of a
/// file); [`copy_data`] does the same for a directory's contents.
pub fn copy_file(from: &Path, to: &Path) -> crate::Result<()> {
    fs::copy(from, to)?;
    set_attrs(&fs::metadata(from)?, to)
}

/// Owner, then mode (a chown clears set-uid bits), then times — never through a symlink.
fn set_attrs(m: &Metadata, to: &Path) -> crate::Result<()> {
    std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()))?;
    if !m.file_type().is_symlink() {
        fs::set_permissions(to, fs::Permissions::from_mode(m.mode() & 0o7777))?;
    }
    let (a, t) = (
        nix::sys::time::TimeSpec::new(m.atime(), m.atime_nsec()),
        nix::sys::time::TimeSpec::new(m.mtime(), m.mtime_nsec()),
    );
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        to,
        &a,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Is directory `dir` empty? (Unreadable counts as not empty: never copy over what we cannot see.)
pub fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// `volume_paths` for commit: the destinations, relative (`test`, `var/lib/db`).
pub fn destinations(c: &ContainerConfig) -> Vec<String> {
    c.volumes.iter().map(|m| m.spec.destination.trim_start_matches('/').to_string()).collect()
}

/// `clean_abs` for the exercise: `/app/./x/../y/` → `/app/y`.
pub fn clean(path: &str) -> String {
    clean_abs(Path::new(path))
}
