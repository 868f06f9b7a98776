//! At start, in the container's monitor: fill the empty volumes from the image (Docker's
//! copyData), and turn the container's mounts into the [`Bind`]s its child makes.

use super::{Mount, Rules};
use crate::files::copy_data;
use crate::mounts::Bind;
use crate::rooted::{self, Root};
use crate::sys;
use anyhow::{ensure, Context};
use nix::fcntl::{Flock, FlockArg, OFlag};
use std::fs::{self, File};
use std::path::Path;

/// In the monitor, the container's overlay mounted at `merged`: check each mount's source,
/// fill the empty volumes `rules` says to fill from what `merged` has at the destination,
/// and return the bind mounts to make, parents before children.
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
        if m.spec.is_volume() {
            // One container at a time fills a volume; a second one starting with it waits, then
            // finds it no longer empty.
            let _filling = Flock::lock(File::open(&source)?, FlockArg::LockExclusive)
                .map_err(|(_, e)| sys::failure("flock(volume)", e))?;
            if (rules.fills_from_image)(&m.spec, &source) {
                if let Some(from) = in_image.filter(|p| p.is_dir()) {
                    copy_data(&from, &source).with_context(|| {
                        format!(
                            "copying the image's {} into volume {}",
                            m.spec.destination, m.volume
                        )
                    })?;
                }
            }
        } else if (rules.fills_from_image)(&m.spec, &source) {
            // Only a student's rule gets here: the reference answer never fills a host directory.
            if let Some(from) = in_image.filter(|p| p.is_dir()) {
                copy_data(&from, &source)?;
            }
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
    binds.sort_by_key(|b| Path::new(&b.destination).components().count());
    Ok(binds)
}
