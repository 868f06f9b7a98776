//! The automatic check of exercise 07: `07-commit --check`.
//!
//! It mounts a real overlay over a lower layer of a few files and directories, and changes
//! files through it as a container would — so the kernel itself writes the copy-ups, the
//! whiteouts and the opaque directory into the upper directory. It packs that upper directory
//! with the exercise's walk and reads the tarball's entries. Then the proof a user would ask
//! for: the library's own unpacker unpacks the layer, and the layer mounted on top of the lower
//! layer must show exactly what the container saw.

use minidocker::commit::{self, Rules};
use minidocker::image::pack;
use minidocker::image::whiteout::{self, OPAQUE_MARKER, WHITEOUT_PREFIX};
use minidocker::lesson::{CheckDir, Lab};
use minidocker::{image::unpack, report, rootfs, sys};
use nix::mount::{MntFlags, MsFlags};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The lower layer: (path, content), a directory for each parent.
const LOWER: [(&str, &str); 9] = [
    ("keep.txt", "keep\n"),
    ("old.txt", "old\n"),
    ("etc/motd", "base\n"),
    ("sub/deep/x.txt", "x\n"),
    ("sub/deep/y.txt", "y\n"),
    ("gone/a.txt", "a\n"),
    ("gone/inner/b.txt", "b\n"),
    ("data/a.txt", "a\n"),
    ("data/b.txt", "b\n"),
];
/// The whiteouts the layer must carry: one per deleted path, in its own directory.
const WHITEOUTS: [&str; 3] = [".wh.gone", ".wh.old.txt", "sub/deep/.wh.x.txt"];
/// The directory the container deleted and made again, so overlay made it opaque.
const OPAQUE: &str = "data";
/// What the container added or changed, which the layer must carry.
const CHANGED: [&str; 5] = ["new.txt", "again.txt", "latest", "etc/motd", "data/c.txt"];

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    rootfs::private_mount_namespace()?;
    let dir = CheckDir::new("check07");
    let [lower, upper, work, merged, unpacked, view] =
        ["lower", "upper", "work", "merged", "unpacked", "view"].map(|d| dir.0.join(d));
    for d in [&lower, &upper, &work, &merged, &unpacked, &view] {
        fs::create_dir_all(d)?;
    }

    lab.step("A lower layer, and a container's changes through a real overlay mount")?;
    for (path, content) in LOWER {
        fs::create_dir_all(lower.join(path).parent().unwrap())?;
        fs::write(lower.join(path), content)?;
    }
    let container_view = {
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            upper.display(),
            work.display()
        );
        let _m = Mounted::overlay(&merged, &options)?;
        let m = |p: &str| merged.join(p);
        fs::write(m("new.txt"), "new\n")?;
        fs::hard_link(m("new.txt"), m("again.txt"))?;
        std::os::unix::fs::symlink("sub/deep", m("latest"))?;
        fs::remove_file(m("old.txt"))?;
        let motd = fs::read_to_string(m("etc/motd"))?;
        fs::write(m("etc/motd"), motd + "changed in the container\n")?;
        fs::remove_file(m("sub/deep/x.txt"))?;
        fs::remove_dir_all(m("gone"))?;
        fs::remove_dir_all(m(OPAQUE))?;
        fs::create_dir(m(OPAQUE))?;
        fs::write(m("data/c.txt"), "c\n")?;
        tree(&merged)?
    }; // unmounted here
    report::say(
        "The container: wrote new.txt (and again.txt, a hard link to it), the symlink latest -> sub/deep,",
    );
    report::say("changed etc/motd, deleted old.txt, sub/deep/x.txt and the directory gone/, and");
    report::say("deleted data/ and made it again with only c.txt. The kernel's upper directory:");
    for p in commit::upper_paths(&upper)? {
        report::evidence(
            &format!("  upper/{}", p.display()),
            &commit::describe_upper_entry(&upper.join(&p)),
        );
    }
    anyhow::ensure!(
        whiteout::is_opaque(&upper.join(OPAQUE)),
        "this kernel's overlay did not mark the re-made data/ opaque (trusted.overlay.opaque=y), \
         which the check needs: it cannot run on this kernel"
    );

    lab.step("Your walk packs the upper directory into a layer tarball")?;
    let tar = dir.0.join("layer.tar");
    if let Err(e) = pack::pack(&upper, &[], rules.pack_rw_layer, fs::File::create(&tar)?) {
        lab.expect(false, format!("your pack_rw_layer packs the upper directory ({e:#})"));
        return Ok(lab.check_outcome());
    }
    let entries = entries(&tar)?;
    for e in &entries {
        report::evidence("  tar", &e.text);
    }
    let find = |p: &str| entries.iter().find(|e| e.path.trim_end_matches('/') == p);
    let empty_file = |p: &str| find(p).is_some_and(|e| e.kind == 'f' && e.size == 0);

    let devices: Vec<&str> =
        entries.iter().filter(|e| e.kind == 'c').map(|e| e.path.as_str()).collect();
    lab.expect(
        devices.is_empty(),
        format!(
            "no character device in the layer{}",
            list(
                &devices,
                " — found: {}: overlay's 0:0 whiteouts copied as they are; OCI writes a deletion as an empty .wh.NAME"
            )
        ),
    );
    let missing: Vec<&str> = WHITEOUTS.into_iter().filter(|w| !empty_file(w)).collect();
    lab.expect(
        missing.is_empty(),
        format!(
            "each deleted path has its whiteout, an empty file in the deleted path's own directory{}",
            list(&missing, " — missing: {}")
        ),
    );
    let stray: Vec<&str> = entries
        .iter()
        .map(|e| e.path.as_str())
        .filter(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(WHITEOUT_PREFIX))
                && !WHITEOUTS.contains(p)
                && *p != format!("{OPAQUE}/{OPAQUE_MARKER}")
        })
        .collect();
    lab.expect(
        stray.is_empty(),
        format!("no other whiteout or opaque marker{}", list(&stray, " — found: {}")),
    );
    lab.expect(
        empty_file(&format!("{OPAQUE}/{OPAQUE_MARKER}")),
        format!(
            "the opaque directory {OPAQUE}/ holds an empty {OPAQUE_MARKER}{}",
            if find(OPAQUE).is_none() { " (data/ itself is not in the layer)" } else { "" }
        ),
    );
    let absent: Vec<&str> = CHANGED.into_iter().filter(|p| find(p).is_none()).collect();
    lab.expect(
        absent.is_empty(),
        format!(
            "what the container added or changed is in the layer{}",
            list(&absent, " — missing: {}")
        ),
    );

    lab.step("The proof: the layer unpacked on top of the lower layer")?;
    match unpack::unpack(fs::File::open(&tar)?, &unpacked) {
        Err(e) => lab.expect(
            false,
            format!("the library's unpacker takes your layer (it refused it: {e:#})"),
        ),
        Ok(u) => {
            report::evidence(
                "unpacked",
                &format!(
                    "{} entries, {} whiteouts, diff_id {}",
                    u.entries,
                    u.whiteouts,
                    &u.diff_id.hex()[..12]
                ),
            );
            let options = format!("lowerdir={}:{}", unpacked.display(), lower.display());
            let image_view = {
                let _m = Mounted::overlay(&view, &options)?;
                tree(&view)?
            };
            let diffs = differences(&container_view, &image_view, &lower);
            lab.expect(
                diffs.is_empty(),
                format!(
                    "an overlay of your layer on the lower one shows exactly the container's files{}",
                    list(&diffs.iter().map(String::as_str).collect::<Vec<_>>(), " — but: {}")
                ),
            );
        }
    }
    Ok(lab.check_outcome())
}

/// An overlay mounted for the check, unmounted when dropped.
struct Mounted(PathBuf);

impl Mounted {
    fn overlay(at: &Path, options: &str) -> minidocker::Result<Mounted> {
        sys::mount(Some("overlay"), at, Some("overlay"), MsFlags::empty(), Some(options))?;
        Ok(Mounted(at.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = sys::umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

/// Every path below `root` → what it is: `file 0644 "new\n"`, `dir 0755`, `symlink -> x`.
fn tree(root: &Path) -> minidocker::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in commit::upper_paths(root)? {
        let full = root.join(&p);
        let m = fs::symlink_metadata(&full)?;
        let mode = m.permissions().mode() & 0o7777;
        let what = if m.is_dir() {
            format!("dir {mode:04o}")
        } else if m.file_type().is_symlink() {
            format!("symlink -> {}", fs::read_link(&full)?.display())
        } else if m.is_file() {
            format!("file {mode:04o} {:?}", fs::read_to_string(&full).unwrap_or_default())
        } else {
            format!("special file, rdev {}", m.rdev())
        };
        out.insert(p.to_string_lossy().into_owned(), what);
    }
    Ok(out)
}

/// How the image's view differs from the container's, one phrase per path (four at most).
fn differences(
    container: &BTreeMap<String, String>,
    image: &BTreeMap<String, String>,
    lower: &Path,
) -> Vec<String> {
    let mut out = Vec::new();
    for (p, what) in container {
        match image.get(p) {
            None => out.push(format!("{p} is missing")),
            Some(w) if w != what => out.push(format!("{p} is {w} (the container's: {what})")),
            Some(_) => {}
        }
    }
    for p in image.keys().filter(|p| !container.contains_key(*p)) {
        let how = if lower.join(p).exists() { "is back" } else { "appeared" };
        out.push(format!("{p} {how}"));
    }
    if out.len() > 4 {
        let more = out.len() - 4;
        out.truncate(4);
        out.push(format!("and {more} more"));
    }
    out
}

/// `template` with `{}` replaced by the items, or nothing when there are none.
fn list(items: &[&str], template: &str) -> String {
    if items.is_empty() {
        String::new()
    } else {
        template.replace("{}", &items.join(", "))
    }
}

/// One entry of the tarball, as `tar tv` lists it.
struct Entry {
    path: String,
    /// `f` file, `d` directory, `l` symlink, `h` hard link, `c` character device, `?` other.
    kind: char,
    size: u64,
    text: String,
}

fn entries(tar: &Path) -> minidocker::Result<Vec<Entry>> {
    let mut archive = tar::Archive::new(fs::File::open(tar)?);
    let mut out = Vec::new();
    for e in archive.entries()? {
        let e = e?;
        let h = e.header();
        let path = e.path()?.to_string_lossy().into_owned();
        let size = h.size()?;
        let (kind, extra) = match h.entry_type() {
            tar::EntryType::Regular => ('f', format!("file, {size} bytes")),
            tar::EntryType::Directory => ('d', "directory".into()),
            tar::EntryType::Symlink => ('l', format!("symlink -> {}", link(&e))),
            tar::EntryType::Link => ('h', format!("hard link to {}", link(&e))),
            tar::EntryType::Char => {
                let (major, minor) =
                    (h.device_major()?.unwrap_or(0), h.device_minor()?.unwrap_or(0));
                ('c', format!("character device {major}:{minor}"))
            }
            other => ('?', format!("{other:?}")),
        };
        out.push(Entry { text: format!("{path:<22} {extra}"), path, kind, size });
    }
    Ok(out)
}

fn link<R: std::io::Read>(e: &tar::Entry<R>) -> String {
    e.link_name().ok().flatten().map(|l| l.display().to_string()).unwrap_or_default()
}
