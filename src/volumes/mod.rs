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
//! directory is never filled: the bind mount hides whatever the image had there.
//!
//! Where things happen:
//! - [`attach`], in `create`: anonymous volumes get their names, named ones are created,
//!   under the volumes' lock, so `volume rm` and `volume prune`
//!   (`container::volumes`) never remove one a new container is taking;
//! - [`prepare`], in the container's monitor (in its own mount namespace, the overlay
//!   mounted): copyData — exercise 08's `fill_from_image` — and the list of bind mounts;
//! - [`enter`], in the container's child: the rootfs made ready, then exercise 08's
//!   `mount_volumes`: each mount point found or created *inside* the merged tree
//!   ([`MountPoint`]), `mount(source, it, MS_BIND|MS_REC)`, a read-only remount for `:ro` —
//!   and only then the switch of root, which it is handed.
//!
//! Exercise 08 is those two: [`solution`] is the reference answer the library uses. The
//! files: [`spec`] reads `-v`, [`store`] keeps the volumes on disk, [`fill`] prepares them at
//! start, [`enter`] mounts them.

/// Exercise 08's reference answer, compiled as this module's own code.
#[path = "../../solutions/08-volumes-bind-mount/exercise.rs"]
pub mod solution;

pub mod enter;
pub mod fill;
pub mod spec;
pub mod store;

pub use crate::files::{copy_contents, is_empty};
pub use crate::mounts::{mount_all, mount_point, Bind, MountPoint};
pub use enter::enter;
pub use fill::prepare;
pub use spec::{clean, destinations, parse, parse_all, valid_name, Mount, Source, Spec};
pub use store::{
    attach, create, data_dir, delete, get, list, lock, prune_unused, volumes_dir, Attached, Lock,
    Pruned, Volume,
};

use std::path::Path;

/// Exercise 08, the bind mounts made before `pivot_root` and copyData: the reference
/// answer's ([`RULES`]) or a student's (`08-volumes-bind-mount --mine`). Passed to
/// [`prepare`], [`enter`] and `container::run::start_with`.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// In the container's child, its rootfs ready at `merged`: make the bind mounts, and
    /// switch root by calling the function given.
    pub mount_volumes: fn(&Path, &[Bind], &SwitchRoot) -> crate::Result<()>,
    /// copyData: `image`, what the image has at the mount point (a directory), and `dir`, the
    /// directory of the host about to be mounted there: fill `dir` from `image`, or not.
    pub fill_from_image: fn(&Spec, &Path, &Path) -> crate::Result<()>,
}

/// What `mount_volumes` is handed to switch root: Docker's masks, then exercise 03's
/// `switch_root`, checked.
pub type SwitchRoot<'a> = dyn Fn() -> crate::Result<()> + 'a;

/// The rules the library uses (`minidocker run -v`): the reference answer's.
pub use solution::RULES;
