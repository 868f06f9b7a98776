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
