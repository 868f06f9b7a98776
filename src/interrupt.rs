//! Ctrl-C (SIGINT), SIGTERM and SIGHUP become an ordinary error.
//!
//! The handler only records the signal. It is installed without `SA_RESTART`, so a blocking
//! wait or read returns `EINTR`; the code there calls [`check`], the error travels up like any
//! other, and every guard on the way (mounts, cgroups, children) is dropped and cleaned up.
//! One cleanup path for success, error and Ctrl-C.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

// ANCHOR: record
extern "C" fn record(sig: libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

// ANCHOR_END: record
/// Install the recording handler for SIGINT, SIGTERM and SIGHUP.
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(record), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }.expect("sigaction on a standard signal cannot fail");
    }
}

/// The error a caught signal turns into; the process exits with 128 + signal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub i32);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Signal::try_from(self.0).map(|s| s.as_str()).unwrap_or("signal");
        write!(f, "interrupted by {name}")
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once a signal has arrived, so long work stops at the next check.
pub fn check() -> Result<(), Interrupted> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => Ok(()),
        sig => Err(Interrupted(sig)),
    }
}

/// Forget a caught signal once it has been handled (passed on to a container, say).
pub fn clear() {
    CAUGHT.store(0, Ordering::SeqCst);
}

/// The caught signal, if any, forgotten as it is returned: for code that passes signals on
/// (to a container, a command) instead of stopping.
pub fn take() -> Option<Signal> {
    match CAUGHT.swap(0, Ordering::SeqCst) {
        0 => None,
        sig => Signal::try_from(sig).ok(),
    }
}
