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
    nl.set_master(host, bridge)?;
    nl.set_up(host)?;
    nl.move_to_netns(peer, child.as_raw())?;
    Ok(())
    // ANCHOR_END: plug_veth
}

/// Where packets for this host's own addresses are sent to the bridge's nat chain `chain`
/// (which holds one DNAT rule per published port): the built-in chains of the nat table that
/// jump to it, each with the arguments of its rule (`iptables -t nat -A <CHAIN> <ARGS>`).
pub fn nat_jumps(chain: &str) -> Vec<(&'static str, Vec<String>)> {
    // ANCHOR: nat_jumps
    // Only packets addressed to this host: without the match, a container's connection to
    // port 4000 of any other machine would be taken too.
    let local = ["-m", "addrtype", "--dst-type", "LOCAL", "-j", chain];
    let args = || local.iter().map(|s| s.to_string()).collect();
    vec![
        // Packets that arrive: from other machines, from containers on the bridge.
        ("PREROUTING", args()),
        // Packets this host sends itself — `curl localhost:4000` — never pass PREROUTING.
        ("OUTPUT", args()),
    ]
    // ANCHOR_END: nat_jumps
}

/// The arguments of the DNAT rule that publishes `port` (`-p 4000:80`, or
/// `-p 127.0.0.1:4000:80`) of the container at `container` — the part after
/// `iptables -t nat -A <chain>`.
pub fn dnat(port: &PortMapping, container: Ipv4Addr) -> Vec<String> {
    // ANCHOR: dnat
    let mut args = Vec::new();
    // Published on one address of the host only, or on all of them.
    if !port.host_ip.is_unspecified() {
        args.extend(["-d".to_string(), format!("{}/32", port.host_ip)]);
    }
    args.extend([
        "-p".to_string(),
        port.proto.as_str().to_string(),
        "--dport".to_string(),
        port.host_port.to_string(),
        "-j".to_string(),
        "DNAT".to_string(),
        "--to-destination".to_string(),
        format!("{container}:{}", port.container_port),
    ]);
    args
    // ANCHOR_END: dnat
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { plug_veth, nat_jumps, dnat };
