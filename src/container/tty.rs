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
use nix::fcntl::{FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::pty::Winsize;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::socket::{
    self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
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
        let (receiver, sender) =
            socket::socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
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
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| sys::failure("open(/dev/ptmx)", e))?;
    nix::pty::grantpt(&master).map_err(|e| sys::failure("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| sys::failure("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| sys::failure("ioctl(TIOCGPTN)", e))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| sys::failure(&format!("open({name})"), e))?;
    if let Some(size) = size {
        // Before the command starts, so its first `stty size` is already right.
        set_size(master.as_fd(), &size)?;
    }
    // A new session, with the slave as its terminal: the line discipline then knows which
    // process group Ctrl-C and a hang-up are for.
    nix::unistd::setsid().map_err(|e| sys::failure("setsid", e))?;
    // SAFETY: an ioctl with an integer argument on a descriptor we own.
    Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) })
        .map_err(|e| sys::failure("ioctl(TIOCSCTTY)", e))?;
    if console {
        let path = Path::new("/dev/console");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .context("creating /dev/console")?;
        sys::mount(Some(&name), path, None, nix::mount::MsFlags::MS_BIND, None)?;
    }
    for fd in 0..3 {
        sys::dup2(slave.as_raw_fd(), fd)?;
    }
    socket::sendmsg::<()>(
        sock,
        &[IoSlice::new(b"m")],
        &[ControlMessage::ScmRights(&[master.as_raw_fd()])],
        MsgFlags::empty(),
        None,
    )
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
        match socket::recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys::failure("recvmsg(<the pty's master>)", e)),
            Ok(msg) => {
                for cmsg in msg.cmsgs().map_err(|e| sys::failure("recvmsg", e))? {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        // SAFETY: the kernel just installed these descriptors for us. All of
                        // them are wrapped, so that any beyond the one expected are closed.
                        let fds: Vec<OwnedFd> =
                            fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect();
                        return Ok(fds.into_iter().next());
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
    [0, 1]
        .into_iter()
        .find(|&fd| unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0)
        .map(|_| size)
}

fn set_size(master: BorrowedFd, size: &Winsize) -> crate::Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize we own; the kernel then sends SIGWINCH to the
    // terminal's foreground process group.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, size) })
        .map(drop)
        .map_err(|e| sys::failure("ioctl(TIOCSWINSZ)", e))
}

/// The caller's terminal in raw mode — no echo, no line editing, no signals from keys: every
/// byte typed goes to the container's terminal, whose own line discipline does all that —
/// until this is dropped, on every way out.
pub struct RawMode(Termios);

impl RawMode {
    pub fn enable() -> crate::Result<RawMode> {
        let saved =
            termios::tcgetattr(std::io::stdin()).map_err(|e| sys::failure("tcgetattr(0)", e))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &raw)
            .map_err(|e| sys::failure("tcsetattr(0, raw)", e))?;
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

/// A signal's action, replaced for a while: the one before is put back when this is dropped.
struct Replaced(Signal, SigAction);

impl Replaced {
    fn install(sig: Signal, handler: SigHandler) -> crate::Result<Replaced> {
        let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
        // SAFETY: the handlers installed here only store into an atomic, or ignore the signal.
        let before = unsafe { nix::sys::signal::sigaction(sig, &action) }
            .map_err(|e| sys::failure(&format!("sigaction({sig})"), e))?;
        Ok(Replaced(sig, before))
    }
}

impl Drop for Replaced {
    fn drop(&mut self) {
        // SAFETY: the action that was there before.
        let _ = unsafe { nix::sys::signal::sigaction(self.0, &self.1) };
    }
}

/// A foreground `-t`: the container's terminal on the caller's, and what it shows also
/// appended to `log` (a container's log) if there is one. With `interactive` (`-i`) what is
/// typed goes in, and a caller's terminal is put in raw mode meanwhile; without, standard
/// input is not read, as in Docker. `forward` gets the signals this process catches
/// (SIGTERM, and Ctrl-C when the terminal is not raw). Returns once the container's side of
/// the terminal is closed — everything it printed has been copied.
pub fn attach(
    master: &OwnedFd,
    interactive: bool,
    log: Option<BorrowedFd>,
    until: Option<BorrowedFd>,
    forward: &dyn Fn(Signal),
) -> crate::Result<()> {
    // The master is ours alone (the child's copy closed when it executed the command), so it
    // can be non-blocking: input the container does not read yet waits in [`relay`].
    let flags = nix::fcntl::fcntl(master, FcntlArg::F_GETFL)
        .map_err(|e| sys::failure("fcntl(<the pty's master>, F_GETFL)", e))?;
    nix::fcntl::fcntl(
        master,
        FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK),
    )
    .map_err(|e| sys::failure("fcntl(<the pty's master>, F_SETFL, O_NONBLOCK)", e))?;
    let _raw =
        if interactive && std::io::stdin().is_terminal() { Some(RawMode::enable()?) } else { None };
    let resize = caller_size().is_some();
    let _winch = if resize {
        Some(Replaced::install(Signal::SIGWINCH, SigHandler::Handler(on_winch))?)
    } else {
        None
    };
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let mut streams =
        vec![Stream::output(master.as_fd(), [stdout.as_fd()].into_iter().chain(log).collect())];
    if interactive {
        streams.push(Stream::input(stdin.as_fd(), master.as_fd()));
    }
    streams.extend(until.map(Stream::Until));
    relay(streams, resize.then(|| master.as_fd()), forward)
}

/// One copy [`relay`] makes.
pub enum Stream<'a> {
    /// The container's output (a terminal's master, a pipe), written to each of `to` in
    /// order — the caller's stream, the log. The relay lasts until it ends.
    Output { from: BorrowedFd<'a>, to: Vec<BorrowedFd<'a>> },
    /// The caller's input, written to a terminal's non-blocking master while there is some;
    /// not waited for. `pending`: read, and not taken by the master yet.
    Input { from: BorrowedFd<'a>, master: BorrowedFd<'a>, pending: Vec<u8> },
    /// A pidfd: once that process has ended, the relay ends too, after copying what the
    /// outputs still hold. (`exec -t`: a job the command left in the background may keep the
    /// terminal open long after; `docker exec` returns when the command does.)
    Until(BorrowedFd<'a>),
}

impl<'a> Stream<'a> {
    pub fn output(from: BorrowedFd<'a>, to: Vec<BorrowedFd<'a>>) -> Stream<'a> {
        Stream::Output { from, to }
    }

    pub fn input(from: BorrowedFd<'a>, master: BorrowedFd<'a>) -> Stream<'a> {
        Stream::Input { from, master, pending: Vec::new() }
    }
}

/// The monitor's one copy loop, for a terminal and for pipes alike: copy each stream's source
/// to its destinations, with poll(2), until every output stream has ended (read gives 0 or,
/// on a terminal's master once no slave is open, EIO) — the container and everything that
/// inherited its output are gone, and all they printed has been copied. A destination that is
/// a broken pipe (`run … | head -1`) is dropped and the others, the log, still get it all.
/// `resize`: the master that follows the caller's terminal's size.
///
/// Signals (`forward` gets them) are blocked except where the loop waits: in ppoll, so none
/// is missed between a check and the wait, and in [`deliver`]'s writes to the caller, which
/// may block as long as the caller's reader likes (a paused `| less`). Input waits only for
/// the master: what the container does not read yet stays in `pending`, and poll says when
/// the master takes more — its output is copied meanwhile, so a container that prints before
/// it reads a long paste does not wait for a monitor that waits for it.
pub fn relay(
    mut streams: Vec<Stream>,
    resize: Option<BorrowedFd>,
    forward: &dyn Fn(Signal),
) -> crate::Result<()> {
    let mut caught = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGWINCH] {
        caught.add(s);
    }
    let before = caught
        .thread_swap_mask(SigmaskHow::SIG_BLOCK)
        .map_err(|e| sys::failure("sigprocmask", e))?;
    // What the signal handlers recorded: passed on before anything else is copied (a resize
    // before the keys typed after it).
    let settle = || -> crate::Result<()> {
        if let Some(sig) = interrupt::take() {
            forward(sig);
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
    let result = (|| -> crate::Result<()> {
        // A broken pipe is EPIPE from write, not the end of this process (minidocker restores
        // SIGPIPE's default action, for its own output's sake).
        let _sigpipe = Replaced::install(Signal::SIGPIPE, SigHandler::SigIgn)?;
        let mut buf = vec![0u8; 16 * 1024];
        // Once an `Until` process has ended: what the outputs still hold is copied, until
        // they stay quiet for this long (a pty's buffer reaches the master through a kernel
        // worker, a moment after the writer is gone).
        let mut draining: Option<nix::sys::time::TimeSpec> = None;
        loop {
            settle()?;
            if !streams.iter().any(|s| matches!(s, Stream::Output { .. })) {
                return Ok(());
            }
            // Each source, to read from — but while input waits for the master, the master,
            // to write to (and no more input is read).
            let mut fds: Vec<PollFd> = streams
                .iter()
                .map(|s| match s {
                    Stream::Input { master, pending, .. } if !pending.is_empty() => {
                        PollFd::new(*master, PollFlags::POLLOUT)
                    }
                    Stream::Input { from, .. }
                    | Stream::Output { from, .. }
                    | Stream::Until(from) => PollFd::new(*from, PollFlags::POLLIN),
                })
                .collect();
            let polled = nix::poll::ppoll(&mut fds, draining, Some(before));
            settle()?;
            match polled {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(sys::failure("ppoll", e)),
                Ok(0) if draining.is_some() => return Ok(()),
                Ok(_) => {}
            }
            let ready: Vec<bool> =
                fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
            drop(fds);
            let mut ended = vec![false; streams.len()];
            for (i, s) in streams.iter_mut().enumerate().filter(|(i, _)| ready[*i]) {
                ended[i] = match s {
                    Stream::Output { from, to } => match nix::unistd::read(*from, &mut buf) {
                        Ok(n) if n > 0 => {
                            // Writes that may block: with the signals unblocked meanwhile.
                            let blocked = set_mask(before)?;
                            let delivered = deliver(to, &buf[..n], &settle);
                            set_mask(blocked)?;
                            delivered?;
                            false
                        }
                        Err(Errno::EINTR | Errno::EAGAIN) => false,
                        // The end: EIO on a master means no slave is open any more, and what
                        // the container printed before has all been read.
                        Ok(_) | Err(Errno::EIO) => true,
                        Err(e) => {
                            return Err(sys::failure(&format!("read({})", from.as_raw_fd()), e))
                        }
                    },
                    Stream::Input { from, master, pending } => {
                        pass_input(*from, *master, pending, &mut buf)
                    }
                    Stream::Until(_) => {
                        draining = Some(nix::sys::time::TimeSpec::from(
                            std::time::Duration::from_millis(50),
                        ));
                        true
                    }
                };
            }
            let mut ended = ended.into_iter();
            streams.retain(|_| !ended.next().unwrap_or(false));
        }
    })();
    let _ = before.thread_set_mask();
    result
}

/// This thread's signal mask becomes `mask`; returns the one before.
fn set_mask(mask: SigSet) -> crate::Result<SigSet> {
    mask.thread_swap_mask(SigmaskHow::SIG_SETMASK).map_err(|e| sys::failure("sigprocmask", e))
}

/// Input's turn in [`relay`]: read more once the master has taken all read before, then give
/// the master as much as it takes now. Whether the input has ended: end of file, a terminal
/// that hung up, or a master that takes no more (the container's side is closed).
fn pass_input(from: BorrowedFd, master: BorrowedFd, pending: &mut Vec<u8>, buf: &mut [u8]) -> bool {
    if pending.is_empty() {
        match nix::unistd::read(from, buf) {
            Ok(n) if n > 0 => pending.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => return false,
            Ok(_) | Err(_) => return true,
        }
    }
    match nix::unistd::write(master, pending) {
        Ok(n) => {
            pending.drain(..n);
            false
        }
        Err(e) => !matches!(e, Errno::EINTR | Errno::EAGAIN),
    }
}

/// Write `bytes` to each of `to` in full; a destination whose reader is gone (EPIPE) is
/// dropped. These are the caller's descriptors, shared with its shell: they stay as they are,
/// blocking, and [`relay`] unblocks the signals meanwhile: each one that interrupts a write
/// is passed on (`settle`) before the write goes on. One that another process made
/// non-blocking is waited for with poll, not retried in a spin.
///
/// (A signal that comes in the instant between `settle` and the write is only passed on once
/// the write returns: a window of a few instructions, where ppoll has none.)
fn deliver(
    to: &mut Vec<BorrowedFd>,
    bytes: &[u8],
    settle: &dyn Fn() -> crate::Result<()>,
) -> crate::Result<()> {
    let mut i = 0;
    while i < to.len() {
        let mut rest = bytes;
        while !rest.is_empty() {
            // A signal that cut the last write short (a part written, or EINTR) goes on first.
            settle()?;
            match nix::unistd::write(to[i], rest) {
                Ok(n) => rest = &rest[n..],
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    let _ = nix::poll::poll(
                        &mut [PollFd::new(to[i], PollFlags::POLLOUT)],
                        PollTimeout::NONE,
                    );
                }
                Err(Errno::EPIPE) => break,
                Err(e) => return Err(sys::failure(&format!("write({})", to[i].as_raw_fd()), e)),
            }
        }
        if rest.is_empty() {
            i += 1;
        } else {
            to.remove(i);
        }
    }
    Ok(())
}
