//! Container networking end to end: a bridge, a veth pair, an address from the IPAM, NAT and a
//! published port — with real children in their own network namespaces.
//!
//! Every test has its own bridge (`mdt<pid><n>`), subnet (a free `10.199.x.0/24`) and
//! `MINIDOCKER_ROOT`, so they run in parallel; whatever a test creates is removed by Drop
//! guards, also when it fails. Nothing else of the host is touched: the targets are 127.0.0.1
//! and the test's own bridge and containers.

mod common;

use minidocker::network::{self, Attachment, Config, Handoff, PortMapping};
use minidocker::process::{self, Gate, Running};
use nix::sched::CloneFlags;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A test's bridge, subnet and root. Dropping it destroys the bridge with everything on it.
struct Net {
    cfg: Config,
    root: common::TestRoot,
}

impl Net {
    /// Test `n` (1 to 7) of this process: bridge `mdt<pid%10000><n>`, subnet
    /// `10.199.<7·block + n>.0/24`, the block chosen by the PID and skipping any /24 the host
    /// already routes (another run's bridge): two test processes never share a subnet.
    fn new(test: &str, n: u8) -> Net {
        assert!((1..=7).contains(&n));
        let pid = std::process::id();
        let bridge = format!("mdt{}{n}", pid % 10000);
        let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
        let routed = |third: u32| {
            // Destinations are hexadecimal, in network byte order: 10.199.X.0 reads 00XXC70A.
            let dest = format!("{:08X}", u32::from_ne_bytes([10, 199, third as u8, 0]));
            routes.lines().any(|l| l.split_whitespace().nth(1) == Some(dest.as_str()))
        };
        let third = (0..36)
            .map(|k| (pid + k) % 36 * 7 + u32::from(n))
            .find(|t| !routed(*t))
            .expect("no free 10.199.x.0/24 for the test");
        let cfg = Config::new(&bridge, &format!("10.199.{third}.0/24")).unwrap();
        Net { cfg, root: common::TestRoot::new(&format!("net-{test}")) }
    }

    fn root(&self) -> &Path {
        &self.root.path
    }

    fn ip_file(&self, ip: Ipv4Addr) -> PathBuf {
        network::ips_dir(self.root(), &self.cfg.bridge).join(ip.to_string())
    }

    fn ip_files(&self) -> Vec<String> {
        std::fs::read_dir(network::ips_dir(self.root(), &self.cfg.bridge))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// Lines of `iptables-save` that belong to this bridge (its chains and jumps).
    fn bridge_rules(&self) -> Vec<String> {
        let chain = format!("MD-{}", self.cfg.bridge);
        let tag = format!("minidocker-bridge:{}", self.cfg.bridge);
        iptables_save()
            .lines()
            .filter(|l| l.contains(&chain) || l.contains(&tag))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Err(e) = network::destroy_bridge(&self.cfg, self.root()) {
            eprintln!("cleanup of {}: {e:#}", self.cfg.bridge);
        }
    }
}

/// Run `cmd`, its stdout and stderr going to one memory file. Not `Command::output`, whose
/// pipes a container cloned meanwhile by another test would hold open until it execs.
fn run(cmd: &mut Command) -> (bool, String) {
    // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned by the File.
    let fd = unsafe { libc::memfd_create(c"output".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
    // SAFETY: fd was just created above and nothing else owns it.
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let status = cmd
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f.try_clone().unwrap())
        .status()
        .expect("running a command");
    let mut text = String::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_string(&mut text).unwrap();
    (status.success(), text)
}

fn iptables_save() -> String {
    let (ok, out) = run(&mut Command::new("iptables-save"));
    assert!(ok, "iptables-save: {out}");
    out
}

/// Rules carrying container `id`'s comment (`iptables-save | grep minidocker:<id>`).
fn rules_of(id: &str) -> Vec<String> {
    let tag = format!("minidocker:{id}");
    iptables_save().lines().filter(|l| l.contains(&tag)).map(str::to_owned).collect()
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn publish(spec: &str) -> Vec<PortMapping> {
    vec![network::parse_publish(spec).unwrap()]
}

/// A child in a new network namespace, waiting at its gate; once let go it receives its
/// attachment, configures its side, then runs `argv` — or, with `sink`, serves a TCP sink on
/// that port from the test's own code.
struct Container {
    id: String,
    child: Running,
    gate: Option<Gate>,
    handoff: Handoff,
}

impl Container {
    fn spawn(argv: &[&str], sink: Option<u16>) -> Container {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let handoff = Handoff::new().unwrap();
        let setup = || -> minidocker::Result<()> {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            let att = handoff.receive()?;
            network::configure_inside(&att)?;
            if let Some(port) = sink {
                serve_sink(port);
            }
            Ok(())
        };
        let (child, gate) = process::spawn(CloneFlags::CLONE_NEWNET, &setup, &argv).unwrap();
        Container { id: minidocker::files::new_id().unwrap(), child, gate: Some(gate), handoff }
    }

    fn pid(&self) -> nix::unistd::Pid {
        self.child.pid()
    }

    fn attach(&self, net: &Net, ports: &[PortMapping]) -> minidocker::Result<Attachment> {
        network::attach(&net.cfg, net.root(), &self.id, self.pid(), ports, &network::RULES)
    }

    /// Hand the attachment over and let the child run.
    fn start(&mut self, att: &Attachment) {
        self.handoff.send(att).unwrap();
        self.gate.take().unwrap().open().unwrap();
    }

    /// Run `f` on a thread that joined the container's network namespace (setns changes
    /// only the calling thread's).
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = std::fs::File::open(format!("/proc/{}/ns/net", self.pid())).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// Run a busybox applet inside the container's network namespace.
    fn exec(&self, args: &[&str]) -> (bool, String) {
        let ns = format!("--net=/proc/{}/ns/net", self.pid());
        run(Command::new("/bin/busybox").args(["nsenter", &ns, "/bin/busybox"]).args(args))
    }
}

/// In the child: accept connections forever; read each to its end and answer with the count.
fn serve_sink(port: u16) -> ! {
    let listener = TcpListener::bind(("0.0.0.0", port)).expect("sink bind");
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let Ok((mut s, _)) = listener.accept() else { continue };
        let mut total: u64 = 0;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        let _ = s.write_all(&total.to_ne_bytes());
    }
}

/// GET / from `addr`, retrying the connection until the server is up (5 s at most).
fn http_get(addr: SocketAddr) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })();
        match attempt {
            Ok(body) if !body.is_empty() => return Ok(body),
            Ok(_) if Instant::now() >= deadline => {
                return Err(format!("GET http://{addr}/: empty answer"))
            }
            Err(e) if Instant::now() >= deadline => return Err(format!("GET http://{addr}/: {e}")),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A directory with an index.html for busybox httpd.
fn site(net: &Net, text: &str) -> PathBuf {
    let dir = net.root().join(format!("site-{}", text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), text).unwrap();
    dir
}

fn httpd(dir: &Path) -> Container {
    Container::spawn(
        &["/bin/busybox", "httpd", "-f", "-p", "80", "-h", dir.to_str().unwrap()],
        None,
    )
}

/// An `AF_PACKET` socket bound to one interface: it sends whole Ethernet frames, every byte
/// written by the caller — what any process with `CAP_NET_RAW` (a default capability of
/// Docker's and of the workshop's containers) can do. It belongs to the network namespace of
/// the thread that opened it, wherever it is used afterwards.
struct RawLink {
    fd: std::os::fd::OwnedFd,
    /// The interface's MAC address.
    mac: [u8; 6],
}

impl RawLink {
    fn open(ifname: &str) -> std::io::Result<RawLink> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let err = std::io::Error::last_os_error;
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(err());
        }
        // Protocol 0: the socket only sends, it is handed no incoming frames.
        // SAFETY: plain socket(2); the descriptor is owned right below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(err());
        }
        // SAFETY: a descriptor we just created and nobody else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = index as i32;
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: sll is a sockaddr_ll of `len` bytes, for both calls.
        if unsafe { libc::bind(fd.as_raw_fd(), (&raw const sll).cast(), len) } != 0 {
            return Err(err());
        }
        // The name of a bound packet socket carries its interface's hardware address.
        // SAFETY: as above, sll and len describe the same sockaddr_ll.
        if unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut sll).cast(), &mut len) } != 0 {
            return Err(err());
        }
        assert_eq!(sll.sll_halen, 6, "{ifname} is not an Ethernet interface");
        Ok(RawLink { fd, mac: sll.sll_addr[..6].try_into().unwrap() })
    }

    /// Put `frame` on the wire as it is.
    fn send(&self, frame: &[u8]) {
        use std::os::fd::AsRawFd;
        // SAFETY: `frame` is valid for its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(
            n,
            frame.len() as isize,
            "sending a raw frame: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// An Ethernet frame carrying one IPv4/UDP datagram, all headers written by hand. The IPv4
/// header checksum must be right (the receiving kernel drops the packet otherwise); the UDP
/// checksum is 0, "not computed", which IPv4 allows.
fn udp_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Vec<u8> {
    let udp_len = 8 + payload.len() as u16;
    let mut ip = Vec::with_capacity(20);
    ip.extend_from_slice(&[0x45, 0]); // version 4, header of 5 words; TOS 0
    ip.extend_from_slice(&(20 + udp_len).to_be_bytes()); // total length
    ip.extend_from_slice(&[0, 0, 0x40, 0]); // identification 0; don't fragment, offset 0
    ip.extend_from_slice(&[64, 17, 0, 0]); // TTL 64; protocol UDP; checksum, filled in below
    ip.extend_from_slice(&src.ip().octets());
    ip.extend_from_slice(&dst.ip().octets());
    // The one's complement of the one's complement sum of the header's 16-bit words.
    let mut sum: u32 = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());

    let mut frame = Vec::with_capacity(14 + 20 + usize::from(udp_len));
    frame.extend_from_slice(&dst_mac);
    frame.extend_from_slice(&src_mac);
    frame.extend_from_slice(&0x0800u16.to_be_bytes()); // EtherType IPv4
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&src.port().to_be_bytes());
    frame.extend_from_slice(&dst.port().to_be_bytes());
    frame.extend_from_slice(&udp_len.to_be_bytes());
    frame.extend_from_slice(&[0, 0]); // UDP checksum: none
    frame.extend_from_slice(payload);
    frame
}

/// Whether `sock` receives a datagram with exactly `payload` within `wait` (others are skipped).
fn receives(sock: &UdpSocket, payload: &[u8], wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 2048];
    while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    {
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) if &buf[..n] == payload => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            // Other tests' children end meanwhile: SIGCHLD interrupts the wait.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("receiving on {:?}: {e}", sock.local_addr()),
        }
    }
    false
}

/// A MAC address as `/sys/class/net/<link>/address` gives it (`aa:bb:cc:dd:ee:ff`).
fn mac_of(link: &str) -> [u8; 6] {
    let text = std::fs::read_to_string(format!("/sys/class/net/{link}/address")).unwrap();
    let bytes: Vec<u8> =
        text.trim().split(':').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
    bytes.try_into().unwrap_or_else(|b| panic!("{link} has no Ethernet address: {b:?}"))
}

/// The guard against forged loopback destinations that bridge `bridge` should have in the raw
/// table — `-A PREROUTING -i B -d 127.0.0.0/8 … -j DROP` — with its packet counter.
fn loopback_guard(bridge: &str) -> Option<(String, u64)> {
    let (ok, listing) =
        run(Command::new("iptables").args(["-w", "-t", "raw", "-v", "-S", "PREROUTING"]));
    assert!(ok, "iptables -t raw -S PREROUTING: {listing}");
    let line = listing.lines().find(|l| {
        let a: Vec<&str> = l.split_whitespace().collect();
        a.windows(2).any(|w| w == ["-i", bridge])
            && a.windows(2).any(|w| w == ["-d", "127.0.0.0/8"])
            && a.ends_with(&["-j", "DROP"])
    })?;
    // With -v every rule shows `-c PACKETS BYTES`.
    let a: Vec<&str> = line.split_whitespace().collect();
    let packets = a.windows(2).find(|w| w[0] == "-c").map_or(0, |w| w[1].parse().unwrap());
    Some((line.to_string(), packets))
}

#[test]
fn publish_specs_and_configs_parse_like_docker() {
    let p = network::parse_publish("127.0.0.1:8080:80").unwrap();
    assert_eq!(
        (p.host_ip, p.host_port, p.container_port, p.proto),
        (Ipv4Addr::LOCALHOST, 8080, 80, network::Proto::Tcp)
    );
    let p = network::parse_publish("8080:80/udp").unwrap();
    assert_eq!(
        (p.host_ip, p.host_port, p.container_port, p.proto),
        (Ipv4Addr::UNSPECIFIED, 8080, 80, network::Proto::Udp)
    );
    assert_eq!(network::parse_publish(":4000:80").unwrap().host_ip, Ipv4Addr::UNSPECIFIED);
    assert_eq!(network::parse_publish("4000:80").unwrap().to_string(), "0.0.0.0:4000->80/tcp");
    for (bad, why) in [
        ("80", "give the host port"),
        ("127.0.0.1::80", "give the host port"),
        ("8080:80/sctp", "not tcp or udp"),
        ("99999:80", "not a port number"),
        ("0:80", "not a port number"),
        ("8080:http", "not a port number"),
        ("8000-8010:80-90", "ranges are not supported"),
        ("300.1.1.1:80:80", "not an IPv4 address"),
        ("[::1]:80:80", "IPv6"),
        ("a:b:c:d", "expected"),
    ] {
        let e = format!("{:#}", network::parse_publish(bad).unwrap_err());
        assert!(e.contains(why) && e.contains(bad) && !e.contains('\n'), "-p {bad}: {e}");
    }
    let cfg = Config::new("mdtest0", "10.199.0.0/24").unwrap();
    assert_eq!(cfg.gateway(), Ipv4Addr::new(10, 199, 0, 1));
    assert_eq!(cfg.subnet.broadcast(), Ipv4Addr::new(10, 199, 0, 255));
    for (bridge, subnet, why) in [
        ("a-name-far-too-long", "10.1.0.0/16", "1 to 15"),
        ("bad/name", "10.1.0.0/16", "1 to 15"),
        ("docker0", "10.1.0.0/16", "Docker's own bridge"),
        ("md0", "10.1.0.5/16", "host bits are set"),
        ("md0", "10.1.0.0/31", "between 8 and 30"),
        ("md0", "10.1.0.0", "expected a.b.c.d/N"),
    ] {
        let e = format!("{:#}", Config::new(bridge, subnet).unwrap_err());
        assert!(e.contains(why) && !e.contains('\n'), "{bridge} {subnet}: {e}");
    }
}

#[test]
fn fifty_concurrent_allocations_never_collide() {
    let root = common::TestRoot::new("net-ipam");
    let dir = root.path.join("ips");
    let subnet = network::Subnet::parse("10.199.200.0/24").unwrap();
    let ips: Vec<Ipv4Addr> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let dir = &dir;
                s.spawn(move || network::ipam::allocate(dir, &subnet, &format!("c{i}")).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = ips.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 50, "two allocations got the same address: {ips:?}");
    for ip in &ips {
        assert!(
            subnet.contains(*ip)
                && *ip != subnet.network
                && *ip != subnet.gateway()
                && *ip != subnet.broadcast(),
            "{ip}"
        );
    }
    // Each file names its holder; releasing is by the holder only, and twice is harmless.
    let held = network::ipam::allocated(&dir);
    assert_eq!(held.len(), 50);
    let (ip0, owner0) = held[0].clone();
    network::ipam::release(&dir, ip0, "someone-else").unwrap();
    assert!(dir.join(ip0.to_string()).exists());
    network::ipam::release(&dir, ip0, &owner0).unwrap();
    network::ipam::release(&dir, ip0, &owner0).unwrap();
    assert!(!dir.join(ip0.to_string()).exists());

    // A /29 has 8 addresses: network, gateway, broadcast, and 5 for containers.
    let small = network::Subnet::parse("10.199.201.0/29").unwrap();
    let sdir = root.path.join("small");
    let got: Vec<Ipv4Addr> =
        (0..5).map(|i| network::ipam::allocate(&sdir, &small, &format!("s{i}")).unwrap()).collect();
    assert_eq!(got, (2..7).map(|h| Ipv4Addr::new(10, 199, 201, h)).collect::<Vec<_>>());
    let e = format!("{:#}", network::ipam::allocate(&sdir, &small, "s5").unwrap_err());
    assert!(e.contains("no free address left in 10.199.201.0/29"), "{e}");
}

#[test]
fn a_container_answers_on_its_address_and_on_the_published_port() {
    if !common::have_root("a_container_answers_on_its_address_and_on_the_published_port") {
        return;
    }
    let net = Net::new("http", 1);
    let dir = site(&net, "hello from the container\n");
    let mut c = httpd(&dir);
    let hp = common::free_port();
    let att = c.attach(&net, &publish(&format!("127.0.0.1:{hp}:80"))).unwrap();
    c.start(&att);

    assert!(net.cfg.subnet.contains(att.ip) && att.ip != att.gateway, "{att:?}");
    assert_eq!(att.gateway, net.cfg.gateway());
    assert_eq!(
        std::fs::read_to_string(net.ip_file(att.ip)).unwrap(),
        c.id,
        "the address file names the container"
    );
    assert!(link_exists(&att.host_veth) && link_exists(&net.cfg.bridge));
    let master = std::fs::read_link(format!("/sys/class/net/{}/master", att.host_veth)).unwrap();
    assert!(master.ends_with(&net.cfg.bridge), "the host veth is a port of the bridge: {master:?}");
    assert!(rules_of(&c.id).len() >= 2, "a DNAT and a FORWARD rule: {:?}", rules_of(&c.id));

    // From the host: the container's own address, and the published port on 127.0.0.1.
    let direct = http_get(SocketAddr::from((att.ip, 80))).unwrap();
    assert!(direct.contains("200 OK") && direct.contains("hello from the container"), "{direct}");
    let published = http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, hp))).unwrap();
    assert!(published.contains("hello from the container"), "{published}");

    // Inside: eth0 with the address, a default route, and the gateway reachable.
    let (ok, addr) = c.exec(&["ip", "-4", "addr", "show", "eth0"]);
    assert!(ok && addr.contains(&format!("{}/24", att.ip)), "{addr}");
    let (ok, routes) = c.exec(&["ip", "route"]);
    assert!(ok && routes.contains(&format!("default via {}", att.gateway)), "{routes}");
    let (ok, ping) = c.exec(&["ping", "-c", "1", "-W", "3", &att.gateway.to_string()]);
    assert!(ok, "the container cannot reach its gateway: {ping}");
    let (ok, lo) = c.exec(&["ip", "link", "show", "lo"]);
    assert!(ok && lo.contains("UP"), "{lo}");
    // The bridge, both ends of the veth: the MTU of a wire inside the host (Config::DEFAULT_MTU).
    let mtu = |name: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{name}/mtu")).unwrap().trim().to_string()
    };
    assert_eq!(
        (mtu(&net.cfg.bridge), mtu(&att.host_veth)),
        ("65535".to_string(), "65535".to_string())
    );
    let (ok, eth0) = c.exec(&["ip", "link", "show", "eth0"]);
    assert!(ok && eth0.contains("mtu 65535"), "{eth0}");
    // Another MTU for a bridge that exists is refused, in one line: its ports must match it.
    let other = Config { mtu: 1500, ..net.cfg.clone() };
    let e = format!("{:#}", network::check_bridge(&other, net.root()).unwrap_err());
    assert!(e.contains("created with MTU 65535, not 1500") && !e.contains('\n'), "{e}");

    // Detach: no veth, no rules of this container, no address file; it was the last
    // container of the bridge, so the bridge and its chains are gone too.
    network::detach(net.root(), &att).unwrap();
    assert!(!link_exists(&att.host_veth), "{} left behind", att.host_veth);
    assert_eq!(rules_of(&c.id), Vec::<String>::new());
    assert!(!net.ip_file(att.ip).exists());
    assert!(!link_exists(&net.cfg.bridge), "the last container's detach removes the bridge");
    assert_eq!(net.bridge_rules(), Vec::<String>::new());
    network::detach(net.root(), &att).expect("detaching twice is harmless");
}

#[test]
fn concurrent_attaches_get_different_addresses() {
    if !common::have_root("concurrent_attaches_get_different_addresses") {
        return;
    }
    let net = Net::new("two", 2);
    let dir = site(&net, "twin\n");
    // Children are cloned here, on the test's thread (their parent-death signal follows it).
    let mut a = httpd(&dir);
    let mut b = httpd(&dir);
    let (pa, pb) = (common::free_port(), common::free_port());
    let (att_a, att_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.attach(&net, &publish(&format!("127.0.0.1:{pa}:80"))));
        let tb = s.spawn(|| b.attach(&net, &publish(&format!("127.0.0.1:{pb}:80"))));
        (ta.join().unwrap().unwrap(), tb.join().unwrap().unwrap())
    });
    assert_ne!(att_a.ip, att_b.ip);
    a.start(&att_a);
    b.start(&att_b);
    for (ip, port) in
        [(att_a.ip, 80), (att_b.ip, 80), (Ipv4Addr::LOCALHOST, pa), (Ipv4Addr::LOCALHOST, pb)]
    {
        let body = http_get(SocketAddr::from((ip, port))).unwrap();
        assert!(body.contains("twin"), "{ip}:{port}: {body}");
    }
    // Container to container, across the bridge.
    let from_a = a.inside(|| http_get(SocketAddr::from((att_b.ip, 80))));
    assert!(from_a.as_ref().is_ok_and(|b| b.contains("twin")), "a cannot reach b: {from_a:?}");

    network::detach(net.root(), &att_a).unwrap();
    assert!(link_exists(&net.cfg.bridge), "b is still on the bridge");
    assert!(!link_exists(&att_a.host_veth) && rules_of(&a.id).is_empty());
    let body = http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, pb))).unwrap();
    assert!(body.contains("twin"), "b still answers on its port: {body}");
    network::detach(net.root(), &att_b).unwrap();
    assert!(!link_exists(&net.cfg.bridge));
    assert!(net.bridge_rules().is_empty() && net.ip_files().is_empty());
}

#[test]
fn a_port_in_use_is_a_clear_error_and_nothing_is_created() {
    if !common::have_root("a_port_in_use_is_a_clear_error_and_nothing_is_created") {
        return;
    }
    let net = Net::new("busy", 3);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let c = Container::spawn(&["/bin/busybox", "sleep", "30"], None);
    let e = format!("{:#}", c.attach(&net, &publish(&format!("127.0.0.1:{port}:80"))).unwrap_err());
    assert!(e.contains(&format!("port {port}/tcp is already in use")) && !e.contains('\n'), "{e}");
    assert!(!link_exists(&net.cfg.bridge) && !link_exists(&network::host_veth_name(&c.id)));
    assert!(
        net.ip_files().is_empty() && rules_of(&c.id).is_empty() && net.bridge_rules().is_empty()
    );
    let (_, links) = c.exec(&["ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "only lo in the container: {links}");

    // A child left in the host's network namespace is refused (configuring "its" eth0 would
    // reconfigure the host).
    let (host_child, _gate) = process::spawn(
        CloneFlags::empty(),
        &|| Ok(()),
        &["/bin/busybox".to_string(), "true".to_string()],
    )
    .unwrap();
    let e = format!(
        "{:#}",
        network::attach(&net.cfg, net.root(), &c.id, host_child.pid(), &[], &network::RULES)
            .unwrap_err()
    );
    assert!(e.contains("shares the host's network namespace"), "{e}");
    assert!(!link_exists(&net.cfg.bridge) && net.ip_files().is_empty());

    // The same host port twice in one run.
    let twice = [
        network::parse_publish("18081:80").unwrap(),
        network::parse_publish("127.0.0.1:18081:81").unwrap(),
    ];
    let e = format!("{:#}", c.attach(&net, &twice).unwrap_err());
    assert!(e.contains("already in"), "{e}");

    // A port another container of this root already publishes: no socket holds it (DNAT),
    // the reservation does. The first container is unaffected.
    let dir = site(&net, "first\n");
    let mut first = httpd(&dir);
    let free = common::free_port();
    let att = first.attach(&net, &publish(&format!("127.0.0.1:{free}:80"))).unwrap();
    first.start(&att);
    let e = format!("{:#}", c.attach(&net, &publish(&format!("{free}:80"))).unwrap_err());
    assert!(e.contains("already published by container"), "{e}");
    assert!(!link_exists(&network::host_veth_name(&c.id)) && rules_of(&c.id).is_empty());
    assert_eq!(net.ip_files(), vec![att.ip.to_string()]);
    assert!(http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, free))).unwrap().contains("first"));
    drop(taken);
}

#[test]
fn leftovers_are_found_by_id_and_destroying_the_bridge_removes_everything() {
    if !common::have_root("leftovers_are_found_by_id_and_destroying_the_bridge_removes_everything")
    {
        return;
    }
    let net = Net::new("gone", 4);
    let dir = site(&net, "x\n");

    // A crash: the container died, nobody detached, the attachment is lost; only the ID is known.
    let mut a = httpd(&dir);
    let att = a.attach(&net, &publish(&format!("127.0.0.1:{}:80", common::free_port()))).unwrap();
    a.start(&att);
    let id = a.id.clone();
    drop(a); // kill -9
    assert!(
        !rules_of(&id).is_empty() && net.ip_file(att.ip).exists(),
        "still there after the crash"
    );
    network::cleanup_container(&net.cfg, net.root(), &id).unwrap();
    assert!(
        !link_exists(&att.host_veth) && rules_of(&id).is_empty() && !net.ip_file(att.ip).exists()
    );
    assert!(!link_exists(&net.cfg.bridge) && net.bridge_rules().is_empty());
    network::cleanup_container(&net.cfg, net.root(), &id).expect("twice is harmless");

    // An explicit destroy with containers still on it.
    let mut b = httpd(&dir);
    let mut c = httpd(&dir);
    let att_b = b.attach(&net, &publish(&format!("{}:80", common::free_port()))).unwrap();
    let att_c = c.attach(&net, &[]).unwrap();
    b.start(&att_b);
    c.start(&att_c);
    assert!(link_exists(&net.cfg.bridge) && !net.bridge_rules().is_empty());
    // b publishes on every address of the host: 127.0.0.1 (nat OUTPUT), and — from "another
    // host", a container behind a second bridge whose packets arrive routed — the host's
    // address on that bridge (nat PREROUTING, then FORWARD, whose policy may be DROP).
    let port_b = att_b.ports[0].host_port;
    assert!(http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, port_b))).unwrap().contains("x\n"));
    let outside = Net::new("outside", 6);
    let mut o = Container::spawn(&["/bin/busybox", "sleep", "60"], None);
    let att_o = o.attach(&outside, &[]).unwrap();
    o.start(&att_o);
    let from_outside = o.inside(|| http_get(SocketAddr::from((att_o.gateway, port_b))));
    assert!(
        from_outside.as_ref().is_ok_and(|r| r.contains("x\n")),
        "via PREROUTING: {from_outside:?}"
    );
    network::destroy_bridge(&net.cfg, net.root()).unwrap();
    assert!(!link_exists(&net.cfg.bridge), "bridge left behind");
    assert_eq!(net.bridge_rules(), Vec::<String>::new(), "chains or jumps left behind");
    for (x, att) in [(&b, &att_b), (&c, &att_c)] {
        assert!(!link_exists(&att.host_veth) && rules_of(&x.id).is_empty());
    }
    assert!(!network::ips_dir(net.root(), &net.cfg.bridge).exists());
    network::destroy_bridge(&net.cfg, net.root()).expect("twice is harmless");
}

/// The bridge has `route_localnet = 1` (for `-p 127.0.0.1:…`), which also lets a packet that
/// *arrives* on it with a destination in 127.0.0.0/8 through to the host's loopback services.
/// A container can forge one with a raw socket (Kubernetes' CVE-2020-8558); the raw-table DROP
/// the bridge comes with must stop it. See book/src/bridge-networking.md, "The price of
/// route_localnet".
#[test]
fn a_forged_frame_to_127_0_0_1_does_not_reach_the_hosts_loopback() {
    if !common::have_root("a_forged_frame_to_127_0_0_1_does_not_reach_the_hosts_loopback") {
        return;
    }
    let net = Net::new("localnet", 7);
    let bridge = net.cfg.bridge.clone();
    let mut c = Container::spawn(&["/bin/busybox", "sleep", "60"], None);
    let att = c.attach(&net, &[]).unwrap();
    c.start(&att);

    // The premise: route_localnet is on, so only the guard stands between a forged frame and
    // the host's loopback.
    let localnet =
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"))
            .unwrap();
    assert_eq!(localnet.trim(), "1");
    let (guard, _) = loopback_guard(&bridge).unwrap_or_else(|| {
        panic!("no `-i {bridge} -d 127.0.0.0/8 -j DROP` in the raw table: {}", iptables_save())
    });
    assert!(
        guard.contains(&format!("minidocker-bridge:{bridge}")),
        "the guard carries the bridge's tag: {guard}"
    );

    // The host's service: bound to 0.0.0.0, so it would take a datagram for 127.0.0.1 too if
    // the kernel delivered one.
    let server = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = server.local_addr().unwrap().port();

    // Wait for the child to configure eth0 (its default route is the last step), then open a
    // raw socket on it, in the container's namespace.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !c.exec(&["ip", "route"]).1.contains("default via") {
        assert!(Instant::now() < deadline, "the container's eth0 was never configured");
        std::thread::sleep(Duration::from_millis(50));
    }
    let raw = c.inside(|| RawLink::open("eth0")).unwrap();
    // Frames to the bridge's own MAC (the gateway's, which a container's ARP would learn),
    // from the container's MAC and address, to `dst` on the server's port.
    let gateway_mac = mac_of(&bridge);
    let frame = |dst: Ipv4Addr, payload: &[u8]| {
        udp_frame(
            gateway_mac,
            raw.mac,
            SocketAddrV4::new(att.ip, 40000),
            SocketAddrV4::new(dst, port),
            payload,
        )
    };
    // A frame to the gateway's address is delivered: the frames are built right and the path
    // works. A few tries, in case the bridge port is not forwarding yet.
    let to_gateway = |payload: &[u8]| {
        (0..5).any(|_| {
            raw.send(&frame(att.gateway, payload));
            receives(&server, payload, Duration::from_secs(1))
        })
    };
    assert!(
        to_gateway(b"minidocker: hand-built frame to the gateway"),
        "a forged frame to {}:{port} never arrived",
        att.gateway
    );

    // The attack: the same frame to 127.0.0.1. Without the guard it is delivered (the book
    // tells); with it, it is dropped before routing, however often it is sent.
    let attack: &[u8] = b"minidocker: hand-built frame to the host's 127.0.0.1";
    let (_, dropped_before) = loopback_guard(&bridge).unwrap();
    for _ in 0..3 {
        raw.send(&frame(Ipv4Addr::LOCALHOST, attack));
    }
    assert!(
        !receives(&server, attack, Duration::from_secs(1)),
        "a container reached 127.0.0.1:{port} on the host"
    );
    // It was the guard that stopped them (its counter went up by the three frames), and the
    // path still works, so nothing else lost them.
    let (_, dropped_after) = loopback_guard(&bridge).unwrap();
    assert!(
        dropped_after >= dropped_before + 3,
        "the guard dropped {} packets, not the 3 frames",
        dropped_after - dropped_before
    );
    assert!(to_gateway(b"minidocker: the gateway once more"), "the path to the gateway broke");

    // The guard goes with the bridge: the last detach removes both.
    network::detach(net.root(), &att).unwrap();
    assert!(!link_exists(&bridge));
    assert_eq!(loopback_guard(&bridge), None, "the raw-table guard outlived the bridge");
    assert_eq!(net.bridge_rules(), Vec::<String>::new());
}

/// Not an assertion: how much the DNAT path (127.0.0.1:HOSTPORT → OUTPUT DNAT → bridge →
/// masquerade) costs against talking to the container's address directly.
#[test]
fn throughput_published_port_vs_container_address() {
    if !common::have_root("throughput_published_port_vs_container_address") {
        return;
    }
    let net = Net::new("speed", 5);
    let mut c = Container::spawn(&["/bin/true"], Some(5001));
    let hp = common::free_port();
    let att = c.attach(&net, &publish(&format!("127.0.0.1:{hp}:5001"))).unwrap();
    c.start(&att);

    const TOTAL: u64 = 200 << 20;
    let send = |addr: SocketAddr, total: u64| -> f64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut s = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("connecting to {addr}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let chunk = vec![0x5au8; 1 << 20];
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            s.write_all(&chunk).unwrap();
            sent += chunk.len() as u64;
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = [0u8; 8];
        s.read_exact(&mut got).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(u64::from_ne_bytes(got), total, "the sink counted another amount via {addr}");
        total as f64 / secs
    };
    let direct_addr = SocketAddr::from((att.ip, 5001));
    let dnat_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, hp));
    send(direct_addr, 8 << 20); // warm up both paths (ARP, conntrack, caches)
    send(dnat_addr, 8 << 20);
    let mut best = (0f64, 0f64);
    for _ in 0..2 {
        best.0 = best.0.max(send(direct_addr, TOTAL));
        best.1 = best.1.max(send(dnat_addr, TOTAL));
    }
    let mb = |b: f64| b / 1e6;
    eprintln!(
        "THROUGHPUT 200 MiB: container address {:.0} MB/s, 127.0.0.1:{hp} (DNAT) {:.0} MB/s, ratio {:.2}",
        mb(best.0),
        mb(best.1),
        best.1 / best.0
    );
}
