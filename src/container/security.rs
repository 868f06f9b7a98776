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

/// Drop every capability outside the default set from the bounding set, then keep only the
/// default set as permitted, effective and inheritable, and set no_new_privs.
pub fn restrict() -> crate::Result<()> {
    let keep: u64 = DEFAULT_CAPS.iter().fold(0, |m, (c, _)| m | (1 << c));
    for cap in 0..=last_cap() {
        if keep & (1 << cap) == 0 {
            // SAFETY: prctl with plain integer arguments.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 && Errno::last() != Errno::EINVAL {
                return Err(sys::failure(&format!("prctl(PR_CAPBSET_DROP, {cap})"), Errno::last()));
            }
        }
    }
    report::syscall("prctl(PR_CAPBSET_DROP, …every capability outside Docker's default 14…)", "0");
    capset(keep)?;
    // SAFETY: prctl with plain integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    Errno::result(r).map_err(|e| sys::failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    report::syscall("prctl(PR_SET_NO_NEW_PRIVS, 1)", "0");
    Ok(())
}

/// capset(2), version 3 (64-bit sets in two 32-bit halves).
fn capset(set: u64) -> crate::Result<()> {
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
    let half = |s: u64| Data { effective: s as u32, permitted: s as u32, inheritable: s as u32 };
    let data = [half(set), half(set >> 32)];
    // SAFETY: the header and two data structs laid out as the kernel's v3 ABI expects.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    Errno::result(r).map_err(|e| sys::failure("capset(default capabilities)", e))?;
    report::syscall(&format!("capset(effective=permitted=inheritable={set:#x})"), "0");
    Ok(())
}
