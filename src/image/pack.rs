//! The reverse of [`unpack`](super::unpack): a read-write layer (an overlay upper directory)
//! becomes an OCI layer tarball. What overlay stores on disk must be translated to what OCI
//! sends on the wire — a 0:0 character device (a deleted file) becomes an empty `.wh.NAME`, an
//! opaque directory gets a `.wh..wh..opq` entry. That translation, and the walk that makes it,
//! is exercise 07 ([`Walk`]; the library's is `commit::RULES`): this module only writes the
//! entries it is given, as they are. `docker build` and `docker commit` both end here.

use super::whiteout::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use anyhow::Context;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a packed layer holds, for the lessons to show.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Paths added or changed, in tar order (`etc/passwd`, `app/`).
    pub changed: Vec<String>,
    /// Paths deleted (whiteouts), and directories made opaque.
    pub deleted: Vec<String>,
}

/// Exercise 07: put what lies in directory `dir` of the read-write layer `upper` (`dir` is
/// relative; [`pack`] passes `""`, the walk passes the directories below) into `layer`.
pub type Walk = fn(upper: &Path, dir: &Path, layer: &mut Layer) -> crate::Result<()>;

/// Write the tarball of `upper` to `out` with `walk`, leaving out the paths in `exclude`
/// (relative, like `etc/hosts`: the init layer's files belong to one container, not to an
/// image), and what lies below them.
pub fn pack(
    upper: &Path,
    exclude: &[&str],
    walk: Walk,
    mut out: impl Write,
) -> crate::Result<Packed> {
    let mut layer = Layer {
        tar: tar::Builder::new(&mut out),
        packed: Packed::default(),
        links: HashMap::new(),
        exclude,
    };
    walk(upper, Path::new(""), &mut layer)?;
    layer.tar.into_inner().context("finishing the layer tarball")?.flush()?;
    Ok(layer.packed)
}

/// A layer tarball being written: the entries exercise 07's walk gives it, in its order.
pub struct Layer<'a> {
    tar: tar::Builder<&'a mut dyn Write>,
    packed: Packed,
    /// (device, inode) → the first path packed, so later names become hard links.
    links: HashMap<(u64, u64), PathBuf>,
    exclude: &'a [&'a str],
}

impl Layer<'_> {
    /// Add the file `from` (on disk, not followed if a link) as `path` (relative: `etc/motd`),
    /// as it is: a file with its bytes (a second name of the same inode as a hard link to the
    /// first), a directory (the entry alone: what is in it is added one by one), a symbolic
    /// link, a FIFO — each with its owner, permissions and modification time. A path the
    /// commit leaves out is skipped, and so are sockets and device nodes; a 0:0 character
    /// device is no device but overlay's whiteout, and goes in as what it is.
    pub fn add(&mut self, path: &Path, from: &Path) -> crate::Result<()> {
        let text = path.to_string_lossy().into_owned();
        if self.excluded(path) {
            return Ok(());
        }
        self.entry(path, from).with_context(|| format!("packing {text}"))
    }

    /// Add an empty regular file named `path` (relative), mode 0644, with the owner and
    /// modification time of `like`.
    pub fn add_empty_file(&mut self, path: &Path, like: &fs::Metadata) -> crate::Result<()> {
        if self.excluded(path) {
            return Ok(());
        }
        let mut h = header(like);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        self.tar.append_data(&mut h, path, std::io::empty())?;
        let (dir, name) = (path.parent().unwrap_or(Path::new("")), file_name(path));
        if name == OPAQUE_MARKER {
            self.packed.deleted.push(format!("{}/ (opaque: everything below it)", dir.display()));
        } else if let Some(deleted) = name.strip_prefix(WHITEOUT_PREFIX) {
            self.packed.deleted.push(dir.join(deleted).to_string_lossy().into_owned());
        } else {
            self.packed.changed.push(path.to_string_lossy().into_owned());
        }
        Ok(())
    }

    /// Is `path` — or, for a whiteout `.wh.NAME`, the path it deletes — left out, or below
    /// a path left out?
    fn excluded(&self, path: &Path) -> bool {
        let name = file_name(path);
        let meant = match name.strip_prefix(WHITEOUT_PREFIX) {
            Some(deleted) if name != OPAQUE_MARKER => path.with_file_name(deleted),
            _ => path.to_path_buf(),
        };
        self.exclude.iter().any(|x| meant.starts_with(x))
    }

    fn entry(&mut self, rel: &Path, full: &Path) -> crate::Result<()> {
        let meta = fs::symlink_metadata(full)?;
        let ft = meta.file_type();
        let text = rel.to_string_lossy().into_owned();
        let mut h = header(&meta);
        if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            self.tar.append_data(&mut h, format!("{text}/"), std::io::empty())?;
            self.packed.changed.push(format!("{text}/"));
            return Ok(());
        } else if ft.is_symlink() {
            h.set_entry_type(tar::EntryType::Symlink);
            self.tar.append_link(&mut h, rel, fs::read_link(full)?)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    self.tar.append_link(&mut h, rel, first)?;
                    self.packed.changed.push(text);
                    return Ok(());
                }
                self.links.insert((meta.dev(), meta.ino()), rel.to_path_buf());
            }
            if let Some(cap) = capability(full) {
                pax(&mut self.tar, &[("SCHILY.xattr.security.capability", &cap)])?;
            }
            h.set_entry_type(tar::EntryType::Regular);
            self.tar.append_data(
                &mut h,
                rel,
                Exactly::new(fs::File::open(full)?, meta.len(), &text),
            )?;
        } else if ft.is_fifo() {
            h.set_entry_type(tar::EntryType::Fifo);
            self.tar.append_data(&mut h, rel, std::io::empty())?;
        } else if ft.is_char_device() && meta.rdev() == 0 {
            // Not a device (major 0 names none): overlay's whiteout, which the walk was to
            // translate. As it is, it is what the layer gets — and what any unpacker refuses.
            h.set_entry_type(tar::EntryType::Char);
            h.set_device_major(0)?;
            h.set_device_minor(0)?;
            self.tar.append_data(&mut h, rel, std::io::empty())?;
        } else {
            // Sockets and device nodes a container made are not image content (the unpacker
            // would refuse a device outside /dev): left out.
            return Ok(());
        }
        self.packed.changed.push(text);
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A file's bytes, exactly as many as its tar header announced: a tar entry is its header's
/// size, and tar writers copy whatever the reader gives. A file that grows meanwhile is cut
/// at that size; one that shrinks is an error (a short entry would make the rest of the
/// archive garbage) — a process was writing it while it was packed.
struct Exactly<'a> {
    file: std::io::Take<fs::File>,
    size: u64,
    name: &'a str,
}

impl<'a> Exactly<'a> {
    fn new(file: fs::File, size: u64, name: &'a str) -> Exactly<'a> {
        Exactly { file: std::io::Read::take(file, size), size, name }
    }
}

impl std::io::Read for Exactly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() && self.file.limit() > 0 {
            let got = self.size - self.file.limit();
            return Err(std::io::Error::other(format!(
                "/{} shrank from {} to {got} bytes while it was read: something was writing it",
                self.name, self.size
            )));
        }
        Ok(n)
    }
}

/// A header with the file's owner, permissions and modification time.
fn header(meta: &fs::Metadata) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(meta.uid().into());
    h.set_gid(meta.gid().into());
    h.set_mtime(meta.mtime().max(0) as u64);
    h.set_size(if meta.is_file() { meta.len() } else { 0 });
    h
}

/// File capabilities (`setcap`), which live in an xattr and must survive the round trip.
fn capability(path: &Path) -> Option<Vec<u8>> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut buf = [0u8; 64];
    // SAFETY: NUL-terminated path, a buffer we own and its length.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n > 0).then(|| buf[..n as usize].to_vec())
}

/// A PAX extended header for the next entry: records of `LEN KEY=VALUE\n`, where LEN counts
/// the whole record, its own digits included.
fn pax<W: Write>(b: &mut tar::Builder<W>, records: &[(&str, &[u8])]) -> crate::Result<()> {
    let mut data = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        data.extend_from_slice(format!("{len} {k}=").as_bytes());
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "PaxHeader", data.as_slice())?;
    Ok(())
}
