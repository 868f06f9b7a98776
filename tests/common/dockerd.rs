//! A private Docker daemon (Debian's docker.io, 20.10) for the tests that compare with the real
//! Docker: tests/registry_docker.rs (images both ways through a registry) and tests/security.rs
//! (the seccomp errno table).
//!
//! Each test starts a daemon of its own (scripts/test-dockerd): its state under its own
//! temporary directory, in its own network and mount namespaces, with its own containerd. The
//! host's Docker (/var/lib/docker, /run/docker.sock, docker0, a system containerd) is never
//! seen, let alone touched; see the script for why each of those namespaces is needed. Started
//! with `--iptables=false --bridge=none`, it makes no firewall rule, in its namespace or the
//! host's ([`Dockerd::finish`] checks both). Dropped — also when a test fails — it is stopped,
//! whatever is left of it killed and unmounted, its cgroup and directory removed.
//!
//! Debian packages: docker.io (dockerd, docker, docker-init; brings containerd, runc, tini),
//! docker-registry (for [`Dockerd::start_registry`]), iproute2 (ip), util-linux (unshare).

use super::run;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TEST_DOCKERD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-dockerd");
/// In the daemon's own network namespace: no other test, and nothing of the host's, is there.
pub const REGISTRY: &str = "127.0.0.1:5000";

/// Whether a private dockerd can be started here: its programs are installed. Without them a
/// test skips loudly — except under CI (`CI=true`), where it fails with one line saying what
/// to install.
pub fn available(test: &str) -> bool {
    let missing: Vec<&str> = ["dockerd", "containerd", "runc", "unshare", "ip"]
        .into_iter()
        .filter(|tool| {
            !std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let what = format!(
        "{test}: needs a private dockerd, but {} not installed (apt-get install docker.io iproute2 util-linux)",
        missing.join(", ") + if missing.len() == 1 { " is" } else { " are" }
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{what}");
    eprintln!("SKIPPED {what}");
    false
}

/// The Docker CLI of the docker.io package, the daemon's own version (not some newer `docker`
/// earlier in PATH, which would try BuildKit and other API versions).
fn docker_cli() -> &'static str {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

/// `net:[4026531840]`: which namespace of a kind a process is in.
fn ns_of(pid: &str, kind: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The same for a namespace file held open.
fn ns_id(ns: &File) -> Option<String> {
    std::fs::read_link(format!("/proc/self/fd/{}", ns.as_raw_fd()))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Mount points at or under `dir` in this (the host's) mount table.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let me = dir.to_string_lossy().into_owned();
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| {
            p.replace("\\040", " ")
                .replace("\\011", "\t")
                .replace("\\012", "\n")
                .replace("\\134", "\\")
        })
        .filter(|p| p == &me || p.starts_with(&format!("{me}/")))
        .collect()
}

/// Detach every mount at or under `dir`, deepest first (what a daemon of a test left there);
/// returns the mount points there were.
pub fn unmount_all_under(dir: &Path) -> Vec<String> {
    let points = mounts_under(dir);
    let mut deepest_first = points.clone();
    deepest_first.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in &deepest_first {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
    points
}

/// `f` on a thread of its own that has joined the network namespace `ns` (setns changes only
/// the calling thread's).
fn in_netns<T: Send>(ns: &File, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on an open namespace file; affects only this thread.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    })
}

/// A private Docker daemon (scripts/test-dockerd) with a registry beside it. Stopped, its
/// leftovers killed and unmounted, its cgroup and directory removed when dropped.
pub struct Dockerd {
    pub dir: PathBuf,
    cgroup: String,
    child: Option<Child>,
    pid: String,
    /// The daemon's namespaces, held open: while they are, their inode numbers (how a process's
    /// namespaces are compared) cannot go to a namespace someone else creates.
    netns: Option<File>,
    mntns: Option<File>,
    registry: Option<Child>,
    docker0: Option<String>,
    /// The host's firewall rules that name a DOCKER chain before the daemon started.
    docker_rules: Vec<String>,
    stopped: bool,
}

/// What stopping a daemon found and did.
struct Stopped {
    took: Duration,
    killed: Vec<String>,
    left: Vec<String>,
    host_mounts: Vec<String>,
    cgroups_left: Vec<String>,
    run_writes: Vec<String>,
}

/// Start `cmd` in the network namespace `ns`.
fn join_netns<'c>(cmd: &'c mut Command, ns: &File) -> &'c mut Command {
    let fd = ns.as_raw_fd();
    // SAFETY: setns only, on a descriptor open in the parent (closed on exec).
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(fd, libc::CLONE_NEWNET) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    cmd
}

/// The firewall's chains and rules (`iptables-save`, `ip6tables-save`) in the network namespace
/// `netns`, or the host's.
fn firewall(netns: Option<&File>) -> Vec<String> {
    let mut lines = Vec::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        let mut cmd = Command::new(tool);
        if let Some(ns) = netns {
            join_netns(&mut cmd, ns);
        }
        // Not installed: then nobody, dockerd included, made a rule with it.
        let Ok(out) = cmd.output() else { continue };
        let text = String::from_utf8_lossy(&out.stdout);
        lines.extend(
            text.lines().filter(|l| l.starts_with(':') || l.starts_with("-A")).map(str::to_owned),
        );
    }
    lines
}

/// The chains and rules of Docker's (DOCKER, DOCKER-USER, DOCKER-ISOLATION-…) in `netns` or
/// the host's namespace; not minidocker's (MD-…).
fn docker_rules(netns: Option<&File>) -> Vec<String> {
    let mut rules: Vec<String> = firewall(netns)
        .into_iter()
        .filter(|l| l.starts_with(":DOCKER") || l.contains(" DOCKER"))
        .map(|l| l.split(" [").next().unwrap_or(&l).to_string()) // without the packet counters
        .collect();
    rules.sort();
    rules
}

/// The host's docker0, if there is one: its index and MAC address (it must not change).
fn host_docker0() -> Option<String> {
    let idx = std::fs::read_to_string("/sys/class/net/docker0/ifindex").ok()?;
    let mac = std::fs::read_to_string("/sys/class/net/docker0/address").unwrap_or_default();
    Some(format!("ifindex {} address {}", idx.trim(), mac.trim()))
}

impl Dockerd {
    /// Start one (call [`available`] first) and wait until it answers. If it cannot start, the
    /// test fails with one line (its log is printed above it).
    pub fn start(test: &str) -> Dockerd {
        Dockerd::start_with(test, &[])
    }

    /// [`Dockerd::start`] with more of dockerd's flags (`--add-runtime mini=PATH`).
    pub fn start_with(test: &str, extra: &[&str]) -> Dockerd {
        let dir =
            std::env::temp_dir().join(format!("minidocker-dockerd-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cgroup = format!("minidocker-test-dockerd-{test}-{}", std::process::id());
        let log = File::create(dir.join("dockerd.log")).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(TEST_DOCKERD)
            .arg(&dir)
            .arg(format!("/{cgroup}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl only. Should this test's thread die without unwinding, dockerd is told to stop.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let docker0 = host_docker0();
        let docker_rules = docker_rules(None);
        let child = cmd.spawn().expect("running scripts/test-dockerd");
        let pid = child.id().to_string();
        let mut d = Dockerd {
            dir,
            cgroup,
            child: Some(child),
            pid,
            netns: None,
            mntns: None,
            registry: None,
            docker0,
            docker_rules,
            stopped: false,
        };
        d.wait_until_ready();
        d
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Fail with one line: what happened and the log's last line (the whole tail above it).
    fn cannot_start(&self, what: &str) -> ! {
        let tail = self.log_tail();
        eprintln!("the private dockerd's log (last lines):\n{tail}");
        let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(empty log)");
        panic!(
            "the private dockerd (scripts/test-dockerd {}) {what}: {}",
            self.dir.display(),
            last.trim()
        );
    }

    /// The API answers `GET /_ping` with OK.
    fn pings(&self) -> bool {
        let Ok(mut s) = UnixStream::connect(self.dir.join("docker.sock")) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").is_err() {
            return false;
        }
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply.starts_with("HTTP/1.") && reply.contains(" 200 ") && reply.ends_with("OK")
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                self.cannot_start(&format!("exited at once ({status})"));
            }
            // The pid is dockerd's once bash, unshare and bash again have exec'd it.
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", self.pid)).unwrap_or_default();
            if comm.trim() == "dockerd" && self.mntns.is_none() {
                self.mntns = File::open(format!("/proc/{}/ns/mnt", self.pid)).ok();
                self.netns = File::open(format!("/proc/{}/ns/net", self.pid)).ok();
            }
            if self.mntns.is_some() && self.pings() {
                break;
            }
            if Instant::now() > deadline {
                self.cannot_start("did not answer within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // It is isolated as it should be, and runs a containerd of its own (under exec-root),
        // not a system one.
        assert_ne!(
            ns_of(&self.pid, "net"),
            ns_of("self", "net"),
            "dockerd must have a network namespace of its own"
        );
        assert_ne!(
            ns_of(&self.pid, "mnt"),
            ns_of("self", "mnt"),
            "dockerd must have a mount namespace of its own"
        );
        let own = self.dir.join("exec/containerd/containerd.toml").to_string_lossy().into_owned();
        let containerd = std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(") ")
                .map(|(_, rest)| rest.split(' ').nth(1).unwrap_or("").to_string())
                .unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == self.pid && String::from_utf8_lossy(&cmdline).contains(&own)
        });
        assert!(containerd, "dockerd should have started its own containerd with {own}");
        assert!(
            mounts_under(&self.dir).is_empty(),
            "dockerd's mounts must stay in its namespace: {:?}",
            mounts_under(&self.dir)
        );
    }

    fn netns(&self) -> &File {
        self.netns.as_ref().expect("the daemon's network namespace")
    }

    /// Start `cmd` in the daemon's network namespace (to reach its 127.0.0.1).
    pub fn in_net<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        join_netns(cmd, self.netns())
    }

    /// docker-registry on 127.0.0.1:5000 of the daemon's network namespace, storage under its dir.
    pub fn start_registry(&mut self) {
        let dir = self.dir.join("registry");
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {REGISTRY}\n",
            dir.join("storage").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("registry.err")).unwrap());
        self.registry = Some(
            self.in_net(&mut cmd)
                .spawn()
                .expect("docker-registry is needed (Debian package docker-registry)"),
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while !in_netns(self.netns(), || TcpStream::connect(REGISTRY).is_ok()) {
            let exited = self.registry.as_mut().unwrap().try_wait().ok().flatten();
            let err = || std::fs::read_to_string(dir.join("registry.err")).unwrap_or_default();
            assert!(exited.is_none(), "docker-registry exited: {}", err());
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {REGISTRY}: {}",
                err()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `docker -H unix://DIR/docker.sock ARGS`, with a CLI config of its own (not ~/.docker).
    pub fn docker(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(docker_cli());
        cmd.arg("-H").arg(format!("unix://{}", self.dir.join("docker.sock").display())).args(args);
        cmd.env("DOCKER_CONFIG", self.dir.join("cli")).env("DOCKER_BUILDKIT", "0");
        for var in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] {
            cmd.env_remove(var);
        }
        run(&mut cmd)
    }

    pub fn docker_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.docker(args);
        assert_eq!(
            code,
            0,
            "docker {args:?} failed:\n{out}\n{err}\ndockerd's log:\n{}",
            self.log_tail()
        );
        out
    }

    /// `docker inspect IMAGE`, parsed.
    pub fn inspect(&self, image: &str) -> serde_json::Value {
        let out = self.docker_ok(&["image", "inspect", image]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
    }

    /// Every process of this daemon's: in its mount or network namespace (dockerd, containerd,
    /// shims, the registry), or in its cgroup (containers).
    fn processes(&self) -> Vec<(i32, String)> {
        let me = std::process::id() as i32;
        let mut found = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            if pid != me && self.is_ours(pid) {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline =
                    String::from_utf8_lossy(&cmdline).replace('\0', " ").trim().to_string();
                found.push((pid, format!("{pid} {cmdline}")));
            }
        }
        found
    }

    fn is_ours(&self, pid: i32) -> bool {
        let (mnt_id, net_id) =
            (self.mntns.as_ref().and_then(ns_id), self.netns.as_ref().and_then(ns_id));
        let pid = pid.to_string();
        (mnt_id.is_some() && ns_of(&pid, "mnt") == mnt_id)
            || (net_id.is_some() && ns_of(&pid, "net") == net_id)
            || std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| {
                c.lines().any(|l| {
                    l.contains(&format!("/{}/", self.cgroup))
                        || l.ends_with(&format!("/{}", self.cgroup))
                })
            })
    }

    /// SIGKILL a process of this daemon's: through a pidfd, checked again once it is held, so
    /// that a pid reused meanwhile by someone else's process is left alone.
    fn kill_ours(&self, pid: i32) {
        // SAFETY: plain syscalls on a pid and the descriptor they return.
        unsafe {
            let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
            if fd < 0 {
                return;
            }
            if self.is_ours(pid) {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd,
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            }
            libc::close(fd);
        }
    }

    /// Stop the registry, then dockerd (SIGTERM: it stops its containers and its containerd);
    /// kill whatever of it is still there, unmount what is left under its directory, remove its
    /// cgroup. Idempotent.
    fn stop(&mut self) -> Stopped {
        let t = Instant::now();
        if let Some(mut reg) = self.registry.take() {
            let _ = reg.kill();
            let _ = reg.wait();
        }
        if let Some(mut child) = self.child.take() {
            // SAFETY: a signal to our own child, not yet reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let took = t.elapsed();
        let mut killed = Vec::new();
        for (pid, what) in self.processes() {
            self.kill_ours(pid);
            killed.push(what);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let left = self.processes().into_iter().map(|(_, w)| w).collect();
        self.stopped = true;
        // Nothing is in them now: let the namespaces go, and with the mount namespace whatever
        // was still mounted in it.
        self.netns = None;
        self.mntns = None;

        let host_mounts = unmount_all_under(&self.dir);
        let mut cgroups_left = Vec::new();
        let layout = minidocker::cgroups::Layout::detect().expect("the host's cgroups");
        for m in layout.mountpoints() {
            let path = m.join(&self.cgroup);
            if path.exists() && minidocker::cgroups::remove_tree(&path).is_err() {
                cgroups_left.push(path.display().to_string());
            }
        }
        let mut run_writes = Vec::new();
        let upper = self.dir.join("run/upper");
        let mut stack = vec![upper.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                run_writes
                    .push(format!("/run/{}", e.path().strip_prefix(&upper).unwrap().display()));
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
        Stopped { took, killed, left, host_mounts, cgroups_left, run_writes }
    }

    /// Stop it and check it left nothing: no process, no mount, no cgroup, docker0 as it was.
    pub fn finish(mut self) {
        // --iptables=false: no rule, and no chain of Docker's, in its own namespace either.
        let rules: Vec<String> =
            firewall(self.netns.as_ref()).into_iter().filter(|l| l.starts_with("-A")).collect();
        assert!(
            docker_rules(self.netns.as_ref()).is_empty() && rules.is_empty(),
            "dockerd --iptables=false made firewall rules in its namespace: {:?}",
            firewall(self.netns.as_ref())
        );
        let s = self.stop();
        eprintln!("dockerd stopped in {:?}", s.took);
        if !s.run_writes.is_empty() {
            eprintln!(
                "what the daemon wrote under /run (kept in its overlay, not the host's): {:?}",
                s.run_writes
            );
        }
        assert!(
            s.killed.is_empty(),
            "processes of the private dockerd outlived it (killed now): {:?}",
            s.killed
        );
        assert!(
            s.left.is_empty(),
            "processes of the private dockerd are still there: {:?}",
            s.left
        );
        assert!(
            s.host_mounts.is_empty(),
            "mounts were left under {}: {:?}",
            self.dir.display(),
            s.host_mounts
        );
        assert!(s.cgroups_left.is_empty(), "cgroups could not be removed: {:?}", s.cgroups_left);
        assert_eq!(host_docker0(), self.docker0, "the host's docker0 must be left as it was");
        assert_eq!(
            docker_rules(None),
            self.docker_rules,
            "the host's Docker firewall chains must be left as they were"
        );
        assert!(mounts_under(&self.dir).is_empty());
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if !self.stopped {
            let s = self.stop();
            if !s.killed.is_empty() || !s.left.is_empty() {
                eprintln!("private dockerd: killed {:?}, still there {:?}", s.killed, s.left);
            }
        }
        if mounts_under(&self.dir).is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("{} is not removed: mounts are left under it", self.dir.display());
        }
    }
}
