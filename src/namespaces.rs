//! Namespaces: what a process sees of the system is decided by the namespaces it is in.
//!
//! Each namespace is a kernel object; `/proc/PID/ns/NAME` is a link to it, printed as
//! `net:[4026531840]` — the number is the inode of the namespace in the kernel's nsfs. Two
//! processes are in the same namespace exactly when their links show the same inode.

use crate::process::{self, Gate, Running};
use anyhow::Context;
use nix::sched::CloneFlags;

/// Exercise 01's reference answer, compiled as this module's own code.
#[path = "../solutions/01-namespaces/exercise.rs"]
pub mod solution;

/// Exercise 01, a child's namespaces and its setup inside them: the reference answer's
/// ([`RULES`]) or a student's (`01-namespaces --mine`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The namespaces a child is cloned into.
    pub child_namespaces: fn() -> Vec<Namespace>,
    /// Runs in the child, inside its new namespaces, just before it executes the command; it
    /// is given the hostname.
    pub setup_inside: fn(&str) -> crate::Result<()>,
}

/// The rules the library uses: the reference answer's.
pub use solution::RULES;

/// The namespaces `clone(2)` can create, one per `CLONE_NEW*` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    Uts,
    Pid,
    Mount,
    Ipc,
    Net,
    Cgroup,
    User,
}

impl Namespace {
    pub const ALL: [Namespace; 7] = [
        Namespace::Uts,
        Namespace::Pid,
        Namespace::Mount,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Cgroup,
        Namespace::User,
    ];

    /// The file's name in `/proc/PID/ns/`.
    pub fn file(self) -> &'static str {
        match self {
            Namespace::Uts => "uts",
            Namespace::Pid => "pid",
            Namespace::Mount => "mnt",
            Namespace::Ipc => "ipc",
            Namespace::Net => "net",
            Namespace::Cgroup => "cgroup",
            Namespace::User => "user",
        }
    }

    pub fn flag(self) -> CloneFlags {
        match self {
            Namespace::Uts => CloneFlags::CLONE_NEWUTS,
            Namespace::Pid => CloneFlags::CLONE_NEWPID,
            Namespace::Mount => CloneFlags::CLONE_NEWNS,
            Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
            Namespace::Net => CloneFlags::CLONE_NEWNET,
            Namespace::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            Namespace::User => CloneFlags::CLONE_NEWUSER,
        }
    }

    /// What a process in a new namespace of this kind gets its own copy of.
    pub fn isolates(self) -> &'static str {
        match self {
            Namespace::Uts => "hostname and domain name",
            Namespace::Pid => "process ids: the first process is PID 1",
            Namespace::Mount => "the mount table",
            Namespace::Ipc => "System V IPC and POSIX message queues",
            Namespace::Net => "interfaces, addresses, routes, ports, firewall",
            Namespace::Cgroup => "the view of the cgroup tree: its own cgroup looks like /",
            Namespace::User => "user and group ids, and the capabilities that go with them",
        }
    }
}

/// The `CLONE_NEW*` flags for a set of namespaces.
pub fn clone_flags(set: &[Namespace]) -> CloneFlags {
    set.iter().fold(CloneFlags::empty(), |acc, ns| acc | ns.flag())
}

/// One entry of `/proc/PID/ns`: `net -> net:[4026531840]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsLink {
    pub file: String,
    pub target: String,
}

/// The links in `/proc/PID/ns` (`pid` may be `self`), sorted by name, as `ls -l` shows them.
// ANCHOR: links
pub fn links(pid: &str) -> crate::Result<Vec<NsLink>> {
    let dir = format!("/proc/{pid}/ns");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let entry = entry?;
        let target = std::fs::read_link(entry.path())
            .with_context(|| format!("readlink {}", entry.path().display()))?;
        out.push(NsLink {
            file: entry.file_name().to_string_lossy().into_owned(),
            target: target.to_string_lossy().into_owned(),
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}
// ANCHOR_END: links

/// Start `argv` in new namespaces: [`process::spawn`] with their `CLONE_NEW*` flags.
///
/// The child waits at the returned [`Gate`], so the caller can look at it first (its
/// `/proc/PID/ns` links already show the new namespaces), then runs `setup` inside them.
pub fn spawn(
    namespaces: &[Namespace],
    setup: &dyn Fn() -> crate::Result<()>,
    argv: &[String],
) -> crate::Result<(Running, Gate)> {
    process::spawn(clone_flags(namespaces), setup, argv)
}

/// The devices the kernel puts in *every* new network namespace besides `lo`, when the tunnel
/// module that owns one is loaded (and `net.core.fb_tunnels_only_for_init_net` is 0): each
/// tunnel driver's catch-all "fallback" device — `sit0` (sit), `tunl0` (ipip), `ip6tnl0`
/// (ip6_tunnel), `gre0`, `gretap0`, `erspan0` (ip_gre), `ip6gre0` (ip6_gre), `ip_vti0`,
/// `ip6_vti0`. They are down and carry nothing until configured.
pub const FALLBACK_DEVICES: &[&str] =
    &["sit0", "tunl0", "ip6tnl0", "gre0", "gretap0", "erspan0", "ip6gre0", "ip_vti0", "ip6_vti0"];

/// Are `ifaces` what a new network namespace starts with: `lo`, and at most the kernel's
/// fallback tunnel devices ([`FALLBACK_DEVICES`])?
pub fn only_fresh_devices(ifaces: &[&str]) -> bool {
    ifaces.contains(&"lo") && ifaces.iter().all(|i| *i == "lo" || FALLBACK_DEVICES.contains(i))
}

#[cfg(test)]
mod tests {
    use super::only_fresh_devices;

    #[test]
    fn a_new_network_namespace_may_hold_fallback_tunnels_but_nothing_of_the_host() {
        assert!(only_fresh_devices(&["lo"]));
        // A host with the sit, ipip and gre modules loaded: every new namespace has these.
        assert!(only_fresh_devices(&["lo", "sit0", "tunl0", "ip6tnl0", "gre0", "gretap0"]));
        assert!(!only_fresh_devices(&["lo", "eth0"]), "the host's interface");
        assert!(!only_fresh_devices(&["lo", "sit0", "docker0"]));
        assert!(!only_fresh_devices(&["sit0"]), "no loopback");
        assert!(!only_fresh_devices(&[]));
    }
}
