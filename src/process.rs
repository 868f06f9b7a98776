//! Child processes the lessons start: a start gate, and a guard that never leaves one behind.
//!
//! A child that must be placed somewhere before it runs its command (into a cgroup, or
//! inspected in its new namespaces) waits at a [`Gate`]: a pipe it reads one byte from. The
//! parent does its work, then opens the gate. Reading a pipe is async-signal-safe, so the
//! wait may run between fork and exec.

use crate::interrupt;
use crate::report;
use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::ffi::CString;
use std::fmt;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The parent's end opens the gate; the child's end waits for it.
pub struct Gate {
    child_end: OwnedFd,
    parent_end: OwnedFd,
    /// A second pipe, to learn when the child has run its command: only the child keeps a
    /// write end, closed by the exec (O_CLOEXEC), so end-of-file here means exec (or death).
    exec_end: OwnedFd,
    exec_write: Option<OwnedFd>,
    /// A third: a child that cannot get to its command writes why here before it exits, so
    /// the parent can say it even when the child's stderr is a log or a pipe nobody reads yet.
    error_end: OwnedFd,
    error_write: Option<OwnedFd>,
}

impl Gate {
    pub fn new() -> crate::Result<Gate> {
        // O_CLOEXEC: neither end leaks into the command the child finally executes.
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 for the start gate")?;
        let (exec_end, exec_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 for the exec signal")?;
        let (error_end, error_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 for the child's errors")?;
        Ok(Gate {
            child_end: r,
            parent_end: w,
            exec_end,
            exec_write: Some(exec_write),
            error_end,
            error_write: Some(error_write),
        })
    }

    /// Why the child gave up before its command, if it said so (it has exited, or does
    /// within a second): the error its set-up met.
    pub fn child_error(&self) -> Option<String> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(&self.error_end), PollFlags::POLLIN)];
        if !matches!(poll(&mut fds, PollTimeout::from(1000u16)), Ok(n) if n > 0) {
            return None;
        }
        let mut buf = vec![0u8; 4096];
        let n = nix::unistd::read(&self.error_end, &mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    /// The two descriptors, to hand to [`Gate::wait_in_child`] in the child.
    pub fn fds(&self) -> (RawFd, RawFd) {
        (self.child_end.as_raw_fd(), self.parent_end.as_raw_fd())
    }

    /// Between fork and exec: block until the parent opens the gate. Returns false when the
    /// parent went away instead (the pipe hit end-of-file), and the child should give up.
    pub fn wait_in_child((fd, parent_end): (RawFd, RawFd)) -> bool {
        // Our copy of the parent's end would keep the pipe open: close it, so the parent's
        // death reads as end-of-file here instead of a wait forever.
        // SAFETY: closing a descriptor this process owns and no longer uses.
        unsafe { libc::close(parent_end) };
        let mut byte = 0u8;
        loop {
            // SAFETY: read(2) into a one-byte buffer we own; async-signal-safe.
            let n = unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) };
            if n == 1 {
                return true;
            }
            if n == 0 || Errno::last() != Errno::EINTR {
                return false;
            }
        }
    }

    /// Let the child go on to exec its command.
    pub fn open(self) -> crate::Result<()> {
        self.let_go()
    }

    /// [`Gate::open`], keeping the gate to ask [`Gate::child_error`] later.
    pub fn let_go(&self) -> crate::Result<()> {
        nix::unistd::write(&self.parent_end, b"g").context("opening the start gate")?;
        Ok(())
    }

    /// [`Gate::open`], then wait until the child has finished what it does after the gate
    /// and executed its command (or died trying): what `run -d` waits for before it says the
    /// container started, so its network, for one, is ready when `run -d` returns.
    ///
    /// A child that died of an error in its set-up instead is that error.
    pub fn open_until_exec(self) -> crate::Result<()> {
        self.let_go()?;
        let mut byte = [0u8; 1];
        loop {
            match nix::unistd::read(&self.exec_end, &mut byte) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(crate::sys::failure("read(the exec pipe)", e)),
            }
        }
        // End-of-file came from the exec (the error pipe closes with it: nothing to read) or
        // from the child's death, after it wrote why.
        match self.child_error() {
            Some(why) => Err(anyhow::anyhow!("{why}")),
            None => Ok(()),
        }
    }
}

/// How a process ended, as a shell would say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(Signal),
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
    /// The exit code a shell would report: the code, or 128 + signal number.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s as i32,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with status {c}"),
            Exit::Signal(s) => write!(f, "killed by {s}"),
        }
    }
}

/// A started child that is killed and reaped if it is dropped before it was waited for:
/// on an error, a panic or Ctrl-C no process of ours outlives the lesson.
pub struct Running {
    pid: Pid,
    reaped: bool,
}

impl Running {
    pub fn new(pid: Pid) -> Running {
        Running { pid, reaped: false }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The caller reaped the child itself (with its own `waitpid` loop): nothing to kill.
    pub fn reaped(mut self) {
        self.reaped = true;
    }

    /// Leave the child running when this is dropped: it outlives us, and the process that
    /// inherits it (the subreaper that started us, an engine's shim) reaps it — what an OCI
    /// runtime's `create` does with the container's first process.
    pub fn leave(mut self) {
        self.reaped = true;
    }

    /// Wait for the child to end. A signal to us (Ctrl-C) ends the wait with an error, and
    /// dropping `self` then kills the child.
    pub fn wait(mut self) -> crate::Result<Exit> {
        loop {
            match waitpid(self.pid, None) {
                Ok(WaitStatus::Exited(_, code)) => {
                    self.reaped = true;
                    return Ok(Exit::Code(code));
                }
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    self.reaped = true;
                    return Ok(Exit::Signal(sig));
                }
                Ok(_) => continue,
                Err(Errno::EINTR) => interrupt::check()?,
                Err(e) => return Err(crate::sys::failure(&format!("waitpid({})", self.pid), e)),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        while let Err(Errno::EINTR) = waitpid(self.pid, None) {}
        report::cleanup(&format!("killed and reaped process {}", self.pid));
    }
}

/// Start `argv` in a child made by `clone(2)` with `flags` (`CLONE_NEW*` for new namespaces,
/// none for a plain fork). The child waits at the returned [`Gate`] until the parent opens
/// it, runs `setup`, then `execvp`s `argv`.
///
/// (std's `Command` cannot do this: its `spawn` waits until the child has exec'd.)
pub fn spawn(
    flags: CloneFlags,
    setup: &dyn Fn() -> crate::Result<()>,
    argv: &[String],
) -> crate::Result<(Running, Gate)> {
    spawn_with_env(flags, setup, argv, None)
}

fn cstrings(v: &[String]) -> crate::Result<Vec<CString>> {
    v.iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .with_context(|| format!("argument {a:?} contains a NUL byte"))
        })
        .collect()
}

/// [`spawn`], but with exactly the environment `env` (`KEY=value` lines). The command is
/// looked up in *that* environment's `PATH` after `setup` — which may have changed the root
/// (pivot_root) — as a container runtime must: the host's `PATH` means nothing in there.
pub fn spawn_with_env(
    flags: CloneFlags,
    setup: &dyn Fn() -> crate::Result<()>,
    argv: &[String],
    env: Option<&[String]>,
) -> crate::Result<(Running, Gate)> {
    spawn_staged(flags, &|| Ok(()), setup, argv, env)
}

/// [`spawn_with_env`] in two stages: `prepare` runs in the child at once, while the parent
/// does its part (a cgroup write on v1 takes milliseconds), and `setup` after the gate opens.
pub fn spawn_staged(
    flags: CloneFlags,
    prepare: &dyn Fn() -> crate::Result<()>,
    setup: &dyn Fn() -> crate::Result<()>,
    argv: &[String],
    env: Option<&[String]>,
) -> crate::Result<(Running, Gate)> {
    anyhow::ensure!(!argv.is_empty(), "no command to run");
    let cargs = cstrings(argv)?;
    let cenv = env.map(cstrings).transpose()?;
    let search_path = env
        .and_then(|e| e.iter().find_map(|v| v.strip_prefix("PATH=")))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let argv0 = argv[0].clone();
    let mut gate = Gate::new()?;
    let fds = gate.fds();
    let error_fd = gate.error_write.as_ref().map_or(-1, |f| f.as_raw_fd());
    // In the child: say why it gives up, on its stderr and to the parent (whose own error,
    // "the child is gone", would hide it).
    let fail = move |e: anyhow::Error, cmd: &CString| {
        let why = format!("cannot start {cmd:?}: {e:#}");
        eprintln!("error: {why}");
        // SAFETY: write(2) of a buffer we own to the error pipe's write end, ours to use.
        unsafe { libc::write(error_fd, why.as_ptr().cast(), why.len()) };
        126
    };
    let mut stack = vec![0u8; 1 << 20];
    // The child gets a copy of our memory, stdout's buffer included: empty it first so
    // nothing is printed twice.
    std::io::stdout().flush()?;
    // ANCHOR: clone
    let child = move || -> isize {
        if let Err(e) = prepare() {
            return fail(e, &cargs[0]);
        }
        if !Gate::wait_in_child(fds) {
            return 126;
        }
        if let Err(e) = setup() {
            return fail(e, &cargs[0]);
        }
        let err = match &cenv {
            None => nix::unistd::execvp(&cargs[0], &cargs).unwrap_err(),
            Some(cenv) => match look_path(&argv0, &search_path) {
                Some(path) => nix::unistd::execve(&path, &cargs, cenv).unwrap_err(),
                None => Errno::ENOENT,
            },
        };
        let hint = match err {
            Errno::E2BIG => " (one argument may hold at most 128 KiB, MAX_ARG_STRLEN)",
            _ => "",
        };
        eprintln!("error: cannot run {:?}: {}{hint}", cargs[0], err.desc());
        127
    };
    // SAFETY: the child runs on its own stack in a copy of this single-threaded process and
    // only execs or returns; SIGCHLD makes it an ordinary child that waitpid can reap.
    let cloned =
        unsafe { nix::sched::clone(Box::new(child), &mut stack, flags, Some(libc::SIGCHLD)) };
    // ANCHOR_END: clone
    let call = format!(
        "clone({}SIGCHLD)",
        if flags.is_empty() { String::new() } else { crate::sys::clone_flags_str(flags) + "|" }
    );
    match cloned {
        Ok(pid) => {
            report::syscall(&call, &pid.to_string());
            // Only the child's copies of the write ends may stay open.
            gate.exec_write.take();
            gate.error_write.take();
            Ok((Running::new(pid), gate))
        }
        Err(e) => {
            report::syscall(&call, &format!("-1 {e:?} ({})", e.desc()));
            let err = crate::sys::failure(&call, e);
            Err(match e {
                Errno::EINVAL => err.context("this kernel lacks one of these namespace types"),
                _ => err,
            })
        }
    }
}

/// The `PATH` a container gets when its image sets none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `cmd` as execve wants it: a path as given, or the first executable file of that name in
/// one of `path`'s directories.
pub fn look_path(cmd: &str, path: &str) -> Option<CString> {
    use std::os::unix::fs::PermissionsExt;
    let candidate = |p: String| {
        let ok =
            std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        ok.then(|| CString::new(p).ok()).flatten()
    };
    if cmd.contains('/') {
        return CString::new(cmd).ok();
    }
    path.split(':').filter(|d| !d.is_empty()).find_map(|d| candidate(format!("{d}/{cmd}")))
}

/// Is `pid` alive and the same process that started at `start` (clock ticks since boot)?
pub fn process_alive(pid: i32, start: u64) -> bool {
    pid > 0 && start_time(pid).is_some_and(|s| start == 0 || s == start)
}

/// Field 22 of `/proc/PID/stat`: when the process started. A zombie counts as gone.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and ')': fields count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}
