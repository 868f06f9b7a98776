//! Paths resolved inside a root they cannot leave: one mechanism for every place that needs
//! it — a layer being unpacked (`image::unpack`), the build context or `--from` stage that
//! COPY reads and the stage directory it writes (`builder::copy`), and the container's rootfs
//! that volumes are mounted into (`mounts`).
//!
//! **What an escape looks like.** The tree under such a root was written by someone we do not
//! trust: an image layer, a build context, a container. A symlink in it, `etc -> /etc` or
//! `up -> ../../..`, is resolved by the kernel against *our* root, the host's `/`: opening
//! `root.join("etc/shadow")` by path reads — or writes — the host's `/etc/shadow`.
//!
//! **Why not walk the links ourselves.** Reading each component with `lstat`/`readlink` and
//! rewriting the path (Docker's `FollowSymlinkInScope`) yields a path that *was* safe when it
//! was checked. Then it is used, which makes the kernel walk it again, and whoever can write
//! in the tree can swap a checked directory for a symlink in between: runc's CVE-2021-30465
//! mounted a volume over a host directory that way. It is also the kernel's path walk written
//! a second time, corner cases (`..` at the top, link limits) included.
//!
//! **What the kernel does instead.** `openat2(root_fd, path, RESOLVE_IN_ROOT)` (Linux 5.6)
//! walks `path` as if `root_fd` were `/`: an absolute symlink starts again at the root, `..`
//! stops there, and the result is an open file descriptor, so the check and the use are one
//! step. `RESOLVE_NO_MAGICLINKS` also refuses `/proc/PID/fd/N`-style links met on the way,
//! which could jump anywhere. A caller adds `RESOLVE_NO_XDEV` (stay on one mount) or
//! `RESOLVE_NO_SYMLINKS` where it needs them ([`Root::also`]).
//!
//! **Syscalls that take only a path** (`mount(2)`, std's directory helpers) are given the
//! descriptor's `/proc/self/fd/N` ([`fd_path`]). That is safe: for such a *magic* link the
//! kernel does not walk the original path again, it jumps straight to the file the
//! descriptor holds — the very object that was resolved inside the root — whatever has been
//! renamed or swapped since.

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag, AT_FDCWD};
use nix::sys::stat::{mkdirat, Mode};
use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// How many times a walk that raced with a rename (`EAGAIN`) is tried again.
const RETRIES: usize = 16;

/// A directory that paths are resolved in as if it were `/`.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    resolve: ResolveFlag,
}

impl Root {
    /// `dir`, a path the caller trusts, opened `O_PATH|O_DIRECTORY` as the root.
    pub fn new(dir: &Path) -> crate::Result<Root> {
        let fd = openat(
            AT_FDCWD,
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {}", dir.display()))?;
        Ok(Root { fd, resolve: ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS })
    }

    /// The same root, every walk in it also restricted by `extra`.
    pub fn also(mut self, extra: ResolveFlag) -> Root {
        self.resolve |= extra;
        self
    }

    /// `rel` opened with `flags` (and `O_CLOEXEC`), resolved inside the root. Absolute or
    /// relative, it starts at the root; an empty `rel` is the root itself.
    pub fn open(&self, rel: impl AsRef<Path>, flags: OFlag) -> nix::Result<OwnedFd> {
        self.open_with(rel, flags, ResolveFlag::empty())
    }

    // ANCHOR: open
    /// [`Root::open`], this one walk also restricted by `extra`.
    pub fn open_with(
        &self,
        rel: impl AsRef<Path>,
        flags: OFlag,
        extra: ResolveFlag,
    ) -> nix::Result<OwnedFd> {
        let rel = rel.as_ref();
        let rel = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
        let how = OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(self.resolve | extra);
        let mut tries = 0;
        loop {
            match openat2(&self.fd, rel, how) {
                // A rename somewhere raced with the walk, and the kernel could not prove that
                // a `..` stayed inside the root: it refuses, and asks to be asked again.
                Err(Errno::EAGAIN) if tries < RETRIES => tries += 1,
                r => return r,
            }
        }
    }
    // ANCHOR_END: open

    /// The directory `rel`, opened for reading (and as the parent of `*at` calls).
    pub fn open_dir(&self, rel: impl AsRef<Path>) -> nix::Result<OwnedFd> {
        self.open(rel, OFlag::O_DIRECTORY | OFlag::O_RDONLY)
    }

    /// What is at `rel`, its last component not followed (`lstat`).
    pub fn metadata(&self, rel: impl AsRef<Path>) -> crate::Result<Metadata> {
        let fd = self.open(rel, OFlag::O_PATH | OFlag::O_NOFOLLOW)?;
        Ok(fs::File::from(fd).metadata()?)
    }

    /// `mkdir -p rel` inside the root: each missing directory is made (0755 less the umask)
    /// in its resolved parent, then `made(parent, name)` is called. Symlinks on the way are
    /// followed inside the root; one to a missing directory is an error. Returns `rel` open.
    pub fn mkdir_all(
        &self,
        rel: &Path,
        mut made: impl FnMut(&OwnedFd, &OsStr) -> crate::Result<()>,
    ) -> crate::Result<OwnedFd> {
        let mut dir = self.open_dir("")?;
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            dir = match self.open_dir(&prefix) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    mkdirat(&dir, c.as_os_str(), Mode::from_bits_truncate(0o755))
                        .with_context(|| format!("creating the directory {} (a symlink to a missing directory in the way?)", prefix.display()))?;
                    made(&dir, c.as_os_str())?;
                    self.open_dir(&prefix)?
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("opening the directory {}", prefix.display()))
                }
            };
        }
        Ok(dir)
    }

    /// Where the open file `fd` is, relative to the root: the path the kernel resolved,
    /// without symlinks.
    pub fn relative(&self, fd: &impl AsFd) -> crate::Result<PathBuf> {
        let (top, at) = (real_path(&self.fd)?, real_path(fd)?);
        Ok(at
            .strip_prefix(&top)
            .with_context(|| format!("{} is not under {}", at.display(), top.display()))?
            .to_path_buf())
    }
}

impl AsFd for Root {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `/proc/self/fd/N`: the open file `fd` as a path, for calls that take only paths. The
/// kernel resolves it to the file the descriptor holds, never by walking a path again.
pub fn fd_path(fd: &impl AsFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

/// Where the open file `fd` is, as this mount namespace names it.
pub fn real_path(fd: &impl AsFd) -> std::io::Result<PathBuf> {
    fs::read_link(fd_path(fd))
}
