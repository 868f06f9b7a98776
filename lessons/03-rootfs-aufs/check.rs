//! The automatic check of exercise 03: `03-rootfs-aufs --check`.
//!
//! It builds three tiny layers where the same files differ, mounts them with the exercise's
//! options, and reads the merged tree: the right version must win, writes must land in the
//! upper layer, and a delete must leave what `is_whiteout` recognises. Then a child switches
//! root with `switch_root` — into the overlay, and into a plain directory — and the check reads
//! from outside what the kernel shows of that child: its mount table, its files, and the root
//! of its mount namespace.

use minidocker::lesson::{fork_child, CheckDir, Lab, Unmount};
use minidocker::rootfs::{self, Layers, Rules};
use minidocker::{report, sys};
use nix::sched::CloneFlags;
use std::fs;
use std::os::fd::AsFd;
use std::path::Path;

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
        let wrote = fs::write(merged.join("new.txt"), "new");
        lab.expect(
            wrote.is_ok() && base.0.join("upper/new.txt").exists(),
            format!(
                "a new file lands in the upper layer{}",
                wrote.err().map(|e| format!(" (writing it failed: {e})")).unwrap_or_default()
            ),
        );

        lab.step("switch_root() into the overlay, in a child")?;
        check_switch(lab, rules, &merged, "top")?;

        lab.step("Delete a file through the merged tree")?;
        let _ = fs::remove_file(merged.join("a.txt"));
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
    lab.step("switch_root() into a plain directory: not a mount point")?;
    let plain = base.0.join("plain");
    fs::create_dir_all(&plain)?;
    fs::write(plain.join("a.txt"), "plain")?;
    check_switch(lab, rules, &plain, "plain")?;
    Ok(lab.check_outcome())
}

/// Start a child in a mount namespace of its own that switches root to `new_root` with the
/// exercise's `switch_root` and waits; look at it from outside; kill it. `a_txt` is what its
/// `/a.txt` must hold.
fn check_switch(
    lab: &mut Lab,
    rules: &Rules,
    new_root: &Path,
    a_txt: &str,
) -> minidocker::Result<()> {
    let switch = rules.switch_root;
    let child = fork_child(&|| {
        sys::unshare(CloneFlags::CLONE_NEWNS)?;
        switch(new_root).map(|()| "ok".into())
    })?;
    let said = child.said.clone();
    lab.expect(said == "ok", format!("switch_root({}) succeeds ({said})", new_root.display()));
    if said != "ok" {
        return Ok(());
    }
    let proc = |f: &str| format!("/proc/{}/{f}", child.pid);
    // What the process sees at /a.txt: through /proc/PID/root, which is its root directory.
    let seen = fs::read_to_string(proc("root/a.txt")).unwrap_or_else(|_| "(missing)".into());
    lab.expect(seen == a_txt, format!("its /a.txt is {a_txt:?} (found {seen:?})"));
    // Its mount table, as it sees it: mounts it cannot reach from its root are not listed.
    let table = fs::read_to_string(proc("mountinfo"))?;
    let points: Vec<&str> = table.lines().filter_map(|l| l.split(' ').nth(4)).collect();
    report::evidence("its mount table", &points.join(" "));
    lab.expect(
        points == ["/"],
        format!(
            "its mount table lists its root and nothing else: the old root is gone ({} mounts)",
            points.len()
        ),
    );
    if let Some(line) = table.lines().next() {
        report::evidence("its / in mountinfo", line);
    }
    // The root of its mount namespace: what a process entering the namespace (setns) stands
    // on. pivot_root moved the new root there; chroot would have left the host's root.
    let ns = fs::File::open(proc("ns/mnt"))?;
    let entered = fork_child(&|| {
        nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNS)?;
        Ok(fs::read_to_string("/a.txt").unwrap_or_else(|_| "(missing)".into()))
    })?;
    lab.expect(
        entered.said == a_txt,
        format!(
            "the root of its mount namespace is the new root: /a.txt there is {:?} (pivot_root, not chroot)",
            entered.said
        ),
    );
    Ok(())
}
