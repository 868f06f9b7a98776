//! The kernel calls the workshop makes, each printed (with `--explain`) as it happens.
//!
//! Every wrapper prints `name(args) = result` through [`report::syscall`] and turns a failure
//! into one line that names the call, its arguments, the errno and, where the errno usually
//! means a missing privilege or kernel feature, what to do about it.

use crate::report;
use anyhow::anyhow;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::fmt::Debug;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

/// Print the call, then convert its result: `Ok` as `= 0`, `Err` as `= -1 EPERM (...)`.
fn traced<T>(call: String, result: nix::Result<T>) -> crate::Result<T> {
    match result {
        Ok(v) => {
            report::syscall(&call, "0");
            Ok(v)
        }
        Err(e) => {
            report::syscall(&call, &format!("-1 {e:?} ({})", e.desc()));
            Err(failure(&call, e))
        }
    }
}

/// One line for a failed call, with a hint when the errno has a usual cause.
pub fn failure(call: &str, e: Errno) -> anyhow::Error {
    let hint = match e {
        Errno::EPERM | Errno::EACCES => " — this needs root (CAP_SYS_ADMIN); run it with sudo",
        Errno::ENOSYS => " — this kernel does not have that system call",
        Errno::ENODEV => " — this kernel does not support that filesystem type",
        _ => "",
    };
    anyhow!("{call} failed: {}{hint}", e.desc())
}

/// Names of the set bits, `CLONE_NEWNS|CLONE_NEWUTS`, the way strace prints them.
fn flag_names<T>(names: impl Iterator<Item = (&'static str, T)>) -> String {
    let names: Vec<&str> = names.map(|(n, _)| n).collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

pub fn clone_flags_str(flags: CloneFlags) -> String {
    flag_names(flags.iter_names())
}

fn opt<T: Debug>(v: Option<T>) -> String {
    v.map_or("NULL".into(), |v| format!("{v:?}"))
}

pub fn unshare(flags: CloneFlags) -> crate::Result<()> {
    traced(format!("unshare({})", clone_flags_str(flags)), nix::sched::unshare(flags))
}

pub fn sethostname(name: &str) -> crate::Result<()> {
    traced(format!("sethostname({name:?})"), nix::unistd::sethostname(name))
}

pub fn hostname() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
}

pub fn mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> crate::Result<()> {
    let call = format!(
        "mount({}, {:?}, {}, {}, {})",
        opt(source),
        target,
        opt(fstype),
        flag_names(flags.iter_names()),
        opt(data)
    );
    traced(call, nix::mount::mount(source, target, fstype, flags, data))
}

pub fn umount2(target: &Path, flags: MntFlags) -> crate::Result<()> {
    let call = format!("umount2({target:?}, {})", flag_names(flags.iter_names()));
    traced(call, nix::mount::umount2(target, flags))
}

pub fn mkdir(path: &Path) -> crate::Result<()> {
    let r = nix::unistd::mkdir(path, nix::sys::stat::Mode::from_bits_truncate(0o755));
    traced(format!("mkdir({path:?}, 0755)"), r)
}

pub fn rmdir(path: &Path) -> crate::Result<()> {
    let r = std::fs::remove_dir(path).map_err(io_errno);
    traced(format!("rmdir({path:?})"), r)
}

/// `open(path, O_WRONLY) + write(value)`: how every cgroup knob is turned.
pub fn write_file(path: &Path, value: &str) -> crate::Result<()> {
    let r = std::fs::write(path, value).map_err(io_errno);
    traced(format!("write({path:?}, {value:?})"), r)
}

pub fn kill(pid: Pid, sig: Signal) -> crate::Result<()> {
    traced(format!("kill({pid}, {sig})"), nix::sys::signal::kill(pid, sig))
}

/// The errno inside an `io::Error`, so std's file calls report like the rest.
pub fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Is this process root? Lessons need it for namespaces, mounts and cgroups.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> crate::Result<()> {
    traced(
        format!("pivot_root({new_root:?}, {put_old:?})"),
        nix::unistd::pivot_root(new_root, put_old),
    )
}

pub fn chdir(path: &Path) -> crate::Result<()> {
    traced(format!("chdir({path:?})"), nix::unistd::chdir(path))
}

/// `mknod(path, S_IFCHR|mode, makedev(major, minor))`: a device file.
pub fn mknod_char(path: &Path, mode: u32, major: u64, minor: u64) -> crate::Result<()> {
    let dev = nix::sys::stat::makedev(major, minor);
    let r = nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(mode),
        dev,
    );
    traced(format!("mknod({path:?}, S_IFCHR|{mode:04o}, makedev({major}, {minor}))"), r)
}

/// `dup2(from, to)`: descriptor `to` becomes a copy of `from` — how a child's standard
/// streams are set up before it executes its command. Not traced: the trace of a `dup2`
/// onto standard output would be printed into the new one, the container's output.
pub fn dup2(from: RawFd, to: RawFd) -> crate::Result<()> {
    // SAFETY: plain descriptor numbers; the kernel checks them.
    let r = unsafe { libc::dup2(from, to) };
    Errno::result(r).map(drop).map_err(|e| failure(&format!("dup2({from}, {to})"), e))
}

/// `pidfd_open(pid)` (Linux 5.3): a descriptor that poll(2) reports readable once process
/// `pid` has ended — a process's end among the other things a loop waits for.
pub fn pidfd_open(pid: nix::unistd::Pid) -> crate::Result<std::os::fd::OwnedFd> {
    // SAFETY: a plain syscall; on success it returns a new descriptor that we then own.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), libc::PIDFD_NONBLOCK) };
    let fd = Errno::result(r).map_err(|e| failure(&format!("pidfd_open({pid})"), e))?;
    // SAFETY: the kernel just made this descriptor for us (it is close-on-exec).
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) })
}

/// Standard input from `/dev/null`: for a command that must not read the caller's input.
pub fn stdin_from_null() -> crate::Result<()> {
    let null = std::fs::File::open("/dev/null")
        .map_err(|e| failure("open(\"/dev/null\")", io_errno(e)))?;
    dup2(null.as_raw_fd(), 0)
}

pub fn symlink(target: &str, path: &Path) -> crate::Result<()> {
    let r = std::os::unix::fs::symlink(target, path).map_err(io_errno);
    traced(format!("symlink({target:?}, {path:?})"), r)
}

/// `lgetxattr(path, name)`: the extended attribute `name` of `path` itself (of a symbolic
/// link, the link's own), or `None` when it has no such attribute. Values up to 256 bytes
/// (overlay's and file capabilities are a few): a longer one fails with ERANGE.
pub fn lgetxattr(path: &Path, name: &str) -> crate::Result<Option<Vec<u8>>> {
    let call = format!("lgetxattr({path:?}, {name:?})");
    let c = |s: &[u8]| std::ffi::CString::new(s).map_err(|_| failure(&call, Errno::EINVAL));
    let (c_path, c_name) = (c(path.as_os_str().as_encoded_bytes())?, c(name.as_bytes())?);
    let mut buf = [0u8; 256];
    // SAFETY: two NUL-terminated strings, and a buffer we own with its length.
    let n = unsafe {
        libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    };
    match Errno::result(n) {
        Ok(n) => {
            report::syscall(&call, &n.to_string());
            Ok(Some(buf[..n as usize].to_vec()))
        }
        Err(e @ (Errno::ENODATA | Errno::EOPNOTSUPP)) => {
            report::syscall(&call, &format!("-1 {e:?} ({})", e.desc()));
            Ok(None)
        }
        Err(e) => traced(call, Err(e)),
    }
}
