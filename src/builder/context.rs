//! The build context: the directory `minidocker build` is given, minus what `.dockerignore`
//! leaves out, copied once into the build's scratch space ("sending the build context"), so
//! that editing files while a build runs cannot change what it copies.

use super::ignore::Ignore;
use anyhow::Context as _;
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A snapshot of the context.
#[derive(Debug)]
pub struct BuildContext {
    /// Where the snapshot is (inside the build's scratch directory).
    pub dir: PathBuf,
    pub files: u64,
    pub bytes: u64,
}

// ANCHOR: snapshot
/// Copy `src` into the empty directory `dest`, leaving out what `.dockerignore` excludes.
pub fn snapshot(src: &Path, dest: &Path) -> crate::Result<BuildContext> {
    anyhow::ensure!(src.is_dir(), "build context {} is not a directory", src.display());
    let ignore = match fs::read_to_string(src.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(e) => return Err(e).context("reading .dockerignore"),
    };
    let mut ctx = BuildContext { dir: dest.to_path_buf(), files: 0, bytes: 0 };
    copy_dir(src, dest, "", &ignore, &mut ctx)?;
    Ok(ctx)
}
// ANCHOR_END: snapshot

fn copy_dir(
    src: &Path,
    dest: &Path,
    rel: &str,
    ignore: &Ignore,
    ctx: &mut BuildContext,
) -> crate::Result<()> {
    let mut names: Vec<_> =
        fs::read_dir(src.join(rel))?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let name = name
            .to_str()
            .with_context(|| format!("a file name in the context is not UTF-8: {name:?}"))?
            .to_owned();
        let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let (from, to) = (src.join(&rel), dest.join(&rel));
        let meta = fs::symlink_metadata(&from)?;
        let excluded = ignore.excludes(&rel);
        if meta.is_dir() {
            if excluded && !ignore.may_reinclude_below(&rel) {
                continue;
            }
            fs::create_dir_all(&to)?;
            copy_dir(src, dest, &rel, ignore, ctx)?;
            fs::set_permissions(&to, meta.permissions())?;
        } else if excluded {
            continue;
        } else if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if meta.is_file() {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(&from, &to)
                .with_context(|| format!("copying {rel} from the build context"))?;
            ctx.files += 1;
            ctx.bytes += meta.len();
        } else {
            continue; // sockets, fifos, devices: not something to build from
        }
        // COPY keeps modification times, so the snapshot must.
        let t = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
        utimensat(nix::fcntl::AT_FDCWD, &to, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    }
    Ok(())
}
