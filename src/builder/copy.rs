//! ADD and COPY: which files a source pattern names, where they land, with which owner and
//! mode — staged in a directory that then becomes the step's layer.
//!
//! Both ends are trees someone else wrote: the sources are in the build context or a
//! `--from` stage, whose symlinks (`hostetc -> /etc`) must not lead to the host's files; the
//! destination is the stage, where a symlink an earlier source put there (`COPY link dir /d/`
//! with `link -> /etc`) must not send the next source's files to the host. Each source and
//! each destination is resolved inside its tree by the kernel ([`crate::rooted`]); below a
//! source directory, the copy walks without following symlinks (they are copied as links).

use super::ignore::glob;
use crate::image::{unpack, Digest};
use crate::rooted::{self, Root};
use anyhow::{bail, ensure, Context};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, ResolveFlag};
use nix::sys::stat::{fchmodat, utimensat, FchmodatFlags, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Who owns the copied files and which mode they get (`--chown`, `--chmod`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attrs {
    pub uid: u32,
    pub gid: u32,
    pub chmod: Option<u32>,
}

/// The paths (relative to `root`) that `pattern` names. Wildcards match per path segment; a
/// pattern that leaves `root` is refused.
pub fn sources(root: &Path, pattern: &str, what: &str) -> crate::Result<Vec<PathBuf>> {
    let mut rel = PathBuf::new();
    for c in Path::new(pattern).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::ParentDir if rel.pop() => {}
            Component::ParentDir => bail!("forbidden path outside the {what}: {pattern}"),
            _ => {}
        }
    }
    // The kernel walks the rest inside `root`: a symlink in the context or in a `--from` stage
    // resolves as if `root` were `/`, never to the host's files. What is returned is where
    // the walk landed, with no symlink left on the way.
    let scope = Root::new(root)?;
    let text = rel.to_string_lossy().into_owned();
    if !text.contains(['*', '?', '[']) {
        // The source itself is not followed: a symlink is copied as a symlink.
        let fd = match scope.open(&rel, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
            Err(Errno::ENOENT | Errno::ENOTDIR) => bail!("file not found in the {what}: {pattern}"),
            r => r.with_context(|| format!("{pattern} in the {what}"))?,
        };
        return Ok(vec![scope.relative(&fd)?]);
    }
    // Expand segment by segment, like filepath.Glob.
    let mut found = vec![PathBuf::new()];
    for seg in text.split('/') {
        let mut next = Vec::new();
        for base in &found {
            let Ok(dir) = scope.open_dir(base) else { continue };
            let base = scope.relative(&dir)?;
            let Ok(entries) = fs::read_dir(rooted::fd_path(&dir)) else { continue };
            let mut names: Vec<String> =
                entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            next.extend(
                names
                    .into_iter()
                    .filter(|n| glob(seg.as_bytes(), n.as_bytes()))
                    .map(|n| base.join(n)),
            );
        }
        found = next;
    }
    ensure!(
        !found.is_empty(),
        "no source files were specified: nothing in the {what} matches {pattern}"
    );
    Ok(found)
}

/// A content hash over the files at `sources` (absolute paths): names below each source,
/// modes, contents and link targets — not where the build keeps them. Part of the cache key
/// of ADD and COPY, so an edited file invalidates the step.
pub fn content_hash(sources: &[PathBuf]) -> crate::Result<Digest> {
    let mut h = crate::image::Hashing::new(std::io::sink());
    for s in sources {
        let (parent, name) =
            (s.parent().unwrap_or(Path::new("/")), s.file_name().unwrap_or_default());
        hash_tree(parent, Path::new(name), &mut h)?;
    }
    Ok(h.finish().0)
}

fn hash_tree(
    root: &Path,
    rel: &Path,
    h: &mut crate::image::Hashing<std::io::Sink>,
) -> crate::Result<()> {
    use std::io::Write;
    let p = root.join(rel);
    let m = fs::symlink_metadata(&p)?;
    write!(h, "{}\0{:o}\0", rel.display(), m.mode())?;
    if m.file_type().is_symlink() {
        write!(h, "{}\0", fs::read_link(&p)?.display())?;
    } else if m.is_file() {
        std::io::copy(&mut fs::File::open(&p)?, h)?;
    } else if m.is_dir() {
        let mut names: Vec<_> = fs::read_dir(&p)?.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            hash_tree(root, &rel.join(n), h)?;
        }
    }
    Ok(())
}

/// Copy `src` (a file, a directory's contents, or — for ADD — a tar archive's contents) to
/// `dest` inside `stage`, with `attrs`. `dest` is resolved inside the stage: a symlink there
/// is followed as the image will follow it, never out to the host's files.
pub fn stage(
    src: &Path,
    stage: &Path,
    dest: &Path,
    attrs: Attrs,
    extract: bool,
) -> crate::Result<()> {
    let root = Root::new(stage)?;
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        make_dirs(&root, dest, attrs)?;
        copy_tree(src, &root, dest, attrs)
    } else if extract && meta.is_file() && is_archive(src)? {
        let dir = make_dirs(&root, dest, attrs)?;
        let f = fs::File::open(src)?;
        let mut head = [0u8; 2];
        (&f).read_exact(&mut head).ok();
        let f = fs::File::open(src)?;
        let reader: Box<dyn Read> = if head == [0x1f, 0x8b] {
            Box::new(flate2::read::MultiGzDecoder::new(f))
        } else {
            Box::new(f)
        };
        // The same safe unpacker as for image layers: an archive cannot write outside.
        unpack::unpack(reader, &rooted::fd_path(&dir))
            .with_context(|| format!("extracting {}", src.display()))?;
        Ok(())
    } else {
        let name =
            dest.file_name().with_context(|| format!("{} is not a file name", dest.display()))?;
        let dir = make_dirs(&root, dest.parent().unwrap_or(Path::new("")), attrs)?;
        copy_one(src, &dir, name, attrs)
    }
}

/// FIX: the directories leading to `dest` (and `dest` itself) that `stage` made in `stage`
/// but that already are directories in the image mounted at `image` get the image's owner,
/// mode and time back, so the step's layer does not change them. The walk stops at the first
/// component that is not a plain directory in both (a symlink in the image would lead to the
/// host's files): each tree is walked with `RESOLVE_NO_SYMLINKS`.
pub fn keep_image_dirs(stage: &Path, image: &Path, dest: &Path) -> crate::Result<()> {
    let stage = Root::new(stage)?.also(ResolveFlag::RESOLVE_NO_SYMLINKS);
    let image = Root::new(image)?.also(ResolveFlag::RESOLVE_NO_SYMLINKS);
    let mut rel = PathBuf::new();
    for c in dest.strip_prefix("/").unwrap_or(dest).components() {
        rel.push(c);
        let Ok(old) = image.metadata(&rel) else { break };
        if !old.is_dir() {
            break;
        }
        let Ok(staged) = stage.open_dir(&rel) else { break };
        set_attrs(
            &old,
            &staged,
            ".".as_ref(),
            Attrs { uid: old.uid(), gid: old.gid(), chmod: None },
        )?;
    }
    Ok(())
}

/// A tar archive, plain or gzipped, that ADD unpacks instead of copying.
/// (FIX: public, so the builder can tell that an archive lands *at* its destination.)
pub fn is_archive(p: &Path) -> crate::Result<bool> {
    let mut buf = vec![0u8; 512];
    let n = fs::File::open(p)?.read(&mut buf)?;
    if n >= 2 && buf[..2] == [0x1f, 0x8b] {
        return Ok(true);
    }
    Ok(n >= 262 && &buf[257..262] == b"ustar")
}

/// `mkdir -p` of `dir` inside the stage; the directories made belong to the new owner.
fn make_dirs(root: &Root, dir: &Path, attrs: Attrs) -> crate::Result<OwnedFd> {
    root.mkdir_all(dir, |parent, name| {
        fchmodat(parent, name, Mode::from_bits_truncate(0o755), FchmodatFlags::NoFollowSymlink)?;
        fchownat(
            parent,
            name,
            Some(Uid::from_raw(attrs.uid)),
            Some(Gid::from_raw(attrs.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        Ok(())
    })
}

/// The entries of the directory `src`, copied into the directory `dest` of the stage.
fn copy_tree(src: &Path, root: &Root, dest: &Path, attrs: Attrs) -> crate::Result<()> {
    let dir = root.open_dir(dest)?;
    let mut names: Vec<_> = fs::read_dir(src)?.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let s = src.join(&n);
        let m = fs::symlink_metadata(&s)?;
        if m.is_dir() {
            let d = dest.join(&n);
            let made = root.mkdir_all(&d, |_, _| Ok(()))?;
            copy_tree(&s, root, &d, attrs)?;
            set_attrs(&m, &made, ".".as_ref(), attrs)?;
        } else {
            copy_one(&s, &dir, &n, attrs)?;
        }
    }
    Ok(())
}

/// `src` copied as `name` in the directory `dir`: whatever is there is replaced, never
/// written through.
fn copy_one(src: &Path, dir: &OwnedFd, name: &OsStr, attrs: Attrs) -> crate::Result<()> {
    let m = fs::symlink_metadata(src)?;
    let _ = unlinkat(dir, name, UnlinkatFlags::NoRemoveDir);
    if m.file_type().is_symlink() {
        symlinkat(&fs::read_link(src)?, dir, name)?;
    } else if m.is_file() {
        let to = openat(
            dir,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        // O_NOFOLLOW: the file checked above, not a symlink swapped in since.
        let from = std::os::unix::fs::OpenOptionsExt::custom_flags(
            fs::OpenOptions::new().read(true),
            libc::O_NOFOLLOW,
        )
        .open(src)?;
        std::io::copy(&mut &from, &mut fs::File::from(to))?;
    } else {
        return Ok(()); // devices, fifos, sockets are not copied
    }
    set_attrs(&m, dir, name, attrs)
}

/// `name` in `dir` gets its owner from `attrs`, its mode from `m` (or `--chmod`), and `m`'s
/// modification time — never through a symlink.
fn set_attrs(m: &Metadata, dir: &OwnedFd, name: &OsStr, attrs: Attrs) -> crate::Result<()> {
    fchownat(
        dir,
        name,
        Some(Uid::from_raw(attrs.uid)),
        Some(Gid::from_raw(attrs.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if !m.file_type().is_symlink() {
        fchmodat(
            dir,
            name,
            Mode::from_bits_truncate(attrs.chmod.unwrap_or(m.mode() & 0o7777)),
            FchmodatFlags::NoFollowSymlink,
        )?;
    }
    let t = TimeSpec::new(m.mtime(), m.mtime_nsec());
    utimensat(dir, name, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}
