//! The reverse of [`unpack`](super::unpack): a read-write layer (an overlay upper directory)
//! becomes an OCI layer tarball. What overlay stores on disk is translated to what OCI sends
//! on the wire: a 0:0 character device (a deleted file) becomes an empty `.wh.NAME`, an opaque
//! directory gets a `.wh..wh..opq` entry. `docker build` and `docker commit` both end here.

use super::whiteout::{is_opaque, OPAQUE_MARKER, WHITEOUT_PREFIX};
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

/// Write the tarball of `upper` to `out`, leaving out the paths in `exclude` (relative, like
/// `etc/hosts`: the init layer's files belong to one container, not to an image).
pub fn pack(upper: &Path, exclude: &[&str], out: impl Write) -> crate::Result<Packed> {
    let mut b = tar::Builder::new(out);
    let mut p = Packer { packed: Packed::default(), links: HashMap::new(), exclude };
    p.dir(&mut b, upper, Path::new(""))?;
    b.into_inner().context("finishing the layer tarball")?.flush()?;
    Ok(p.packed)
}

struct Packer<'a> {
    packed: Packed,
    /// (device, inode) → the first path packed, so later names become hard links.
    links: HashMap<(u64, u64), PathBuf>,
    exclude: &'a [&'a str],
}

impl Packer<'_> {
    fn dir<W: Write>(
        &mut self,
        b: &mut tar::Builder<W>,
        root: &Path,
        rel: &Path,
    ) -> crate::Result<()> {
        let mut names: Vec<_> = fs::read_dir(root.join(rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        // Sorted: the same tree always gives the same bytes, so the same diff_id.
        names.sort();
        for name in names {
            let rel = rel.join(&name);
            let text = rel.to_string_lossy().into_owned();
            if self.exclude.contains(&text.as_str()) {
                continue;
            }
            self.entry(b, root, &rel).with_context(|| format!("packing {text}"))?;
        }
        Ok(())
    }

    fn entry<W: Write>(
        &mut self,
        b: &mut tar::Builder<W>,
        root: &Path,
        rel: &Path,
    ) -> crate::Result<()> {
        let full = root.join(rel);
        let meta = fs::symlink_metadata(&full)?;
        let ft = meta.file_type();
        let text = rel.to_string_lossy().into_owned();
        let mut h = header(&meta);
        if super::whiteout::is_overlay_whiteout(&meta) {
            // overlay's whiteout → OCI's: an empty regular file named .wh.NAME.
            let name = format!("{WHITEOUT_PREFIX}{}", rel.file_name().unwrap().to_string_lossy());
            let mut h = header(&meta);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(0);
            b.append_data(&mut h, rel.with_file_name(name), std::io::empty())?;
            self.packed.deleted.push(text);
        } else if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            b.append_data(&mut h, format!("{text}/"), std::io::empty())?;
            self.packed.changed.push(format!("{text}/"));
            if is_opaque(&full) {
                let mut h = header(&meta);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_data(&mut h, rel.join(OPAQUE_MARKER), std::io::empty())?;
                self.packed.deleted.push(format!("{text}/ (opaque: everything below it)"));
            }
            self.dir(b, root, rel)?;
        } else if ft.is_symlink() {
            h.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut h, rel, fs::read_link(&full)?)?;
            self.packed.changed.push(text);
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, rel, first)?;
                    self.packed.changed.push(text);
                    return Ok(());
                }
                self.links.insert((meta.dev(), meta.ino()), rel.to_path_buf());
            }
            if let Some(cap) = capability(&full) {
                pax(b, &[("SCHILY.xattr.security.capability", &cap)])?;
            }
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, rel, Exactly::new(fs::File::open(&full)?, meta.len(), &text))?;
            self.packed.changed.push(text);
        } else if ft.is_fifo() {
            h.set_entry_type(tar::EntryType::Fifo);
            h.set_size(0);
            b.append_data(&mut h, rel, std::io::empty())?;
            self.packed.changed.push(text);
        }
        // Sockets and device nodes are not image content; the unpacker would refuse devices.
        Ok(())
    }
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
