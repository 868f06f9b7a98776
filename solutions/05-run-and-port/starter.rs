//! Exercise 05 — publish a port: wire the container's veth into its network namespace, and
//! write the NAT rules that take `curl localhost:4000` to the container's port 80.
//!
//! `05-run-and-port --check` checks it. The lab sheet is lessons/05-run-and-port/README.md.

use minidocker::network::netlink::{Link, Netlink};
use minidocker::network::{PortMapping, Rules};
use nix::unistd::Pid;
use std::net::Ipv4Addr;

/// Plug a container into the bridge. The veth pair has just been created on the host:
/// `host` stays there as a port of `bridge`, `peer` goes to the container — the process
/// `child`, which waits in a network namespace of its own (inside, it becomes `eth0`).
///
/// `Netlink` has one method per kernel request: `set_master`, `set_up`, `move_to_netns`…
pub fn plug_veth(
    nl: &mut Netlink,
    host: &Link,
    peer: &Link,
    bridge: &Link,
    child: Pid,
) -> minidocker::Result<()> {
    // ANCHOR: plug_veth
    // TODO 1: make `host` a port of `bridge` and bring it up, then move `peer` into the
    // network namespace of `child`.
    let _ = (nl, host, peer, bridge, child);
    Ok(())
    // ANCHOR_END: plug_veth
}

/// Where packets for this host's own addresses are sent to the bridge's nat chain `chain`
/// (which holds one DNAT rule per published port): the built-in chains of the nat table that
/// jump to it, each with the arguments of its rule (`iptables -t nat -A <CHAIN> <ARGS>`).
pub fn nat_jumps(chain: &str) -> Vec<(&'static str, Vec<String>)> {
    // ANCHOR: nat_jumps
    // TODO 2: jump from the nat table's built-in chains to `chain`, for packets addressed to
    // this host. Which built-in chains does a packet from another machine pass — and one that
    // `curl localhost:4000` sends from this host?
    let _ = chain;
    Vec::new()
    // ANCHOR_END: nat_jumps
}

/// The arguments of the DNAT rule that publishes `port` (`-p 4000:80`, or
/// `-p 127.0.0.1:4000:80`) of the container at `container` — the part after
/// `iptables -t nat -A <chain>`.
pub fn dnat(port: &PortMapping, container: Ipv4Addr) -> Vec<String> {
    // ANCHOR: dnat
    // TODO 3: match the published protocol and host port (and the host address, when the
    // port is published on one only), and send the packet to the container's port: the DNAT
    // target. `man iptables-extensions` describes its options.
    let _ = (port, container);
    Vec::new()
    // ANCHOR_END: dnat
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { plug_veth, nat_jumps, dnat };
