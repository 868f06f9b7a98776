//! A small NETLINK_ROUTE client, by hand: what `ip link`, `ip addr` and `ip route` say to the
//! kernel (rtnetlink(7), netlink(7)).
//!
//! A request is one datagram on a `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)`:
//!
//! ```text
//! nlmsghdr  { len, type = RTM_NEWLINK, flags = REQUEST|ACK|CREATE|EXCL, seq, pid }
//! ifinfomsg { family, type, index, flags, change }          the "family header"
//! rtattr    { len, type = IFLA_IFNAME }  "veth0\0"          attributes: type-length-value,
//! rtattr    { len, type = IFLA_LINKINFO }                   each padded to 4 bytes; an
//!     rtattr { IFLA_INFO_KIND } "veth\0"                    attribute may hold attributes
//!     rtattr { IFLA_INFO_DATA }                             (nested)
//!         rtattr { VETH_INFO_PEER } ifinfomsg + rtattr { IFLA_IFNAME } "ceth0\0"
//! ```
//!
//! With `NLM_F_ACK` the kernel answers every request with an `NLMSG_ERROR` message whose
//! error is 0 (done) or a negative errno — and, with `NETLINK_EXT_ACK`, often a sentence saying
//! which attribute it did not like.

use crate::report;
use nix::errno::Errno;
use std::fmt;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// The numbers, from the kernel's UAPI headers <linux/netlink.h>, <linux/rtnetlink.h>,
// <linux/if_link.h>, <linux/if_addr.h> and <linux/veth.h>.
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
/// In an error message: the original request is not echoed back (we asked NETLINK_CAP_ACK).
const NLM_F_CAPPED: u16 = 0x100;
/// In an error message: extended-ack attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;

const IFF_UP: u32 = 0x1;
/// The two flag bits of an attribute's type (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A request the kernel refused: what was asked, the errno, and the kernel's own words.
#[derive(Debug)]
pub struct Error {
    pub call: String,
    pub errno: Errno,
    /// The extended ack's message, when the kernel gave one.
    pub detail: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::sys::failure(&self.call, self.errno))?;
        match &self.detail {
            Some(d) => write!(f, " (kernel: {d})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// A network interface as the kernel describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `bridge`, `veth`, …; none for physical devices and `lo`.
    pub kind: Option<String>,
    pub up: bool,
    /// The bridge it is a port of.
    pub master: Option<u32>,
    pub mtu: u32,
}

/// `struct ifinfomsg`: which link, and which of its flags to change.
fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16]; // family AF_UNSPEC, type 0
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// `struct ifaddrmsg`: an IPv4 address of `prefix` bits on link `index`.
fn ifaddrmsg(prefix: u8, index: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = libc::AF_INET as u8;
    b[1] = prefix; // flags 0, scope 0 (universe)
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

/// `struct rtmsg` for a unicast IPv4 route of `dst_len` bits in the main table.
fn rtmsg(dst_len: u8) -> [u8; 12] {
    [
        libc::AF_INET as u8,
        dst_len,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        RT_SCOPE_UNIVERSE,
        RTN_UNICAST,
        0,
        0,
        0,
        0,
    ]
}

/// A request being built: the header, the family header, then attributes.
struct Message {
    buf: Vec<u8>,
    /// Where each nested attribute still open starts.
    open: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16) -> Message {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&kind.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        Message { buf, open: Vec::new() }
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// Raw bytes: a family header (ifinfomsg, ifaddrmsg, rtmsg).
    fn header(mut self, bytes: &[u8]) -> Message {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Message {
        self.buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn attr_u32(self, kind: u16, v: u32) -> Message {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// A string attribute, NUL-terminated as the kernel's own tools send them.
    fn attr_str(self, kind: u16, s: &str) -> Message {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }

    /// Open a nested attribute: what follows, until [`Message::end`], is inside it.
    fn nest(mut self, kind: u16) -> Message {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self
    }

    fn end(mut self) -> Message {
        let start = self.open.pop().expect("end() without nest()");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        assert!(self.open.is_empty(), "a nested attribute was left open");
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// The attributes in `b`, as (type, value) pairs.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        let next = (len + 3) & !3;
        b = &b[next.min(b.len())..];
    }
    out
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An open NETLINK_ROUTE socket. Each request waits for the kernel's answer.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    pub fn open() -> crate::Result<Netlink> {
        // SAFETY: socket(2) with constant arguments; the descriptor is owned below.
        let fd = unsafe {
            libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE)
        };
        let fd = Errno::result(fd)
            .map_err(|e| crate::sys::failure("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", e))?;
        // SAFETY: a descriptor we just created and nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Short errors (no echo of our request), with the kernel's explanation when it has one.
        // Old kernels lack these options; the answers are then only longer or terser.
        for opt in [NETLINK_CAP_ACK, NETLINK_EXT_ACK] {
            let one: libc::c_int = 1;
            // SAFETY: setsockopt reads one int we own.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    SOL_NETLINK,
                    opt,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as u32,
                )
            };
        }
        Ok(Netlink { fd, seq: 0 })
    }

    /// Send `msg` and collect the kernel's answers up to its ACK. `call` names the request
    /// in the trace and in errors.
    fn request(&mut self, call: &str, msg: Message) -> Result<Vec<Vec<u8>>> {
        let r = self.exchange(msg);
        match &r {
            Ok(_) => report::syscall(call, "0"),
            Err((errno, _)) => report::syscall(call, &format!("-1 {errno:?} ({})", errno.desc())),
        }
        r.map_err(|(errno, detail)| Error { call: call.to_string(), errno, detail })
    }

    fn exchange(
        &mut self,
        msg: Message,
    ) -> std::result::Result<Vec<Vec<u8>>, (Errno, Option<String>)> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = msg.finish(seq);
        // SAFETY: sockaddr_nl is plain data; zero means "the kernel" (nl_pid 0, no groups).
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let sent = unsafe {
            // SAFETY: sendto reads our buffer and address, both alive for the call.
            libc::sendto(
                self.fd.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        Errno::result(sent).map_err(|e| (e, None))?;

        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: recv writes at most buf.len() bytes into the buffer we own.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let n = match Errno::result(n) {
                Ok(n) => n as usize,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err((e, None)),
            };
            let mut b = &buf[..n];
            while b.len() >= NLMSG_HDRLEN {
                let len = u32_at(b, 0) as usize;
                if len < NLMSG_HDRLEN || len > b.len() {
                    return Err((Errno::EBADMSG, Some("a truncated netlink message".into())));
                }
                let kind = u16::from_ne_bytes([b[4], b[5]]);
                let flags = u16::from_ne_bytes([b[6], b[7]]);
                let their_seq = u32_at(b, 8);
                let payload = &b[NLMSG_HDRLEN..len];
                b = &b[((len + 3) & !3).min(b.len())..];
                if their_seq != seq {
                    continue; // an answer to an earlier request we stopped waiting for
                }
                match kind {
                    NLMSG_ERROR => {
                        let code =
                            i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                        if code == 0 {
                            return Ok(replies);
                        }
                        return Err((Errno::from_raw(-code), ext_ack_message(payload, flags)));
                    }
                    NLMSG_DONE => return Ok(replies),
                    _ => replies.push(payload.to_vec()),
                }
            }
        }
    }

    /// The link called `name`, or None when there is none.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let msg =
            Message::new(RTM_GETLINK, 0).header(&ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, name);
        match self.request(&format!("netlink RTM_GETLINK {name}"), msg) {
            Ok(replies) => Ok(replies.first().map(|r| parse_link(r))),
            Err(e) if e.errno == Errno::ENODEV => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `ip link add NAME type bridge`. Its MTU is then set with [`Netlink::set_mtu`]: given
    /// here, the kernel would still lower it to its ports' (and to 1500 with none).
    pub fn create_bridge(&mut self, name: &str) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
            .header(&ifinfomsg(0, 0, 0))
            .attr_str(IFLA_IFNAME, name)
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        self.request(&format!("netlink RTM_NEWLINK bridge {name}"), msg).map(drop)
    }

    // ANCHOR: create_veth
    /// `ip link add HOST mtu MTU type veth peer name PEER mtu MTU`: two interfaces joined by a
    /// virtual cable.
    pub fn create_veth(&mut self, host: &str, peer: &str, mtu: u32) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
            .header(&ifinfomsg(0, 0, 0))
            .attr_str(IFLA_IFNAME, host)
            .attr_u32(IFLA_MTU, mtu)
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .nest(IFLA_INFO_DATA)
            .nest(VETH_INFO_PEER)
            .header(&ifinfomsg(0, 0, 0))
            .attr_str(IFLA_IFNAME, peer)
            .attr_u32(IFLA_MTU, mtu)
            .end()
            .end()
            .end();
        self.request(&format!("netlink RTM_NEWLINK veth {host} ↔ {peer}"), msg).map(drop)
    }
    // ANCHOR_END: create_veth

    /// `ip link set NAME master BRIDGE`: plug a link into a bridge.
    pub fn set_master(&mut self, link: &Link, bridge: &Link) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, 0)
            .header(&ifinfomsg(link.index, 0, 0))
            .attr_u32(IFLA_MASTER, bridge.index);
        self.request(&format!("netlink RTM_NEWLINK {} master {}", link.name, bridge.name), msg)
            .map(drop)
    }

    /// `ip link set NAME mtu MTU`. On a bridge, an MTU set this way stays (the kernel stops
    /// following its ports' MTUs) — unless it was that already, which changes nothing.
    pub fn set_mtu(&mut self, link: &Link, mtu: u32) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, 0)
            .header(&ifinfomsg(link.index, 0, 0))
            .attr_u32(IFLA_MTU, mtu);
        self.request(&format!("netlink RTM_NEWLINK {} mtu {mtu}", link.name), msg).map(drop)
    }

    /// `ip link set NAME up`: IFF_UP in the flags, and in `change` to say only that bit changes.
    pub fn set_up(&mut self, link: &Link) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, 0).header(&ifinfomsg(link.index, IFF_UP, IFF_UP));
        self.request(&format!("netlink RTM_NEWLINK {} up", link.name), msg).map(drop)
    }

    // ANCHOR: move_to_netns
    /// `ip link set NAME netns PID`: move a link into the network namespace of process `pid`.
    pub fn move_to_netns(&mut self, link: &Link, pid: i32) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, 0)
            .header(&ifinfomsg(link.index, 0, 0))
            .attr_u32(IFLA_NET_NS_PID, pid as u32);
        self.request(&format!("netlink RTM_NEWLINK {} netns pid {pid}", link.name), msg).map(drop)
    }
    // ANCHOR_END: move_to_netns

    /// `ip link set NAME name NEW` (the link must be down).
    pub fn rename(&mut self, link: &Link, new: &str) -> Result<()> {
        let msg = Message::new(RTM_NEWLINK, 0)
            .header(&ifinfomsg(link.index, 0, 0))
            .attr_str(IFLA_IFNAME, new);
        self.request(&format!("netlink RTM_NEWLINK {} name {new}", link.name), msg).map(drop)
    }

    /// `ip addr add IP/PREFIX broadcast + dev NAME`. The kernel adds the route to the subnet
    /// itself once the link is up.
    pub fn add_address(&mut self, link: &Link, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
        let broadcast = Ipv4Addr::from(u32::from(ip) | !mask);
        let msg = Message::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
            .header(&ifaddrmsg(prefix, link.index))
            .attr(IFA_LOCAL, &ip.octets())
            .attr(IFA_ADDRESS, &ip.octets())
            .attr(IFA_BROADCAST, &broadcast.octets());
        self.request(&format!("netlink RTM_NEWADDR {ip}/{prefix} dev {}", link.name), msg).map(drop)
    }

    /// `ip route add default via GATEWAY dev NAME`.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr, link: &Link) -> Result<()> {
        let msg = Message::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
            .header(&rtmsg(0))
            .attr(RTA_GATEWAY, &gateway.octets())
            .attr_u32(RTA_OIF, link.index);
        self.request(&format!("netlink RTM_NEWROUTE default via {gateway} dev {}", link.name), msg)
            .map(drop)
    }

    /// `ip link del NAME`. Deleting one end of a veth pair deletes the other.
    pub fn delete_link(&mut self, link: &Link) -> Result<()> {
        let msg = Message::new(RTM_DELLINK, 0).header(&ifinfomsg(link.index, 0, 0));
        self.request(&format!("netlink RTM_DELLINK {}", link.name), msg).map(drop)
    }
}

/// An RTM_NEWLINK answer: ifinfomsg, then IFLA_* attributes.
fn parse_link(payload: &[u8]) -> Link {
    let mut link =
        Link { index: 0, name: String::new(), kind: None, up: false, master: None, mtu: 0 };
    if payload.len() < 16 {
        return link;
    }
    link.index = u32_at(payload, 4);
    link.up = u32_at(payload, 8) & IFF_UP != 0;
    for (kind, value) in attrs(&payload[16..]) {
        match kind {
            IFLA_IFNAME => link.name = c_string(value),
            IFLA_MASTER if value.len() >= 4 => link.master = Some(u32_at(value, 0)),
            IFLA_MTU if value.len() >= 4 => link.mtu = u32_at(value, 0),
            IFLA_LINKINFO => {
                link.kind = attrs(value)
                    .into_iter()
                    .find(|(k, _)| *k == IFLA_INFO_KIND)
                    .map(|(_, v)| c_string(v));
            }
            _ => {}
        }
    }
    link
}

/// The kernel's sentence in an error message (`NLMSGERR_ATTR_MSG`), if it sent one.
fn ext_ack_message(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || payload.len() < 4 + NLMSG_HDRLEN {
        return None;
    }
    // struct nlmsgerr { int error; struct nlmsghdr msg; } and, unless capped, msg's payload.
    let echoed = if flags & NLM_F_CAPPED != 0 { NLMSG_HDRLEN } else { u32_at(payload, 4) as usize };
    let start = (4 + echoed + 3) & !3;
    let tlvs = payload.get(start..)?;
    attrs(tlvs)
        .into_iter()
        .find(|(k, _)| *k == NLMSGERR_ATTR_MSG)
        .map(|(_, v)| c_string(v))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_are_measured_and_padded() {
        let bytes = Message::new(RTM_NEWLINK, NLM_F_CREATE)
            .header(&ifinfomsg(0, 0, 0))
            .attr_str(IFLA_IFNAME, "ab")
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .end()
            .finish(7);
        assert_eq!(u32_at(&bytes, 0) as usize, bytes.len());
        assert_eq!(u32_at(&bytes, 8), 7);
        assert_eq!(bytes.len() % 4, 0);
        let a = attrs(&bytes[32..]);
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].0, c_string(a[0].1).as_str()), (IFLA_IFNAME, "ab"));
        assert_eq!(a[1].0, IFLA_LINKINFO);
        let inner = attrs(a[1].1);
        assert_eq!((inner[0].0, c_string(inner[0].1).as_str()), (IFLA_INFO_KIND, "veth"));
    }
}
