//! Published ports: `-p [IP:]HOSTPORT:CONTAINERPORT[/PROTO]` read, and checked free on the host.

use crate::report;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

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

/// The first host port from `from` up to `from + 99` that a new `-p PORT:…` can take: nothing
/// listens on it, no container of the store at `root` publishes it, and no DNAT rule of any
/// store (the demo of scripts/setup runs in /var/lib/minidocker) sends it elsewhere — a DNAT
/// rule holds no socket, so `bind` alone would not see such a port. How a lesson whose
/// default port is taken picks the next one.
pub fn first_free_port(root: &std::path::Path, from: u16) -> crate::Result<u16> {
    let nat = std::process::Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let taken = |port: u16| {
        let dport = format!("--dport {port} ");
        let mapping = PortMapping {
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: port,
            container_port: 80,
            proto: Proto::Tcp,
        };
        check_free(&mapping).is_err()
            || root.join(format!("network/ports/tcp-{port}")).exists()
            || nat.lines().any(|l| l.contains(&dport) && l.contains("DNAT"))
    };
    let last = from.saturating_add(99);
    (from..=last)
        .find(|&p| !taken(p))
        .with_context(|| format!("ports {from} to {last} are all taken: give one with -p"))
}

/// `curl -s http://ADDR/`, retried until a server answers or `wait` has passed (or Ctrl-C): the
/// body of the first HTTP answer.
pub fn http_get(addr: &str, wait: std::time::Duration) -> Option<String> {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok();
            let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut resp = String::new();
            if s.read_to_string(&mut resp).is_ok() && resp.starts_with("HTTP/1.") {
                return resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
            }
        }
        if std::time::Instant::now() > deadline || crate::interrupt::check().is_err() {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
