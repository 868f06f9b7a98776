//! Containers: created from an image, run under a monitor, their state on disk.
//!
//! - [`state`]: `containers/<id>/config.json` and `state.json`, names and IDs
//! - [`run`]: create, start, the monitor, stop, kill, rm
//! - [`security`]: capabilities and no_new_privs
//! - [`template`]: `inspect --format '{{.State.Pid}}'`

pub mod run;
pub mod security;
pub mod state;
pub mod template;

pub use state::{Container, ContainerConfig, State, Status};
