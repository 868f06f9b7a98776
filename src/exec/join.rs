//! What joining a running container takes: its namespaces that differ from ours (each one a
//! file in `/proc/PID/ns/`, joined with `setns(2)`), its cgroups, and its root.

use super::Rules;
use crate::cgroups::{Layout, Version};
use crate::namespaces::Namespace;
use crate::{report, sys};
use anyhow::{anyhow, Context};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

/// `setns(2)`: make this process a member of the namespace `fd` stands for (`what` names it
/// in the trace). `ns: None` is nstype 0, "any kind", as the article's program passes it;
/// naming the kind makes the kernel refuse a file of another kind.
pub fn setns(fd: impl AsFd, what: &str, ns: Option<Namespace>) -> crate::Result<()> {
    let flag = ns.map_or(CloneFlags::empty(), Namespace::flag);
    let kind = if flag.is_empty() { "0".to_string() } else { sys::clone_flags_str(flag) };
    let call = format!("setns({} <{what}>, {kind})", fd.as_fd().as_raw_fd());
    match nix::sched::setns(fd, flag) {
        Ok(()) => {
            report::syscall(&call, "0");
            Ok(())
        }
        Err(e) => {
            report::syscall(&call, &format!("-1 {e:?} ({})", e.desc()));
            let hint = match e {
                Errno::EPERM => " — no CAP_SYS_ADMIN over that namespace: run as root, or join the user namespace that owns it first",
                Errno::EINVAL => " — not a namespace of that kind, a user namespace this process is already in, or a process with threads",
                _ => "",
            };
            Err(anyhow!("{call} failed: {}{hint}", e.desc()))
        }
    }
}

/// `/proc/PID/ns/FILE`: the file that stands for one namespace of a process.
pub fn ns_path(pid: i32, ns: Namespace) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{}", ns.file()))
}

/// What `/proc/PID/ns/FILE` links to, `net:[4026532281]` (`pid` may be `self`).
pub fn ns_link(pid: &str, file: &str) -> crate::Result<String> {
    let path = format!("/proc/{pid}/ns/{file}");
    let target = fs::read_link(&path).with_context(|| format!("readlink {path}"))?;
    Ok(target.to_string_lossy().into_owned())
}

/// Which kind of namespace an nsfs file is: `ioctl(fd, NS_GET_NSTYPE)` answers with its
/// `CLONE_NEW*` flag. Works for `/proc/PID/ns/*` and for bind mounts of them alike.
pub fn kind_of(file: &File) -> crate::Result<Namespace> {
    // NS_GET_NSTYPE is _IO(0xb7, 0x3) in linux/nsfs.h.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: an ioctl without an argument on a descriptor we own.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
    let flag = Errno::result(r).map_err(|e| match e {
        Errno::ENOTTY | Errno::EINVAL => anyhow!("not a namespace file: the kernel has no NS_GET_NSTYPE for it (namespace files are /proc/PID/ns/* and bind mounts of them)"),
        e => sys::failure("ioctl(NS_GET_NSTYPE)", e),
    })?;
    Namespace::ALL
        .into_iter()
        .find(|n| n.flag().bits() == flag)
        .ok_or_else(|| anyhow!("a namespace of kind {flag:#x}, which this workshop does not cover"))
}

/// The namespaces of `target` this process is not in, in [`Namespace::ALL`]'s order.
/// Joining one we are already in is useless — and for a user namespace, refused.
pub fn differing(target: i32) -> crate::Result<Vec<Namespace>> {
    let mut out = Vec::new();
    for ns in Namespace::ALL {
        let theirs = ns_link(&target.to_string(), ns.file())
            .with_context(|| format!("process {target} is gone"))?;
        if ns_link("self", ns.file())? != theirs {
            out.push(ns);
        }
    }
    Ok(out)
}

/// The cgroup directories `pid` is in that the workshop made (`…/minidocker/…`), one per
/// hierarchy, read from `/proc/PID/cgroup` ("ID:controllers:path"; v2's line has no
/// controllers). A command run in a container must join them, so that the container's
/// limits and accounting cover it too.
pub fn cgroups_of(pid: i32) -> crate::Result<Vec<PathBuf>> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .with_context(|| format!("process {pid} is gone"))?;
    let layout = Layout::detect()?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if !path.split('/').any(|p| p == "minidocker") {
            continue;
        }
        let wanted: Vec<&str> = controllers.split(',').filter(|c| !c.is_empty()).collect();
        let hierarchy = layout.hierarchies.iter().find(|h| match h.version {
            Version::V2 => wanted.is_empty(),
            Version::V1 => {
                !wanted.is_empty() && wanted.iter().all(|w| h.controllers.iter().any(|c| c == w))
            }
        });
        if let Some(h) = hierarchy {
            let dir = h.mountpoint.join(path.trim_start_matches('/'));
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    Ok(out)
}

/// What an exec into `target` will do before it runs anything.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target's PID, as the host sees it.
    pub target: i32,
    /// The namespaces to join, in the order they will be joined.
    pub namespaces: Vec<Namespace>,
    /// The cgroup directories to join.
    pub cgroups: Vec<PathBuf>,
}

/// Decide what to join: the target's namespaces that differ from ours, in the rules' order,
/// and its cgroups.
pub fn plan(target: i32, rules: &Rules) -> crate::Result<Plan> {
    let namespaces = (rules.join_order)(&differing(target)?);
    Ok(Plan { target, namespaces, cgroups: cgroups_of(target)? })
}

/// Are this process's children born in another PID namespace than its own — did a
/// `setns(CLONE_NEWPID)` happen? `ns` is its `/proc/PID/ns` directory on the host's `/proc`,
/// opened before any join (once in the target's mount namespace, `/proc/self` is the
/// target's `/proc`, where this process has no PID).
pub(super) fn pid_for_children_differs(ns: &OwnedFd) -> crate::Result<bool> {
    let id = |link: &str| {
        nix::sys::stat::fstatat(ns, link, nix::fcntl::AtFlags::empty())
            .map(|s| (s.st_dev, s.st_ino))
            .map_err(|e| sys::failure(&format!("stat(/proc/self/ns/{link})"), e))
    };
    Ok(id("pid_for_children")? != id("pid")?)
}

/// Make the target's root our root and working directory: `fchdir` to the descriptor of its
/// `/proc/PID/root`, opened before any namespace was joined, then `chroot(".")`.
///
/// Joining a mount namespace puts the caller at the top of the namespace's *root mount*, not
/// at the root of any process in it. For a container that did `pivot_root` the two are the
/// same place — but a process may have `chroot`ed further (or, without a mount namespace of
/// its own, live in the host's): only `/proc/PID/root` says where *its* `/` is. The path
/// cannot be opened after the join — `/proc` is then the container's, where the target's host
/// PID means nothing — so it was opened before, and the descriptor keeps the directory.
// ANCHOR: enter_root
pub fn enter_root(root: &OwnedFd) -> crate::Result<()> {
    nix::unistd::fchdir(root)
        .map_err(|e| sys::failure("fchdir(<the target's /proc/PID/root>)", e))?;
    report::syscall("fchdir(<the target's /proc/PID/root>)", "0");
    nix::unistd::chroot(".").map_err(|e| sys::failure("chroot(\".\")", e))?;
    report::syscall("chroot(\".\")", "0");
    Ok(())
}
// ANCHOR_END: enter_root
