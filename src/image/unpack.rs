//! Unpacking a layer tarball so that nothing it says can reach outside the layer directory.
//!
//! A layer is untrusted input: its names may be `../../etc/passwd` or absolute, a symlink
//! entry may point at `/etc` and a later entry be written "through" it, a hard link may name a
//! file outside, a device node may give access to the host's disks. The rules here:
//!
//! - names are cleaned lexically; one that climbs above the layer (`a/../../x`) refuses the
//!   layer, a leading `/` is dropped (as `tar` does);
//! - every parent directory is opened with `openat2(RESOLVE_IN_ROOT)` ([`crate::rooted`]):
//!   the kernel resolves symlinks *as if the layer were `/`*, so `evil -> /etc` followed by
//!   `evil/passwd` lands in the layer's own `etc/` and never the host's. The directories
//!   opened are kept open for the next entries, and all closed as soon as anything in the
//!   layer is removed or replaced (see [`Unpacker::dirs`] for why that keeps them right);
//! - the last component is never followed: whatever is there (a symlink included) is removed
//!   and the entry created in its place with `O_EXCL|O_NOFOLLOW` / `mkdirat` / `symlinkat`;
//! - a hard link's target is looked up the same way, inside the layer;
//! - device nodes are never created: under `dev/` they are skipped (a container gets its own
//!   `/dev`), anywhere else they refuse the layer;
//! - OCI whiteouts become overlayfs whiteouts: `.wh.NAME` → a 0/0 character device `NAME`,
//!   `.wh..wh..opq` → the `trusted.overlay.opaque` xattr on its directory. Only `user.*` and
//!   `security.capability` xattrs are taken from the tar, so a layer cannot forge overlay's own
//!   `trusted.overlay.*` attributes.
//!
//! The caller unpacks into a fresh directory and deletes it on any error, so a refused layer
//! leaves nothing behind (see `Store::add_layer` and `Store::ensure_unpacked`).

use super::digest::{Digest, Hashing};
use crate::rooted::{self, Root};
use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, ResolveFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

pub use super::whiteout::{OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX};

/// What an unpacked layer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// sha256 of the uncompressed tar stream: the layer's `diff_id`.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    pub entries: u64,
    pub whiteouts: u64,
    /// Device nodes under `dev/` that were not created.
    pub skipped_devices: u64,
}

/// Unpack the (already decompressed) tar stream `tar` into the existing, empty directory `dest`.
pub fn unpack(tar: impl Read, dest: &Path) -> crate::Result<Unpacked> {
    // ANCHOR: in_root
    // Symlinks are resolved as if the layer directory were `/`, and never into another mount.
    let root = Root::new(dest)?.also(ResolveFlag::RESOLVE_NO_XDEV);
    // ANCHOR_END: in_root
    let mut u = Unpacker {
        root,
        dirs: HashMap::new(),
        dir_times: Vec::new(),
        buf: vec![0; 1 << 17].into_boxed_slice(),
    };
    let mut archive = tar::Archive::new(Hashing::new(tar));
    let (mut entries, mut whiteouts, mut skipped_devices) = (0, 0, 0);
    for entry in archive.entries().context("reading the layer tarball")? {
        crate::interrupt::check()?;
        let mut entry = entry.context("reading the layer tarball (truncated or not a tar?)")?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let to = dest.join(shown.trim_start_matches("./"));
        let at = || format!("layer entry {shown:?} (to {})", to.display());
        match u.entry(&mut entry).with_context(at)? {
            Outcome::Created => entries += 1,
            Outcome::Whiteout => whiteouts += 1,
            Outcome::SkippedDevice => skipped_devices += 1,
            Outcome::Ignored => {}
        }
    }
    u.restore_dir_times();
    // Everything after the end-of-archive blocks is part of the stream the diff_id covers.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).context("reading the layer tarball")?;
    let (diff_id, tar_size, _) = rest.finish();
    Ok(Unpacked { diff_id, tar_size, entries, whiteouts, skipped_devices })
}

enum Outcome {
    Created,
    Whiteout,
    SkippedDevice,
    Ignored,
}

struct Unpacker {
    root: Root,
    /// Directories of the layer opened before, by their cleaned path in the tar: resolving
    /// every entry's parent again from the root costs a path walk per file.
    ///
    /// Why an entry here is the directory `openat2(root, path, RESOLVE_IN_ROOT)` would open
    /// now: the layer is a fresh directory in the store's `tmp/` that only this unpacker
    /// writes, so its tree changes only by the entries' own steps. A walk that succeeded went
    /// through names that all existed; *creating* a name (a file, a directory, a symlink, a
    /// link, a whiteout) where there was none cannot change such a walk. Only removing or
    /// replacing an existing name can (a directory swapped for `dir -> /etc`), and that
    /// happens in one place, [`Unpacker::clear`], which closes them all. Kept few (tar
    /// entries come grouped by directory): at most [`MAX_DIRS`] descriptors.
    dirs: HashMap<PathBuf, Rc<OwnedFd>>,
    /// Directories' mtimes are set last: creating their children changes them.
    dir_times: Vec<(PathBuf, i64)>,
    /// File contents pass through it on their way from the tar to the file.
    buf: Box<[u8]>,
}

/// How many directories [`Unpacker::dirs`] keeps open.
const MAX_DIRS: usize = 64;

/// `a/./b/../c` → `a/c`; a leading `/` is dropped; climbing above the top is an error.
pub fn clean(name: &Path) -> crate::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    bail!("the name climbs out of the layer with '..' — refused");
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok(out)
}

impl Unpacker {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> crate::Result<Outcome> {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(kind, T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink) {
            return Ok(Outcome::Ignored);
        }
        let path = clean(&entry.path()?)?;
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(Outcome::Ignored); // the layer's root itself: its directory is ours
        };
        let name = name.to_str().context("the name is not valid UTF-8")?.to_owned();
        let header = entry.header();
        let mode = Mode::from_bits_truncate(header.mode()? & 0o7777);
        let (uid, gid) = (header.uid()? as u32, header.gid()? as u32);
        let mtime = header.mtime().unwrap_or(0) as i64;

        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            return self.whiteout(parent, hidden, uid, gid);
        }
        let dir = self.parent(parent)?;
        match kind {
            T::Directory => {
                let mkdir = || mkdirat(&*dir, name.as_str(), Mode::from_bits_truncate(0o700));
                match mkdir() {
                    Err(Errno::EEXIST) if self.clear(&dir, &name, true)? => {} // kept
                    Err(Errno::EEXIST) => mkdir().context("mkdirat")?,
                    r => r.context("mkdirat")?,
                }
                own(&dir, &name, uid, gid)?;
                fchmodat(&*dir, name.as_str(), mode, FchmodatFlags::NoFollowSymlink)
                    .context("fchmodat")?;
                self.dir_times.push((path.clone(), mtime));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                // Never through what is there: O_EXCL fails on any name, a symlink included.
                let create = || {
                    openat(
                        &*dir,
                        name.as_str(),
                        OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_WRONLY
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o600),
                    )
                };
                let fd = match create() {
                    Err(Errno::EEXIST) => {
                        self.clear(&dir, &name, false)?;
                        create()
                    }
                    r => r,
                };
                let mut file = std::fs::File::from(fd.context("creating the file")?);
                let want = entry.size();
                let got = copy(entry, &mut file, &mut self.buf).context("writing the file")?;
                if got != want {
                    bail!("the tarball ends inside this file ({got} of {want} bytes) — truncated");
                }
                // All through the open file, no name looked up again.
                fchown(&file, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                    .context("fchown")?;
                // After chown: chown clears set-uid bits.
                fchmod(&file, mode).context("fchmod")?;
                set_xattrs(&file, entry)?;
                let t = TimeSpec::new(mtime, 0);
                futimens(&file, &t, &t).context("futimens")?;
            }
            T::Symlink => {
                let target = entry.link_name()?.context("a symlink without a target")?;
                let link = || symlinkat(target.as_ref(), &*dir, name.as_str());
                match link() {
                    Err(Errno::EEXIST) => {
                        self.clear(&dir, &name, false)?;
                        link().context("symlinkat")?;
                    }
                    r => r.context("symlinkat")?,
                }
                own(&dir, &name, uid, gid)?;
                set_time(&dir, &name, mtime)?;
            }
            T::Link => {
                let target = clean(&entry.link_name()?.context("a hard link without a target")?)?;
                let src = self.root.open(&target, OFlag::O_PATH | OFlag::O_NOFOLLOW).with_context(
                    || format!("hard link target {} is not in this layer", target.display()),
                )?;
                let st = nix::sys::stat::fstat(&src)?;
                if SFlag::from_bits_truncate(st.st_mode) == SFlag::S_IFDIR {
                    bail!("hard link to the directory {} — refused", target.display());
                }
                self.clear(&dir, &name, false)?;
                linkat(&src, "", &*dir, name.as_str(), AtFlags::AT_EMPTY_PATH).context("linkat")?;
            }
            T::Fifo => {
                self.clear(&dir, &name, false)?;
                mknodat(&*dir, name.as_str(), SFlag::S_IFIFO, mode, 0).context("mknodat")?;
                own(&dir, &name, uid, gid)?;
                // FIX: mknodat's mode is cut by the umask (0666 became 0644); set it exactly.
                fchmodat(&*dir, name.as_str(), mode, FchmodatFlags::NoFollowSymlink)
                    .context("fchmodat")?;
                set_time(&dir, &name, mtime)?;
            }
            T::Char | T::Block => {
                let top = path.components().next().map(|c| c.as_os_str() == "dev").unwrap_or(false);
                if top {
                    return Ok(Outcome::SkippedDevice);
                }
                bail!("a device node outside /dev — image layers may not create devices; refused");
            }
            other => bail!("unsupported tar entry type {other:?} — refused"),
        }
        Ok(Outcome::Created)
    }

    /// `.wh.NAME` hides NAME of the layers below; `.wh..wh..opq` hides all of its directory.
    fn whiteout(
        &mut self,
        parent: &Path,
        hidden: &str,
        uid: u32,
        gid: u32,
    ) -> crate::Result<Outcome> {
        // ANCHOR: whiteout
        let dir = self.parent(parent)?;
        if Some(hidden) == OPAQUE_MARKER.strip_prefix(WHITEOUT_PREFIX) {
            let fd = openat(
                &*dir,
                ".",
                OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            fsetxattr(&fd, OPAQUE_XATTR, b"y").context("marking the directory opaque")?;
            return Ok(Outcome::Whiteout);
        }
        if hidden.starts_with(WHITEOUT_PREFIX) {
            return Ok(Outcome::Ignored); // AUFS's own metadata (.wh..wh.plnk, …): not for us
        }
        if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
            bail!("a whiteout must name one file, not {hidden:?} — refused");
        }
        self.clear(&dir, hidden, false)?;
        mknodat(&*dir, hidden, SFlag::S_IFCHR, Mode::empty(), 0)
            .context("mknodat (overlay whiteout)")?;
        own(&dir, hidden, uid, gid)?;
        Ok(Outcome::Whiteout)
        // ANCHOR_END: whiteout
    }

    /// The directory `rel` (relative to the layer) opened, created with its parents if missing.
    fn parent(&mut self, rel: &Path) -> crate::Result<Rc<OwnedFd>> {
        if let Some(fd) = self.dirs.get(rel) {
            return Ok(fd.clone());
        }
        let fd = match self.root.open_dir(rel) {
            Err(Errno::ENOENT) => self.root.mkdir_all(rel, |_, _| Ok(()))?,
            r => r.with_context(|| format!("opening the directory {}", rel.display()))?,
        };
        Ok(self.keep(rel, fd))
    }

    /// Remember the directory `rel`, opened.
    fn keep(&mut self, rel: &Path, fd: OwnedFd) -> Rc<OwnedFd> {
        if self.dirs.len() >= MAX_DIRS {
            self.dirs.clear();
        }
        let fd = Rc::new(fd);
        self.dirs.insert(rel.to_path_buf(), fd.clone());
        fd
    }

    /// Make room for an entry called `name` in `dir`. A directory is kept when the new entry
    /// is one too (returns true); anything else there is removed, never followed.
    fn clear(&mut self, dir: &OwnedFd, name: &str, new_is_dir: bool) -> crate::Result<bool> {
        let st = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => return Ok(false),
            r => r.context("fstatat")?,
        };
        let is_dir = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFDIR;
        if is_dir && new_is_dir {
            return Ok(true);
        }
        if is_dir {
            // std's remove_dir_all never follows symlinks inside the tree it removes.
            std::fs::remove_dir_all(rooted::fd_path(dir).join(name))
                .context("replacing a directory")?;
        } else {
            unlinkat(dir, name, UnlinkatFlags::NoRemoveDir).context("unlinkat")?;
        }
        // A name the layer's paths went through may be gone or be something else now.
        self.dirs.clear();
        Ok(false)
    }

    fn restore_dir_times(&mut self) {
        // In tar order, so that when a directory appears twice the later entry's time wins.
        for (path, mtime) in std::mem::take(&mut self.dir_times) {
            // FIX: the parent is opened in the layer (RESOLVE_IN_ROOT), never by a plain path from
            // the root: a component of `path` may be a symlink (`evil -> /etc` with a directory
            // entry `evil/passwd/`, or `a/` swapped for `a -> ../x` after `a/b/`), which a plain
            // utimensat would follow to set the times of a file on the host.
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { continue };
            let dir = match self.dirs.get(parent) {
                Some(fd) => fd.clone(),
                None => match self.root.open_dir(parent) {
                    Ok(fd) => self.keep(parent, fd),
                    Err(_) => continue,
                },
            };
            let _ = utimensat(
                &*dir,
                name,
                &TimeSpec::new(mtime, 0),
                &TimeSpec::new(mtime, 0),
                UtimensatFlags::NoFollowSymlink,
            );
        }
    }
}

fn own(dir: &OwnedFd, name: &str, uid: u32, gid: u32) -> crate::Result<()> {
    fchownat(
        dir,
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .context("fchownat")?;
    Ok(())
}

/// `io::copy` through `buf`: fewer, bigger writes than its 8 KiB.
fn copy(from: &mut impl Read, to: &mut impl Write, buf: &mut [u8]) -> io::Result<u64> {
    let mut n = 0;
    loop {
        match from.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => {
                to.write_all(&buf[..k])?;
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn set_time(dir: &OwnedFd, name: &str, mtime: i64) -> crate::Result<()> {
    let t = TimeSpec::new(mtime, 0);
    utimensat(dir, name, &t, &t, UtimensatFlags::NoFollowSymlink).context("utimensat")?;
    Ok(())
}

/// File capabilities (`ping`'s cap_net_raw) and user xattrs from PAX headers; nothing else.
fn set_xattrs<R: Read>(file: &std::fs::File, entry: &mut tar::Entry<R>) -> crate::Result<()> {
    let Some(exts) = entry.pax_extensions()? else { return Ok(()) };
    for ext in exts {
        let ext = ext?;
        let Some(name) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) else {
            continue;
        };
        if name == "security.capability" || name.starts_with("user.") {
            fsetxattr(file, name, ext.value_bytes())
                .with_context(|| format!("setting xattr {name}"))?;
        }
    }
    Ok(())
}

pub fn fsetxattr(fd: &impl AsFd, name: &str, value: &[u8]) -> crate::Result<()> {
    let cname = std::ffi::CString::new(name)?;
    // SAFETY: valid descriptor, NUL-terminated name, value pointer and length from one slice.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_fd().as_raw_fd(),
            cname.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    Errno::result(r).map(drop).map_err(|e| crate::sys::failure(&format!("fsetxattr({name:?})"), e))
}

#[cfg(test)]
mod tests {
    use super::clean;
    use std::path::Path;

    #[test]
    fn names_are_cleaned_or_refused() {
        assert_eq!(clean(Path::new("/etc/./passwd")).unwrap(), Path::new("etc/passwd"));
        assert_eq!(clean(Path::new("a/b/../c")).unwrap(), Path::new("a/c"));
        assert_eq!(clean(Path::new("./")).unwrap(), Path::new(""));
        assert!(clean(Path::new("../x")).is_err());
        assert!(clean(Path::new("a/../../x")).is_err());
        assert!(clean(Path::new("/../x")).is_err());
    }
}
