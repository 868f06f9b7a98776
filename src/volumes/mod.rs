//! Volumes: a directory of the host bind-mounted into a container — made in the container's
//! mount namespace, after its rootfs is ready and before `pivot_root`, so the host's mount
//! table never shows it.
//!
//! Three kinds of `-v`, as in Docker:
//! - `-v /test`: an *anonymous* volume, `$MINIDOCKER_ROOT/volumes/<64 hex>/_data`, made for
//!   this one container (`rm -v` and `run --rm` remove it with the container);
//! - `-v NAME:/test`: the *named* volume NAME, created on first use, kept until `volume rm`;
//! - `-v /host/dir:/test`: a *bind mount* of a host directory (or file), used as it is.
//!
//! Add `:ro` to any of them for a read-only mount, `:nocopy` to a volume to keep it empty.
//!
//! An empty volume is filled from the image first — Docker's *copyData*: the files the image
//! has at the mount point, with their owners, modes and times, are copied into the volume,
//! so a container finds what its image put there, and keeps it across containers. A host
//! directory is never filled: the bind mount hides whatever the image had there. Exercise 08
//! decides both — how `-v` is read and when a volume is filled ([`solution`] is the reference
//! answer the library uses).
//!
//! Where things happen:
//! - [`attach`], in `create`: anonymous volumes get their names, named ones are created,
//!   under the volumes' lock, so `volume rm` and `volume prune`
//!   (`container::volumes`) never remove one a new container is taking;
//! - [`prepare`], in the container's monitor (in its own mount namespace, the overlay
//!   mounted): copyData into empty volumes, and the list of bind mounts to make;
//! - [`mount_all`] ([`crate::mounts`]), in the container's child process, from
//!   `rootfs::enter`'s hook: each mount point found (symlinks resolved *inside* the rootfs,
//!   [`crate::rooted`]) or created in the merged tree and held open, `mount(source,
//!   /proc/self/fd/N, MS_BIND|MS_REC)` onto that very descriptor, and a read-only remount for
//!   `:ro`.
//!
//! The files: [`spec`] reads `-v`, [`store`] keeps the volumes on disk, [`fill`] prepares
//! them at start (copyData and the bind mounts).

/// Exercise 08's reference answer, compiled as this module's own code.
#[path = "../../solutions/08-volumes-bind-mount/exercise.rs"]
pub mod solution;

pub mod fill;
pub mod spec;
pub mod store;

pub use crate::files::is_empty;
pub use crate::mounts::{mount_all, mount_point, Bind};
pub use fill::prepare;
pub use spec::{
    clean, destinations, parse_all, parse_all_with, parse_with, valid_name, Mount, Source, Spec,
};
pub use store::{
    attach, create, data_dir, delete, get, list, lock, prune_unused, volumes_dir, Attached, Lock,
    Pruned, Volume,
};

use std::path::Path;

/// Exercise 08, how `-v` is read and when a volume is filled: the reference answer's
/// ([`RULES`]) or a student's (`08-volumes-bind-mount --mine`). Passed to [`parse_with`],
/// [`parse_all_with`], [`prepare`] and `container::run::start_with`.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `-v TEXT` → what it asks for.
    pub parse: fn(&str) -> crate::Result<Spec>,
    /// Is the directory `dir`, about to be mounted for `spec`, filled from the image first?
    pub fills_from_image: fn(&Spec, &Path) -> bool,
}

/// The rules the library uses (`minidocker run -v`): the reference answer's.
pub use solution::RULES;
