//! The automatic check of exercise 05: `05-run-and-port --check`.
//!
//! A child in network and UTS namespaces of its own serves HTTP on port 80 — a container
//! without an image. The check plugs it into a bridge of its own with the exercise's rules
//! (`plug_veth`, `nat_jumps`, `dnat`), publishing a free host port as `-p PORT:80`, and looks at
//! what the kernel then shows: the veth's ends (one a port of the bridge, the other `eth0` in
//! the child's namespace), the jumps and the DNAT rule in the nat table, and `curl
//! 127.0.0.1:PORT` answered by the child. It also makes sure the rules take nothing else: a
//! connection to another port of this host, or to port PORT of another machine, is left alone.
//! The bridge, its rules and the child are removed at the end.

use minidocker::lesson::{CheckDir, Lab};
use minidocker::network::{self, Config, Handoff, Rules};
use minidocker::{process, report};
use nix::sched::CloneFlags;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let dir = CheckDir::new("check05");
    let cfg = check_network()?;
    let (host_port, local_port) = free_ports()?;
    let id = minidocker::files::new_id()?;
    let hostname = id[..12].to_string();

    lab.step("A container without an image: a child serving HTTP on port 80")?;
    let handoff = Handoff::new()?;
    let setup = || -> minidocker::Result<()> {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
        let att = handoff.receive()?;
        network::configure_inside(&att)?;
        minidocker::sys::sethostname(&hostname)?;
        serve(&hostname)
    };
    let flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS;
    let (child, gate) = process::spawn(flags, &setup, &["true".to_string()])?;
    report::evidence("child", &format!("PID {}, hostname {hostname}", child.pid()));

    lab.step(&format!(
        "Attach it to bridge {} with -p {host_port}:80 -p 127.0.0.1:{local_port}:80",
        cfg.bridge
    ))?;
    let ports = vec![
        network::parse_publish(&format!("{host_port}:80"))?,
        network::parse_publish(&format!("127.0.0.1:{local_port}:80"))?,
    ];
    let att = network::attach(&cfg, &dir.0, &id, child.pid(), &ports, rules);
    let _bridge = Bridge(cfg.clone(), dir.0.clone());
    lab.expect(
        att.is_ok(),
        format!(
            "attach() with your rules succeeds{}",
            att.as_ref().err().map(|e| format!(" (failed: {e:#})")).unwrap_or_default()
        ),
    );
    let Ok(att) = att else { return Ok(lab.check_outcome()) };
    handoff.send(&att)?;
    gate.open()?;

    lab.step("The veth pair: one end on the bridge, the other in the child's namespace")?;
    let master = std::fs::read_link(format!("/sys/class/net/{}/master", att.host_veth))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    lab.expect(
        master.as_deref() == Some(cfg.bridge.as_str()),
        format!("{} is a port of {} (its master: {master:?})", att.host_veth, cfg.bridge),
    );
    let host_side = std::path::Path::new("/sys/class/net").join(&att.peer_veth).exists();
    lab.expect(!host_side, format!("{} has left the host's namespace", att.peer_veth));
    // /proc/PID/net/dev lists the interfaces of PID's network namespace.
    let inside = wait_for(|| {
        let dev = std::fs::read_to_string(format!("/proc/{}/net/dev", child.pid())).ok()?;
        dev.lines().any(|l| l.trim_start().starts_with("eth0:")).then_some(())
    });
    lab.expect(
        inside.is_some(),
        format!("the child's namespace has it as eth0 (/proc/{}/net/dev)", child.pid()),
    );

    lab.step("The NAT rules")?;
    let save = iptables_save();
    let chain = format!("MD-{}", cfg.bridge);
    for l in save.lines().filter(|l| l.contains(&chain)) {
        report::evidence("iptables-save", l);
    }
    let jumps_from = |builtin: &str| {
        save.lines().any(|l| {
            l.starts_with(&format!("-A {builtin} ")) && l.ends_with(&format!("-j {chain}"))
        })
    };
    let to = format!("--to-destination {}:80", att.ip);
    let dnat = save.lines().any(|l| {
        l.starts_with(&format!("-A {chain} "))
            && l.contains(&format!("--dport {host_port} "))
            && l.contains(&to)
    });
    lab.expect(dnat, format!("{chain} has a DNAT rule from port {host_port} to {}:80", att.ip));
    lab.expect(
        jumps_from("PREROUTING"),
        format!("nat PREROUTING jumps to {chain}: packets that arrive from other machines"),
    );
    lab.expect(
        jumps_from("OUTPUT"),
        format!("nat OUTPUT jumps to {chain}: packets this host sends itself"),
    );

    lab.step(&format!("curl 127.0.0.1:{host_port}, and the host's address on the bridge"))?;
    let want = format!("hello from {hostname}");
    for addr in [Ipv4Addr::LOCALHOST, att.gateway] {
        let answer = wait_for(|| get(SocketAddr::from((addr, host_port))).ok());
        lab.expect(
            answer.as_deref().is_some_and(|a| a.contains(&want)),
            format!(
                "{addr}:{host_port} answers from the container: {:?}",
                answer.as_deref().map(last_line).unwrap_or("no answer")
            ),
        );
    }

    let answer = wait_for(|| get(SocketAddr::from((Ipv4Addr::LOCALHOST, local_port))).ok());
    lab.expect(
        answer.as_deref().is_some_and(|a| a.contains(&want)),
        format!(
            "127.0.0.1:{local_port}, published on 127.0.0.1 only, answers from the container: {:?}",
            answer.as_deref().map(last_line).unwrap_or("no answer")
        ),
    );

    lab.step("Nothing else is taken")?;
    let taken = get(SocketAddr::from((att.gateway, local_port)));
    lab.expect(
        taken.is_err(),
        format!(
            "{}:{local_port} is not published: -p 127.0.0.1:{local_port}:80 is for 127.0.0.1 only ({})",
            att.gateway,
            outcome(&taken)
        ),
    );
    let other = TcpListener::bind(("127.0.0.1", 0))?;
    let other_port = other.local_addr()?.port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = other.accept() {
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nthe host");
        }
    });
    let answer = get(SocketAddr::from((Ipv4Addr::LOCALHOST, other_port)));
    lab.expect(
        answer.as_deref().is_ok_and(|a| a.ends_with("the host")),
        format!("127.0.0.1:{other_port}, not published, still reaches the host's own server"),
    );
    // An address of the bridge's subnet that nobody has: not this host's, so not published.
    let nobody = cfg.subnet.container_addresses().last().unwrap_or(att.ip);
    let taken = get(SocketAddr::from((nobody, host_port)));
    lab.expect(
        taken.is_err(),
        format!(
            "{nobody}:{host_port}, an address of another machine, is not sent to the container \
             ({})",
            outcome(&taken)
        ),
    );

    lab.step("Clean up")?;
    drop(child);
    network::detach(&dir.0, &att)?;
    Ok(lab.check_outcome())
}

/// In the child: answer every connection with one line that names this host, forever.
fn serve(hostname: &str) -> minidocker::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", 80))?;
    loop {
        let (mut s, _) = listener.accept()?;
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(format!("HTTP/1.0 200 OK\r\n\r\nhello from {hostname}\n").as_bytes());
    }
}

/// `curl http://ADDR/`: the whole answer, or why there is none (1 s at most).
fn get(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}

/// What a connection that should not have reached the container did.
fn outcome(r: &std::io::Result<String>) -> String {
    match r {
        Ok(a) => format!("answered {:?}", last_line(a)),
        Err(e) => e.to_string(),
    }
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

/// Try `f` for up to 3 s.
fn wait_for<T>(f: impl Fn() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if start.elapsed() > Duration::from_secs(3) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn iptables_save() -> String {
    std::process::Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Two host ports nobody listens on.
fn free_ports() -> minidocker::Result<(u16, u16)> {
    // Both held open while the kernel picks them, so they differ.
    let (a, b) = (TcpListener::bind(("0.0.0.0", 0))?, TcpListener::bind(("0.0.0.0", 0))?);
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// The check's own bridge `mdck<pid>` and a /24 of 10.x no route of this host uses (so never
/// the student's `minidocker0`: its rules, made by the reference answer, would answer for a
/// wrong one). `MINIDOCKER_TEST_OCTET` moves it from 10.205.x.0 to 10.<octet>.x.0, as the tests' subnets.
fn check_network() -> minidocker::Result<Config> {
    let pid = std::process::id();
    let second: u32 = std::env::var("MINIDOCKER_TEST_OCTET")
        .ok()
        .and_then(|o| o.parse().ok())
        .filter(|o| (1..=254).contains(o))
        .unwrap_or(205);
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let routed = |third: u32| {
        // Destinations are hexadecimal, in network byte order: 10.S.T.0 reads 00TTSS0A.
        let dest = format!("{:08X}", u32::from_ne_bytes([10, second as u8, third as u8, 0]));
        routes.lines().any(|l| l.split_whitespace().nth(1) == Some(dest.as_str()))
    };
    // 200 to 249: the tests' own subnets (TestRoot::with_net) use the small numbers.
    let third = (0..50)
        .map(|k| (pid + k) % 50 + 200)
        .find(|t| !routed(*t))
        .ok_or_else(|| anyhow::anyhow!("no free 10.{second}.x.0/24 for the check's bridge"))?;
    Config::new(&format!("mdck{}", pid % 100_000_000), &format!("10.{second}.{third}.0/24"))
}

/// Removes the check's bridge with everything still on it, however the check ends.
struct Bridge(Config, std::path::PathBuf);

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Err(e) = network::destroy_bridge(&self.0, &self.1) {
            eprintln!("warning: removing the check's bridge {}: {e:#}", self.0.bridge);
        }
    }
}
