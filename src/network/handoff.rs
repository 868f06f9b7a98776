//! The attachment, known only once the child exists, handed to it through a pipe.

use super::Attachment;
use anyhow::Context;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

/// Hands the [`Attachment`] — known only after the child exists — to the child, which is a
/// copy of the parent from before: a pipe made before the clone. The parent [`sends`] before it
/// opens the gate; after the gate the child [`receives`] and calls [`configure_inside`](super::configure_inside).
///
/// [`sends`]: Handoff::send
/// [`receives`]: Handoff::receive
pub struct Handoff {
    read: OwnedFd,
    write: OwnedFd,
}

impl Handoff {
    pub fn new() -> crate::Result<Handoff> {
        // O_CLOEXEC: neither end leaks into the container's command.
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("pipe2 for the network handoff")?;
        Ok(Handoff { read, write })
    }

    /// In the parent: a length, then the attachment as JSON. It must fit in the pipe (64 KiB)
    /// since the child reads only after the gate opens.
    pub fn send(&self, att: &Attachment) -> crate::Result<()> {
        let json = serde_json::to_vec(att)?;
        anyhow::ensure!(
            json.len() < 60_000,
            "the network attachment is too large to hand over ({} bytes)",
            json.len()
        );
        let mut f = std::fs::File::from(self.write.try_clone()?);
        f.write_all(&(json.len() as u32).to_ne_bytes())?;
        f.write_all(&json).context("handing the network attachment to the container")?;
        Ok(())
    }

    /// In the child: the attachment the parent sent.
    pub fn receive(&self) -> crate::Result<Attachment> {
        let mut f = std::fs::File::from(self.read.try_clone()?);
        let mut len = [0u8; 4];
        f.read_exact(&mut len).context("reading the network attachment")?;
        let mut json = vec![0u8; u32::from_ne_bytes(len) as usize];
        f.read_exact(&mut json).context("reading the network attachment")?;
        serde_json::from_slice(&json).context("the network attachment handed over is damaged")
    }
}
