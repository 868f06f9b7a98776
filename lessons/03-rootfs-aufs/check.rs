//! The automatic check of exercise 03: `03-rootfs-aufs --check`.
//!
//! It builds three tiny layers where the same files differ, mounts them with the exercise's
//! options, and reads the merged tree: the right version must win, writes must land in the
//! upper layer, and a delete must leave what `is_whiteout` recognises.

use minidocker::lesson::{CheckDir, Lab};
use minidocker::rootfs::{self, Layers, Rules};
use minidocker::{report, sys};
use nix::mount::MntFlags;
use std::fs;
use std::path::{Path, PathBuf};

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    lab.step("Three small layers that disagree")?;
    rootfs::private_mount_namespace()?;
    let base = CheckDir::new("check03");
    let layers = Layers {
        image: vec!["bottom".into(), "top".into()],
        init: "init".into(),
        upper: "upper".into(),
        work: "work".into(),
    };
    for (file, content) in [
        ("bottom/a.txt", "bottom"),
        ("bottom/only-bottom.txt", "deep"),
        ("bottom/etc/hostname", "image"),
        ("top/a.txt", "top"),
        ("init/etc/hostname", "init"),
    ] {
        let p = base.0.join(file);
        fs::create_dir_all(p.parent().unwrap())?;
        fs::write(p, content)?;
    }
    for d in ["upper", "work", "merged"] {
        fs::create_dir_all(base.0.join(d))?;
    }
    report::say("bottom: a.txt=bottom only-bottom.txt etc/hostname=image · top: a.txt=top · init: etc/hostname=init");

    lab.step("Mount them with overlay_options()")?;
    let options = (rules.overlay_options)(&layers);
    report::evidence("overlay_options()", &format!("{options:?}"));
    let merged = base.0.join("merged");
    let mounted = layers.mount(&base.0, &merged, rules);
    lab.expect(
        mounted.is_ok(),
        format!(
            "the kernel accepts the options ({})",
            mounted.as_ref().err().map_or("mounted".into(), |e| format!("{e:#}"))
        ),
    );
    if mounted.is_ok() {
        let _unmount = Unmount(merged.clone());
        let read =
            |f: &str| fs::read_to_string(merged.join(f)).unwrap_or_else(|_| "(missing)".into());
        lab.expect(
            read("a.txt") == "top",
            format!("the topmost image layer wins: a.txt = {:?}", read("a.txt")),
        );
        lab.expect(read("only-bottom.txt") == "deep", "files of the bottom layer show through");
        lab.expect(
            read("etc/hostname") == "init",
            format!("the init layer is above the image: etc/hostname = {:?}", read("etc/hostname")),
        );
        fs::write(merged.join("new.txt"), "new")?;
        lab.expect(base.0.join("upper/new.txt").exists(), "a new file lands in the upper layer");

        lab.step("Delete a file through the merged tree")?;
        fs::remove_file(merged.join("a.txt"))?;
        let left = fs::symlink_metadata(base.0.join("upper/a.txt"));
        lab.expect(
            left.as_ref().is_ok_and(|m| (rules.is_whiteout)(m)),
            "is_whiteout() recognises what the delete left in the upper layer",
        );
        lab.expect(
            fs::read_to_string(base.0.join("top/a.txt"))? == "top",
            "the image layer's a.txt is untouched",
        );
    }

    lab.step("A whiteout made by hand, and things that are not whiteouts")?;
    let made = base.0.join("whiteout");
    sys::mknod_char(&made, 0, 0, 0)?;
    lab.expect(
        (rules.is_whiteout)(&fs::symlink_metadata(&made)?),
        "is_whiteout() is true for a character device 0:0 made with mknod",
    );
    let null = base.0.join("null");
    sys::mknod_char(&null, 0o666, 1, 3)?;
    for (what, p) in [
        ("a regular file", base.0.join("bottom/a.txt")),
        ("a directory", base.0.join("bottom")),
        ("the character device 1:3 (/dev/null)", null),
    ] {
        let m = fs::symlink_metadata(&p)?;
        lab.expect(!(rules.is_whiteout)(&m), format!("is_whiteout() is false for {what}"));
    }
    Ok(lab.check_outcome())
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = sys::umount2(Path::new(&self.0), MntFlags::MNT_DETACH);
    }
}
