//! `minidocker xray`: one running container read whole, live from the kernel and the store —
//! the picture the whole workshop builds, lesson by lesson. Every value says where it was read
//! (a file under `/proc` or `/sys`, a cgroup file, the store, `iptables -S`). Nothing is
//! changed: it only reads.
//!
//! - [`read`] gathers an [`Xray`] (serialised as-is for `--format json`);
//! - [`text`] draws it as a coloured figure of at most 100 columns;
//! - [`svg`] draws it as an SVG picture.

pub mod svg;
pub mod text;

pub mod cgroup;
mod rootfs;

pub use cgroup::{CgroupInfo, Limits, Usage};
pub use rootfs::{ImageLayer, RootfsInfo};

use crate::container::{state, Container};
use crate::image::Store;
use crate::network::{self, Attachment};
use anyhow::{bail, Context};
use serde::Serialize;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// A running container, as the kernel and the store describe it now.
#[derive(Debug, Clone, Serialize)]
pub struct Xray {
    pub container: Summary,
    pub process: Process,
    pub namespaces: Vec<Namespace>,
    pub cgroup: CgroupInfo,
    pub rootfs: RootfsInfo,
    pub volumes: Vec<VolumeInfo>,
    pub network: NetworkInfo,
}

/// Which container: from its `config.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: String,
    pub short_id: String,
    pub name: String,
    pub image: String,
    /// The store it lives in (`$MINIDOCKER_ROOT`).
    pub store: String,
    pub source: String,
}

/// Its first process.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    /// The PID on the host (`state.json`, checked against `/proc/PID/stat`'s start time).
    pub host_pid: i32,
    /// The PID in the container's own PID namespace: the last `NSpid` of `/proc/PID/status`.
    pub pid_inside: i32,
    pub cmdline: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    /// The user's name in the container's `/etc/passwd`, if it has one.
    pub user: String,
    /// `CapEff` of `/proc/PID/status`, in hex, and the capabilities it holds.
    pub cap_eff: String,
    pub capabilities: Vec<String>,
    /// Is it exactly Docker's default set of 14?
    pub docker_default_caps: bool,
    pub sources: Sources,
}

/// Field → where it was read.
pub type Sources = std::collections::BTreeMap<String, String>;

/// One namespace of the process.
#[derive(Debug, Clone, Serialize)]
pub struct Namespace {
    /// `cgroup`, `ipc`, `mnt`, `net`, `pid`, `user`, `uts`, `time`.
    pub kind: String,
    pub inode: u64,
    /// The same kind of namespace of the host's PID 1 (or, where that is not readable, of
    /// the process running xray, which runs on the host).
    pub host_inode: u64,
    pub host_source: String,
    /// Not the host's.
    pub own: bool,
    /// `--network container:NAME`: the container whose network namespace it joined.
    pub joined_from: String,
    /// `readlink /proc/PID/ns/KIND`.
    pub source: String,
}

/// A `-v` mount, seen from both sides.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeInfo {
    /// `volume` or `bind`.
    pub kind: String,
    /// The volume's name (empty for a host directory).
    pub name: String,
    pub host_path: String,
    pub destination: String,
    /// `rw` or `ro`.
    pub mode: String,
    /// `stat` of the host path, and of `/proc/PID/root/DESTINATION`: the same inode on the same
    /// device means the container sees the host's very directory.
    pub host_inode: u64,
    pub host_dev: String,
    pub container_inode: u64,
    pub container_dev: String,
    pub same_inode: bool,
    pub sources: Sources,
}

/// How the container reaches the network.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkInfo {
    /// `bridge`, `host`, `none` or `container:NAME`.
    pub mode: String,
    /// On the bridge: its address, veth pair, gateway and published ports.
    pub bridge: Option<BridgeInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BridgeInfo {
    pub bridge: String,
    /// `10.88.0.2/16`
    pub address: String,
    pub gateway: String,
    pub host_veth: String,
    /// The host end's index, and the index of its peer inside (`iflink`).
    pub host_veth_ifindex: u32,
    pub peer_ifindex: u32,
    /// The bridge the host end is a port of, read back from `/sys/class/net/VETH/master`.
    pub host_veth_master: String,
    /// The DNAT rules of its published ports, as `iptables-save -t nat` prints them.
    pub dnat: Vec<String>,
    /// `-p` as `0.0.0.0:4000->80/tcp`.
    pub ports: Vec<String>,
    pub sources: Sources,
}

/// Read container `what` (name or ID) of `store` whole. `cpu_window` is how long CPU usage is
/// measured for its percentage. One clear error if it is not running or stops meanwhile.
pub fn read(store: &Store, what: &str, cpu_window: Duration) -> crate::Result<Xray> {
    let c = state::find(store, what)?;
    if !c.running() {
        bail!(
            "container {} is not running ({}): xray reads a running container's process; start one with `minidocker run -d`",
            c.config.name,
            format!("{:?}", c.state.status).to_lowercase()
        );
    }
    let result = read_running(store, &c, cpu_window);
    // A process that ended (or a PID the kernel reused) while we read: one clear line.
    if !state::process_alive(c.state.pid, c.state.pid_start) {
        bail!(
            "container {} stopped while xray was reading it: nothing more to show",
            c.config.name
        );
    }
    result
}

fn read_running(store: &Store, c: &Container, cpu_window: Duration) -> crate::Result<Xray> {
    let pid = c.state.pid;
    let cfg = &c.config;
    let container = Summary {
        id: cfg.id.clone(),
        short_id: c.short_id().to_string(),
        name: cfg.name.clone(),
        image: cfg.image_name.clone(),
        store: store.root().display().to_string(),
        source: c.dir.join("config.json").display().to_string(),
    };
    let mut namespaces = namespaces(pid)?;
    if let Some(other) = cfg.network.strip_prefix("container:") {
        for n in namespaces.iter_mut().filter(|n| n.kind == "net") {
            n.joined_from = other.to_string();
        }
    }
    Ok(Xray {
        container,
        process: process(c)?,
        namespaces,
        cgroup: cgroup::read(c, cpu_window)?,
        rootfs: rootfs::read(store, c)?,
        volumes: volumes(store, c)?,
        network: network(c)?,
    })
}

/// A `/proc/PID/…` file, with its path in the error.
pub(crate) fn proc_file(pid: i32, name: &str) -> crate::Result<String> {
    let p = format!("/proc/{pid}/{name}");
    fs::read_to_string(&p).with_context(|| format!("reading {p}"))
}

/// The fields of `Key:\tvalue` in `/proc/PID/status`.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(str::trim)
}

fn process(c: &Container) -> crate::Result<Process> {
    let pid = c.state.pid;
    let status = proc_file(pid, "status")?;
    let pid_inside = status_field(&status, "NSpid")
        .and_then(|v| v.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .context("/proc/PID/status has no NSpid (kernel older than 4.1?)")?;
    let id_of = |key| -> u32 {
        status_field(&status, key)
            .and_then(|v| v.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (uid, gid) = (id_of("Uid"), id_of("Gid"));
    let cap_eff = status_field(&status, "CapEff").unwrap_or("0").to_string();
    let mask = u64::from_str_radix(&cap_eff, 16).unwrap_or(0);
    let capabilities = (0..64).filter(|b| mask & (1 << b) != 0).map(cap_name).collect();
    let default: u64 =
        crate::container::security::DEFAULT_CAPS.iter().fold(0, |m, (b, _)| m | (1 << b));
    let cmdline = proc_file(pid, "cmdline")?
        .split('\0')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let passwd = fs::read_to_string(format!("/proc/{pid}/root/etc/passwd")).unwrap_or_default();
    let user = passwd
        .lines()
        .find(|l| l.split(':').nth(2) == Some(&uid.to_string()))
        .and_then(|l| l.split(':').next())
        .unwrap_or("")
        .to_string();
    let st = format!("/proc/{pid}/status");
    let sources = Sources::from([
        ("host_pid".into(), c.dir.join("state.json").display().to_string()),
        ("pid_inside".into(), format!("{st} (NSpid)")),
        ("cmdline".into(), format!("/proc/{pid}/cmdline")),
        ("uid".into(), format!("{st} (Uid, Gid)")),
        ("user".into(), format!("/proc/{pid}/root/etc/passwd")),
        ("cap_eff".into(), format!("{st} (CapEff)")),
    ]);
    Ok(Process {
        host_pid: pid,
        pid_inside,
        cmdline,
        uid,
        gid,
        user,
        cap_eff,
        capabilities,
        docker_default_caps: mask == default,
        sources,
    })
}

/// `CAP_CHOWN`, … by bit number (`capabilities(7)`).
fn cap_name(bit: u32) -> String {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    NAMES.get(bit as usize).map_or(format!("CAP_{bit}"), |n| format!("CAP_{n}"))
}

/// The namespace kinds `/proc/PID/ns/` has, in the order `clone(2)` lists them.
const NS_KINDS: [&str; 8] = ["mnt", "uts", "ipc", "user", "pid", "net", "cgroup", "time"];

/// `net:[4026531840]` → 4026531840.
fn ns_inode(path: &str) -> Option<u64> {
    let link = fs::read_link(path).ok()?;
    let s = link.to_string_lossy();
    s.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

fn namespaces(pid: i32) -> crate::Result<Vec<Namespace>> {
    let mut out = Vec::new();
    for kind in NS_KINDS {
        let source = format!("/proc/{pid}/ns/{kind}");
        let Some(inode) = ns_inode(&source) else {
            // `time` exists from Linux 5.6 on; the others always.
            if kind == "time" {
                continue;
            }
            bail!("cannot read the link {source}");
        };
        let (host_source, host_inode) = ["/proc/1", "/proc/self"]
            .iter()
            .map(|p| format!("{p}/ns/{kind}"))
            .find_map(|p| ns_inode(&p).map(|i| (p, i)))
            .unwrap_or_default();
        out.push(Namespace {
            kind: kind.into(),
            inode,
            host_inode,
            host_source,
            own: inode != host_inode,
            joined_from: String::new(),
            source,
        });
    }
    Ok(out)
}

/// `(inode, "major:minor")` of a path, following symlinks as a bind mount's source does.
fn inode_of(path: &Path) -> (u64, String) {
    fs::metadata(path).map_or((0, String::new()), |m| {
        (m.ino(), format!("{}:{}", nix::sys::stat::major(m.dev()), nix::sys::stat::minor(m.dev())))
    })
}

fn volumes(store: &Store, c: &Container) -> crate::Result<Vec<VolumeInfo>> {
    let pid = c.state.pid;
    let mut out = Vec::new();
    for m in &c.config.volumes {
        let host = m.host_path(store.root());
        let inside = format!("/proc/{pid}/root{}", m.spec.destination);
        let (host_inode, host_dev) = inode_of(&host);
        let (container_inode, container_dev) = inode_of(Path::new(&inside));
        let sources = Sources::from([
            ("host_path".into(), c.dir.join("config.json").display().to_string()),
            ("host_inode".into(), format!("stat {}", host.display())),
            ("container_inode".into(), format!("stat {inside}")),
        ]);
        out.push(VolumeInfo {
            kind: m.kind().into(),
            name: m.volume.clone(),
            host_path: host.display().to_string(),
            destination: m.spec.destination.clone(),
            mode: if m.spec.read_only { "ro" } else { "rw" }.into(),
            same_inode: host_inode != 0
                && (host_inode, &host_dev) == (container_inode, &container_dev),
            host_inode,
            host_dev,
            container_inode,
            container_dev,
            sources,
        });
    }
    Ok(out)
}

/// A rule's arguments as `iptables-save` prints them: the comment quoted, as iptables always
/// quotes it (`--comment "minidocker:<id>"`).
fn saved_form(rule: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    for a in rule {
        if out.last().is_some_and(|l| l == "--comment") {
            out.push(format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\"")));
        } else {
            out.push(a.clone());
        }
    }
    out.join(" ")
}

fn network(c: &Container) -> crate::Result<NetworkInfo> {
    let mode = c.config.network.clone();
    let att: Option<Attachment> =
        c.state.network.clone().and_then(|v| serde_json::from_value(v).ok());
    let Some(att) = att else { return Ok(NetworkInfo { mode, bridge: None }) };
    let sys = |file: &str| {
        let p = format!("/sys/class/net/{}/{file}", att.host_veth);
        fs::read_to_string(&p).map(|s| s.trim().to_string()).with_context(|| format!("reading {p}"))
    };
    let master_link = format!("/sys/class/net/{}/master", att.host_veth);
    let host_veth_master = fs::read_link(&master_link)
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let dnat = network::nat::container_rules(&att.bridge, &att.container_id)
        .into_iter()
        .filter(|(table, rule)| *table == "nat" && rule.iter().any(|a| a == "DNAT"))
        .map(|(_, rule)| saved_form(&rule))
        .collect();
    let sources = Sources::from([
        ("address".into(), c.dir.join("state.json").display().to_string()),
        ("host_veth_ifindex".into(), format!("/sys/class/net/{}/ifindex", att.host_veth)),
        ("peer_ifindex".into(), format!("/sys/class/net/{}/iflink", att.host_veth)),
        ("host_veth_master".into(), format!("readlink {master_link}")),
        ("dnat".into(), format!("iptables -t nat -S {}", network::nat::chain(&att.bridge))),
    ]);
    Ok(NetworkInfo {
        mode,
        bridge: Some(BridgeInfo {
            bridge: att.bridge.clone(),
            address: format!("{}/{}", att.ip, att.prefix),
            gateway: att.gateway.to_string(),
            host_veth_ifindex: sys("ifindex")?.parse().unwrap_or(0),
            peer_ifindex: sys("iflink")?.parse().unwrap_or(0),
            host_veth: att.host_veth.clone(),
            host_veth_master,
            dnat,
            ports: att.ports.iter().map(|p| p.to_string()).collect(),
            sources,
        }),
    })
}
