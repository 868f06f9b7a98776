//! The automatic check of exercise 08: `08-volumes-bind-mount --check`.
//!
//! First it reads a table of `-v` specifications with the exercise's `parse`. Then, in a mount
//! namespace of its own, it lays out a directory standing for a container's merged tree, with
//! an image's `/test` in it (files of owner 1000, modes 0640 and 0700, a symlink), and mounts
//! volumes and host directories on it exactly as a container's child does — `prepare` fills
//! what the exercise's `fills_from_image` says, `mount_all` makes the bind mounts — and reads
//! the kernel's answer: the mount table, what each side sees, inode numbers, EROFS.

use super::listing;
use minidocker::lesson::{CheckDir, Lab};
use minidocker::volumes::{self, Mount, Rules, Source, Spec};
use minidocker::{report, rootfs, sys};
use nix::mount::MntFlags;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    rootfs::private_mount_namespace()?;
    let dir = CheckDir::new("check08");
    let root = dir.0.join("store");
    fs::create_dir_all(&root)?;

    lab.step("Reading -v")?;
    let spec = |source: Source, destination: &str, read_only: bool, no_copy: bool| Spec {
        source,
        destination: destination.into(),
        read_only,
        no_copy,
    };
    let named = |n: &str| Source::Named(n.into());
    let host = |p: &str| Source::Host(p.into());
    let good = [
        ("/test", spec(Source::Anonymous, "/test", false, false)),
        ("data:/test", spec(named("data"), "/test", false, false)),
        ("data:/test:ro", spec(named("data"), "/test", true, false)),
        ("/srv/www:/usr/share/www", spec(host("/srv/www"), "/usr/share/www", false, false)),
        ("/srv/www/:/test/:rw", spec(host("/srv/www"), "/test", false, false)),
        ("/home:/test:ro", spec(host("/home"), "/test", true, false)),
        ("pg_data.1:/var/lib/db:nocopy", spec(named("pg_data.1"), "/var/lib/db", false, true)),
        ("cache:/cache:ro,nocopy", spec(named("cache"), "/cache", true, true)),
    ];
    for (text, want) in good {
        let got = (rules.parse)(text);
        let shown = match &got {
            Ok(s) => format!("{s:?}"),
            Err(e) => format!("error: {e:#}"),
        };
        lab.expect(got.as_ref().is_ok_and(|s| *s == want), format!("-v {text} → {shown}"));
    }
    let bad = [
        "::",
        ":/test",
        "data:test",
        "data:",
        "/test:ro",
        "data:/",
        "/a:/b:ro:x",
        "./src:/test",
        "data:/test:rx",
        "data:/test:ro,rw",
        "/home:/test:nocopy",
        "",
    ];
    for text in bad {
        let got = (rules.parse)(text);
        let shown = match &got {
            Ok(s) => format!("accepted as {s:?}"),
            Err(e) => format!("refused: {e:#}"),
        };
        lab.expect(got.is_err(), format!("-v {text:?} {shown}"));
    }

    lab.step("An image's /test, in a tree standing for the container's merged rootfs")?;
    let merged = dir.0.join("merged");
    let image_test = merged.join("test");
    fs::create_dir_all(image_test.join("sub"))?;
    fs::write(image_test.join("image.txt"), "from the image\n")?;
    fs::write(image_test.join("sub/deep.txt"), "deeper\n")?;
    std::os::unix::fs::symlink("image.txt", image_test.join("link"))?;
    for (p, mode) in [("image.txt", 0o640), ("sub", 0o700), ("sub/deep.txt", 0o600), ("", 0o750)] {
        let p = image_test.join(p);
        std::os::unix::fs::lchown(&p, Some(1000), Some(1000))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
    }
    report::evidence("merged/test", &listing(&image_test));

    lab.step("-v /test: an anonymous volume, filled from the image")?;
    if let Some(m) = mounted(lab, &root, &merged, rules, "/test") {
        let data = volumes::data_dir(&root, &m.mount.volume);
        report::evidence("its _data", &listing(&data));
        // Field 4 is the mounted directory as its filesystem names it (the path from that
        // filesystem's root, which is the host's / unless the store is on another mount).
        let of_data = m
            .line
            .as_deref()
            .and_then(|l| l.split(' ').nth(3))
            .is_some_and(|r| data.to_string_lossy().ends_with(r));
        lab.expect(
            of_data,
            format!(
                "the kernel's mount table has the bind mount of _data on merged/test ({})",
                m.line.as_deref().unwrap_or("no line")
            ),
        );
        let meta = |p: &str| fs::symlink_metadata(data.join(p)).ok();
        lab.expect(
            meta("image.txt").is_some_and(|m| m.uid() == 1000 && m.mode() & 0o7777 == 0o640),
            "the image's image.txt is in the volume, owner 1000, mode 0640",
        );
        lab.expect(
            meta("sub/deep.txt").is_some()
                && meta("sub").is_some_and(|m| m.mode() & 0o7777 == 0o700),
            "with sub/ (mode 0700) and sub/deep.txt",
        );
        lab.expect(
            meta("link").is_some_and(|m| m.file_type().is_symlink()),
            "the symlink is copied as a symlink",
        );
        lab.expect(
            meta("").is_some_and(|m| m.uid() == 1000 && m.mode() & 0o7777 == 0o750),
            "_data itself took /test's owner and mode (1000, 0750)",
        );
        let written = fs::write(image_test.join("new.txt"), "written in the container\n");
        let (a, b) = (ino(&image_test.join("new.txt")), ino(&data.join("new.txt")));
        let show = |i: Option<(u64, u64)>| {
            i.map_or("missing".to_string(), |(dev, ino)| {
                format!("device {}:{} inode {ino}", libc::major(dev), libc::minor(dev))
            })
        };
        lab.expect(written.is_ok() && a.is_some() && a == b, format!("a file written at merged/test/new.txt is _data/new.txt: one inode, two paths ({} and {})", show(a), show(b)));
    }

    lab.step("-v data:/test:ro — a named volume, read-only")?;
    if let Some(m) = mounted(lab, &root, &merged, rules, "data:/test:ro") {
        let data = volumes::data_dir(&root, &m.mount.volume);
        lab.expect(
            data.join("image.txt").exists(),
            format!("new and empty, it was filled from the image too ({})", listing(&data)),
        );
        let options =
            m.line.as_deref().and_then(|l| l.split(' ').nth(5)).unwrap_or("?").to_string();
        lab.expect(
            options.split(',').any(|o| o == "ro"),
            format!("its mount is read-only in the mount table ({options})"),
        );
        let refused = fs::write(image_test.join("x.txt"), "x").err().and_then(|e| e.raw_os_error());
        lab.expect(
            refused == Some(libc::EROFS),
            format!("a write through it fails with EROFS ({refused:?})"),
        );
    }
    // Meanwhile the volume was used: the image's file deleted, another one made.
    let data = volumes::data_dir(&root, "data");
    if data.is_dir() {
        let _ = fs::remove_file(data.join("image.txt"));
        fs::write(data.join("kept.txt"), "a container's work\n")?;
    }

    lab.step("-v data:/test again, now that the volume is not empty")?;
    if let Some(_m) = mounted(lab, &root, &merged, rules, "data:/test") {
        report::evidence("its _data", &listing(&data));
        lab.expect(data.join("kept.txt").exists() && !data.join("image.txt").exists(), "nothing is copied again: the volume keeps what containers made of it (kept.txt, no image.txt)");
    }

    lab.step("A host directory bind-mounted on /test")?;
    let full = dir.0.join("host-full");
    fs::create_dir_all(&full)?;
    fs::write(full.join("host.txt"), "from the host\n")?;
    if let Some(_m) = mounted(lab, &root, &merged, rules, &format!("{}:/test", full.display())) {
        report::evidence("merged/test", &listing(&image_test));
        lab.expect(
            image_test.join("host.txt").exists() && !image_test.join("image.txt").exists(),
            "the container sees the host's host.txt, and the image's files are hidden",
        );
        lab.expect(
            !full.join("image.txt").exists(),
            format!("nothing of the image was copied into the host directory ({})", listing(&full)),
        );
    }
    lab.expect(
        image_test.join("image.txt").exists(),
        "unmounted, merged/test shows the image's files again: they were never touched",
    );
    let empty = dir.0.join("host-empty");
    fs::create_dir_all(&empty)?;
    if let Some(_m) = mounted(lab, &root, &merged, rules, &format!("{}:/test", empty.display())) {
        lab.expect(
            volumes::is_empty(&empty),
            format!(
                "an EMPTY host directory gets nothing either — the article's question 2 ({})",
                listing(&empty)
            ),
        );
    }

    lab.step("-v fresh:/test:nocopy")?;
    if let Some(m) = mounted(lab, &root, &merged, rules, "fresh:/test:nocopy") {
        let data = volumes::data_dir(&root, &m.mount.volume);
        lab.expect(
            volumes::is_empty(&data),
            format!("nocopy: the new volume stays empty ({})", listing(&data)),
        );
    }
    Ok(lab.check_outcome())
}

/// One `-v` mounted on `merged` the way a container's child mounts it; unmounted on drop.
struct Mounted {
    mount: Mount,
    /// Its line in this namespace's /proc/self/mountinfo.
    line: Option<String>,
    targets: Vec<PathBuf>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        for t in self.targets.iter().rev() {
            let _ = sys::umount2(t, MntFlags::MNT_DETACH);
        }
    }
}

/// parse → attach (the volume made) → prepare (copyData by the rule) → mount_all. A failure
/// is a failed check, not the end of the run.
fn mounted(
    lab: &mut Lab,
    root: &Path,
    merged: &Path,
    rules: &Rules,
    text: &str,
) -> Option<Mounted> {
    let result = (|| -> minidocker::Result<Mounted> {
        let spec = volumes::parse_with(rules, text)?;
        let mut mounts = vec![Mount { spec, volume: String::new() }];
        drop(volumes::attach(root, &mut mounts)?);
        let binds = volumes::prepare(root, &mounts, merged, rules)?;
        let targets = volumes::mount_all(merged, &binds)?;
        let table = fs::read_to_string("/proc/self/mountinfo")?;
        let target = targets.first().map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
        let line =
            table.lines().rev().find(|l| l.split(' ').nth(4) == Some(&target)).map(str::to_owned);
        Ok(Mounted { mount: mounts.remove(0), line, targets })
    })();
    match result {
        Ok(m) => {
            report::evidence(
                &format!("-v {text}"),
                m.line.as_deref().unwrap_or("(no line in the mount table)"),
            );
            Some(m)
        }
        Err(e) => {
            lab.expect(false, format!("-v {text} mounts ({e:#})"));
            None
        }
    }
}

fn ino(p: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(p).ok().map(|m| (m.dev(), m.ino()))
}
