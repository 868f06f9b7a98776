//! A container on the bridge: [`attach`] (addresses, veth pair, NAT rules) from the host,
//! [`configure_inside`] from the container's own network namespace, [`detach`] and the
//! cleanups — all under one lock, so a container starting never races one that stops.

use super::netlink::{Link, Netlink};
use super::{bridge, check_free, ipam, loopback_up, nat, Config, PortMapping, Rules};
use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A container's place on the bridge: everything needed to configure it from inside and to
/// tear it down again, even from another process. It goes into the container's state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub container_id: String,
    pub bridge: String,
    /// The container's address, and its subnet's prefix length.
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    /// The host end of the veth pair, a port of the bridge.
    pub host_veth: String,
    /// The container end, as it is named on the host before it moves in and becomes `eth0`.
    pub peer_veth: String,
    pub ports: Vec<PortMapping>,
}

/// The host end of container `id`'s veth pair: `veth` and the first 10 characters of the ID.
pub fn host_veth_name(id: &str) -> String {
    format!("veth{}", &id[..id.len().min(10)])
}

fn peer_veth_name(id: &str) -> String {
    format!("ceth{}", &id[..id.len().min(10)])
}

fn check_id(id: &str) -> crate::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    anyhow::ensure!(
        ok,
        "invalid container ID {id:?} for the network: 1 to 64 letters, digits, '-' or '_'"
    );
    Ok(())
}

fn network_dir(root: &Path) -> PathBuf {
    root.join("network")
}

/// `$MINIDOCKER_ROOT/network/<bridge>/ips`: one file per address in use.
pub fn ips_dir(root: &Path, bridge: &str) -> PathBuf {
    network_dir(root).join(bridge).join("ips")
}

/// `$MINIDOCKER_ROOT/network/<bridge>/mtu`: the MTU the bridge was created with.
fn mtu_file(root: &Path, bridge: &str) -> PathBuf {
    network_dir(root).join(bridge).join("mtu")
}

/// `$MINIDOCKER_ROOT/network/ports`: one file per published host port, holding the container.
fn ports_dir(root: &Path) -> PathBuf {
    network_dir(root).join("ports")
}

/// Held while the bridge, its rules and its addresses change, so that a container starting
/// never races one that stops (and removes the bridge as the last one).
///
/// Two locks: a mutex between the threads of this process, and a POSIX record lock
/// (`fcntl(F_SETLKW)`) on `network/lock` between processes. Not `flock`: a flock belongs to the
/// open file, which every child cloned meanwhile shares until it execs — a container waiting
/// at its gate would keep the lock. Record locks belong to the process and are not inherited.
struct Lock {
    _file: std::fs::File,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Lock {
    fn take(root: &Path) -> crate::Result<Lock> {
        static THREADS: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let guard = THREADS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = network_dir(root);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: struct flock is plain data; zero length means "the whole file".
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        loop {
            // SAFETY: fcntl reads the flock we own.
            let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLKW, &fl) };
            match Errno::result(r) {
                Ok(_) => break,
                Err(Errno::EINTR) => crate::interrupt::check()?,
                Err(e) => {
                    return Err(crate::sys::failure(&format!("fcntl({path:?}, F_SETLKW)"), e))
                }
            }
        }
        Ok(Lock { _file: file, _guard: guard })
    }
}

/// Reserve the host ports in `$MINIDOCKER_ROOT/network/ports` (O_EXCL, like addresses), so two
/// containers of this root never publish the same one: a DNAT rule holds no socket that a
/// second bind would trip over.
fn reserve_ports(root: &Path, id: &str, ports: &[PortMapping]) -> crate::Result<()> {
    let dir = ports_dir(root);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for p in ports {
        let path = dir.join(format!("{}-{}", p.proto.as_str(), p.host_port));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => f.write_all(id.as_bytes())?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                if owner != id {
                    bail!(
                        "cannot publish {p}: port {}/{} is already published by container {}",
                        p.host_port,
                        p.proto.as_str(),
                        &owner[..owner.len().min(12)]
                    );
                }
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    Ok(())
}

fn release_ports(root: &Path, id: &str) {
    let Ok(entries) = std::fs::read_dir(ports_dir(root)) else { return };
    for e in entries.flatten() {
        if std::fs::read_to_string(e.path()).is_ok_and(|owner| owner == id) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Wire the container whose first process is `child` (in its own network namespace, waiting
/// at its gate) to the bridge, publishing `ports`: check the ports, make sure the bridge and
/// its rules exist, take an address, create the veth pair, plug the host end into the bridge,
/// move the other end into the child's namespace, add the DNAT rules.
///
/// The inside is not configured here: that is [`configure_inside`], in the child. On an error
/// everything done so far is undone. The veth is plugged and the NAT rules are made with
/// exercise 05's `rules` (the library's are [`super::RULES`]).
pub fn attach(
    cfg: &Config,
    root: &Path,
    container_id: &str,
    child: Pid,
    ports: &[PortMapping],
    rules: &Rules,
) -> crate::Result<Attachment> {
    check_id(container_id)?;
    for (i, p) in ports.iter().enumerate() {
        let clash = ports[..i].iter().find(|q| q.proto == p.proto && q.host_port == p.host_port);
        if let Some(q) = clash {
            bail!(
                "cannot publish {p}: host port {}/{} is already in {q}",
                p.host_port,
                p.proto.as_str()
            );
        }
        check_free(p)?;
    }
    check_own_netns(child)?;
    let _lock = Lock::take(root)?;
    let mut nl = Netlink::open()?;
    let mut made_veth = false;
    let r = attach_locked(&mut nl, cfg, root, container_id, child, ports, rules, &mut made_veth);
    if r.is_err() {
        // Undo: only a veth we made (a name taken by someone else is theirs), and whatever
        // carries this container's ID.
        let veth = if made_veth { host_veth_name(container_id) } else { String::new() };
        let _ = teardown_locked(&mut nl, &cfg.bridge, root, container_id, &veth);
    }
    r.with_context(|| {
        format!(
            "attaching container {} to {}",
            &container_id[..container_id.len().min(12)],
            cfg.bridge
        )
    })
}

/// Whether a container can be plugged into `cfg`'s bridge: checked by `run` before it creates
/// anything — under the lock, so it never sees a bridge half removed by a container stopping.
pub fn check_bridge(cfg: &Config, root: &Path) -> crate::Result<()> {
    let _lock = Lock::take(root)?;
    bridge::existing(&mut Netlink::open()?, cfg)?;
    bridge::check_mtu(cfg, &mtu_file(root, &cfg.bridge))
}

/// The child must have a network namespace of its own: in ours, "moving" the peer would
/// leave it here, and configuring it as `eth0` would reconfigure the host.
fn check_own_netns(child: Pid) -> crate::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ns = |p: &str| {
        std::fs::metadata(p).map(|m| (m.dev(), m.ino())).with_context(|| format!("reading {p}"))
    };
    let theirs = ns(&format!("/proc/{child}/ns/net"))
        .with_context(|| format!("process {child} is not running"))?;
    if theirs == ns("/proc/self/ns/net")? {
        bail!("process {child} shares the host's network namespace: start it with CLONE_NEWNET to give it a network of its own");
    }
    Ok(())
}

// attach's arguments, the netlink socket and the undo flag: splitting them up would only hide
// what attach does.
#[allow(clippy::too_many_arguments)]
fn attach_locked(
    nl: &mut Netlink,
    cfg: &Config,
    root: &Path,
    id: &str,
    child: Pid,
    ports: &[PortMapping],
    rules: &Rules,
    made_veth: &mut bool,
) -> crate::Result<Attachment> {
    // ANCHOR: attach
    reserve_ports(root, id, ports)?;
    let bridge = bridge::ensure(nl, cfg, &mtu_file(root, &cfg.bridge))?;
    nat::ensure_bridge(cfg, rules)?;
    let ip = ipam::allocate(&ips_dir(root, &cfg.bridge), &cfg.subnet, id)?;
    let att = Attachment {
        container_id: id.to_string(),
        bridge: cfg.bridge.clone(),
        ip,
        prefix: cfg.subnet.prefix,
        gateway: cfg.gateway(),
        host_veth: host_veth_name(id),
        peer_veth: peer_veth_name(id),
        ports: ports.to_vec(),
    };
    nl.create_veth(&att.host_veth, &att.peer_veth, cfg.mtu)?;
    *made_veth = true;
    let lookup = |nl: &mut Netlink, name: &str| -> crate::Result<Link> {
        nl.link(name)?.with_context(|| format!("{name} vanished right after it was created"))
    };
    let host = lookup(nl, &att.host_veth)?;
    let peer = lookup(nl, &att.peer_veth)?;
    (rules.plug_veth)(nl, &host, &peer, &bridge, child)?;
    nat::add_container(&att, rules)?;
    Ok(att)
    // ANCHOR_END: attach
}

/// In the container, before its command (already in its network namespace, where the peer
/// has arrived): rename the peer `eth0`, give it the address, bring it and `lo` up, and route
/// everything else through the gateway.
pub fn configure_inside(att: &Attachment) -> crate::Result<()> {
    // ANCHOR: configure_inside
    let mut nl = Netlink::open()?;
    let peer = nl.link(&att.peer_veth)?.with_context(|| {
        format!("{} is not in this network namespace: network::attach must run before the container is let go", att.peer_veth)
    })?;
    nl.rename(&peer, "eth0")?;
    let eth0 = Link { name: "eth0".into(), ..peer };
    nl.add_address(&eth0, att.ip, att.prefix)?;
    nl.set_up(&eth0)?;
    loopback_up()?;
    nl.add_default_route(att.gateway, &eth0)?;
    Ok(())
    // ANCHOR_END: configure_inside
}

/// Undo [`attach`]: remove the host veth (its peer dies with it; both are gone already if the
/// container's namespace ended), this container's rules, its address and ports; and, for the
/// last container of the bridge, the bridge with its chains. Idempotent.
pub fn detach(root: &Path, att: &Attachment) -> crate::Result<()> {
    let _lock = Lock::take(root)?;
    let mut nl = Netlink::open()?;
    teardown_locked(&mut nl, &att.bridge, root, &att.container_id, &att.host_veth)
}

/// [`detach`] knowing only the container's ID (its state file lost, or a crash before it was
/// written): find its veth, rules, address and ports by the ID and remove them.
pub fn cleanup_container(cfg: &Config, root: &Path, container_id: &str) -> crate::Result<()> {
    check_id(container_id)?;
    let _lock = Lock::take(root)?;
    let mut nl = Netlink::open()?;
    teardown_locked(&mut nl, &cfg.bridge, root, container_id, &host_veth_name(container_id))
}

/// Remove the bridge `cfg.bridge` with its chains and jumps, after every container still on it
/// (their veths, rules, addresses). Idempotent.
pub fn destroy_bridge(cfg: &Config, root: &Path) -> crate::Result<()> {
    let _lock = Lock::take(root)?;
    let mut nl = Netlink::open()?;
    let mut first_err = None;
    for (_, id) in ipam::allocated(&ips_dir(root, &cfg.bridge)) {
        if check_id(&id).is_ok() {
            if let Err(e) =
                remove_container_locked(&mut nl, &cfg.bridge, root, &id, &host_veth_name(&id))
            {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Err(e) = remove_bridge_locked(&mut nl, &cfg.bridge, root) {
        first_err.get_or_insert(e);
    }
    first_err.map_or(Ok(()), Err)
}

/// Everything of container `id` goes (each step tried even when an earlier one failed); then
/// the bridge, if no container is left on it.
fn teardown_locked(
    nl: &mut Netlink,
    bridge: &str,
    root: &Path,
    id: &str,
    host_veth: &str,
) -> crate::Result<()> {
    let mut first_err = remove_container_locked(nl, bridge, root, id, host_veth).err();
    if ipam::allocated(&ips_dir(root, bridge)).is_empty() {
        if let Err(e) = remove_bridge_locked(nl, bridge, root) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn remove_container_locked(
    nl: &mut Netlink,
    bridge: &str,
    root: &Path,
    id: &str,
    host_veth: &str,
) -> crate::Result<()> {
    let mut first_err: Option<anyhow::Error> = None;
    let veth = if host_veth.is_empty() { Ok(None) } else { nl.link(host_veth) };
    match veth {
        Ok(Some(link)) if link.kind.as_deref() == Some("veth") => match nl.delete_link(&link) {
            Err(e) if e.errno != Errno::ENODEV => first_err = Some(e.into()),
            _ => {}
        },
        Ok(_) => {}
        Err(e) => first_err = Some(e.into()),
    }
    if let Err(e) = nat::remove_container(bridge, id) {
        first_err.get_or_insert(e);
    }
    let ips = ips_dir(root, bridge);
    for ip in ipam::find(&ips, id) {
        if let Err(e) = ipam::release(&ips, ip, id) {
            first_err.get_or_insert(e);
        }
    }
    release_ports(root, id);
    first_err.map_or(Ok(()), Err)
}

fn remove_bridge_locked(nl: &mut Netlink, bridge: &str, root: &Path) -> crate::Result<()> {
    nat::remove_bridge(bridge)?;
    bridge::remove(nl, bridge)?;
    let dir = network_dir(root).join(bridge);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
