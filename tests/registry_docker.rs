//! The real Docker engine (Debian's docker.io, 20.10) and minidocker trade images through a
//! registry, both ways: Docker pulls and runs what minidocker pushed, and minidocker pulls and
//! runs (in lesson 03) what Docker built and pushed — Docker v2 schema 2 manifests, gzip layers,
//! and a whiteout.
//!
//! Each test starts a Docker daemon of its own (scripts/test-dockerd): its state under its own
//! temporary directory, in its own network and mount namespaces, with its own containerd. The
//! host's Docker (/var/lib/docker, /run/docker.sock, docker0, a system containerd) is never
//! seen, let alone touched; see the script for why each of those namespaces is needed. The
//! registry (docker-registry) runs in the daemon's network namespace, so 127.0.0.1:5000 there is
//! the test's alone (Docker treats 127.0.0.0/8 registries as insecure: plain HTTP), and the
//! minidocker commands that talk to it are started in that namespace too.
//!
//! Debian packages: docker.io (dockerd, docker, docker-init; brings containerd, runc, tini),
//! docker-registry, iproute2 (ip), util-linux (unshare), busybox-static (the busybox image).

mod common;

use common::{have_root, run, TestRoot};
use minidocker::image::{oci, Image, Store};
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The lesson's binary, found through the library's list of lessons.
static LESSON03: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| common::lesson_bin("03"));
const TEST_DOCKERD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-dockerd");
/// In the daemon's own network namespace: no other test, and nothing of the host's, is there.
const REGISTRY: &str = "127.0.0.1:5000";

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
fn mounts_under(dir: &Path) -> Vec<String> {
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

/// Where the cgroup hierarchies are mounted (v1 controllers, v2, or both).
fn cgroup_mounts() -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            (fstype == "cgroup" || fstype == "cgroup2")
                .then(|| PathBuf::from(left.split(' ').nth(4).unwrap_or("")))
        })
        .collect()
}

/// Remove a cgroup directory and the (empty) ones under it, deepest first.
fn remove_cgroup(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
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
struct Dockerd {
    dir: PathBuf,
    cgroup: String,
    child: Option<Child>,
    pid: String,
    /// The daemon's namespaces, held open: while they are, their inode numbers (how a process's
    /// namespaces are compared) cannot go to a namespace someone else creates.
    netns: Option<File>,
    mntns: Option<File>,
    registry: Option<Child>,
    docker0: Option<String>,
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

/// The host's docker0, if there is one: its index and MAC address (it must not change).
fn host_docker0() -> Option<String> {
    let idx = std::fs::read_to_string("/sys/class/net/docker0/ifindex").ok()?;
    let mac = std::fs::read_to_string("/sys/class/net/docker0/address").unwrap_or_default();
    Some(format!("ifindex {} address {}", idx.trim(), mac.trim()))
}

impl Dockerd {
    fn start(test: &str) -> Dockerd {
        for tool in ["dockerd", "containerd", "docker-registry", "unshare", "ip"] {
            let found = std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
            assert!(found, "{tool} is needed (Debian packages docker.io, docker-registry, iproute2, util-linux)");
        }
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
            stopped: false,
        };
        d.wait_until_ready();
        d
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
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
                panic!("the private dockerd exited ({status}):\n{}", self.log_tail());
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
            assert!(
                Instant::now() < deadline,
                "the private dockerd did not answer within 30 s:\n{}",
                self.log_tail()
            );
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
    fn in_net<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let fd = self.netns().as_raw_fd();
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

    /// docker-registry on 127.0.0.1:5000 of the daemon's network namespace, storage under its dir.
    fn start_registry(&mut self) {
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
    fn docker(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(docker_cli());
        cmd.arg("-H").arg(format!("unix://{}", self.dir.join("docker.sock").display())).args(args);
        cmd.env("DOCKER_CONFIG", self.dir.join("cli")).env("DOCKER_BUILDKIT", "0");
        for var in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] {
            cmd.env_remove(var);
        }
        run(&mut cmd)
    }

    fn docker_ok(&self, args: &[&str]) -> String {
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
    fn inspect(&self, image: &str) -> serde_json::Value {
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

        let host_mounts = mounts_under(&self.dir);
        let mut points = host_mounts.clone();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in &points {
            let c = std::ffi::CString::new(p.as_str()).unwrap();
            // SAFETY: a path of ours; lazily detached, deepest first.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let mut cgroups_left = Vec::new();
        for m in cgroup_mounts() {
            let path = m.join(&self.cgroup);
            if path.exists() && remove_cgroup(&path).is_err() {
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
    fn finish(mut self) {
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

fn md(d: &Dockerd, root: &TestRoot, args: &[&str]) -> String {
    let (code, out, err) = run(d.in_net(&mut root.minidocker()).args(args));
    assert_eq!(code, 0, "minidocker {args:?} failed:\n{out}\n{err}");
    out
}

/// busybox pushed by minidocker to the registry, then pulled by Docker: (the root it came from,
/// the image as minidocker has it, its name in the registry).
fn busybox_through_the_registry(d: &Dockerd, test: &str) -> (TestRoot, Image, String) {
    let a = TestRoot::with_busybox(test);
    let name = format!("{REGISTRY}/x/busybox:v1");
    md(d, &a, &["tag", "busybox", &name]);
    let t = Instant::now();
    let out = md(d, &a, &["push", &name]);
    eprintln!("minidocker push busybox: {:?}", t.elapsed());
    assert!(out.contains(": Pushed"), "{out}");
    let ours = Store::open(&a.path).unwrap().resolve("busybox").unwrap();

    let t = Instant::now();
    let out = d.docker_ok(&["pull", &name]);
    eprintln!("docker pull of what minidocker pushed: {:?}", t.elapsed());
    assert!(
        out.contains(&format!("Digest: {}", ours.manifest_desc.digest)),
        "Docker pulled the manifest minidocker pushed:\n{out}"
    );
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}")), "{out}");
    (a, ours, name)
}

#[test]
fn docker_pulls_and_runs_what_minidocker_pushed() {
    if !have_root("docker_pulls_and_runs_what_minidocker_pushed") {
        return;
    }
    let t = Instant::now();
    let mut d = Dockerd::start("m2d");
    eprintln!("private dockerd answering: {:?}", t.elapsed());
    d.start_registry();
    let (_a, ours, name) = busybox_through_the_registry(&d, "dk-m2d");

    let t = Instant::now();
    let (code, out, err) = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "/bin/sh",
        "-c",
        "echo ok-from-docker",
    ]);
    eprintln!("docker run --rm --network none: {:?}", t.elapsed());
    assert_eq!(code, 0, "docker run failed:\n{out}\n{err}\n{}", d.log_tail());
    assert!(
        out.lines().any(|l| l.trim() == "ok-from-docker"),
        "the container should print ok-from-docker:\n{out}\n{err}"
    );
    assert!(
        mounts_under(&d.dir).is_empty(),
        "Docker's container mounts stayed in its mount namespace"
    );

    // The same layers (uncompressed digests), the same config (Docker's image ID is its digest).
    let layers = d.docker_ok(&["inspect", "--format", "{{.RootFS.Layers}}", &name]);
    let diff_ids: Vec<&str> = ours.diff_ids().iter().map(|d| d.as_str()).collect();
    assert_eq!(
        layers.trim(),
        format!("[{}]", diff_ids.join(" ")),
        "Docker's RootFS.Layers are our diff_ids"
    );
    let json = d.inspect(&name);
    assert_eq!(
        json["Id"].as_str(),
        Some(ours.id.as_str()),
        "Docker's image ID is our config's digest"
    );
    let repo_digest = format!("{REGISTRY}/x/busybox@{}", ours.manifest_desc.digest);
    assert!(
        json["RepoDigests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some(repo_digest.as_str())),
        "{}",
        json["RepoDigests"]
    );
    assert_eq!(json["Architecture"].as_str(), Some(ours.config.architecture.as_str()));
    d.finish();
}

#[test]
fn minidocker_pulls_and_runs_what_docker_built_and_pushed() {
    if !have_root("minidocker_pulls_and_runs_what_docker_built_and_pushed") {
        return;
    }
    let t = Instant::now();
    let mut d = Dockerd::start("d2m");
    eprintln!("private dockerd answering: {:?}", t.elapsed());
    d.start_registry();
    let (_a, ours, base) = busybox_through_the_registry(&d, "dk-d2m-a");

    // Two layers on top of busybox; the second deletes a file, so its tarball holds a whiteout.
    let ctx = d.dir.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {base}\nRUN echo docker > /made-by-docker\nRUN rm /etc/group\n"),
    )
    .unwrap();
    let name = format!("{REGISTRY}/x/made-by-docker:v1");
    let t = Instant::now();
    // --network none: the daemon has no bridge (--bridge=none), so no default network either.
    d.docker_ok(&["build", "--network", "none", "-t", &name, &ctx.to_string_lossy()]);
    eprintln!("docker build (legacy builder, two RUN steps): {:?}", t.elapsed());
    let t = Instant::now();
    let out = d.docker_ok(&["push", &name]);
    eprintln!("docker push: {:?}", t.elapsed());
    assert!(
        out.contains(&format!("{}: Mounted from x/busybox", &ours.diff_ids()[0].hex()[..12]))
            || out.contains("Layer already exists"),
        "Docker reuses the base layer minidocker pushed:\n{out}"
    );
    let json = d.inspect(&name);
    let docker_layers: Vec<String> = json["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(docker_layers.len(), 3, "busybox and two RUN layers: {docker_layers:?}");
    let prefix = format!("{REGISTRY}/x/made-by-docker@");
    let pushed = json["RepoDigests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .find_map(|s| s.strip_prefix(prefix.as_str()))
        .expect("a repo digest after the push")
        .to_string();

    let b = TestRoot::new("dk-d2m-b");
    let t = Instant::now();
    let out = md(&d, &b, &["pull", &name]);
    eprintln!("minidocker pull of what Docker pushed: {:?}", t.elapsed());
    assert_eq!(out.matches(": Pull complete").count(), 3, "{out}");
    assert!(out.contains(&format!("Digest: {pushed}")), "{out}");
    let store = Store::open(&b.path).unwrap();
    let pulled = store.resolve(&name).unwrap();
    assert_eq!(
        pulled.manifest_desc.digest.as_str(),
        pushed,
        "the manifest Docker pushed, byte for byte"
    );
    assert_eq!(
        pulled.manifest_desc.media_type,
        oci::DOCKER_MANIFEST,
        "Docker pushes Docker v2 schema 2 manifests"
    );
    assert_eq!(pulled.manifest.config.media_type, oci::DOCKER_CONFIG);
    assert!(
        pulled.manifest.layers.iter().all(|l| l.media_type == oci::DOCKER_LAYER_GZIP),
        "gzip layers: {:?}",
        pulled.manifest.layers
    );
    assert_eq!(json["Id"].as_str(), Some(pulled.id.as_str()), "the same image ID in both");
    let diff_ids: Vec<String> = pulled.diff_ids().iter().map(|d| d.to_string()).collect();
    assert_eq!(diff_ids, docker_layers, "the same layers in both");
    let top = store.layer_meta(&pulled.diff_ids()[2]).unwrap();
    assert_eq!(
        (top.entries, top.whiteouts),
        (1, 1),
        "the last layer is just the whiteout of /etc/group"
    );
    assert!(b.scratch_left().is_empty());

    let t = Instant::now();
    let script = "cat /made-by-docker; test -e /etc/group || echo group-gone";
    let (code, out, err) =
        run(b.cmd(&LESSON03).args(["--image", &name, "--", "/bin/sh", "-c", script]));
    eprintln!("lesson 03 runs it: {:?}", t.elapsed());
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"docker") && lines.contains(&"group-gone"),
        "Docker's file is there and /etc/group is gone:\n{out}"
    );
    assert!(b.host_mounts().is_empty(), "{:?}", b.host_mounts());
    d.finish();
}
