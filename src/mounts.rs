//! Bind mounts into a root filesystem before `pivot_root`, each mount point resolved
//! *inside* that tree ([`crate::rooted`]) and held open, so a symlink in an image can never
//! take a mount out of it. Volumes (lesson 08) and a build's `RUN --mount` (lesson 04)
//! describe their mounts as [`Bind`]s. A container's volumes are mounted by exercise 08's
//! `mount_volumes` on [`MountPoint`]s; a build's `RUN --mount`s by [`mount_all`].

use crate::files::clean_abs;
use crate::rooted::{self, Root};
use crate::sys;
use anyhow::{ensure, Context};
use nix::errno::Errno;
use nix::fcntl::{OFlag, ResolveFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use std::cell::RefCell;
use std::fs::{self, File};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

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

/// Where a mount goes in a root filesystem: a path in it, resolved inside it (its symlinks
/// followed as if it were `/`). [`MountPoint::path`] names what is there *now* for
/// `mount(2)`: the directory (or file), or — once something is mounted on it — that mount's
/// root.
pub struct MountPoint {
    root: Root,
    /// Resolved: relative to the root, without symlinks.
    rel: PathBuf,
    /// The descriptors the paths handed out stand for, open as long as this value.
    held: RefCell<Vec<OwnedFd>>,
}

impl MountPoint {
    /// `destination` (`/test`) in the tree at `merged`, if it is there. Symlinks on the way
    /// are followed inside the tree, never out of it.
    pub fn find(merged: &Path, destination: &str) -> crate::Result<Option<MountPoint>> {
        let root = Root::new(merged)?;
        match root.open(destination, OFlag::O_PATH) {
            Ok(fd) => Ok(Some(MountPoint::held(root, fd)?)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(sys::failure(&format!("openat2({destination:?}, RESOLVE_IN_ROOT)"), e)),
        }
    }

    /// Make `destination` in the tree at `merged` — an empty directory, with the directories
    /// above it that are missing — and return it. Symlinks on the way are followed inside
    /// the tree, dangling ones included: their targets are made there (see [`mount_point`]).
    pub fn create_dir(merged: &Path, destination: &str) -> crate::Result<MountPoint> {
        let root = Root::new(merged)?;
        let fd = mount_point(&root, destination, false)?;
        MountPoint::held(root, fd)
    }

    /// [`MountPoint::create_dir`], but the last component an empty file: where a file is
    /// bind-mounted.
    pub fn create_file(merged: &Path, destination: &str) -> crate::Result<MountPoint> {
        let root = Root::new(merged)?;
        let fd = mount_point(&root, destination, true)?;
        MountPoint::held(root, fd)
    }

    fn held(root: Root, fd: OwnedFd) -> crate::Result<MountPoint> {
        let rel = root.relative(&fd)?;
        Ok(MountPoint { root, rel, held: RefCell::new(vec![fd]) })
    }

    /// A path for `mount(2)` to what is at the mount point now: `/proc/self/fd/N`, opened
    /// inside the root with no symlink followed, so nothing swapped in since can move the
    /// mount out of it (runc's CVE-2021-30465). Ask again after mounting on it: a remount
    /// takes the root of the new mount, which a path walk reaches, not the directory under it.
    pub fn path(&self) -> crate::Result<PathBuf> {
        let rel = &self.rel;
        let fd = self
            .root
            .open_with(rel, OFlag::O_PATH | OFlag::O_NOFOLLOW, ResolveFlag::RESOLVE_NO_SYMLINKS)
            .map_err(|e| {
                sys::failure(&format!("openat2({rel:?}, RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS)"), e)
            })?;
        let path = rooted::fd_path(&fd);
        self.held.borrow_mut().push(fd);
        Ok(path)
    }
}

/// A build's `RUN --mount`s (lesson 04), in its container's child, in its own mount
/// namespace, before `pivot_root`: make each bind mount (or tmpfs) onto the merged tree at
/// `merged`. Returns the mount points. (A container's volumes are exercise 08's.)
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
