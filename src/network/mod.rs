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
//! A run does: [`attach`] in the parent (the child waits at its gate), hands the
//! [`Attachment`] to the child ([`Handoff`]), which calls [`configure_inside`] before its
//! command; at the end [`detach`] (or, with only the ID, [`cleanup_container`]).

pub mod bridge;
pub mod ipam;
pub mod nat;
pub mod netlink;

pub use ipam::Subnet;

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
    pub allocate: fn(&Path, &Subnet, &str) -> crate::Result<Ipv4Addr>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;

use crate::report;
use anyhow::{bail, Context};
use netlink::{Link, Netlink};
use nix::errno::Errno;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// `ip link set lo up`, done the old way: SIOCGIFFLAGS / SIOCSIFFLAGS on any socket.
pub fn loopback_up() -> crate::Result<()> {
    // SAFETY: a plain datagram socket, closed by OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let fd =
        Errno::result(fd).map_err(|e| crate::sys::failure("socket(AF_INET, SOCK_DGRAM)", e))?;
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    // SAFETY: ifreq is plain data; the name fits (with its NUL) in IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the ioctls read and write the ifreq we own.
    Errno::result(unsafe { libc::ioctl(raw, libc::SIOCGIFFLAGS, &mut req) })
        .map_err(|e| crate::sys::failure("ioctl(SIOCGIFFLAGS, \"lo\")", e))?;
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    Errno::result(unsafe { libc::ioctl(raw, libc::SIOCSIFFLAGS, &req) })
        .map_err(|e| crate::sys::failure("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)", e))?;
    report::syscall("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)", "0");
    Ok(())
}

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

/// TCP or UDP, for a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// `-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO]`: traffic to HOSTIP:HOSTPORT on the host goes to
/// CONTAINERPORT in the container. HOSTIP 0.0.0.0 means every address of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

/// As `docker ps` shows it: `127.0.0.1:8080->80/tcp`.
impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip,
            self.host_port,
            self.container_port,
            self.proto.as_str()
        )
    }
}

/// Parse Docker's `-p` syntax: `8080:80`, `127.0.0.1:8080:80`, `8080:80/udp`.
pub fn parse_publish(spec: &str) -> crate::Result<PortMapping> {
    let bad = |why: String| anyhow::anyhow!("invalid -p {spec:?}: {why}");
    let (ports, proto) = match spec.rsplit_once('/') {
        None => (spec, Proto::Tcp),
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some((_, other)) => return Err(bad(format!("protocol {other:?} is not tcp or udp"))),
    };
    if ports.starts_with('[') {
        return Err(bad("IPv6 host addresses are not supported".into()));
    }
    let parts: Vec<&str> = ports.split(':').collect();
    let (ip, host, container) = match parts[..] {
        [c] => ("", "", c),
        [h, c] => ("", h, c),
        [ip, h, c] => (ip, h, c),
        _ => return Err(bad("expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]".into())),
    };
    let port = |s: &str, what: &str| -> crate::Result<u16> {
        if s.contains('-') {
            return Err(bad("port ranges are not supported".into()));
        }
        s.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(format!("{what} {s:?} is not a port number (1-65535)")))
    };
    let container_port = port(container, "container port")?;
    if host.is_empty() {
        return Err(bad(format!(
            "give the host port too, as in -p 8080:{container_port} (minidocker does not pick one)"
        )));
    }
    let host_port = port(host, "host port")?;
    let host_ip = if ip.is_empty() {
        Ipv4Addr::UNSPECIFIED
    } else {
        ip.parse().map_err(|_| bad(format!("{ip:?} is not an IPv4 address")))?
    };
    Ok(PortMapping { host_ip, host_port, container_port, proto })
}

/// Is the host port free? Bind a socket to it, as a server would: a program already
/// listening there (which the DNAT rule would silently shadow) is a clear error before
/// anything is created.
pub fn check_free(p: &PortMapping) -> crate::Result<()> {
    let addr = (p.host_ip, p.host_port);
    let r = match p.proto {
        Proto::Tcp => std::net::TcpListener::bind(addr).map(drop),
        Proto::Udp => std::net::UdpSocket::bind(addr).map(drop),
    };
    report::syscall(
        &format!("bind({}:{}/{})", p.host_ip, p.host_port, p.proto.as_str()),
        &r.as_ref().map_or_else(|e| format!("-1 ({e})"), |_| "0".into()),
    );
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!(
                "cannot publish {p}: port {}/{} is already in use on {} by another program",
                p.host_port,
                p.proto.as_str(),
                p.host_ip
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            bail!("cannot publish {p}: {} is not an address of this host", p.host_ip)
        }
        Err(e) => Err(e)
            .with_context(|| format!("cannot publish {p}: binding {}:{}", p.host_ip, p.host_port)),
    }
}

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
/// everything done so far is undone.
pub fn attach(
    cfg: &Config,
    root: &Path,
    container_id: &str,
    child: Pid,
    ports: &[PortMapping],
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
    let r = attach_locked(&mut nl, cfg, root, container_id, child, ports, &mut made_veth);
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

fn attach_locked(
    nl: &mut Netlink,
    cfg: &Config,
    root: &Path,
    id: &str,
    child: Pid,
    ports: &[PortMapping],
    made_veth: &mut bool,
) -> crate::Result<Attachment> {
    // ANCHOR: attach
    reserve_ports(root, id, ports)?;
    let bridge = bridge::ensure(nl, cfg)?;
    nat::ensure_bridge(cfg)?;
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
    nl.set_master(&host, &bridge)?;
    nl.set_up(&host)?;
    nl.move_to_netns(&peer, child.as_raw())?;
    nat::add_container(&att)?;
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

/// Hands the [`Attachment`] — known only after the child exists — to the child, which is a
/// copy of the parent from before: a pipe made before the clone. The parent [`sends`] before it
/// opens the gate; after the gate the child [`receives`] and calls [`configure_inside`].
///
/// [`sends`]: Handoff::send
/// [`receives`]: Handoff::receive
pub struct Handoff {
    read: OwnedFd,
    write: OwnedFd,
}

impl Handoff {
    pub fn new() -> crate::Result<Handoff> {
        // O_CLOEXEC: neither end leaks into the container's command.
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("pipe2 for the network handoff")?;
        Ok(Handoff { read, write })
    }

    /// In the parent: a length, then the attachment as JSON. It must fit in the pipe (64 KiB)
    /// since the child reads only after the gate opens.
    pub fn send(&self, att: &Attachment) -> crate::Result<()> {
        let json = serde_json::to_vec(att)?;
        anyhow::ensure!(
            json.len() < 60_000,
            "the network attachment is too large to hand over ({} bytes)",
            json.len()
        );
        let mut f = std::fs::File::from(self.write.try_clone()?);
        f.write_all(&(json.len() as u32).to_ne_bytes())?;
        f.write_all(&json).context("handing the network attachment to the container")?;
        Ok(())
    }

    /// In the child: the attachment the parent sent.
    pub fn receive(&self) -> crate::Result<Attachment> {
        let mut f = std::fs::File::from(self.read.try_clone()?);
        let mut len = [0u8; 4];
        f.read_exact(&mut len).context("reading the network attachment")?;
        let mut json = vec![0u8; u32::from_ne_bytes(len) as usize];
        f.read_exact(&mut json).context("reading the network attachment")?;
        serde_json::from_slice(&json).context("the network attachment handed over is damaged")
    }
}
