//! Inside the new mount namespace: make the merged tree the root with `pivot_root`, and
//! give it its own `/proc`, a minimal `/dev` and a read-only `/sys`.
//!
//! Why `pivot_root` and not `chroot`: chroot only changes how *this process* resolves `/`;
//! the old root stays mounted and reachable (a root process escapes with a second chroot).
//! pivot_root moves the old root away and we then unmount it, so it is not in the
//! container's mount table at all. That switch is exercise 03 (`solutions/03-rootfs-aufs/`).

use crate::sys;
use anyhow::Context;
use nix::mount::MsFlags;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The device files a container gets, as Docker's default: (name, major, minor).
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Run in the child, in its new mount (and PID) namespace, before exec.
pub fn enter(merged: &Path) -> crate::Result<()> {
    enter_with(merged, &|_| Ok(()), &super::RULES)
}

/// [`enter`], with `mounts(merged)` called once the rootfs is ready (its `/proc`, `/dev` and
/// `/sys`) and before `pivot_root`: where a build's `RUN --mount`s are made. (A container's
/// volumes take the same two steps, [`ready`] and [`switch`], around exercise 08's code.)
pub fn enter_with(
    merged: &Path,
    mounts: &dyn Fn(&Path) -> crate::Result<()>,
    rules: &super::Rules,
) -> crate::Result<()> {
    ready(merged)?;
    mounts(merged)?;
    switch(merged, rules)
}

/// The first half of entering: private propagation, then the rootfs's own `/proc`, minimal
/// `/dev` and read-only `/sys`, mounted in the merged tree.
pub fn ready(merged: &Path) -> crate::Result<()> {
    // ANCHOR: private
    // Nothing mounted from here on propagates back to the host's mount table.
    sys::mount(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)?;
    // ANCHOR_END: private
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys::mount(Some("proc"), &merged.join("proc"), Some("proc"), nosuid, None)?;
    minimal_dev(&merged.join("dev"))?;
    sys::mount(Some("sysfs"), &merged.join("sys"), Some("sysfs"), nosuid | MsFlags::MS_RDONLY, None)
}

/// The second half: Docker's masks (after the volumes, so a volume cannot uncover a masked
/// path), then the switch of root — exercise 03's `switch_root`, from `rules` — checked.
pub fn switch(merged: &Path, rules: &super::Rules) -> crate::Result<()> {
    protect_kernel_files(merged, &MASKED, &READ_ONLY)?;
    // ANCHOR: switch
    // The new root's identity, to make sure the switch happened: a command run with the
    // host's files as its root could do real damage.
    let want = std::fs::metadata(merged)?;
    (rules.switch_root)(merged).context("switching root (exercise 03's switch_root)")?;
    let now = std::fs::metadata("/")?;
    anyhow::ensure!(
        (now.dev(), now.ino()) == (want.dev(), want.ino()),
        "switch_root returned, but / is still the old root: refusing to run the container's \
         command on the host's files (exercise 03, TODO 3)"
    );
    // ANCHOR_END: switch
    Ok(())
}

/// Docker's masked paths (hidden: /dev/null over files, an empty read-only tmpfs over
/// directories) and read-only paths (bind-mounted onto themselves, then remounted read-only):
/// kernel interfaces a container has no business reading or writing.
pub const MASKED: [&str; 10] = [
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/sched_debug",
    "proc/scsi",
    "proc/timer_list",
    "sys/firmware",
    "sys/devices/virtual/powercap",
];
pub const READ_ONLY: [&str; 5] =
    ["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"];

/// Mask `masked` and make `read_only` read-only, paths relative to (or absolute in) `merged`.
pub fn protect_kernel_files<S: AsRef<str>>(
    merged: &Path,
    masked: &[S],
    read_only: &[S],
) -> crate::Result<()> {
    for p in masked {
        let path = merged.join(p.as_ref().trim_start_matches('/'));
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                sys::mount(Some("tmpfs"), &path, Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0"))?
            }
            Ok(_) => sys::mount(Some("/dev/null"), &path, None, MsFlags::MS_BIND, None)?,
            Err(_) => {} // not on this kernel
        }
    }
    for p in read_only {
        let path = merged.join(p.as_ref().trim_start_matches('/'));
        if path.exists() {
            sys::mount(
                Some(&path.to_string_lossy()),
                &path,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )?;
            // Read-only, and whatever else the mount already is (nosuid, …): a bind mount's
            // remount sets its flags anew.
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            sys::mount(None, &path, None, ro | kept_flags(&path), None)?;
        }
    }
    Ok(())
}

/// The nosuid, nodev and noexec flags of the mount `path` is on.
fn kept_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else { return MsFlags::empty() };
    let f = st.flags();
    [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ]
    .into_iter()
    .filter(|(st, _)| f.contains(*st))
    .fold(MsFlags::empty(), |m, (_, ms)| m | ms)
}

/// A tmpfs with the six standard devices, the usual links, a private devpts and /dev/shm.
fn minimal_dev(dev: &Path) -> crate::Result<()> {
    sys::mount(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    populate_dev(dev)?;
    sys::mkdir(&dev.join("pts"))?;
    // newinstance: the container's ptys are its own, not the host's. gid=5 is the `tty` group
    // of Debian's and most images' /etc/group, as in Docker.
    sys::mount(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    sys::mkdir(&dev.join("shm"))?;
    sys::mount(
        Some("shm"),
        &dev.join("shm"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    Ok(())
}

/// The six standard device nodes and the usual links (`/dev/fd`, `/dev/stdin`, …, `/dev/ptmx`)
/// in a fresh `/dev` at `dev`.
pub fn populate_dev(dev: &Path) -> crate::Result<()> {
    for (name, major, minor) in DEVICES {
        sys::mknod_char(&dev.join(name), 0o666, major, minor)?;
        // mknod's mode passes through the umask; these must be usable by every user.
        std::fs::set_permissions(
            dev.join(name),
            std::os::unix::fs::PermissionsExt::from_mode(0o666),
        )?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        sys::symlink(target, &dev.join(link))?;
    }
    Ok(())
}
