//! Containers: created from an image, run under a monitor, their state on disk.
//!
//! - [`state`]: `containers/<id>/config.json` and `state.json`, names and IDs
//! - [`config`]: a container's configuration from an image plus `run`'s overrides
//! - [`run`]: create, start, the monitor, stop, kill, rm
//! - [`security`]: capabilities and no_new_privs
//! - [`init`]: `--init`, a tiny PID 1 that passes signals on and reaps zombies
//! - [`spawn`]: a command started in a container (namespaces, pivot_root, user, environment)
//! - [`template`]: `inspect --format '{{.State.Pid}}'`
//! - [`tty`]: `-t`, a pseudo-terminal made inside the container, its master sent to the monitor
//! - [`volumes`]: which containers use a volume; `volume rm`, `rm -v`, `volume prune`
//! - [`inspect`]: containers and volumes as `docker inspect` shows them
//! - [`check`]: `system check`: containers against the store, what a crash left of them

pub mod check;
pub mod config;
pub mod init;
pub mod inspect;
pub mod run;
pub mod security;
pub mod spawn;
pub mod state;
pub mod template;
pub mod tty;
pub mod volumes;

pub use state::{Container, ContainerConfig, State, Status};

// ANCHOR: rules
/// The exercises a running container is made of: lessons 01 (its namespaces), 02 (its CPU and
/// memory limits), 03 (its union mount and the switch of root), 05 (its published ports) and
/// 08 (its volumes). [`RULES`] holds the reference answers — what `minidocker run` uses; the
/// capstone (`minidocker --mine run …`) passes the student's, each lesson's `exercise.rs`, and
/// a lesson passes the reference answers with its own exercise swapped in.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub namespaces: crate::namespaces::Rules,
    pub cgroups: crate::cgroups::Rules,
    pub rootfs: crate::rootfs::Rules,
    pub network: crate::network::Rules,
    pub volumes: crate::volumes::Rules,
}

/// The reference answers of every exercise a container runs on.
pub const RULES: Rules = Rules {
    namespaces: crate::namespaces::RULES,
    cgroups: crate::cgroups::RULES,
    rootfs: crate::rootfs::RULES,
    network: crate::network::RULES,
    volumes: crate::volumes::RULES,
};
// ANCHOR_END: rules
