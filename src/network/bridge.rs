//! The bridge: a virtual switch on the host that every container's veth is plugged into. It
//! holds the subnet's gateway address, so the host routes the subnet to it and the containers
//! route everything else through it.

use super::netlink::{Link, Netlink};
use super::Config;
use crate::sys;
use anyhow::{bail, Context};
use nix::errno::Errno;
use std::path::Path;

/// What is there by the bridge's name: a bridge that fits `cfg`, or nothing. Anything else is
/// an error — checked by `run` before it creates anything, and again when a container is
/// plugged in.
pub fn existing(nl: &mut Netlink, cfg: &Config) -> crate::Result<Option<Link>> {
    let name = &cfg.bridge;
    match nl.link(name)? {
        Some(l) if l.kind.as_deref() != Some("bridge") => bail!(
            "{name} exists and is not a bridge (it is a {} interface): choose another MINIDOCKER_BRIDGE",
            l.kind.as_deref().unwrap_or("physical")
        ),
        // Every port must have the bridge's MTU: a port with a smaller one drops what the
        // bridge forwards to it beyond that size, silently (no ICMP for a bridged frame).
        Some(l) if l.mtu != cfg.mtu => bail!(
            "the bridge {name} has MTU {}, not {} (MINIDOCKER_MTU): it keeps the MTU the first container gave it; remove its containers (the last one takes it along) or set MINIDOCKER_MTU={}",
            l.mtu,
            cfg.mtu,
            l.mtu
        ),
        found => Ok(found),
    }
}

/// Make sure the bridge exists, is a bridge, holds the gateway address and is up; and that
/// the host forwards packets and lets 127.0.0.1 be DNAT-ed out of it.
pub fn ensure(nl: &mut Netlink, cfg: &Config) -> crate::Result<Link> {
    let name = &cfg.bridge;
    let link = match existing(nl, cfg)? {
        Some(l) => l,
        None => {
            match nl.create_bridge(name, cfg.mtu) {
                Ok(()) => {}
                Err(e) if e.errno == Errno::EEXIST => {} // created meanwhile by someone else
                Err(e) => return Err(e).context(
                    "creating the bridge (does this kernel have bridge support, CONFIG_BRIDGE?)",
                ),
            }
            existing(nl, cfg)?
                .with_context(|| format!("the bridge {name} vanished right after it was created"))?
        }
    };
    match nl.add_address(&link, cfg.subnet.gateway(), cfg.subnet.prefix) {
        Err(e) if e.errno != Errno::EEXIST => return Err(e.into()),
        _ => {}
    }
    if !link.up {
        nl.set_up(&link)?;
    }
    // ANCHOR: sysctls
    // Routing between the bridge and the host's other interfaces (Docker turns it on too).
    sysctl("net/ipv4/ip_forward", "1")?;
    // A packet from 127.0.0.1 DNAT-ed to a container leaves through the bridge with a loopback
    // source; the kernel drops such "martians" unless the outgoing interface allows them.
    sysctl(&format!("net/ipv4/conf/{name}/route_localnet"), "1")?;
    // ANCHOR_END: sysctls
    Ok(link)
}

/// Delete the bridge, if it exists and is one. Its ports are unplugged, not deleted.
pub fn remove(nl: &mut Netlink, name: &str) -> crate::Result<()> {
    if let Some(link) = nl.link(name)?.filter(|l| l.kind.as_deref() == Some("bridge")) {
        match nl.delete_link(&link) {
            Err(e) if e.errno != Errno::ENODEV => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Set `/proc/sys/<key>` to `value` unless it already is.
fn sysctl(key: &str, value: &str) -> crate::Result<()> {
    let path = Path::new("/proc/sys").join(key);
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    sys::write_file(&path, value)
        .with_context(|| format!("setting {} = {value}", key.replace('/', ".")))
}
