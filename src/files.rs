//! Small file-system helpers every layer uses: JSON files written atomically, random IDs,
//! absolute paths cleaned without touching the disk, and copies that keep owners, modes and
//! times (Docker's copyData copies a volume's first contents this way).

use anyhow::Context;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Write `value` as JSON to `path` atomically (a temporary file renamed over it).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> crate::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::write(&tmp, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| {
            fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
        });
    if written.is_err() {
        let _ = fs::remove_file(&tmp); // a full disk leaves no half-written file behind
    }
    written
}

/// Read the JSON file `path`; the error says which file is missing or damaged.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> crate::Result<T> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
}

/// A fresh ID (a container's, an anonymous volume's): 64 hex digits from the kernel's random
/// pool. The first 12 are the short ID Docker shows and uses as a container's hostname.
pub fn new_id() -> crate::Result<String> {
    let mut b = [0u8; 32];
    std::io::Read::read_exact(&mut fs::File::open("/dev/urandom")?, &mut b)
        .context("reading /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `/app/./x/../y` → `/app/y`, always absolute: where a destination lands in the image.
pub fn clean_abs(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// Docker's copyData: the image's files at the mount point `from` — owners, modes, times,
/// symlinks, hard links, device nodes — copied into the empty volume directory `to`, which
/// then takes `from`'s own owner and mode. Returns how many entries were copied.
pub fn copy_data(from: &Path, to: &Path) -> crate::Result<u64> {
    let n = copy_contents(from, to)?;
    // Followed: `from` may be the `/proc/self/fd/N` of the directory, a link to it.
    set_attrs(&fs::metadata(from)?, to)?;
    Ok(n)
}

/// [`copy_data`] without its last step: what is *in* `from` — owners, modes, times,
/// symlinks, hard links, device nodes — copied into `to`; `to` itself is left as it is.
pub fn copy_contents(from: &Path, to: &Path) -> crate::Result<u64> {
    copy_dir(from, to, &mut HashMap::new())
}

fn copy_dir(
    from: &Path,
    to: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> crate::Result<u64> {
    let mut names: Vec<_> = fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let mut n = 0;
    for name in names {
        let (s, d) = (from.join(&name), to.join(&name));
        // A directory's errors name the entry they are about; anything else is named here.
        let r = copy_entry(&s, &d, links);
        n += if fs::symlink_metadata(&s).is_ok_and(|m| m.is_dir()) {
            r?
        } else {
            r.with_context(|| format!("copying {} to {}", s.display(), d.display()))?
        };
    }
    Ok(n)
}

/// One entry of [`copy_dir`], a directory with its contents; how many entries were copied.
fn copy_entry(s: &Path, d: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> crate::Result<u64> {
    let m = fs::symlink_metadata(s)?;
    let t = m.file_type();
    // The volume is empty when the reference rule copies. A rule that copies anyway (a
    // student's, say) copies the image's version over what is there.
    match fs::symlink_metadata(d) {
        Ok(old) if old.is_dir() && t.is_dir() => {}
        Ok(old) if old.is_dir() => fs::remove_dir_all(d)?,
        Ok(_) => fs::remove_file(d)?,
        Err(_) => {}
    }
    let mut n = 1;
    if t.is_dir() {
        if !d.is_dir() {
            fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
        }
        n += copy_dir(s, d, links)?;
    } else if t.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(s)?, d)?;
    } else if t.is_file() {
        if m.nlink() > 1 {
            if let Some(first) = links.get(&(m.dev(), m.ino())) {
                fs::hard_link(first, d)?;
                return Ok(1);
            }
            links.insert((m.dev(), m.ino()), d.to_path_buf());
        }
        fs::copy(s, d)?;
    } else if t.is_fifo() || t.is_char_device() || t.is_block_device() {
        let kind = nix::sys::stat::SFlag::from_bits_truncate(m.mode() & libc::S_IFMT);
        nix::sys::stat::mknod(d, kind, Mode::from_bits_truncate(m.mode() & 0o7777), m.rdev())?;
    } else {
        return Ok(0); // a socket means nothing without the process that listened on it
    }
    set_attrs(&m, d)
        .with_context(|| format!("setting the owner, mode and times of {}", d.display()))?;
    Ok(n)
}

/// Copies one regular file with its owner, mode and times (a build's `RUN --mount=…,rw` of a
/// file); [`copy_data`] does the same for a directory's contents.
pub fn copy_file(from: &Path, to: &Path) -> crate::Result<()> {
    fs::copy(from, to)
        .map_err(anyhow::Error::from)
        .and_then(|_| set_attrs(&fs::metadata(from)?, to))
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
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
