//! IP address management: which container has which address of the bridge's subnet.
//!
//! No daemon keeps a table in memory: each address in use is a file
//! `$MINIDOCKER_ROOT/network/<bridge>/ips/<a.b.c.d>` holding the container's ID. It is created
//! with `O_CREAT|O_EXCL`, which the kernel makes atomic: of two runs trying the same address at
//! the same moment exactly one creates the file, and the other moves on to the next address.
//! Releasing an address is unlinking its file.

use crate::report;
use anyhow::{bail, Context};
use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

/// An IPv4 network: `10.88.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parse `a.b.c.d/N`: a network address (host bits zero), 8 ≤ N ≤ 30 — a /31 or /32 has no
    /// room for a gateway and a container besides the network and broadcast addresses.
    pub fn parse(s: &str) -> crate::Result<Subnet> {
        let (addr, prefix) = s.split_once('/').with_context(|| {
            format!("invalid subnet {s:?}: expected a.b.c.d/N, like 10.88.0.0/16")
        })?;
        let network: Ipv4Addr = addr.parse().map_err(|_| {
            anyhow::anyhow!("invalid subnet {s:?}: {addr:?} is not an IPv4 address")
        })?;
        let prefix: u8 = prefix.parse().map_err(|_| {
            anyhow::anyhow!("invalid subnet {s:?}: {prefix:?} is not a prefix length")
        })?;
        if !(8..=30).contains(&prefix) {
            bail!("invalid subnet {s:?}: the prefix length must be between 8 and 30");
        }
        let subnet = Subnet { network, prefix };
        if subnet.network_u32() != u32::from(network) {
            bail!(
                "invalid subnet {s:?}: host bits are set; the network is {}/{prefix}",
                Ipv4Addr::from(subnet.network_u32())
            );
        }
        Ok(subnet)
    }

    fn mask(&self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    fn network_u32(&self) -> u32 {
        u32::from(self.network) & self.mask()
    }

    /// The first address: the bridge's own, the containers' default route.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network_u32() + 1)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network_u32() | !self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == self.network_u32()
    }

    /// The addresses a container may get: all but the network, gateway and broadcast ones.
    pub fn container_addresses(&self) -> impl Iterator<Item = Ipv4Addr> {
        (self.network_u32() + 2..u32::from(self.broadcast())).map(Ipv4Addr::from)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Take the first free address of `subnet` for container `id`: record it as the file
/// `dir/<a.b.c.d>` holding the ID, and return it.
///
/// No daemon keeps a table in memory, and two `minidocker run` may ask at the same moment:
/// the file system itself makes sure an address is handed out once.
// ANCHOR: allocate
pub fn allocate(dir: &Path, subnet: &Subnet, id: &str) -> crate::Result<Ipv4Addr> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for ip in subnet.container_addresses() {
        let path = dir.join(ip.to_string());
        // O_CREAT|O_EXCL: the kernel creates the file only if it does not exist, in one step.
        // Of two runs racing for this address exactly one succeeds; the other tries the next.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, id.as_bytes())?;
                report::syscall(&format!("open({path:?}, O_WRONLY|O_CREAT|O_EXCL)"), "a new file");
                return Ok(ip);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    bail!("no free address left in {subnet}: remove some containers, or choose a larger MINIDOCKER_SUBNET")
}
// ANCHOR_END: allocate

/// Every address recorded in `dir`, with the container that holds it.
pub fn allocated(dir: &Path) -> Vec<(Ipv4Addr, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(Ipv4Addr, String)> = entries
        .flatten()
        .filter_map(|e| {
            let ip = e.file_name().to_str()?.parse().ok()?;
            Some((ip, std::fs::read_to_string(e.path()).unwrap_or_default()))
        })
        .collect();
    out.sort();
    out
}

/// The addresses container `id` holds (one, normally).
pub fn find(dir: &Path, id: &str) -> Vec<Ipv4Addr> {
    allocated(dir).into_iter().filter(|(_, owner)| owner == id).map(|(ip, _)| ip).collect()
}

/// Give `ip` back, if container `id` holds it. Releasing twice is harmless.
pub fn release(dir: &Path, ip: Ipv4Addr, id: &str) -> crate::Result<()> {
    let path = dir.join(ip.to_string());
    match std::fs::read_to_string(&path) {
        Ok(owner) if owner == id => {
            let r = std::fs::remove_file(&path);
            report::syscall(&format!("unlink({path:?})"), if r.is_ok() { "0" } else { "-1" });
            match r {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("removing {}", path.display()))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
