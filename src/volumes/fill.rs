//! At start, in the container's monitor: fill the empty volumes from the image (Docker's
//! copyData), and turn the container's mounts into the [`Bind`]s its child makes.

use super::{Mount, Rules};
use crate::mounts::Bind;
use crate::rooted::{self, Root};
use crate::sys;
use anyhow::{ensure, Context};
use nix::fcntl::{Flock, FlockArg, OFlag};
use std::fs::{self, File};
use std::path::Path;

/// In the monitor, the container's overlay mounted at `merged`: check each mount's source,
/// let `rules.fill_from_image` fill it from the directory `merged` has at the destination
/// (copyData), and return the bind mounts to make, in the order of `mounts`.
pub fn prepare(
    root: &Path,
    mounts: &[Mount],
    merged: &Path,
    rules: &Rules,
) -> crate::Result<Vec<Bind>> {
    let mut binds = Vec::new();
    let image = Root::new(merged)?;
    for m in mounts {
        let source = m.host_path(root);
        let meta = fs::metadata(&source).with_context(|| match m.spec.is_volume() {
            true => format!("volume {} is gone (removed behind the container's back?)", m.volume),
            false => format!("the host path {} of -v is missing", source.display()),
        })?;
        // What the image has at the destination, resolved inside it and held open: it is
        // read through the descriptor, never by a path walked again.
        let held = image.open(&m.spec.destination, OFlag::O_PATH).ok();
        let in_image = held.as_ref().map(rooted::fd_path);
        if let Some(p) = &in_image {
            let is_dir = fs::metadata(p)?.is_dir();
            ensure!(
                is_dir == meta.is_dir(),
                "cannot mount {} on {}: the image has a {} there",
                source.display(),
                m.spec.destination,
                if is_dir { "directory" } else { "file" }
            );
        }
        // ANCHOR: fill
        if let Some(from) = in_image.filter(|p| p.is_dir()) {
            // One container at a time fills a volume; a second one starting with it waits,
            // then finds it no longer empty.
            let _filling = Flock::lock(File::open(&source)?, FlockArg::LockExclusive)
                .map_err(|(_, e)| sys::failure("flock(volume)", e))?;
            (rules.fill_from_image)(&m.spec, &from, &source).with_context(|| {
                format!(
                    "copyData of the image's {} into {} (exercise 08's fill_from_image)",
                    m.spec.destination,
                    source.display()
                )
            })?;
        }
        // ANCHOR_END: fill
        binds.push(Bind {
            source,
            destination: m.spec.destination.clone(),
            read_only: m.spec.read_only,
            file: !meta.is_dir(),
            tmpfs: None,
        });
    }
    Ok(binds)
}
