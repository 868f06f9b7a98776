//! The bridge: a virtual switch on the host that every container's veth is plugged into. It
//! holds the subnet's gateway address, so the host routes the subnet to it and the containers
//! route everything else through it.

use super::netlink::{Link, Netlink};
use super::Config;
use crate::sys;
use anyhow::{bail, Context};
use nix::errno::Errno;
use std::path::Path;

/// What is there by the bridge's name: a bridge, or nothing. Anything else is an error.
///
/// Its MTU is not looked at: the kernel lowers a bridge's MTU to its smallest port's, and to
/// 1500 when its last port leaves, unless it was set by hand. What counts is the MTU the bridge
/// was created with, recorded next to its addresses ([`check_mtu`]).
pub fn existing(nl: &mut Netlink, cfg: &Config) -> crate::Result<Option<Link>> {
    let name = &cfg.bridge;
    match nl.link(name)? {
        Some(l) if l.kind.as_deref() != Some("bridge") => bail!(
            "{name} exists and is not a bridge (it is a {} interface): choose another MINIDOCKER_BRIDGE",
            l.kind.as_deref().unwrap_or("physical")
        ),
        found => Ok(found),
    }
}

/// The MTU recorded in `record` when the bridge was created, if any.
fn recorded_mtu(record: &Path) -> Option<u32> {
    std::fs::read_to_string(record).ok()?.trim().parse().ok()
}

/// Every port must have the bridge's MTU (a port with a smaller one drops what the bridge
/// forwards to it beyond that size, silently: no ICMP for a bridged frame). So a run with
/// another `MINIDOCKER_MTU` than the one the bridge was created with is refused.
pub fn check_mtu(cfg: &Config, record: &Path) -> crate::Result<()> {
    match recorded_mtu(record) {
        Some(m) if m != cfg.mtu => bail!(
            "the bridge {} was created with MTU {m}, not {} (MINIDOCKER_MTU): remove its containers (the last one takes the bridge along) or set MINIDOCKER_MTU={m}",
            cfg.bridge,
            cfg.mtu
        ),
        _ => Ok(()),
    }
}

/// Make sure the bridge exists, is a bridge with MTU `cfg.mtu`, holds the gateway address and
/// is up; and that the host forwards packets and lets 127.0.0.1 be DNAT-ed out of it. The MTU
/// is recorded in `record` when the bridge is made.
pub fn ensure(nl: &mut Netlink, cfg: &Config, record: &Path) -> crate::Result<Link> {
    let name = &cfg.bridge;
    let mut link = match existing(nl, cfg)? {
        Some(l) => {
            check_mtu(cfg, record)?;
            l
        }
        None => {
            match nl.create_bridge(name) {
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
    // Set by hand after creation, the MTU is pinned: the kernel no longer follows the ports,
    // so it stays when the last one leaves. Also repairs a bridge whose MTU fell.
    if link.mtu != cfg.mtu || recorded_mtu(record).is_none() {
        nl.set_mtu(&link, cfg.mtu)?;
        link.mtu = cfg.mtu;
        if let Some(dir) = record.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        sys::write_file(record, &cfg.mtu.to_string())?;
    }
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
