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
pub use ports::{check_free, first_free_port, http_get, parse_publish, PortMapping, Proto};

/// Exercise 05's reference answer, compiled as this module's own code: every container's
/// veth is plugged, and every port published, by its functions.
#[path = "../../solutions/05-run-and-port/exercise.rs"]
pub mod solution;

/// A rule of a built-in chain: the chain (`PREROUTING`…) and the rule's arguments.
pub type ChainRule = (&'static str, Vec<String>);

/// Exercise 05, publishing a port: the reference answer's ([`RULES`]) or a student's
/// (`05-run-and-port --check`). Passed to [`attach`], which hands them on to
/// [`nat::ensure_bridge`] and [`nat::add_container`].
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Plug the veth pair: the host end into the bridge and up, the peer into the namespace
    /// of the container's first process.
    pub plug_veth: fn(
        &mut netlink::Netlink,
        &netlink::Link,
        &netlink::Link,
        &netlink::Link,
        nix::unistd::Pid,
    ) -> crate::Result<()>,
    /// The jumps from the nat table's built-in chains to the bridge's chain: (chain, args).
    pub nat_jumps: fn(&str) -> Vec<ChainRule>,
    /// The arguments of the DNAT rule that publishes a port of the container at an address.
    pub dnat: fn(&PortMapping, std::net::Ipv4Addr) -> Vec<String>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;
