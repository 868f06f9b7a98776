//! The automatic check of exercise 08: `08-volumes-bind-mount --check`.
//!
//! In a mount namespace of its own, on a tmpfs of its own, it lays out a small image (a layer
//! whose `/test`, `/srv`, `/opt` and `/var/cache` have files), mounts it as a container's
//! overlay, and runs what a container's monitor and child run, through the library with the
//! exercise's rules: `prepare` (copyData, by `fill_from_image`), then in a child with a mount
//! namespace of its own `volumes::enter` (the rootfs made ready, then `mount_volumes`, which
//! switches root). Then it reads the kernel's answer from outside: the child's
//! `/proc/PID/mountinfo`, writes made inside its mount namespace, the host directories, the
//! volumes, the overlay's upper layer, and the mount tables the child came from.

use super::listing;
use minidocker::lesson::{fork_child, CheckDir, Forked, Lab, Unmount};
use minidocker::rootfs::{self, Layers};
use minidocker::volumes::{self, Mount, Rules};
use minidocker::{report, sys};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let dir = CheckDir::new("check08");
    let on_host = |t: &str| t.lines().filter(|l| l.contains(&*dir.0.to_string_lossy())).count();
    let host_before = on_host(&fs::read_to_string("/proc/1/mountinfo")?);
    rootfs::private_mount_namespace()?;
    fs::create_dir_all(&dir.0)?;
    // Everything of the check is on this tmpfs: a remount that reached a whole filesystem
    // (MS_REMOUNT without MS_BIND) would make it read-only, not the host's disk. nosuid,
    // nodev, noexec, as /tmp often is: a read-only remount must keep them.
    let strict = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys::mount(Some("tmpfs"), &dir.0, Some("tmpfs"), strict, Some("mode=0755"))?;
    let _tmpfs = Unmount(dir.0.clone());
    let base = &dir.0;
    let store = base.join("store");

    lab.step("An image, mounted as a container's overlay")?;
    for d in ["layer/proc", "layer/dev", "layer/sys", "init", "upper", "work", "merged", "store"] {
        fs::create_dir_all(base.join(d))?;
    }
    for (file, content) in [
        ("test/image.txt", "from the image\n"),
        ("test/sub/deep.txt", "deeper\n"),
        ("srv/image.txt", "from the image\n"),
        ("opt/image.txt", "from the image\n"),
        ("var/cache/image.txt", "from the image\n"),
    ] {
        let p = base.join("layer").join(file);
        fs::create_dir_all(p.parent().unwrap_or(base))?;
        fs::write(p, content)?;
    }
    let image_test = base.join("layer/test");
    std::os::unix::fs::symlink("image.txt", image_test.join("link"))?;
    for (p, mode) in [("image.txt", 0o640), ("sub", 0o700), ("", 0o750)] {
        let p = image_test.join(p);
        std::os::unix::fs::lchown(&p, Some(1000), Some(1000))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
    }
    let layers = Layers {
        image: vec!["layer".into()],
        init: "init".into(),
        upper: "upper".into(),
        work: "work".into(),
    };
    let merged = base.join("merged");
    layers.mount(base, &merged, &rootfs::RULES)?;
    let _overlay = Unmount(merged.clone());
    report::evidence("the image's /test", &listing(&image_test));

    // The host's side: a directory with a file and a mount below it, a read-only one, an
    // empty one.
    let (rw, ro, empty) = (base.join("host-rw"), base.join("host-ro"), base.join("host-empty"));
    for d in [rw.join("sub"), ro.clone(), empty.clone()] {
        fs::create_dir_all(d)?;
    }
    fs::write(rw.join("host.txt"), "from the host\n")?;
    fs::write(ro.join("ro.txt"), "from the host\n")?;
    sys::mount(Some("tmpfs"), &rw.join("sub"), Some("tmpfs"), MsFlags::empty(), None)?;
    let _sub = Unmount(rw.join("sub"));
    fs::write(rw.join("sub/below.txt"), "mounted below the source\n")?;
    let conf = base.join("app.conf");
    fs::write(&conf, "a file of the host\n")?;

    lab.step(
        "TODO 1 and 2: -v data:/test -v host-rw:/srv -v host-ro:/ro:ro -v app.conf:/etc/app.conf",
    )?;
    let texts = [
        "data:/test".into(),
        format!("{}:/srv", rw.display()),
        format!("{}:/ro:ro", ro.display()),
        format!("{}:/etc/app.conf", conf.display()),
    ];
    let data = volumes::data_dir(&store, "data");
    let Some(child) = started(lab, &store, &merged, rules, &texts) else {
        return Ok(lab.check_outcome());
    };
    let table = fs::read_to_string(format!("/proc/{}/mountinfo", child.pid))?;
    let line = |point: &str| {
        table.lines().rev().find(|l| l.split(' ').nth(4) == Some(point)).map(str::to_owned)
    };
    // Field 3 is the device, 4 the directory mounted (from its filesystem's root — here the
    // check's tmpfs), 5 the mount point, 6 the mount's options.
    let field = |l: &Option<String>, n: usize| {
        l.as_deref().and_then(|l| l.split(' ').nth(n)).unwrap_or("").to_string()
    };
    let on_tmpfs = |p: &Path| Path::new("/").join(p.strip_prefix(base).unwrap_or(p));
    for (point, source) in [("/test", &data), ("/srv", &rw), ("/ro", &ro), ("/etc/app.conf", &conf)]
    {
        let l = line(point);
        report::evidence(&format!("its mountinfo, {point}"), l.as_deref().unwrap_or("no line"));
        lab.expect(
            Path::new(&field(&l, 3)) == on_tmpfs(source),
            format!(
                "TODO 1: {} is bind-mounted on {point} in the container's mount table (mounted: {:?})",
                source.display(),
                field(&l, 3)
            ),
        );
        let want = if point == "/ro" { "ro" } else { "rw" };
        lab.expect(
            field(&l, 5).split(',').next() == Some(want),
            format!("TODO 1: {point} is {want} in the mount table ({:?})", field(&l, 5)),
        );
    }
    let ro_options = field(&line("/ro"), 5);
    lab.expect(
        ["nosuid", "nodev", "noexec"].iter().all(|f| ro_options.split(',').any(|o| o == *f)),
        format!("TODO 1: /ro kept its source's nosuid, nodev and noexec ({ro_options:?})"),
    );
    let sub = line("/srv/sub");
    lab.expect(
        sub.is_some(),
        "TODO 1: the mount below host-rw came along at /srv/sub (a recursive bind, as Docker's)",
    );

    lab.step("Inside the container's mount namespace: reads and writes")?;
    let inside = inside(&child, &|| {
        let result = |r: std::io::Result<()>| match r {
            Ok(()) => "ok".to_string(),
            Err(e) => e.raw_os_error().map_or(e.to_string(), |n| format!("errno {n}")),
        };
        Ok([
            result(fs::write("/srv/written.txt", "written in the container\n")),
            result(fs::write("/ro/x.txt", "x")),
            result(fs::write("/test/new.txt", "written in the container\n")),
            fs::read_to_string("/srv/sub/below.txt").unwrap_or_default().trim().to_string(),
            fs::read_to_string("/etc/app.conf").unwrap_or_default().trim().to_string(),
        ]
        .join("|"))
    })?;
    report::evidence("writes to /srv, /ro, /test; /srv/sub/below.txt; /etc/app.conf", &inside);
    let said: Vec<&str> = inside.split('|').collect();
    let said = |n: usize| said.get(n).copied().unwrap_or("");
    lab.expect(
        said(0) == "ok" && rw.join("written.txt").exists(),
        format!("a file written at /srv in the container is in host-rw on the host ({})", said(0)),
    );
    lab.expect(
        said(1) == format!("errno {}", libc::EROFS),
        format!("a write to /ro fails with EROFS (errno {}) — {}", libc::EROFS, said(1)),
    );
    lab.expect(
        said(3) == "mounted below the source",
        format!("/srv/sub/below.txt is there ({:?})", said(3)),
    );
    lab.expect(
        said(4) == "a file of the host",
        format!("/etc/app.conf is the host's file, mounted on a file ({:?})", said(4)),
    );
    lab.expect(
        fs::write(ro.join("host.txt"), "x").is_ok(),
        "host-ro stays writable on the host: the container's mount is read-only, not the \
         filesystem it is on",
    );
    let (a, b) = (
        ino(&data.join("new.txt")),
        ino(&PathBuf::from(format!("/proc/{}/root/test/new.txt", child.pid))),
    );
    lab.expect(
        a.is_some() && a == b,
        format!(
            "/test/new.txt in the container is _data/new.txt on the host: one inode ({a:?}, {b:?})"
        ),
    );

    lab.step("TODO 2: copyData — into the new volume, not into the host directory")?;
    report::evidence("data's _data", &listing(&data));
    let meta = |p: &str| fs::symlink_metadata(data.join(p)).ok();
    lab.expect(
        meta("image.txt").is_some_and(|m| m.uid() == 1000 && m.mode() & 0o7777 == 0o640)
            && meta("sub/deep.txt").is_some()
            && meta("link").is_some_and(|m| m.file_type().is_symlink()),
        "TODO 2: the new, empty volume got the image's /test (image.txt owner 1000 mode 0640, sub/deep.txt, the link)",
    );
    lab.expect(
        meta("").is_some_and(|m| m.uid() == 1000 && m.mode() & 0o7777 == 0o750),
        "TODO 2: _data took /test's owner and mode (1000, 0750)",
    );
    report::evidence("host-rw", &listing(&rw));
    lab.expect(
        !rw.join("image.txt").exists(),
        "TODO 2: nothing of the image was copied into the host directory host-rw",
    );
    lab.expect(
        fs::read_dir(format!("/proc/{}/root/srv", child.pid))
            .is_ok_and(|d| d.flatten().all(|e| e.file_name() != "image.txt")),
        "the image's /srv/image.txt is hidden under the bind mount",
    );

    lab.step("What the mount tables outside and the read-write layer show")?;
    let mine = fs::read_to_string("/proc/self/mountinfo")?;
    let leaked: Vec<&str> = mine
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(&merged) && Path::new(p) != merged)
        .collect();
    lab.expect(
        leaked.is_empty(),
        format!("the namespace the child came from has no mount in merged/: {leaked:?}"),
    );
    let upper = base.join("upper");
    report::evidence("upper layer", &walk(&upper).join(" "));
    let in_upper: Vec<String> = walk(&upper)
        .into_iter()
        .filter(|p| ["test/", "srv/", "ro/"].iter().any(|d| p.starts_with(d) && p != d))
        .collect();
    lab.expect(
        in_upper.is_empty(),
        format!(
            "the read-write layer, which commit reads, has nothing in test/, srv/, ro/ (mount points at most): {in_upper:?}"
        ),
    );
    drop(child);

    lab.step("Again: the volume now used, an empty host directory, nocopy, nested volumes")?;
    let _ = fs::remove_file(data.join("image.txt")); // there if TODO 2 copied it
    let used = fs::write(data.join("kept.txt"), "a container's work\n");
    if let Err(e) = used {
        lab.expect(false, format!("the volume can be used on the host ({e})"));
        return Ok(lab.check_outcome());
    }
    let texts = [
        "data:/test".into(),
        format!("{}:/srv", empty.display()),
        "nested:/opt/nested".into(),
        "/opt".into(),
        "fresh:/var/cache:nocopy".into(),
    ];
    if let Some(child) = started(lab, &store, &merged, rules, &texts) {
        let test = PathBuf::from(format!("/proc/{}/root/test", child.pid));
        report::evidence("/test in the container", &listing(&test));
        lab.expect(
            test.join("kept.txt").exists() && !test.join("image.txt").exists(),
            "TODO 2: a volume that is not empty is not filled again (kept.txt, no image.txt)",
        );
        lab.expect(
            volumes::is_empty(&empty),
            format!("TODO 2: an EMPTY host directory gets nothing either ({})", listing(&empty)),
        );
        let opt = PathBuf::from(format!("/proc/{}/root/opt", child.pid));
        lab.expect(
            opt.join("image.txt").exists() && line_of(child.pid, "/opt").is_some(),
            format!("TODO 2: an anonymous volume is filled like a named one ({})", listing(&opt)),
        );
        lab.expect(
            volumes::is_empty(&volumes::data_dir(&store, "fresh")),
            "TODO 2: nocopy: the new volume stays empty",
        );
        let (a, b) = (ino(&volumes::data_dir(&store, "nested")), ino(&opt.join("nested")));
        lab.expect(
            a.is_some() && a == b,
            format!("TODO 1: -v nested:/opt/nested, given before -v /opt, is seen at /opt/nested: parents are mounted first ({a:?}, {b:?})"),
        );
    }
    drop(_sub);
    drop(_overlay);
    drop(_tmpfs);
    // The check's own namespace was private from the start: the host's never saw any of it.
    let host_after = on_host(&fs::read_to_string("/proc/1/mountinfo")?);
    lab.expect(
        host_after == host_before,
        format!("the host's mount table has nothing of the check ({host_before} line(s) before, {host_after} after)"),
    );
    Ok(lab.check_outcome())
}

/// A child with a mount namespace of its own that entered the rootfs with the `-v`s `texts`
/// — through the library, as a container does: attach, prepare (copyData), then
/// `volumes::enter` (mount_volumes) — and now waits. A failure is a failed check.
fn started(
    lab: &mut Lab,
    store: &Path,
    merged: &Path,
    rules: &Rules,
    texts: &[String],
) -> Option<Forked> {
    let result = (|| -> minidocker::Result<Forked> {
        let mut mounts: Vec<Mount> = volumes::parse_all(texts)?;
        drop(volumes::attach(store, &mut mounts)?);
        let binds = volumes::prepare(store, &mounts, merged, rules)?;
        let child = fork_child(&|| {
            sys::unshare(CloneFlags::CLONE_NEWNS)?;
            volumes::enter(merged, &binds, rules, &rootfs::RULES).map(|()| "ok".into())
        })?;
        anyhow::ensure!(child.said == "ok", "{}", child.said);
        Ok(child)
    })();
    match result {
        Ok(c) => Some(c),
        Err(e) => {
            lab.expect(
                false,
                format!("the container starts with -v {} ({e:#})", texts.join(" -v ")),
            );
            None
        }
    }
}

/// The mountinfo line of `point` in process `pid`'s mount table.
fn line_of(pid: Pid, point: &str) -> Option<String> {
    let table = fs::read_to_string(format!("/proc/{pid}/mountinfo")).ok()?;
    table.lines().find(|l| l.split(' ').nth(4) == Some(point)).map(str::to_owned)
}

/// Run `what` in a process that joined `child`'s mount namespace (`setns`: its root is then
/// the container's `/`), and return what it said.
fn inside(
    child: &Forked,
    what: &dyn Fn() -> minidocker::Result<String>,
) -> minidocker::Result<String> {
    let ns = fs::File::open(format!("/proc/{}/ns/mnt", child.pid))?;
    let joined = fork_child(&|| {
        nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNS)?;
        what()
    })?;
    Ok(joined.said.clone())
}

/// Every path in `dir`, directories with a trailing `/`, sorted.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for e in fs::read_dir(dir.join(&rel)).into_iter().flatten().flatten() {
            let p = rel.join(e.file_name());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(format!("{}/", p.display()));
                todo.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn ino(p: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(p).ok().map(|m| (m.dev(), m.ino()))
}
