//! `-t`: a real terminal for the container, made the way runc makes it (its "console socket").
//!
//! A pseudo-terminal is a pair: the *slave* end (`/dev/pts/N`) behaves like a terminal — the
//! command's standard input, output and error, with a line discipline that echoes, edits lines
//! and turns Ctrl-C into SIGINT for the foreground process group — and the *master* end is the
//! wire to it: what is written there is "typed", what the command prints is read there.
//!
//! ```text
//! caller's terminal ⇄ monitor ⇄ master ═ line discipline ═ /dev/pts/0 = the command's 0, 1, 2
//!                               └──── sent back over a unix socket (SCM_RIGHTS) ────┘
//! ```
//!
//! The pair is made *inside* the container, after pivot_root: `/dev/ptmx` there is the
//! container's own devpts instance (`rootfs::enter`), so the command sees `/dev/pts/0`, not a
//! number of the host's. The child keeps the slave and sends the master to the monitor, which
//! copies between it and the caller, and into the container's log ([`relay`], which also
//! copies a foreground container's output pipes when it has no terminal).

use crate::{interrupt, sys};
use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags};
use nix::pty::Winsize;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::socket::{self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::{IoSlice, IoSliceMut, IsTerminal};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The unix socket pair the master travels on, made before the child is.
pub struct ConsoleSocket {
    receiver: OwnedFd,
    sender: OwnedFd,
}

impl ConsoleSocket {
    pub fn new() -> crate::Result<ConsoleSocket> {
        // CLOEXEC: neither end leaks into the command.
        let (receiver, sender) = socket::socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| sys::failure("socketpair(AF_UNIX) for the console", e))?;
        Ok(ConsoleSocket { receiver, sender })
    }

    /// The child's end, as the child (a copy of this process) finds it.
    pub fn sender_fd(&self) -> RawFd {
        self.sender.as_raw_fd()
    }

    /// Once the child exists: close our copy of its end, so that a child that dies before it
    /// sends anything reads as end-of-file in [`receive`] instead of a wait forever.
    pub fn into_receiver(self) -> OwnedFd {
        self.receiver
    }
}

// ANCHOR: open_in_child
/// In the child, on the container's root: make the pair, make the slave our controlling
/// terminal and standard streams, and send the master over `sock`. `console`: also bind the
/// slave onto `/dev/console`, as runc does for a container's first process.
pub fn open_in_child(sock: RawFd, size: Option<Winsize>, console: bool) -> crate::Result<()> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(|e| sys::failure("open(/dev/ptmx)", e))?;
    nix::pty::grantpt(&master).map_err(|e| sys::failure("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| sys::failure("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| sys::failure("ioctl(TIOCGPTN)", e))?;
    let slave = nix::fcntl::open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| sys::failure(&format!("open({name})"), e))?;
    if let Some(size) = size {
        // Before the command starts, so its first `stty size` is already right.
        set_size(master.as_fd(), &size)?;
    }
    // A new session, with the slave as its terminal: the line discipline then knows which
    // process group Ctrl-C and a hang-up are for.
    nix::unistd::setsid().map_err(|e| sys::failure("setsid", e))?;
    // SAFETY: an ioctl with an integer argument on a descriptor we own.
    Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) }).map_err(|e| sys::failure("ioctl(TIOCSCTTY)", e))?;
    if console {
        let path = Path::new("/dev/console");
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).context("creating /dev/console")?;
        sys::mount(Some(&name), path, None, nix::mount::MsFlags::MS_BIND, None)?;
    }
    for dup in [nix::unistd::dup2_stdin, nix::unistd::dup2_stdout, nix::unistd::dup2_stderr] {
        dup(&slave).map_err(|e| sys::failure("dup2(<the pty's slave>, 0|1|2)", e))?;
    }
    socket::sendmsg::<()>(sock, &[IoSlice::new(b"m")], &[ControlMessage::ScmRights(&[master.as_raw_fd()])], MsgFlags::empty(), None)
        .map_err(|e| sys::failure("sendmsg(SCM_RIGHTS, <the pty's master>)", e))?;
    Ok(())
}
// ANCHOR_END: open_in_child

/// The monitor's side: the master the child sent, or `None` if it died before sending one.
pub fn receive(sock: &OwnedFd) -> crate::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    loop {
        // A signal meanwhile stays recorded: whoever waits for the container next passes it on.
        match socket::recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys::failure("recvmsg(<the pty's master>)", e)),
            Ok(msg) => {
                for cmsg in msg.cmsgs().map_err(|e| sys::failure("recvmsg", e))? {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        // SAFETY: the kernel just installed these descriptors for us.
                        let mut fds = fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
                        return Ok(fds.next());
                    }
                }
                return Ok(None);
            }
        }
    }
}

/// The size of the caller's terminal (standard input's, else output's), if it has one.
pub fn caller_size() -> Option<Winsize> {
    let mut size = Winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    [0, 1].into_iter().find(|&fd| unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0).map(|_| size)
}

fn set_size(master: BorrowedFd, size: &Winsize) -> crate::Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize we own; the kernel then sends SIGWINCH to the
    // terminal's foreground process group.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, size) }).map(drop).map_err(|e| sys::failure("ioctl(TIOCSWINSZ)", e))
}

/// The caller's terminal in raw mode — no echo, no line editing, no signals from keys: every
/// byte typed goes to the container's terminal, whose own line discipline does all that —
/// until this is dropped, on every way out.
pub struct RawMode(Termios);

impl RawMode {
    pub fn enable() -> crate::Result<RawMode> {
        let saved = termios::tcgetattr(std::io::stdin()).map_err(|e| sys::failure("tcgetattr(0)", e))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &raw).map_err(|e| sys::failure("tcsetattr(0, raw)", e))?;
        Ok(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.0);
    }
}

static RESIZED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, Ordering::SeqCst);
}

/// A foreground `-t`: the container's terminal on the caller's. With `interactive` (`-i`)
/// what is typed goes in, and a caller's terminal is put in raw mode meanwhile; without,
/// standard input is not read, as in Docker. `forward` gets the signals this process
/// catches (SIGTERM, and Ctrl-C when the terminal is not raw). Returns once the container's
/// side of the terminal is closed — everything it printed has been copied.
pub fn attach(master: &OwnedFd, interactive: bool, forward: &dyn Fn(Signal)) -> crate::Result<()> {
    attach_logged(master, interactive, None, forward)
}

/// [`attach`], and what the terminal shows is also appended to `log` (a container's log).
pub fn attach_logged(master: &OwnedFd, interactive: bool, log: Option<BorrowedFd>, forward: &dyn Fn(Signal)) -> crate::Result<()> {
    let _raw = if interactive && std::io::stdin().is_terminal() { Some(RawMode::enable()?) } else { None };
    let resize = caller_size().is_some();
    if resize {
        let action = SigAction::new(SigHandler::Handler(on_winch), SaFlags::empty(), SigSet::empty());
        // SAFETY: the handler only stores into an atomic.
        unsafe { nix::sys::signal::sigaction(Signal::SIGWINCH, &action) }.map_err(|e| sys::failure("sigaction(SIGWINCH)", e))?;
    }
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let mut streams = vec![Stream::output(master.as_fd(), [stdout.as_fd()].into_iter().chain(log).collect())];
    if interactive {
        streams.push(Stream::input(stdin.as_fd(), vec![master.as_fd()]));
    }
    relay(streams, resize.then(|| master.as_fd()), forward)
}

/// One copy [`relay`] makes: what is read from `from` is written to each of `to`, in order.
pub struct Stream<'a> {
    from: BorrowedFd<'a>,
    to: Vec<BorrowedFd<'a>>,
    /// The container's output, whose end the relay waits for — not the caller's input.
    awaited: bool,
}

impl<'a> Stream<'a> {
    /// The container's output (a terminal's master, a pipe): the relay lasts until it ends.
    pub fn output(from: BorrowedFd<'a>, to: Vec<BorrowedFd<'a>>) -> Stream<'a> {
        Stream { from, to, awaited: true }
    }

    /// The caller's input: copied while there is some, not waited for.
    pub fn input(from: BorrowedFd<'a>, to: Vec<BorrowedFd<'a>>) -> Stream<'a> {
        Stream { from, to, awaited: false }
    }
}

/// The monitor's one copy loop, for a terminal and for pipes alike: copy each stream's source
/// to its destinations, with poll(2), until every output stream has ended (read gives 0 or,
/// on a terminal's master once no slave is open, EIO) — the container and everything that
/// inherited its output are gone, and all they printed has been copied. A destination that is
/// a broken pipe (`run … | head -1`) is dropped and the others, the log, still get it all.
/// `resize`: the master that follows the caller's terminal's size. Signals are blocked except
/// while waiting in ppoll, so none is missed between a check and the wait; `forward` gets them.
pub fn relay(mut streams: Vec<Stream>, resize: Option<BorrowedFd>, forward: &dyn Fn(Signal)) -> crate::Result<()> {
    let mut caught = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGWINCH] {
        caught.add(s);
    }
    // A broken pipe is EPIPE from write, not the end of this process (minidocker restores
    // SIGPIPE's default action, for its own output's sake).
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: ignoring a signal installs no handler.
    let sigpipe = unsafe { nix::sys::signal::sigaction(Signal::SIGPIPE, &ignore) }.map_err(|e| sys::failure("sigaction(SIGPIPE, SIG_IGN)", e))?;
    let before = caught.thread_swap_mask(SigmaskHow::SIG_BLOCK).map_err(|e| sys::failure("sigprocmask", e))?;
    let mut buf = vec![0u8; 16 * 1024];
    // What the signal handlers recorded: passed on before anything else is copied (a resize
    // before the keys typed after it).
    let settle = || -> crate::Result<()> {
        if let Err(sig) = interrupt::check() {
            interrupt::clear();
            forward(Signal::try_from(sig.0).unwrap_or(Signal::SIGTERM));
        }
        if let Some(master) = resize {
            if RESIZED.swap(false, Ordering::SeqCst) {
                if let Some(size) = caller_size() {
                    set_size(master, &size)?;
                }
            }
        }
        Ok(())
    };
    let result = (|| loop {
        settle()?;
        if !streams.iter().any(|s| s.awaited) {
            return Ok(());
        }
        let mut fds: Vec<PollFd> = streams.iter().map(|s| PollFd::new(s.from, PollFlags::POLLIN)).collect();
        let polled = nix::poll::ppoll(&mut fds, None, Some(before));
        settle()?;
        match polled {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys::failure("ppoll", e)),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        let mut ended = vec![false; streams.len()];
        for (i, s) in streams.iter_mut().enumerate().filter(|(i, _)| ready[*i]) {
            match nix::unistd::read(s.from, &mut buf) {
                Ok(n) if n > 0 => deliver(&mut s.to, &buf[..n])?,
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                // The end: EIO on a master means no slave is open any more, and what the
                // container printed before has all been read.
                Ok(_) | Err(Errno::EIO) => ended[i] = true,
                Err(e) if s.awaited => return Err(sys::failure(&format!("read({})", s.from.as_raw_fd()), e)),
                // An input that fails (a terminal that hung up) is no longer read.
                Err(_) => ended[i] = true,
            }
        }
        let mut ended = ended.into_iter();
        streams.retain(|_| !ended.next().unwrap_or(false));
    })();
    let _ = before.thread_set_mask();
    // SAFETY: the action that was there before.
    let _ = unsafe { nix::sys::signal::sigaction(Signal::SIGPIPE, &sigpipe) };
    result
}

/// Write `bytes` to each of `to`; a destination whose reader is gone (EPIPE) is dropped.
fn deliver(to: &mut Vec<BorrowedFd>, bytes: &[u8]) -> crate::Result<()> {
    let mut i = 0;
    while i < to.len() {
        match write_all(to[i], bytes) {
            Ok(()) => i += 1,
            Err(Errno::EPIPE) => {
                to.remove(i);
            }
            Err(e) => return Err(sys::failure(&format!("write({})", to[i].as_raw_fd()), e)),
        }
    }
    Ok(())
}

fn write_all(fd: BorrowedFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
