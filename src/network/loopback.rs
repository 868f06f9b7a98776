//! The loopback interface a new network namespace has, down: brought up from inside.

use crate::report;
use nix::errno::Errno;

/// `ip link set lo up`, done the old way: SIOCGIFFLAGS / SIOCSIFFLAGS on any socket.
pub fn loopback_up() -> crate::Result<()> {
    // SAFETY: a plain datagram socket, closed by OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let fd =
        Errno::result(fd).map_err(|e| crate::sys::failure("socket(AF_INET, SOCK_DGRAM)", e))?;
    // SAFETY: `fd` was just returned by socket(2), open, and owned by nothing else.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    // SAFETY: ifreq is plain data; the name fits (with its NUL) in IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq we own.
    Errno::result(unsafe { libc::ioctl(raw, libc::SIOCGIFFLAGS, &mut req) })
        .map_err(|e| crate::sys::failure("ioctl(SIOCGIFFLAGS, \"lo\")", e))?;
    // SAFETY: SIOCGIFFLAGS filled the union's flags member, the one read and written here.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above, the ifreq is ours and holds the name and the flags.
    Errno::result(unsafe { libc::ioctl(raw, libc::SIOCSIFFLAGS, &req) })
        .map_err(|e| crate::sys::failure("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)", e))?;
    report::syscall("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)", "0");
    Ok(())
}
