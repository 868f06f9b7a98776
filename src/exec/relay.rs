//! Between the three processes of an exec: the report pipe the helper and the command write
//! their progress and errors to, and the signals passed on from the client to the command.

use super::StartError;
use crate::interrupt;
use crate::process::{Exit, Running};
use crate::sys;
use anyhow::Context;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::ffi::CString;
use std::os::fd::OwnedFd;

pub(super) fn cstrings(v: &[String]) -> crate::Result<Vec<CString>> {
    v.iter()
        .map(|a| CString::new(a.as_bytes()).with_context(|| format!("{a:?} contains a NUL byte")))
        .collect()
}

/// One line on the report pipe, in one write (a pipe write this small is atomic).
pub(super) fn tell(fd: &OwnedFd, line: &str) {
    let _ = nix::unistd::write(fd, format!("{}\n", line.replace('\n', " ")).as_bytes());
}

/// Read the report pipe: one line (`first_line`), or everything until end-of-file.
pub(super) fn read_report(fd: &OwnedFd, first_line: bool) -> crate::Result<String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if first_line && text.contains(&b'\n') {
            break;
        }
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => interrupt::check()?,
            Err(e) => return Err(sys::failure("read(the exec's report pipe)", e)),
        }
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// `error CODE MESSAGE` from the report pipe.
pub(super) fn start_error(text: &str) -> Option<StartError> {
    let rest = text.trim_start().strip_prefix("error ")?;
    let (code, message) = rest.split_once(' ')?;
    Some(StartError { code: code.parse().unwrap_or(126), message: message.trim_end().to_string() })
}

/// The helper's wait for the command: a signal the helper catches (the client passing one
/// on) goes on to the command; the client's death (the parent-death signal) kills it.
/// Returns the exit code to end with: the command's, or 128 + the signal that killed it.
pub(super) fn wait_and_forward(pid: Pid, client: Pid) -> i32 {
    loop {
        if nix::unistd::getppid() != client {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            while let Err(Errno::EINTR) = waitpid(pid, None) {}
            return 128 + Signal::SIGKILL as i32;
        }
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) => continue,
            Err(Errno::EINTR) => forward(pid),
            Err(_) => return 126,
        }
    }
}

/// The client's wait for the helper, passing signals on like [`wait_and_forward`].
pub(super) fn wait_forwarding(helper: Running) -> crate::Result<Exit> {
    let pid = helper.pid();
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => {
                helper.reaped();
                return Ok(Exit::Code(code));
            }
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                helper.reaped();
                return Ok(Exit::Signal(sig));
            }
            Ok(_) => continue,
            Err(Errno::EINTR) => forward(pid),
            Err(e) => return Err(sys::failure(&format!("waitpid({pid})"), e)),
        }
    }
}

/// A signal caught by [`interrupt`]'s handler is passed on to `pid`, then forgotten.
pub(super) fn forward(pid: Pid) {
    if let Some(sig) = interrupt::take() {
        let _ = nix::sys::signal::kill(pid, sig);
    }
}
