//! Which bridge and subnet containers use: [`Config`], from the environment.

use super::Subnet;
use anyhow::{bail, Context};
use std::net::Ipv4Addr;

/// Which bridge containers are plugged into, and the subnet their addresses come from.
///
/// A bridge belongs to one `MINIDOCKER_ROOT`: its addresses are recorded there, and the last
/// container of that root to leave removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bridge: String,
    pub subnet: Subnet,
    /// The MTU of the bridge and of every veth — see [`Config::DEFAULT_MTU`].
    pub mtu: u32,
}

impl Config {
    pub const DEFAULT_BRIDGE: &'static str = "minidocker0";
    pub const DEFAULT_SUBNET: &'static str = "10.88.0.0/16";
    // ANCHOR: mtu
    /// The bridge is a wire inside this host, so its MTU is not the Ethernet's 1500 but
    /// close to the loopback's 65536 (65535 is a veth's largest). The reason is `-p` on
    /// 127.0.0.1: that connection's host end is a loopback socket, which sizes its segments
    /// and its receive window for lo's MTU (an MSS of 65483). Behind a 1500-byte bridge it gets
    /// 1448-byte segments instead, and its window updates come out as four times the ACKs of
    /// a direct connection (10 400 against 2 500–3 800 per GiB, measured), each one a trip
    /// through NAT and the container's stack: 10–15 % of the throughput (`scripts/bench-port`). With the same
    /// MTU on both, the published path is as fast as the direct one. Traffic leaving the host
    /// is not affected: TCP agrees on the smaller MSS of the far side, and the host answers
    /// larger packets it cannot forward with ICMP "fragmentation needed", as any router does.
    /// `MINIDOCKER_MTU` sets another (Docker's `--mtu`).
    pub const DEFAULT_MTU: u32 = 65535;
    // ANCHOR_END: mtu

    pub fn new(bridge: &str, subnet: &str) -> crate::Result<Config> {
        check_bridge_name(bridge)?;
        Ok(Config {
            bridge: bridge.to_string(),
            subnet: Subnet::parse(subnet)?,
            mtu: Self::DEFAULT_MTU,
        })
    }

    /// `MINIDOCKER_BRIDGE` (default `minidocker0`), `MINIDOCKER_SUBNET` (default
    /// `10.88.0.0/16`) and `MINIDOCKER_MTU` (default 65535).
    pub fn from_env() -> crate::Result<Config> {
        let var = |k: &str, default: &str| {
            std::env::var(k).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
        };
        let bridge = var("MINIDOCKER_BRIDGE", Self::DEFAULT_BRIDGE);
        let subnet = var("MINIDOCKER_SUBNET", Self::DEFAULT_SUBNET);
        check_bridge_name(&bridge).context("MINIDOCKER_BRIDGE")?;
        let mtu = var("MINIDOCKER_MTU", &Self::DEFAULT_MTU.to_string());
        let mtu = mtu.parse().ok().filter(|m| (68..=65535).contains(m)).with_context(|| {
            format!("invalid MINIDOCKER_MTU {mtu:?}: a number from 68 (IPv4's smallest) to 65535 (a veth's largest)")
        })?;
        Ok(Config { bridge, subnet: Subnet::parse(&subnet).context("MINIDOCKER_SUBNET")?, mtu })
    }

    /// The bridge's own address: the containers' default gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        self.subnet.gateway()
    }
}

fn check_bridge_name(name: &str) -> crate::Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if name.is_empty()
        || name.len() > 15
        || !name.chars().all(ok_char)
        || name.starts_with(['-', '.'])
    {
        bail!("invalid bridge name {name:?}: 1 to 15 letters, digits, '-', '_' or '.' (a Linux interface name)");
    }
    if name == "docker0" {
        bail!("docker0 is Docker's own bridge: minidocker leaves it alone; choose another name");
    }
    Ok(())
}
