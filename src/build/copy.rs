//! ADD and COPY: which files a source pattern names, where they land, with which owner and
//! mode — staged in a directory that then becomes the step's layer.

use super::ignore::glob;
use crate::image::{unpack, Digest};
use anyhow::{bail, ensure, Context};
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
    let text = rel.to_string_lossy().into_owned();
    if !text.contains(['*', '?', '[']) {
        // FIX: the directories on the way are resolved inside `root` (see `in_scope`).
        let rel = in_scope(root, &rel, false)?;
        ensure!(fs::symlink_metadata(root.join(&rel)).is_ok(), "file not found in the {what}: {pattern}");
        return Ok(vec![rel]);
    }
    // Expand segment by segment, like filepath.Glob.
    let mut found = vec![PathBuf::new()];
    for seg in text.split('/') {
        let mut next = Vec::new();
        for base in &found {
            // FIX: list the directory the base names inside `root`, never one it links to outside.
            let base = &in_scope(root, base, true)?;
            let Ok(entries) = fs::read_dir(root.join(base)) else { continue };
            let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            next.extend(names.into_iter().filter(|n| glob(seg.as_bytes(), n.as_bytes())).map(|n| base.join(n)));
        }
        found = next;
    }
    ensure!(!found.is_empty(), "no source files were specified: nothing in the {what} matches {pattern}");
    Ok(found)
}

/// FIX: `rel` (relative to `root`, no `..` left) with the symlinks on its way resolved as if
/// `root` were `/`, as Docker's FollowSymlinkInScope does. Without it a symlink in the context
/// (`hostetc -> /etc`) or in a `--from` stage made `COPY hostetc/shadow /x` read the HOST's
/// file: `root.join(rel)` followed the link out of the root. The last component is followed
/// only when `follow_last` (a symlink source itself is copied as a symlink).
fn in_scope(root: &Path, rel: &Path, follow_last: bool) -> crate::Result<PathBuf> {
    let mut todo: std::collections::VecDeque<PathBuf> = rel.components().map(|c| PathBuf::from(c.as_os_str())).collect();
    let mut done = PathBuf::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        match c.components().next() {
            Some(Component::Normal(_)) => {}
            Some(Component::ParentDir) => {
                done.pop(); // `..` stops at the root, as it does at `/`
                continue;
            }
            Some(Component::RootDir) => {
                done = PathBuf::new();
                continue;
            }
            _ => continue,
        }
        let next = done.join(&c);
        let is_link = fs::symlink_metadata(root.join(&next)).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link || (todo.is_empty() && !follow_last) {
            done = next;
            continue;
        }
        links += 1;
        ensure!(links <= 255, "too many levels of symbolic links in {}", rel.display());
        let target = fs::read_link(root.join(&next))?;
        for (i, t) in target.components().enumerate() {
            todo.insert(i, PathBuf::from(t.as_os_str()));
        }
    }
    Ok(done)
}

/// A content hash over the files at `sources` (absolute paths): names below each source,
/// modes, contents and link targets — not where the build keeps them. Part of the cache key
/// of ADD and COPY, so an edited file invalidates the step.
pub fn content_hash(sources: &[PathBuf]) -> crate::Result<Digest> {
    let mut h = crate::image::Hashing::new(std::io::sink());
    for s in sources {
        let (parent, name) = (s.parent().unwrap_or(Path::new("/")), s.file_name().unwrap_or_default());
        hash_tree(parent, Path::new(name), &mut h)?;
    }
    Ok(h.finish().0)
}

fn hash_tree(root: &Path, rel: &Path, h: &mut crate::image::Hashing<std::io::Sink>) -> crate::Result<()> {
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
/// `dest` inside `stage`, with `attrs`.
pub fn stage(src: &Path, stage: &Path, dest: &Path, attrs: Attrs, extract: bool) -> crate::Result<()> {
    let target = stage.join(dest.strip_prefix("/").unwrap_or(dest));
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        make_dirs(stage, &target, attrs)?;
        copy_tree(src, &target, attrs)
    } else if extract && meta.is_file() && is_archive(src)? {
        make_dirs(stage, &target, attrs)?;
        let f = fs::File::open(src)?;
        let mut head = [0u8; 2];
        (&f).read_exact(&mut head).ok();
        let f = fs::File::open(src)?;
        let reader: Box<dyn Read> = if head == [0x1f, 0x8b] { Box::new(flate2::read::MultiGzDecoder::new(f)) } else { Box::new(f) };
        // The same safe unpacker as for image layers: an archive cannot write outside.
        unpack::unpack(reader, &target).with_context(|| format!("extracting {}", src.display()))?;
        Ok(())
    } else {
        if let Some(parent) = target.parent() {
            make_dirs(stage, parent, attrs)?;
        }
        copy_one(src, &target, attrs)
    }
}

/// FIX: the directories leading to `dest` (and `dest` itself) that `stage` made in `stage`
/// but that already are directories in the image mounted at `image` get the image's owner,
/// mode and time back, so the step's layer does not change them. The walk stops at the first
/// component that is not a plain directory in the image (a symlink there would lead to the
/// host's files).
pub fn keep_image_dirs(stage: &Path, image: &Path, dest: &Path) -> crate::Result<()> {
    let mut rel = PathBuf::new();
    for c in dest.strip_prefix("/").unwrap_or(dest).components() {
        rel.push(c);
        let Ok(old) = fs::symlink_metadata(image.join(&rel)) else { break };
        if !old.is_dir() {
            break;
        }
        let staged = stage.join(&rel);
        if !fs::symlink_metadata(&staged).is_ok_and(|m| m.is_dir()) {
            break;
        }
        std::os::unix::fs::lchown(&staged, Some(old.uid()), Some(old.gid()))?;
        fs::set_permissions(&staged, fs::Permissions::from_mode(old.mode() & 0o7777))?;
        let t = TimeSpec::new(old.mtime(), old.mtime_nsec());
        utimensat(nix::fcntl::AT_FDCWD, &staged, &t, &t, UtimensatFlags::NoFollowSymlink)?;
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

/// `mkdir -p` of `dir` inside `stage`; the directories made belong to the new owner.
fn make_dirs(stage: &Path, dir: &Path, attrs: Attrs) -> crate::Result<()> {
    let mut p = stage.to_path_buf();
    for c in dir.strip_prefix(stage).unwrap_or(dir).components() {
        p.push(c);
        if !p.exists() {
            fs::create_dir(&p)?;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
            std::os::unix::fs::lchown(&p, Some(attrs.uid), Some(attrs.gid))?;
        }
    }
    Ok(())
}

fn copy_tree(src: &Path, dest: &Path, attrs: Attrs) -> crate::Result<()> {
    let mut names: Vec<_> = fs::read_dir(src)?.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let (s, d) = (src.join(&n), dest.join(&n));
        if fs::symlink_metadata(&s)?.is_dir() {
            if !d.is_dir() {
                fs::create_dir(&d)?;
            }
            copy_tree(&s, &d, attrs)?;
            set_attrs(&s, &d, attrs)?;
        } else {
            copy_one(&s, &d, attrs)?;
        }
    }
    Ok(())
}

fn copy_one(src: &Path, dest: &Path, attrs: Attrs) -> crate::Result<()> {
    let m = fs::symlink_metadata(src)?;
    if fs::symlink_metadata(dest).is_ok() {
        fs::remove_file(dest).ok();
    }
    if m.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dest)?;
    } else if m.is_file() {
        fs::copy(src, dest)?;
    } else {
        return Ok(()); // devices, fifos, sockets are not copied
    }
    set_attrs(src, dest, attrs)
}

/// Owner from `attrs`, mode from the source (or `--chmod`), modification time kept.
fn set_attrs(src: &Path, dest: &Path, attrs: Attrs) -> crate::Result<()> {
    let m = fs::symlink_metadata(src)?;
    std::os::unix::fs::lchown(dest, Some(attrs.uid), Some(attrs.gid))?;
    if !m.file_type().is_symlink() {
        fs::set_permissions(dest, fs::Permissions::from_mode(attrs.chmod.unwrap_or(m.mode() & 0o7777)))?;
    }
    let t = TimeSpec::new(m.mtime(), m.mtime_nsec());
    utimensat(nix::fcntl::AT_FDCWD, dest, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
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
