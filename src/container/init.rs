//! `--init`: a tiny init as the container's PID 1, as Docker's `--init` (tini) is.
//!
//! PID 1 of a PID namespace is special: the kernel delivers it only the signals it has a
//! handler for (so a bare `sleep 30` as PID 1 ignores Ctrl-C and `docker stop`'s SIGTERM),
//! and every orphan of the namespace becomes its child, to be reaped by it — or to stay a
//! zombie. Most commands were not written to be an init. So with `--init` the container's
//! first process forks: the child goes on to execute the command, and the parent stays as
//! PID 1 and does only this: pass every signal on to the command, reap every child, and
//! exit as the command exits. No binary is put into the container: the init is this very
//! process, a copy of the monitor, already inside.

use crate::{report, sys};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

/// Fork: return in the child, which goes on to execute the command; never return in the
/// parent, which is the init until the command ends.
// ANCHOR: init
pub fn fork_init() -> crate::Result<()> {
    // Every signal blocked before the fork, so that none is lost: the init takes them with
    // sigwait(2), the command gets its mask back.
    let all = SigSet::all();
    let mut before = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&all), Some(&mut before))?;
    // SAFETY: this process is single-threaded (a child of clone(2) that has not started any
    // thread); the child only goes on to execve.
    match unsafe { fork() }.map_err(|e| sys::failure("fork (the command, under --init)", e))? {
        ForkResult::Child => {
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None)?;
            Ok(())
        }
        ForkResult::Parent { child } => {
            report::syscall("fork() [--init: the command, init stays PID 1]", &child.to_string());
            let code = init(child, &all);
            // SAFETY: ending the init without running the monitor's exit handlers.
            unsafe { libc::_exit(code) }
        }
    }
}

/// PID 1's loop: reap, pass signals on, end with the command's status (128 + N if a
/// signal N ended it, as a shell says it).
fn init(command: Pid, signals: &SigSet) -> i32 {
    // SAFETY: prctl with a NUL-terminated name that outlives the call.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"minidocker-init".as_ptr(), 0, 0, 0) };
    // Nothing of the monitor's stays open here (the start gate's exec pipe among them:
    // the monitor learns the command started when the command's exec closes the last copy).
    // SAFETY: close_range(2) on descriptors this process does not use.
    unsafe { libc::syscall(libc::SYS_close_range, 3, u32::MAX, 0) };
    loop {
        let Ok(sig) = signals.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = kill(command, sig);
            continue;
        }
        // Reap every child that has ended: the command, or an orphan the kernel gave us.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == command => return code,
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == command => return 128 + s as i32,
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}
// ANCHOR_END: init
