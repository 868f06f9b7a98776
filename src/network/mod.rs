//! Container networking, as Docker's bridge driver does it.
//!
//! A container starts in a network namespace of its own, where only a loopback interface
//! exists — and is down: even 127.0.0.1 is unreachable until it is brought up
//! ([`loopback_up`]). To reach anything else, it is wired to the host:
//!
//! ```text
//!  host                                             container (its own netns)
//!  ─────────────────────────────────────────────    ─────────────────────────────
//!  eth0 ── routing + NAT ── minidocker0 (10.88.0.1/16)
//!                              │ bridge port
//!                           veth1a2b3c4d5e ════ virtual cable ════ eth0 10.88.0.2/16
//!                                                                  default via 10.88.0.1
//! ```
//!
//! - [`netlink`]: the kernel calls that create and configure links, addresses and routes
//! - [`ipam`]: which container has which address (files created with `O_EXCL`)
//! - [`bridge`]: the bridge, its gateway address, forwarding
//! - [`nat`]: masquerade outwards, DNAT for `-p HOSTPORT:CONTAINERPORT`, FORWARD accepts
//!
//! and, re-exported here: `config.rs` ([`Config`]: which bridge, which subnet), `ports.rs`
//! ([`parse_publish`], [`check_free`]), `loopback.rs` ([`loopback_up`]), `attach.rs` (the
//! orchestration below) and `handoff.rs` ([`Handoff`]).
//!
//! A run does: [`attach`] in the parent (the child waits at its gate), hands the
//! [`Attachment`] to the child ([`Handoff`]), which calls [`configure_inside`] before its
//! command; at the end [`detach`] (or, with only the ID, [`cleanup_container`]).

pub mod bridge;
pub mod ipam;
pub mod nat;
pub mod netlink;

mod attach;
mod config;
mod handoff;
mod loopback;
mod ports;

pub use attach::{
    attach, check_bridge, cleanup_container, configure_inside, destroy_bridge, detach,
    host_veth_name, ips_dir, Attachment,
};
pub use config::Config;
pub use handoff::Handoff;
pub use ipam::Subnet;
pub use loopback::loopback_up;
pub use ports::{check_free, parse_publish, PortMapping, Proto};

/// Exercise 05's reference answer, compiled as this module's own code: every container's
/// address comes from its `allocate`.
#[path = "../../solutions/05-run-and-port/exercise.rs"]
pub mod solution;

/// Exercise 05, handing out addresses: the reference answer's ([`RULES`]) or a student's
/// (`05-run-and-port --mine`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Take the first free address of the subnet for a container, recording it in the
    /// directory.
    pub allocate: fn(&std::path::Path, &Subnet, &str) -> crate::Result<std::net::Ipv4Addr>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;
