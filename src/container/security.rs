//! Docker's default isolation inside the container, applied just before the command runs:
//! the default capability set (everything else dropped from the bounding set too) — and,
//! stricter than Docker's default (there it takes `--security-opt no-new-privileges`),
//! `no_new_privs`: a set-uid binary cannot win back what was dropped. The masked and
//! read-only `/proc` and `/sys` paths are mounts, done with the rest of the rootfs
//! (`rootfs::enter`). The seccomp filter ([`crate::seccomp`]) comes after all of these, as the
//! very last step before `execve`; the device rules are the container's cgroup's
//! ([`crate::cgroups::devices`]).

use crate::{report, sys};
use nix::errno::Errno;

/// Docker's default capabilities (moby's `DefaultCapabilities`), by number (linux/capability.h).
pub const DEFAULT_CAPS: [(u32, &str); 14] = [
    (0, "CAP_CHOWN"),
    (1, "CAP_DAC_OVERRIDE"),
    (3, "CAP_FOWNER"),
    (4, "CAP_FSETID"),
    (5, "CAP_KILL"),
    (6, "CAP_SETGID"),
    (7, "CAP_SETUID"),
    (8, "CAP_SETPCAP"),
    (10, "CAP_NET_BIND_SERVICE"),
    (13, "CAP_NET_RAW"),
    (18, "CAP_SYS_CHROOT"),
    (27, "CAP_MKNOD"),
    (29, "CAP_AUDIT_WRITE"),
    (31, "CAP_SETFCAP"),
];

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Every capability's name, by number (linux/capability.h), for configs that name them.
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of the capability called `name` (`CAP_CHOWN` → 0).
pub fn cap_number(name: &str) -> Option<u32> {
    CAP_NAMES.iter().position(|n| *n == name).map(|n| n as u32)
}

/// The set of the capabilities named, as a bit mask (unknown names are left out).
pub fn cap_mask<S: AsRef<str>>(names: &[S]) -> u64 {
    names.iter().filter_map(|n| cap_number(n.as_ref())).fold(0, |m, c| m | (1 << c))
}

/// Drop every capability outside the default set from the bounding set, then keep only the
/// default set as permitted, effective and inheritable, and set no_new_privs.
pub fn restrict() -> crate::Result<()> {
    let keep: u64 = DEFAULT_CAPS.iter().fold(0, |m, (c, _)| m | (1 << c));
    keep_bounding(keep)?;
    report::syscall("prctl(PR_CAPBSET_DROP, …every capability outside Docker's default 14…)", "0");
    capset(keep, keep, keep)?;
    // SAFETY: prctl with plain integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    Errno::result(r).map_err(|e| sys::failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    report::syscall("prctl(PR_SET_NO_NEW_PRIVS, 1)", "0");
    Ok(())
}

/// Drop every capability outside `keep` from the bounding set.
pub fn keep_bounding(keep: u64) -> crate::Result<()> {
    for cap in 0..=last_cap() {
        if keep & (1 << cap) == 0 {
            // SAFETY: prctl with plain integer arguments.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 && Errno::last() != Errno::EINVAL {
                return Err(sys::failure(&format!("prctl(PR_CAPBSET_DROP, {cap})"), Errno::last()));
            }
        }
    }
    Ok(())
}

/// capset(2), version 3 (64-bit sets in two 32-bit halves).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> crate::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header { version: 0x2008_0522, pid: 0 };
    let half = |shift: u32| Data {
        effective: (effective >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    let data = [half(0), half(32)];
    // SAFETY: the header and two data structs laid out as the kernel's v3 ABI expects.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    Errno::result(r).map_err(|e| sys::failure("capset(default capabilities)", e))?;
    let call = if effective == permitted && permitted == inheritable {
        format!("capset(effective=permitted=inheritable={effective:#x})")
    } else {
        format!("capset(effective={effective:#x}, permitted={permitted:#x}, inheritable={inheritable:#x})")
    };
    report::syscall(&call, "0");
    Ok(())
}
