//! Containers: created from an image, run under a monitor, their state on disk.
//!
//! - [`state`]: `containers/<id>/config.json` and `state.json`, names and IDs
//! - [`config`]: a container's configuration from an image plus `run`'s overrides
//! - [`run`]: create, start, the monitor, stop, kill, rm
//! - [`security`]: capabilities and no_new_privs
//! - [`template`]: `inspect --format '{{.State.Pid}}'`
//! - [`tty`]: `-t`, a pseudo-terminal made inside the container, its master sent to the monitor
//! - [`inspect`]: containers and volumes as `docker inspect` shows them

pub mod config;
pub mod inspect;
pub mod run;
pub mod security;
pub mod state;
pub mod template;
pub mod tty;

pub use state::{Container, ContainerConfig, State, Status};
