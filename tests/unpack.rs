//! Adversarial tests for the layer unpacker: crafted tarballs that try to write, link, chmod,
//! chown or touch anything outside the layer directory, forge overlay's metadata, or create
//! device nodes.
//!
//! Every unpack happens in a "jail": `jail/layer` is the destination and `jail/outside` a
//! sibling with a sentinel file in it. The jail outside `layer/` is snapshotted before the
//! unpack (names, types, modes, owners, sizes, times, link counts, contents, xattrs) and must
//! be identical afterwards, whatever the unpack returned.
//!
//! The tarballs are written header by header with the tiny writer below: the `tar` crate's
//! builder refuses the names an attacker would use.

mod common;

use common::have_root;
use minidocker::image::unpack::{unpack, Unpacked};
use minidocker::image::Digest;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

// ---- a raw ustar / PAX / GNU writer ---------------------------------------------------------

const BLOCK: usize = 512;
const REGULAR: u8 = b'0';
const HARDLINK: u8 = b'1';
const SYMLINK: u8 = b'2';
const CHAR: u8 = b'3';
const BLOCKDEV: u8 = b'4';
const DIR: u8 = b'5';
const FIFO: u8 = b'6';
const PAX: u8 = b'x';
const GNU_LONGNAME: u8 = b'L';

/// One header's fields; names are raw bytes, never checked.
#[derive(Clone)]
struct Header {
    name: Vec<u8>,
    kind: u8,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u64,
    link: Vec<u8>,
    dev: (u32, u32),
}

fn header(kind: u8, name: &str) -> Header {
    let mode = if kind == DIR { 0o755 } else { 0o644 };
    Header {
        name: name.as_bytes().to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_600_000_000,
        link: Vec::new(),
        dev: (0, 0),
    }
}

impl Header {
    fn mode(mut self, mode: u32) -> Header {
        self.mode = mode;
        self
    }
    fn owner(mut self, uid: u32, gid: u32) -> Header {
        self.uid = uid;
        self.gid = gid;
        self
    }
    fn mtime(mut self, mtime: u64) -> Header {
        self.mtime = mtime;
        self
    }
    fn link(mut self, target: &str) -> Header {
        self.link = target.as_bytes().to_vec();
        self
    }
    fn dev(mut self, major: u32, minor: u32) -> Header {
        self.dev = (major, minor);
        self
    }

    /// The 512-byte ustar block, checksum included.
    fn encode(&self, size: u64) -> [u8; BLOCK] {
        fn octal(field: &mut [u8], v: u64) {
            let s = format!("{v:0w$o}\0", w = field.len() - 1);
            field.copy_from_slice(s.as_bytes());
        }
        let mut b = [0u8; BLOCK];
        let n = self.name.len().min(100);
        b[..n].copy_from_slice(&self.name[..n]);
        octal(&mut b[100..108], self.mode.into());
        octal(&mut b[108..116], self.uid.into());
        octal(&mut b[116..124], self.gid.into());
        octal(&mut b[124..136], size);
        octal(&mut b[136..148], self.mtime);
        b[156] = self.kind;
        let n = self.link.len().min(100);
        b[157..157 + n].copy_from_slice(&self.link[..n]);
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        b[265..269].copy_from_slice(b"root");
        b[297..301].copy_from_slice(b"root");
        octal(&mut b[329..337], self.dev.0.into());
        octal(&mut b[337..345], self.dev.1.into());
        b[148..156].copy_from_slice(b"        ");
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }
}

/// A tarball being written. `finish` adds the two zero blocks that end it.
#[derive(Default)]
struct Tar {
    bytes: Vec<u8>,
}

impl Tar {
    fn new() -> Tar {
        Tar::default()
    }

    fn raw(&mut self, h: Header, data: &[u8]) -> &mut Tar {
        self.bytes.extend_from_slice(&h.encode(data.len() as u64));
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().next_multiple_of(BLOCK), 0);
        self
    }
    fn file(&mut self, name: &str, data: &str) -> &mut Tar {
        self.raw(header(REGULAR, name), data.as_bytes())
    }
    fn dir(&mut self, name: &str) -> &mut Tar {
        self.raw(header(DIR, name), b"")
    }
    fn symlink(&mut self, name: &str, target: &str) -> &mut Tar {
        self.raw(header(SYMLINK, name).link(target), b"")
    }
    fn hardlink(&mut self, name: &str, target: &str) -> &mut Tar {
        self.raw(header(HARDLINK, name).link(target), b"")
    }
    fn device(&mut self, kind: u8, name: &str, major: u32, minor: u32) -> &mut Tar {
        self.raw(header(kind, name).mode(0o666).dev(major, minor), b"")
    }

    /// A PAX 'x' header: its records apply to the next entry.
    fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Tar {
        let mut data = Vec::new();
        for (key, value) in records {
            // "LEN key=value\n", where LEN counts itself.
            let body = key.len() + value.len() + 3;
            let mut len = body + 1;
            while len != body + len.to_string().len() {
                len = body + len.to_string().len();
            }
            data.extend_from_slice(format!("{len} {key}=").as_bytes());
            data.extend_from_slice(value);
            data.push(b'\n');
        }
        self.raw(header(PAX, "PaxHeaders/entry"), &data)
    }

    /// A GNU 'L' header: the next entry's name, whatever its length.
    fn gnu_longname(&mut self, name: &str) -> &mut Tar {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        self.raw(header(GNU_LONGNAME, "././@LongLink"), &data)
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.extend_from_slice(&[0; 2 * BLOCK]);
        bytes
    }
}

// ---- the jail -------------------------------------------------------------------------------

const SENTINEL: &str = "sentinel: must never change\n";

/// What a path outside the layer looks like, to notice any change.
#[derive(Debug, PartialEq)]
struct Seen {
    mode: u32,
    owner: (u32, u32),
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    nlink: u64,
    ino: u64,
    content: Option<Vec<u8>>,
    link: Option<PathBuf>,
    xattrs: Vec<(String, Vec<u8>)>,
}

fn seen(p: &Path) -> Seen {
    let m = fs::symlink_metadata(p).unwrap();
    Seen {
        mode: m.mode(),
        owner: (m.uid(), m.gid()),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        nlink: m.nlink(),
        ino: m.ino(),
        content: m.is_file().then(|| fs::read(p).unwrap()),
        link: m.file_type().is_symlink().then(|| fs::read_link(p).unwrap()),
        xattrs: xattrs(p),
    }
}

/// Every path under `top`, except the layer's contents.
fn snapshot(top: &Path, layer: &Path) -> BTreeMap<PathBuf, Seen> {
    let mut out = BTreeMap::new();
    let mut todo = vec![top.to_path_buf()];
    while let Some(p) = todo.pop() {
        let s = seen(&p);
        if p != layer && s.mode & libc::S_IFMT == libc::S_IFDIR {
            todo.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
        if p != layer {
            out.insert(p, s);
        }
    }
    out
}

/// `jail/layer` (the unpack's destination) next to `jail/outside/sentinel`; removed on drop.
struct Jail {
    top: PathBuf,
    layer: PathBuf,
    before: BTreeMap<PathBuf, Seen>,
}

impl Jail {
    fn new(test: &str) -> Jail {
        let top =
            std::env::temp_dir().join(format!("minidocker-unpack-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&top);
        let layer = top.join("layer");
        fs::create_dir_all(&layer).unwrap();
        fs::create_dir_all(top.join("outside")).unwrap();
        fs::write(top.join("outside/sentinel"), SENTINEL).unwrap();
        let before = snapshot(&top, &layer);
        Jail { top, layer, before }
    }

    fn unpack(&self, tar: &[u8]) -> minidocker::Result<Unpacked> {
        unpack(tar, &self.layer)
    }

    /// Unpack a layer that must be refused; returns the whole error chain as one line.
    fn refused(&self, tar: &[u8]) -> String {
        match self.unpack(tar) {
            Ok(u) => panic!("the layer was accepted ({u:?}); the layer holds {:?}", self.listing()),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Empty the layer for another unpack (the layer directory itself stays: re-creating it
    /// would change the jail's own times).
    fn reset(&self) {
        for e in fs::read_dir(&self.layer).unwrap() {
            let p = e.unwrap().path();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                fs::remove_dir_all(&p).unwrap();
            } else {
                fs::remove_file(&p).unwrap();
            }
        }
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.layer.join(rel)
    }

    fn outside(&self) -> PathBuf {
        self.top.join("outside")
    }

    /// Nothing outside `layer/` was created, removed or changed in any way.
    fn assert_outside_untouched(&self) {
        let now = snapshot(&self.top, &self.layer);
        for (p, was) in &self.before {
            assert_eq!(now.get(p), Some(was), "{} changed", p.display());
        }
        let new: Vec<_> = now.keys().filter(|p| !self.before.contains_key(*p)).collect();
        assert!(new.is_empty(), "created outside the layer: {new:?}");
        assert_eq!(fs::read_to_string(self.outside().join("sentinel")).unwrap(), SENTINEL);
    }

    /// Every path in the layer, for failure messages.
    fn listing(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![self.layer.clone()];
        while let Some(p) = todo.pop() {
            if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                todo.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            }
            out.push(p.strip_prefix(&self.layer).unwrap().to_path_buf());
        }
        out.sort();
        out
    }
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.top);
    }
}

/// A path on the host no other test uses, for absolute-name attacks.
fn host_path(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("minidocker-unpack-host-{test}-{}", std::process::id()))
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// One extended attribute of the path itself (symlinks not followed); None when absent.
fn lgetxattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let (path, name) = (cstr(p), CString::new(name).unwrap());
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: NUL-terminated strings, buffer pointer and length from one Vec.
    let n = unsafe {
        libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(
            e.raw_os_error(),
            Some(libc::ENODATA),
            "lgetxattr({}, {name:?}): {e}",
            p.display()
        );
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

/// All extended attributes of the path itself, with their values.
fn xattrs(p: &Path) -> Vec<(String, Vec<u8>)> {
    let path = cstr(p);
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: as above.
    let n = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n >= 0, "llistxattr({}): {}", p.display(), std::io::Error::last_os_error());
    buf.truncate(n as usize);
    let names: Vec<String> = buf
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.into_iter().map(|n| (n.clone(), lgetxattr(p, &n).unwrap_or_default())).collect()
}

fn is_whiteout(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| {
        m.mode() & libc::S_IFMT == libc::S_IFCHR && m.file_type().is_char_device() && m.rdev() == 0
    })
}

// ---- names ----------------------------------------------------------------------------------

/// `../escape`: the plainest climb out of the layer.
#[test]
fn dotdot_name_is_refused() {
    if !have_root("dotdot_name_is_refused") {
        return;
    }
    let jail = Jail::new("dotdot");
    let err = jail.refused(&Tar::new().file("../escape", "pwned").finish());
    assert!(err.contains("climbs out"), "{err}");
    jail.assert_outside_untouched();
}

/// `a/../../escape`: a climb hidden behind a directory that exists.
#[test]
fn dotdot_behind_a_directory_is_refused() {
    if !have_root("dotdot_behind_a_directory_is_refused") {
        return;
    }
    let jail = Jail::new("dotdot-middle");
    let err = jail.refused(&Tar::new().dir("a/").file("a/../../escape", "pwned").finish());
    assert!(err.contains("climbs out"), "{err}");
    jail.assert_outside_untouched();
}

/// `../outside/sentinel`: overwriting the sentinel by name.
#[test]
fn dotdot_onto_the_sentinel_is_refused() {
    if !have_root("dotdot_onto_the_sentinel_is_refused") {
        return;
    }
    let jail = Jail::new("dotdot-sentinel");
    jail.refused(&Tar::new().file("../outside/sentinel", "pwned").finish());
    jail.assert_outside_untouched();
}

/// `a/../b` climbs nowhere: it is cleaned to `b`, inside.
#[test]
fn dotdot_that_stays_inside_is_cleaned() {
    if !have_root("dotdot_that_stays_inside_is_cleaned") {
        return;
    }
    let jail = Jail::new("dotdot-inside");
    jail.unpack(&Tar::new().file("a/../b", "fine").finish()).unwrap();
    assert_eq!(fs::read_to_string(jail.at("b")).unwrap(), "fine");
    jail.assert_outside_untouched();
}

/// `/abs/path` and `/tmp/<unique>/pwned`: absolute names land inside the layer.
#[test]
fn absolute_names_land_inside() {
    if !have_root("absolute_names_land_inside") {
        return;
    }
    let jail = Jail::new("absolute");
    let host = host_path("absolute");
    let tar = Tar::new()
        .file("/abs/path", "inside")
        .file(&format!("{}/pwned", host.display()), "inside too")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("abs/path")).unwrap(), "inside");
    let rel = host.strip_prefix("/").unwrap().join("pwned");
    assert_eq!(fs::read_to_string(jail.layer.join(rel)).unwrap(), "inside too");
    assert!(!host.exists(), "{} was created on the host", host.display());
    jail.assert_outside_untouched();
}

/// `./`, `.` and `./etc/`: the layer's root itself is ours, its mode and owner never change.
#[test]
fn dot_entries_do_not_touch_the_layer_root() {
    if !have_root("dot_entries_do_not_touch_the_layer_root") {
        return;
    }
    let jail = Jail::new("dot");
    let before = fs::metadata(&jail.layer).unwrap();
    let tar = Tar::new()
        .raw(header(DIR, "./").mode(0o777).owner(1234, 1234), b"")
        .raw(header(DIR, ".").mode(0o1777).owner(99, 99), b"")
        .dir("./etc/")
        .file("./etc/hosts", "127.0.0.1 localhost\n")
        .finish();
    jail.unpack(&tar).unwrap();
    let after = fs::metadata(&jail.layer).unwrap();
    assert_eq!(
        (after.mode(), after.uid(), after.gid()),
        (before.mode(), before.uid(), before.gid())
    );
    assert_eq!(fs::read_to_string(jail.at("etc/hosts")).unwrap(), "127.0.0.1 localhost\n");
    jail.assert_outside_untouched();
}

/// A PAX `path` record saying `../escape` behind an innocent ustar name.
#[test]
fn pax_path_with_dotdot_is_refused() {
    if !have_root("pax_path_with_dotdot_is_refused") {
        return;
    }
    let jail = Jail::new("pax-path");
    let tar =
        Tar::new().pax(&[("path", b"../outside/sentinel")]).file("innocent", "pwned").finish();
    jail.refused(&tar);
    assert!(!jail.at("innocent").exists(), "the PAX name was ignored");
    jail.assert_outside_untouched();
}

/// A GNU long name that climbs out, longer than the 100 bytes of a ustar name.
#[test]
fn gnu_longname_with_dotdot_is_refused() {
    if !have_root("gnu_longname_with_dotdot_is_refused") {
        return;
    }
    let jail = Jail::new("gnu-long");
    let long = format!("{}/{}", "d".repeat(120), "../".repeat(2));
    let tar = Tar::new()
        .gnu_longname(&format!("{long}outside/sentinel"))
        .file("innocent", "pwned")
        .finish();
    let err = jail.refused(&tar);
    assert!(err.contains("climbs out"), "{err}");
    jail.assert_outside_untouched();
}

/// Long names done right (PAX and GNU) land inside, under their full name.
#[test]
fn long_names_land_inside() {
    if !have_root("long_names_land_inside") {
        return;
    }
    let jail = Jail::new("long-names");
    let (pax_name, gnu_name) = (format!("p/{}", "x".repeat(150)), format!("g/{}", "y".repeat(150)));
    let tar = Tar::new()
        .pax(&[("path", pax_name.as_bytes())])
        .file("truncated-pax-name", "pax")
        .gnu_longname(&gnu_name)
        .file("truncated-gnu-name", "gnu")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at(&pax_name)).unwrap(), "pax");
    assert_eq!(fs::read_to_string(jail.at(&gnu_name)).unwrap(), "gnu");
    jail.assert_outside_untouched();
}

// ---- symlinks -------------------------------------------------------------------------------

/// `evil -> ../outside`, then `evil/pwned`: resolved as if the layer were `/`, the write lands
/// in the layer's own `outside/`.
#[test]
fn file_through_a_symlink_to_outside_lands_inside() {
    if !have_root("file_through_a_symlink_to_outside_lands_inside") {
        return;
    }
    let jail = Jail::new("through-relative");
    let tar = Tar::new()
        .dir("outside/")
        .symlink("evil", "../outside")
        .file("evil/pwned", "inside")
        .file("evil/sentinel", "inside")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("outside/pwned")).unwrap(), "inside");
    assert_eq!(fs::read_to_string(jail.at("outside/sentinel")).unwrap(), "inside");
    jail.assert_outside_untouched();
}

/// `evil -> /`, then `evil/<unique>`: `/` is the layer's root, not the host's.
#[test]
fn file_through_a_symlink_to_slash_lands_inside() {
    if !have_root("file_through_a_symlink_to_slash_lands_inside") {
        return;
    }
    let jail = Jail::new("through-slash");
    let unique = format!("minidocker-pwned-{}", std::process::id());
    let tar = Tar::new().symlink("evil", "/").file(&format!("evil/{unique}"), "inside").finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at(&unique)).unwrap(), "inside");
    assert!(!Path::new("/").join(&unique).exists(), "/{unique} was created on the host");
    jail.assert_outside_untouched();
}

/// `evil -> <the jail's absolute outside path>`, then a file, a directory, a FIFO, a symlink
/// and a whiteout through it: each lands in the layer's twin of that path, or is refused when
/// the layer has none — never in the jail's `outside/`.
#[test]
fn anything_through_an_absolute_symlink_stays_inside() {
    if !have_root("anything_through_an_absolute_symlink_stays_inside") {
        return;
    }
    type Add = fn(&mut Tar) -> &mut Tar;
    type Check = fn(&Path) -> bool;
    let kinds: [(&str, Add, Check); 6] = [
        (
            "file",
            |t| t.file("evil/pwned", "pwned"),
            |twin| fs::read_to_string(twin.join("pwned")).is_ok_and(|s| s == "pwned"),
        ),
        (
            "dir",
            |t| t.raw(header(DIR, "evil/sentinel/").mode(0o777), b""),
            |twin| {
                fs::symlink_metadata(twin.join("sentinel"))
                    .is_ok_and(|m| m.is_dir() && m.mode() & 0o7777 == 0o777)
            },
        ),
        (
            "fifo",
            |t| t.raw(header(FIFO, "evil/fifo"), b""),
            |twin| fs::symlink_metadata(twin.join("fifo")).is_ok_and(|m| m.file_type().is_fifo()),
        ),
        (
            "symlink",
            |t| t.symlink("evil/sentinel", "/etc/shadow"),
            |twin| {
                fs::read_link(twin.join("sentinel")).is_ok_and(|l| l == Path::new("/etc/shadow"))
            },
        ),
        (
            "whiteout",
            |t| t.file("evil/.wh.sentinel", ""),
            |twin| is_whiteout(&twin.join("sentinel")),
        ),
        (
            "hardlink",
            |t| t.file("f", "linked").hardlink("evil/h", "f"),
            |twin| fs::read_to_string(twin.join("h")).is_ok_and(|s| s == "linked"),
        ),
    ];
    for (what, add, check) in kinds {
        let jail = Jail::new(&format!("through-absolute-{what}"));
        let twin_rel = jail.outside().strip_prefix("/").unwrap().to_string_lossy().into_owned();
        // With the layer's own twin of the outside path the entry must land there…
        let mut tar = Tar::new();
        tar.dir(&format!("{twin_rel}/")).file(&format!("{twin_rel}/sentinel"), "the layer's own");
        tar.symlink("evil", &jail.outside().to_string_lossy());
        jail.unpack(&add(&mut tar).finish()).unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert!(check(&jail.at(&twin_rel)), "{what}: {:?}", jail.listing());
        jail.assert_outside_untouched();
        // …and without it, be refused.
        jail.reset();
        let mut tar = Tar::new();
        tar.symlink("evil", &jail.outside().to_string_lossy());
        jail.refused(&add(&mut tar).finish());
        jail.assert_outside_untouched();
    }
}

/// `link -> ../outside/sentinel`, then a regular file `link`: the symlink is replaced, the
/// sentinel is not written through it.
#[test]
fn file_replaces_a_symlink_instead_of_writing_through_it() {
    if !have_root("file_replaces_a_symlink_instead_of_writing_through_it") {
        return;
    }
    let jail = Jail::new("replace-symlink");
    let abs = jail.outside().join("sentinel").to_string_lossy().into_owned();
    let tar = Tar::new()
        .symlink("link", "../outside/sentinel")
        .file("link", "replaced")
        .symlink("abs", &abs)
        .file("abs", "replaced too")
        .finish();
    jail.unpack(&tar).unwrap();
    for name in ["link", "abs"] {
        let m = fs::symlink_metadata(jail.at(name)).unwrap();
        assert!(m.is_file(), "{name} is still a symlink");
    }
    assert_eq!(fs::read_to_string(jail.at("link")).unwrap(), "replaced");
    assert_eq!(fs::read_to_string(jail.at("abs")).unwrap(), "replaced too");
    jail.assert_outside_untouched();
}

/// Directories written into (and so kept open by the unpacker), then swapped for symlinks:
/// the entries after the swap go where the symlink points in the layer, not into the
/// directory that was removed (where they would silently vanish).
#[test]
fn entries_after_a_directory_is_swapped_for_a_symlink_follow_it() {
    if !have_root("entries_after_a_directory_is_swapped_for_a_symlink_follow_it") {
        return;
    }
    let jail = Jail::new("swapped-dir");
    let abs = jail.outside().to_string_lossy().into_owned();
    // The layer's own twin of the outside path, where `o -> <outside>` leads.
    let twin = abs.trim_start_matches('/').to_owned();
    let tar = Tar::new()
        .dir(&format!("{twin}/"))
        .dir("t/")
        .dir("a/")
        .file("a/one", "before")
        .dir("x/y/")
        .file("x/y/one", "before")
        .symlink("a", "/t")
        .file("a/two", "after")
        .symlink("x", "t")
        .file("x/y/two", "after")
        .dir("o/")
        .file("o/one", "before")
        .symlink("o", &abs)
        .file("o/two", "after")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("t/two")).unwrap(), "after");
    assert_eq!(fs::read_to_string(jail.at("t/y/two")).unwrap(), "after");
    let two = jail.at(&format!("{twin}/two"));
    assert_eq!(fs::read_to_string(two).unwrap(), "after", "{:?}", jail.listing());
    assert!(!jail.at("t/one").exists() && !jail.at("t/y/one").exists());
    jail.assert_outside_untouched();
}

/// `e -> <the jail's outside>`, then a directory entry `e/` with mode 0777 and another owner:
/// the symlink is replaced by a directory, nothing is chmodded or chowned through it.
#[test]
fn directory_replaces_a_symlink_instead_of_chmodding_through_it() {
    if !have_root("directory_replaces_a_symlink_instead_of_chmodding_through_it") {
        return;
    }
    let jail = Jail::new("dir-replaces-symlink");
    let abs = jail.outside().to_string_lossy().into_owned();
    let tar = Tar::new()
        .symlink("e", &abs)
        .raw(header(DIR, "e/").mode(0o777).owner(1234, 1234).mtime(5), b"")
        .symlink("f", "../outside/sentinel")
        .raw(header(DIR, "f/").mode(0o777).owner(1234, 1234).mtime(5), b"")
        .finish();
    jail.unpack(&tar).unwrap();
    for d in ["e", "f"] {
        let m = fs::symlink_metadata(jail.at(d)).unwrap();
        assert!(m.is_dir(), "{d} is not a directory");
        assert_eq!((m.mode() & 0o7777, m.uid(), m.mtime()), (0o777, 1234, 5));
    }
    jail.assert_outside_untouched();
}

/// A directory holding symlinks out of the layer, then replaced by a file or whited out:
/// removing it must delete the symlinks, not what they point to.
#[test]
fn replacing_a_directory_does_not_follow_the_symlinks_in_it() {
    if !have_root("replacing_a_directory_does_not_follow_the_symlinks_in_it") {
        return;
    }
    let jail = Jail::new("replace-dir-symlinks");
    let abs = jail.outside().to_string_lossy().into_owned();
    let tar = Tar::new()
        .dir("d/")
        .symlink("d/abs", &abs)
        .symlink("d/rel", "../../outside")
        .dir("d/sub/")
        .symlink("d/sub/file", &format!("{abs}/sentinel"))
        .file("d", "now a file")
        .dir("w/")
        .symlink("w/abs", &abs)
        .file(".wh.w", "")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("d")).unwrap(), "now a file");
    assert!(is_whiteout(&jail.at("w")));
    jail.assert_outside_untouched();
}

/// `a -> b`, `b -> ../outside`, then `a/x`: the chain is resolved in the layer.
#[test]
fn symlink_chain_to_outside_lands_inside() {
    if !have_root("symlink_chain_to_outside_lands_inside") {
        return;
    }
    let jail = Jail::new("chain");
    let tar = Tar::new()
        .dir("outside/")
        .symlink("a", "b")
        .symlink("b", "../outside")
        .file("a/x", "inside")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("outside/x")).unwrap(), "inside");
    jail.assert_outside_untouched();
}

/// The same chain when the layer has no `outside/`: refused (nothing to write into).
#[test]
fn symlink_chain_to_a_missing_directory_is_refused() {
    if !have_root("symlink_chain_to_a_missing_directory_is_refused") {
        return;
    }
    let jail = Jail::new("chain-missing");
    jail.refused(
        &Tar::new().symlink("a", "b").symlink("b", "../outside").file("a/x", "pwned").finish(),
    );
    jail.assert_outside_untouched();
}

/// Directory mtimes are set after everything else. `a/sentinel/` is a directory whose time is
/// due, then `a` becomes `a -> ../outside`: restoring `a/sentinel`'s time must not follow the
/// new symlink to the host's `outside/sentinel`.
#[test]
fn restoring_directory_times_does_not_follow_a_swapped_in_symlink() {
    if !have_root("restoring_directory_times_does_not_follow_a_swapped_in_symlink") {
        return;
    }
    let jail = Jail::new("dir-times-swap");
    let abs = jail.outside().to_string_lossy().into_owned();
    let tar = Tar::new()
        .dir("a/")
        .raw(header(DIR, "a/sentinel/").mtime(111), b"")
        .symlink("a", "../outside")
        .dir("b/")
        .raw(header(DIR, "b/sentinel/").mtime(222), b"")
        .symlink("b", &abs)
        .finish();
    jail.unpack(&tar).unwrap();
    assert!(fs::symlink_metadata(jail.at("a")).unwrap().file_type().is_symlink());
    jail.assert_outside_untouched();
}

// ---- hard links -----------------------------------------------------------------------------

/// A hard link to `../outside/sentinel`.
#[test]
fn hardlink_climbing_out_is_refused() {
    if !have_root("hardlink_climbing_out_is_refused") {
        return;
    }
    let jail = Jail::new("hardlink-dotdot");
    jail.refused(&Tar::new().hardlink("h", "../outside/sentinel").finish());
    // The same target in a PAX `linkpath`, behind an innocent ustar link name.
    jail.refused(
        &Tar::new()
            .file("innocent", "x")
            .pax(&[("linkpath", b"../outside/sentinel")])
            .hardlink("i", "innocent")
            .finish(),
    );
    assert!(
        fs::symlink_metadata(jail.at("h")).is_err() && fs::symlink_metadata(jail.at("i")).is_err()
    );
    jail.assert_outside_untouched();
}

/// Hard links to absolute host paths (`/etc/passwd`, the jail's sentinel) when the layer has no
/// such file: refused, the host file's link count unchanged.
#[test]
fn hardlink_to_a_host_path_is_refused() {
    if !have_root("hardlink_to_a_host_path_is_refused") {
        return;
    }
    let passwd = seen(Path::new("/etc/passwd"));
    let jail = Jail::new("hardlink-abs");
    for target in
        ["/etc/passwd".to_string(), jail.outside().join("sentinel").to_string_lossy().into_owned()]
    {
        let err = jail.refused(&Tar::new().hardlink("h", &target).finish());
        assert!(err.contains("not in this layer"), "{target}: {err}");
        assert!(fs::symlink_metadata(jail.at("h")).is_err());
    }
    jail.assert_outside_untouched();
    assert_eq!(seen(Path::new("/etc/passwd")), passwd, "the host's /etc/passwd changed");
}

/// A hard link to `/etc/passwd` when the layer has its own: it links to the layer's file.
#[test]
fn hardlink_to_an_absolute_path_resolves_in_the_layer() {
    if !have_root("hardlink_to_an_absolute_path_resolves_in_the_layer") {
        return;
    }
    let passwd = seen(Path::new("/etc/passwd"));
    let jail = Jail::new("hardlink-abs-layer");
    jail.unpack(
        &Tar::new().file("etc/passwd", "layer's own\n").hardlink("h", "/etc/passwd").finish(),
    )
    .unwrap();
    let (h, own) =
        (fs::metadata(jail.at("h")).unwrap(), fs::metadata(jail.at("etc/passwd")).unwrap());
    assert_eq!((h.ino(), h.nlink()), (own.ino(), 2));
    assert_eq!(fs::read_to_string(jail.at("h")).unwrap(), "layer's own\n");
    assert_eq!(seen(Path::new("/etc/passwd")), passwd, "the host's /etc/passwd changed");
    jail.assert_outside_untouched();
}

/// A hard link to a symlink that points out links the symlink itself, never its target.
#[test]
fn hardlink_to_a_symlink_pointing_out_links_the_symlink() {
    if !have_root("hardlink_to_a_symlink_pointing_out_links_the_symlink") {
        return;
    }
    let jail = Jail::new("hardlink-symlink");
    let abs = jail.outside().join("sentinel").to_string_lossy().into_owned();
    let tar = Tar::new()
        .symlink("s", "../outside/sentinel")
        .hardlink("h", "s")
        .symlink("t", &abs)
        .hardlink("i", "t")
        .finish();
    jail.unpack(&tar).unwrap();
    for (link, of) in [("h", "s"), ("i", "t")] {
        let (l, o) = (
            fs::symlink_metadata(jail.at(link)).unwrap(),
            fs::symlink_metadata(jail.at(of)).unwrap(),
        );
        assert!(l.file_type().is_symlink(), "{link} is not the symlink");
        assert_eq!(l.ino(), o.ino(), "{link} is not a hard link of {of}");
    }
    jail.assert_outside_untouched();
}

/// A hard link whose target goes through a symlinked directory pointing out: `d -> ../outside`,
/// link to `d/sentinel` — resolved in the layer, where there is no such file.
#[test]
fn hardlink_through_a_symlinked_directory_is_refused() {
    if !have_root("hardlink_through_a_symlinked_directory_is_refused") {
        return;
    }
    let jail = Jail::new("hardlink-through");
    let abs = jail.outside().to_string_lossy().into_owned();
    jail.refused(&Tar::new().symlink("d", "../outside").hardlink("h", "d/sentinel").finish());
    jail.refused(&Tar::new().symlink("e", &abs).hardlink("i", "e/sentinel").finish());
    jail.assert_outside_untouched();
}

/// A hard link to a directory (a loop in the tree, and a way out if it were a host dir).
#[test]
fn hardlink_to_a_directory_is_refused() {
    if !have_root("hardlink_to_a_directory_is_refused") {
        return;
    }
    let jail = Jail::new("hardlink-dir");
    let err = jail.refused(&Tar::new().dir("d/").hardlink("h", "d").finish());
    assert!(err.contains("directory"), "{err}");
    assert!(!jail.at("h").exists());
    jail.assert_outside_untouched();
}

/// A file entry replacing a hard link makes a new file: the other name keeps its content.
#[test]
fn file_replacing_a_hardlink_does_not_write_through_it() {
    if !have_root("file_replacing_a_hardlink_does_not_write_through_it") {
        return;
    }
    let jail = Jail::new("hardlink-replace");
    jail.unpack(&Tar::new().file("f", "original").hardlink("h", "f").file("h", "new").finish())
        .unwrap();
    assert_eq!(fs::read_to_string(jail.at("f")).unwrap(), "original");
    assert_eq!(fs::read_to_string(jail.at("h")).unwrap(), "new");
    assert_eq!(fs::metadata(jail.at("f")).unwrap().nlink(), 1);
    jail.assert_outside_untouched();
}

// ---- devices --------------------------------------------------------------------------------

/// Device nodes under `dev/` are skipped and counted, not created.
#[test]
fn devices_under_dev_are_skipped() {
    if !have_root("devices_under_dev_are_skipped") {
        return;
    }
    let jail = Jail::new("dev-skipped");
    let tar = Tar::new()
        .dir("dev/")
        .device(CHAR, "dev/null", 1, 3)
        .device(BLOCKDEV, "dev/sda", 8, 0)
        .device(CHAR, "./dev/mem", 1, 1)
        .finish();
    let u = jail.unpack(&tar).unwrap();
    assert_eq!(u.skipped_devices, 3, "{u:?}");
    for d in ["dev/null", "dev/sda", "dev/mem"] {
        assert!(fs::symlink_metadata(jail.at(d)).is_err(), "{d} was created");
    }
    jail.assert_outside_untouched();
}

/// A device node anywhere else (including `dev/../etc/mem`) refuses the whole layer.
#[test]
fn devices_outside_dev_refuse_the_layer() {
    if !have_root("devices_outside_dev_refuse_the_layer") {
        return;
    }
    for (i, (kind, name)) in
        [(CHAR, "etc/mem"), (BLOCKDEV, "sda"), (CHAR, "dev/../etc/kmsg"), (CHAR, "devices/null")]
            .into_iter()
            .enumerate()
    {
        let jail = Jail::new(&format!("dev-refused-{i}"));
        let err = jail.refused(&Tar::new().file("before", "x").device(kind, name, 1, 1).finish());
        assert!(err.contains("device"), "{name}: {err}");
        assert!(fs::symlink_metadata(jail.at(name)).is_err(), "{name} was created");
        jail.assert_outside_untouched();
    }
}

// ---- whiteouts ------------------------------------------------------------------------------

/// `dir/.wh.file` becomes overlay's whiteout: a 0/0 character device `dir/file`.
#[test]
fn whiteout_becomes_a_0_0_char_device() {
    if !have_root("whiteout_becomes_a_0_0_char_device") {
        return;
    }
    let jail = Jail::new("whiteout");
    let u = jail.unpack(&Tar::new().dir("dir/").file("dir/.wh.file", "").finish()).unwrap();
    assert_eq!(u.whiteouts, 1, "{u:?}");
    assert!(is_whiteout(&jail.at("dir/file")), "{:?}", jail.listing());
    assert!(
        fs::symlink_metadata(jail.at("dir/.wh.file")).is_err(),
        "the .wh. name itself was created"
    );
    jail.assert_outside_untouched();
}

/// `dir/.wh..wh..opq` marks `dir` opaque; `other/.wh..opq` is an ordinary whiteout of `.opq`
/// and must not.
#[test]
fn opaque_marker_becomes_the_overlay_xattr() {
    if !have_root("opaque_marker_becomes_the_overlay_xattr") {
        return;
    }
    let jail = Jail::new("opaque");
    let tar = Tar::new()
        .dir("dir/")
        .file("dir/.wh..wh..opq", "")
        .dir("other/")
        .file("other/.wh..opq", "")
        .finish();
    let u = jail.unpack(&tar).unwrap();
    assert_eq!(lgetxattr(&jail.at("dir"), "trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert!(fs::symlink_metadata(jail.at("dir/.wh..wh..opq")).is_err());
    assert_eq!(
        lgetxattr(&jail.at("other"), "trusted.overlay.opaque"),
        None,
        "other/ was made opaque"
    );
    assert!(is_whiteout(&jail.at("other/.opq")));
    assert_eq!(u.whiteouts, 2, "{u:?}");
    jail.assert_outside_untouched();
}

/// `.wh..`, `.wh.` and `.wh...` would whiteout the directory itself or its parent: refused.
#[test]
fn whiteouts_of_dot_names_are_refused() {
    if !have_root("whiteouts_of_dot_names_are_refused") {
        return;
    }
    for (i, name) in
        ["dir/.wh..", "dir/.wh.", "dir/.wh...", ".wh...", ".wh.."].into_iter().enumerate()
    {
        let jail = Jail::new(&format!("whiteout-dots-{i}"));
        let err =
            jail.refused(&Tar::new().dir("dir/").file("dir/keep", "x").file(name, "").finish());
        assert!(err.contains("whiteout"), "{name}: {err}");
        assert!(jail.at("dir").is_dir() && !is_whiteout(&jail.at("dir")), "{name}");
        jail.assert_outside_untouched();
    }
}

/// `evil -> ../outside`, then `evil/.wh.sentinel` and `evil/.wh..wh..opq`: the whiteout and the
/// xattr go to the layer's own `outside/`, never the host's.
#[test]
fn whiteouts_under_a_symlink_pointing_out_stay_inside() {
    if !have_root("whiteouts_under_a_symlink_pointing_out_stay_inside") {
        return;
    }
    let jail = Jail::new("whiteout-symlink");
    let tar = Tar::new()
        .dir("outside/")
        .file("outside/sentinel", "the layer's own")
        .symlink("evil", "../outside")
        .file("evil/.wh.sentinel", "")
        .file("evil/.wh..wh..opq", "")
        .finish();
    jail.unpack(&tar).unwrap();
    assert!(is_whiteout(&jail.at("outside/sentinel")));
    assert_eq!(
        lgetxattr(&jail.at("outside"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    jail.assert_outside_untouched();

    // Without the layer's own `outside/` there is nowhere inside to put them: refused.
    let jail = Jail::new("whiteout-symlink-missing");
    jail.refused(&Tar::new().symlink("evil", "../outside").file("evil/.wh.sentinel", "").finish());
    jail.refused(&Tar::new().symlink("evil", "../outside").file("evil/.wh..wh..opq", "").finish());
    jail.assert_outside_untouched();
}

// ---- xattrs ---------------------------------------------------------------------------------

/// PAX records asking for overlay's own xattrs (`trusted.overlay.opaque`, `.redirect`) on a file
/// or a directory: a layer must not forge them.
#[test]
fn overlay_xattrs_from_the_tar_are_not_applied() {
    if !have_root("overlay_xattrs_from_the_tar_are_not_applied") {
        return;
    }
    let jail = Jail::new("xattr-overlay");
    let forged: &[(&str, &[u8])] = &[
        ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
        ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
        ("SCHILY.xattr.trusted.overlay.metacopy", b""),
        ("SCHILY.xattr.security.selinux", b"system_u:object_r:shadow_t:s0"),
    ];
    let tar = Tar::new().pax(forged).file("f", "data").pax(forged).dir("d/").finish();
    jail.unpack(&tar).unwrap();
    for p in ["f", "d"] {
        assert_eq!(xattrs(&jail.at(p)), vec![], "{p} got xattrs from the tar");
    }
    jail.assert_outside_untouched();
}

/// `user.*` and `security.capability` (ping's cap_net_raw) are what a layer may set.
#[test]
fn user_and_capability_xattrs_are_applied() {
    if !have_root("user_and_capability_xattrs_are_applied") {
        return;
    }
    let jail = Jail::new("xattr-allowed");
    // vfs_cap_data v2, effective, permitted = CAP_NET_RAW (13).
    let cap: [u8; 20] = [0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let tar = Tar::new()
        .pax(&[("SCHILY.xattr.user.foo", b"bar"), ("SCHILY.xattr.security.capability", &cap)])
        .raw(header(REGULAR, "bin/ping").mode(0o755).owner(0, 0), b"ping")
        .finish();
    jail.unpack(&tar).unwrap();
    let ping = jail.at("bin/ping");
    assert_eq!(lgetxattr(&ping, "user.foo").as_deref(), Some(&b"bar"[..]));
    assert_eq!(lgetxattr(&ping, "security.capability").as_deref(), Some(&cap[..]));
    jail.assert_outside_untouched();
}

// ---- broken input and the diff_id -----------------------------------------------------------

/// A tarball cut in the middle of a file's data: an error that says so.
#[test]
fn truncated_file_data_is_an_error() {
    if !have_root("truncated_file_data_is_an_error") {
        return;
    }
    let jail = Jail::new("truncated");
    let whole = Tar::new().file("big", &"z".repeat(3000)).finish();
    let err = jail.refused(&whole[..BLOCK + 1000]);
    assert!(err.contains("truncated"), "{err}");
    jail.assert_outside_untouched();
}

/// Cut inside a header, or between entries inside the padding: also errors.
#[test]
fn truncated_header_or_padding_is_an_error() {
    if !have_root("truncated_header_or_padding_is_an_error") {
        return;
    }
    let jail = Jail::new("truncated-header");
    let whole = Tar::new().file("a", "aaa").file("b", "bbb").finish();
    // Inside the second header.
    let err = jail.refused(&whole[..2 * BLOCK + 100]);
    assert!(err.contains("truncated"), "{err}");
    // Inside the first file's padding, with the file itself complete.
    jail.reset();
    jail.refused(&whole[..BLOCK + 10]);
    jail.assert_outside_untouched();
}

/// Bytes that are not a tarball at all.
#[test]
fn garbage_is_an_error() {
    if !have_root("garbage_is_an_error") {
        return;
    }
    let jail = Jail::new("garbage");
    let garbage: Vec<u8> =
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 1).collect();
    jail.refused(&garbage);
    jail.refused(b"not a tarball, and shorter than one block");
    jail.refused(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]); // gzip magic: the caller decompresses, not us
    assert!(jail.listing().len() <= 1, "{:?}", jail.listing());
    jail.assert_outside_untouched();
}

/// The diff_id is the sha256 of the whole stream, trailing zero blocks included (GNU tar pads
/// to 10 KiB records), and tar_size its length.
#[test]
fn diff_id_is_the_sha256_of_the_whole_stream() {
    if !have_root("diff_id_is_the_sha256_of_the_whole_stream") {
        return;
    }
    let jail = Jail::new("diff-id");
    let mut bytes = Tar::new().dir("d/").file("d/f", "content").finish();
    let without_padding = Digest::of(&bytes);
    bytes.resize(10240, 0);
    let u = jail.unpack(&bytes).unwrap();
    assert_eq!(u.diff_id, Digest::of(&bytes));
    assert_ne!(u.diff_id, without_padding);
    assert_eq!(u.tar_size, bytes.len() as u64);
    assert_eq!(u.entries, 2);
    jail.assert_outside_untouched();
}

// ---- ownership, modes, times, replacement ----------------------------------------------------

/// uid 1234, gid 5678, mode 04755: all kept (set-uid survives the chown); a set-gid directory,
/// a FIFO and a symlink keep their owners too.
#[test]
fn owners_and_modes_are_kept() {
    if !have_root("owners_and_modes_are_kept") {
        return;
    }
    let jail = Jail::new("owners");
    let tar = Tar::new()
        .raw(header(REGULAR, "suid").mode(0o4755).owner(1234, 5678), b"#!/bin/sh\n")
        .raw(header(REGULAR, "sgid-sticky").mode(0o3711).owner(0, 42), b"")
        .raw(header(DIR, "shared/").mode(0o2775).owner(1000, 1001), b"")
        .raw(header(FIFO, "pipe").mode(0o620).owner(7, 8), b"")
        .raw(header(SYMLINK, "link").link("suid").owner(55, 66), b"")
        .finish();
    jail.unpack(&tar).unwrap();
    let got = |p: &str| {
        let m = fs::symlink_metadata(jail.at(p)).unwrap();
        (m.mode() & 0o7777, m.uid(), m.gid())
    };
    assert_eq!(got("suid"), (0o4755, 1234, 5678));
    assert_eq!(got("sgid-sticky"), (0o3711, 0, 42));
    assert_eq!(got("shared"), (0o2775, 1000, 1001));
    assert_eq!(got("pipe"), (0o620, 7, 8));
    assert!(fs::symlink_metadata(jail.at("pipe")).unwrap().file_type().is_fifo());
    assert_eq!(got("link").1, 55);
    assert_eq!(got("link").2, 66);
    jail.assert_outside_untouched();
}

/// Directories get their mtime from the tar even though children were created in them later;
/// files and symlinks too.
#[test]
fn mtimes_are_restored() {
    if !have_root("mtimes_are_restored") {
        return;
    }
    let jail = Jail::new("mtimes");
    let tar = Tar::new()
        .raw(header(DIR, "d/").mtime(1_000_000_000), b"")
        .raw(header(DIR, "d/e/").mtime(1_100_000_000), b"")
        .raw(header(REGULAR, "d/e/f").mtime(1_234_567_890), b"x")
        .raw(header(SYMLINK, "d/l").link("e/f").mtime(1_300_000_000), b"")
        .finish();
    jail.unpack(&tar).unwrap();
    let mtime = |p: &str| fs::symlink_metadata(jail.at(p)).unwrap().mtime();
    assert_eq!(mtime("d"), 1_000_000_000);
    assert_eq!(mtime("d/e"), 1_100_000_000);
    assert_eq!(mtime("d/e/f"), 1_234_567_890);
    assert_eq!(mtime("d/l"), 1_300_000_000);
    jail.assert_outside_untouched();
}

/// A later entry replaces an earlier one of the same name, whatever both are: the last one
/// wins, mode and mtime included.
#[test]
fn later_entries_replace_earlier_ones() {
    if !have_root("later_entries_replace_earlier_ones") {
        return;
    }
    let jail = Jail::new("replace");
    let tar = Tar::new()
        // file → directory
        .file("x", "a file")
        .dir("x/")
        .file("x/y", "inside x")
        // directory (with content) → file
        .dir("d/")
        .file("d/old", "old")
        .file("d", "now a file")
        // symlink → file, file → symlink
        .symlink("s", "/etc")
        .file("s", "now a file")
        .file("t", "a file")
        .symlink("t", "x/y")
        // directory → directory: kept, the later mode and mtime win
        .raw(header(DIR, "again/").mode(0o700).mtime(100), b"")
        .file("again/kept", "kept")
        .raw(header(DIR, "again/").mode(0o755).mtime(200), b"")
        // file → file
        .file("f", "first")
        .file("f", "second")
        .finish();
    jail.unpack(&tar).unwrap();
    assert_eq!(fs::read_to_string(jail.at("x/y")).unwrap(), "inside x");
    assert_eq!(fs::read_to_string(jail.at("d")).unwrap(), "now a file");
    assert!(fs::symlink_metadata(jail.at("s")).unwrap().is_file());
    assert_eq!(fs::read_link(jail.at("t")).unwrap(), Path::new("x/y"));
    let again = fs::metadata(jail.at("again")).unwrap();
    assert_eq!((again.mode() & 0o7777, again.mtime()), (0o755, 200));
    assert_eq!(fs::read_to_string(jail.at("again/kept")).unwrap(), "kept");
    assert_eq!(fs::read_to_string(jail.at("f")).unwrap(), "second");
    jail.assert_outside_untouched();
}
