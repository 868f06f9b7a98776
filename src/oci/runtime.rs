//! The runtime's commands and their state directory, `<root>/<id>/`: `state.json` (written
//! once, when `create` has succeeded) and `exec.fifo` (there until `start`). Whether the
//! container runs is never written down: it is asked of the kernel (is the PID alive, and
//! the same process?).

use super::init;
use super::spec::{Hook, Process, Resources, Spec};
use crate::cgroups::{devices, Cgroup, Controller, Layout};
use crate::namespaces::Namespace;
use crate::process;
use crate::{exec, files, sys, units};
use anyhow::{anyhow, bail, Context};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The spec version we follow.
pub const OCI_VERSION: &str = "1.0.2";

/// Every controller a container's cgroup is made in (those this host has).
const CONTROLLERS: [Controller; 6] = [
    Controller::Cpu,
    Controller::Cpuacct,
    Controller::Memory,
    Controller::Pids,
    Controller::Freezer,
    Controller::Devices,
];

/// What `create` left for the other commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// When the process started (`/proc/PID/stat`), to tell it from a later one with its PID.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    /// The cgroup, relative to each hierarchy's root.
    pub cgroup: String,
    pub spec: Spec,
}

/// runc's `state` JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

/// How `create` is asked to make a container.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
}

/// The state directory's root (`--root`), and exercise 09's rules (`super::RULES`, or a
/// student's).
pub struct Runtime {
    pub root: PathBuf,
    pub rules: super::Rules,
}

fn valid_id(id: &str) -> crate::Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    anyhow::ensure!(ok, "invalid container ID {id:?}: use letters, digits and _+-.");
    Ok(())
}

impl Runtime {
    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The saved state of container `id`.
    pub fn load(&self, id: &str) -> crate::Result<Saved> {
        valid_id(id)?;
        let path = self.dir(id).join("state.json");
        if !path.exists() {
            bail!("container {id} does not exist");
        }
        files::read_json(&path)
    }

    /// `created`, `running`, `paused` or `stopped`, asked of the kernel.
    pub fn status(&self, s: &Saved) -> &'static str {
        if !process::process_alive(s.pid, s.start_time) {
            return "stopped";
        }
        if self.dir(&s.id).join("exec.fifo").exists() {
            return "created";
        }
        match Layout::detect() {
            Ok(layout) if crate::cgroups::freezer::is_paused(&layout, &s.cgroup) => "paused",
            _ => "running",
        }
    }

    /// `state`: as runc says it, with PID 0 once stopped.
    pub fn state(&self, id: &str) -> crate::Result<State> {
        let s = self.load(id)?;
        let mut state = self.state_of(&s, self.status(&s));
        if state.status == "stopped" {
            state.pid = 0;
        }
        Ok(state)
    }

    /// `create`: the container up to the exec FIFO. Returns its first process's PID; on an
    /// error nothing is left (no state directory, cgroup, mount or process).
    pub fn create(&self, id: &str, o: &CreateOptions) -> crate::Result<Pid> {
        valid_id(id)?;
        anyhow::ensure!(
            o.preserve_fds == 0,
            "--preserve-fds is not supported by minidocker-runc yet"
        );
        let bundle = fs::canonicalize(&o.bundle)
            .with_context(|| format!("bundle {} does not exist", o.bundle.display()))?;
        let spec = Spec::load(&bundle)?;
        let rootfs = spec.rootfs(&bundle);
        anyhow::ensure!(rootfs.is_dir(), "the rootfs {} is not a directory", rootfs.display());
        let rootfs = fs::canonicalize(&rootfs)?;
        let process = spec.process().clone();
        anyhow::ensure!(
            !process.terminal || o.console_socket.is_some(),
            "process.terminal is true: --console-socket is needed"
        );
        let caps: Vec<&str> = process
            .capabilities
            .as_ref()
            .map(|c| c.effective.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let seccomp = spec.seccomp(&caps)?;
        fs::create_dir_all(&self.root)
            .with_context(|| format!("creating the state directory {}", self.root.display()))?;
        let dir = self.dir(id);
        match fs::create_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container with id {id} already exists")
            }
            r => r.with_context(|| format!("creating {}", dir.display()))?,
        }
        // From here on, an error removes the directory (the cgroup and process have guards).
        let made = Made { dir: dir.clone(), done: false };
        let fifo = dir.join("exec.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
            .map_err(|e| sys::failure("mkfifo(exec.fifo)", e))?;
        // As runc has it, whatever our umask: the init, maybe another user, opens it to write.
        fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))?;
        let cgroup_name = cgroup_name(&spec, id);
        let layout = Layout::detect()?;
        let wanted: Vec<Controller> =
            CONTROLLERS.into_iter().filter(|c| layout.locate(*c).is_some()).collect();
        let cg = Cgroup::create(&layout, &cgroup_name, &wanted)
            .with_context(|| format!("cgroupsPath {cgroup_name:?}"))?
            .quietly();
        apply_resources(&cg, spec.linux.resources.as_ref())?;

        // Opened here, as paths of the host: the child needs them after pivot_root.
        let fifo_fd = nix::fcntl::open(
            &fifo,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| sys::failure("open(exec.fifo, O_PATH)", e))?;
        let joined: Vec<(Namespace, fs::File)> = spec
            .namespaces()
            .filter_map(|(ns, path)| path.map(|p| (ns, p)))
            .map(|(ns, p)| {
                fs::File::open(p).map(|f| (ns, f)).with_context(|| format!("namespace path {p}"))
            })
            .collect::<crate::Result<_>>()?;
        let console = match &o.console_socket {
            Some(p) if process.terminal => Some(
                std::os::unix::net::UnixStream::connect(p)
                    .with_context(|| format!("connecting to --console-socket {}", p.display()))?,
            ),
            _ => None,
        };
        let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("pipe2 for the init's ready signal")?;
        // New namespaces at clone, except the cgroup one: unshared inside, once the child is
        // in its cgroup, so that group is its cgroup namespace's root.
        let mut flags = CloneFlags::empty();
        let mut new_cgroup_ns = false;
        for (ns, path) in spec.namespaces() {
            match (ns, path) {
                (Namespace::Cgroup, None) => new_cgroup_ns = true,
                (ns, None) => flags |= ns.flag(),
                _ => {}
            }
        }
        let new_mount_ns = spec.has_namespace(Namespace::Mount);
        let new_uts = spec.namespaces().any(|(ns, p)| ns == Namespace::Uts && p.is_none());
        let new_net = spec.namespaces().any(|(ns, p)| ns == Namespace::Net && p.is_none());
        let prepare = || -> crate::Result<()> {
            for (ns, f) in &joined {
                exec::setns(f, &format!("namespace {}", ns.file()), Some(*ns))?;
            }
            Ok(())
        };
        let steps = || -> crate::Result<()> {
            if new_cgroup_ns {
                sys::unshare(CloneFlags::CLONE_NEWCGROUP)?;
            }
            if new_mount_ns {
                init::filesystem(&spec, &rootfs, &bundle, o.no_pivot)?;
            }
            if new_net {
                crate::network::loopback_up()?;
            }
            if let (true, Some(h)) = (new_uts, &spec.hostname) {
                sys::sethostname(h)?;
            }
            init::sysctls(&spec)?;
            if new_mount_ns {
                init::protect(&spec)?;
            }
            if let Some(sock) = &console {
                crate::container::tty::open_in_child(sock.as_raw_fd(), None, true)?;
            }
            init::enter_process(&process, seccomp.as_ref(), &|| {
                nix::unistd::write(&ready_w, b"r").map_err(|e| sys::failure("write(ready)", e))?;
                let fifo = PathBuf::from(format!("/proc/self/fd/{}", fifo_fd.as_raw_fd()));
                (self.rules.wait_for_start)(&fifo).context("waiting at the exec FIFO")
            })
        };
        // An error inside goes to `create` alone, which says it once (on its stderr and in
        // the log): not on the container's stderr, which is the engine's.
        let setup = || -> crate::Result<()> {
            if let Err(e) = steps() {
                let _ = nix::unistd::write(&ready_w, format!("e{e:#}").as_bytes());
                // SAFETY: ending the child without running the parent's exit handlers.
                unsafe { libc::_exit(1) }
            }
            Ok(())
        };
        let (child, gate) =
            process::spawn_staged(flags, &prepare, &setup, &process.args, Some(&process.env))?;
        drop(console);
        // Only the child's copy of the write end may stay open: end-of-file means it died.
        drop(ready_w);
        cg.add(child.pid())?;
        let start_time = process::start_time(child.pid().as_raw()).unwrap_or(0);
        let saved = Saved {
            id: id.to_string(),
            pid: child.pid().as_raw(),
            start_time,
            bundle: bundle.clone(),
            rootfs: rootfs.clone(),
            created: units::rfc3339_now(),
            cgroup: cgroup_name.clone(),
            spec: spec.clone(),
        };
        let state = self.state_of(&saved, "creating");
        for hook in spec.hooks.create_runtime.iter().chain(&spec.hooks.prestart) {
            run_hook(hook, &state)?;
        }
        gate.let_go()?;
        let said = read_ready(&ready_r)?;
        if said.first() != Some(&b'r') {
            let why = match said.split_first() {
                Some((b'e', why)) => String::from_utf8_lossy(why).into_owned(),
                _ => gate.child_error().unwrap_or_else(|| "the container's init died".into()),
            };
            drop(child); // killed and reaped; then the cgroup is removed
            bail!("{why}");
        }
        files::write_json(&dir.join("state.json"), &saved)?;
        if let Some(p) = &o.pid_file {
            write_pid_file(p, child.pid().as_raw())?;
        }
        // Success: the process, the cgroup and the directory outlive us.
        let pid = child.pid();
        child.leave();
        cg.leave();
        made.keep();
        Ok(pid)
    }

    fn state_of(&self, s: &Saved, status: &str) -> State {
        State {
            oci_version: OCI_VERSION.into(),
            id: s.id.clone(),
            pid: s.pid,
            status: status.into(),
            bundle: s.bundle.clone(),
            rootfs: s.rootfs.clone(),
            created: s.created.clone(),
            annotations: s.spec.annotations.clone(),
            owner: String::new(),
        }
    }

    /// `start`: let the created container's process go on to its command.
    pub fn start(&self, id: &str) -> crate::Result<()> {
        let s = self.load(id)?;
        match self.status(&s) {
            "created" => {}
            other => bail!("cannot start a container that is {other}"),
        }
        let fifo = self.dir(id).join("exec.fifo");
        (self.rules.release)(&fifo, &|| process::process_alive(s.pid, s.start_time))
            .with_context(|| format!("starting container {id} through {}", fifo.display()))?;
        fs::remove_file(&fifo)?;
        let state = self.state_of(&s, "running");
        for hook in &s.spec.hooks.poststart {
            if let Err(e) = run_hook(hook, &state) {
                eprintln!("warning: poststart hook: {e:#}");
            }
        }
        Ok(())
    }

    /// `kill [--all] ID SIGNAL`.
    pub fn kill(&self, id: &str, sig: Signal, all: bool) -> crate::Result<()> {
        let s = self.load(id)?;
        let status = self.status(&s);
        anyhow::ensure!(status != "stopped", "container not running");
        let pids =
            if all { self.cgroup(&s)?.map(|cg| cg.procs()).unwrap_or_default() } else { vec![] };
        if pids.is_empty() {
            sys::kill(Pid::from_raw(s.pid), sig)?;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(pid, sig);
        }
        if status == "paused" && sig == Signal::SIGKILL {
            // On v1 a frozen process acts on SIGKILL only once thawed.
            crate::cgroups::freezer::thaw(&Layout::detect()?, &s.cgroup)?;
        }
        Ok(())
    }

    /// The container's cgroup (if it is still there); [`Cgroup::destroy`] removes it.
    fn cgroup(&self, s: &Saved) -> crate::Result<Option<Cgroup>> {
        let layout = Layout::detect()?;
        let wanted: Vec<Controller> =
            CONTROLLERS.into_iter().filter(|c| layout.locate(*c).is_some()).collect();
        Ok(Cgroup::reopen(&layout, &s.cgroup, &wanted).ok())
    }

    /// `delete [--force]`: a stopped (or created) container's cgroup and state; `--force`
    /// kills a running one first.
    pub fn delete(&self, id: &str, force: bool) -> crate::Result<()> {
        let s = match self.load(id) {
            Ok(s) => s,
            Err(_) if force && valid_id(id).is_ok() => {
                let _ = fs::remove_dir_all(self.dir(id));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let status = self.status(&s);
        if status == "running" || status == "paused" {
            anyhow::ensure!(force, "cannot delete container {id} that is not stopped: {status}");
        }
        let layout = Layout::detect()?;
        let _ = crate::cgroups::freezer::thaw(&layout, &s.cgroup);
        if status != "stopped" {
            let _ = nix::sys::signal::kill(Pid::from_raw(s.pid), Signal::SIGKILL);
        }
        // Kill what is left in the group, then remove it.
        if let Some(cg) = self.cgroup(&s)? {
            cg.destroy()?;
        }
        let state = self.state_of(&s, "stopped");
        for hook in &s.spec.hooks.poststop {
            if let Err(e) = run_hook(hook, &state) {
                eprintln!("warning: poststop hook: {e:#}");
            }
        }
        fs::remove_dir_all(self.dir(id))
            .with_context(|| format!("removing {}", self.dir(id).display()))
    }

    /// `ps`: the PIDs in the container's cgroup.
    pub fn pids(&self, id: &str) -> crate::Result<Vec<i32>> {
        let s = self.load(id)?;
        Ok(self
            .cgroup(&s)?
            .map(|cg| cg.procs())
            .unwrap_or_default()
            .iter()
            .map(|p| p.as_raw())
            .collect())
    }

    /// `update --resources`: new memory, CPU and PIDs limits for a container that exists.
    pub fn update(&self, id: &str, resources: &Resources) -> crate::Result<()> {
        let s = self.load(id)?;
        anyhow::ensure!(self.status(&s) != "stopped", "container {id} is stopped");
        let cg = self.cgroup(&s)?.with_context(|| format!("container {id} has no cgroup"))?;
        apply_limits(&cg, resources)
    }

    /// `pause` / `resume`: the freezer.
    pub fn freeze(&self, id: &str, on: bool) -> crate::Result<()> {
        let s = self.load(id)?;
        let status = self.status(&s);
        let layout = Layout::detect()?;
        if on {
            anyhow::ensure!(status == "running", "container {id} is not running: {status}");
            crate::cgroups::freezer::pause(&layout, &s.cgroup)
        } else {
            anyhow::ensure!(status == "paused", "container {id} is not paused: {status}");
            crate::cgroups::freezer::thaw(&layout, &s.cgroup)
        }
    }

    /// `exec --process FILE`: one more process in the container (its namespaces, cgroup and
    /// root), set up as `process` says. Returns it started; `detach` leaves it to the caller's
    /// subreaper, otherwise the caller waits for it.
    pub fn exec(
        &self,
        id: &str,
        process: &Process,
        pid_file: Option<&Path>,
        console_socket: Option<&Path>,
    ) -> crate::Result<process::Running> {
        let s = self.load(id)?;
        let status = self.status(&s);
        anyhow::ensure!(
            status == "running" || status == "created",
            "cannot exec in a {status} container"
        );
        anyhow::ensure!(!process.args.is_empty(), "the process has no args");
        let target = s.pid;
        let caps: Vec<&str> = process
            .capabilities
            .as_ref()
            .map(|c| c.effective.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let seccomp = s.spec.seccomp(&caps)?;
        // Our cgroup first: the command is forked into it.
        if let Some(cg) = self.cgroup(&s)? {
            cg.add(nix::unistd::getpid())?;
        }
        let order = (exec::RULES.join_order)(&exec::differing(target)?);
        let open = |ns: Namespace| {
            fs::File::open(exec::ns_path(target, ns))
                .with_context(|| format!("container {id} is gone"))
        };
        let root = fs::File::open(format!("/proc/{target}/root"))
            .map(OwnedFd::from)
            .with_context(|| format!("container {id} is gone"))?;
        let mut mount_ns = None;
        // All but the mount namespace here (PID: our children are born in it); the mount
        // namespace in the child, so this process keeps the host's paths (the pid file).
        for ns in order {
            let f = open(ns)?;
            if ns == Namespace::Mount {
                mount_ns = Some(f);
            } else {
                exec::setns(&f, &format!("the container's {} namespace", ns.file()), Some(ns))?;
            }
        }
        let console = match console_socket {
            Some(p) if process.terminal => Some(
                std::os::unix::net::UnixStream::connect(p)
                    .with_context(|| format!("connecting to --console-socket {}", p.display()))?,
            ),
            _ => None,
        };
        let setup = || -> crate::Result<()> {
            if let Some(f) = &mount_ns {
                exec::setns(f, "the container's mnt namespace", Some(Namespace::Mount))?;
            }
            exec::enter_root(&root)?;
            if let Some(sock) = &console {
                crate::container::tty::open_in_child(sock.as_raw_fd(), None, false)?;
            }
            init::enter_process(process, seccomp.as_ref(), &|| Ok(()))
        };
        let (child, gate) = process::spawn_staged(
            CloneFlags::empty(),
            &|| Ok(()),
            &setup,
            &process.args,
            Some(&process.env),
        )?;
        drop(console);
        gate.open_until_exec().map_err(|e| {
            let e = e.to_string();
            anyhow!("{}", e.split_once(": ").map_or(e.as_str(), |(_, r)| r))
        })?;
        if let Some(p) = pid_file {
            write_pid_file(p, child.pid().as_raw())?;
        }
        Ok(child)
    }
}

/// The directory an error removes, and success keeps.
struct Made {
    dir: PathBuf,
    done: bool,
}

impl Made {
    fn keep(mut self) {
        self.done = true;
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The container's cgroup, relative to each hierarchy's root: `cgroupsPath`, or the ID as
/// runc makes it.
fn cgroup_name(spec: &Spec, id: &str) -> String {
    match spec.linux.cgroups_path.as_deref() {
        Some(p) if !p.is_empty() => p.trim_start_matches('/').to_string(),
        _ => id.to_string(),
    }
}

/// `linux.resources`: the device rules (always followed by the ones every container needs,
/// as runc adds them), memory, CPU and PIDs.
fn apply_resources(cg: &Cgroup, r: Option<&Resources>) -> crate::Result<()> {
    let default = Resources::default();
    let r = r.unwrap_or(&default);
    let mut rules: Vec<devices::Rule> = Vec::new();
    for d in &r.devices {
        let access = d.access.as_deref().unwrap_or("rwm");
        let bits = access.chars().try_fold(0, |m, c| match c {
            'r' => Ok(m | devices::READ),
            'w' => Ok(m | devices::WRITE),
            'm' => Ok(m | devices::MKNOD),
            _ => Err(anyhow!("linux.resources.devices: access {access:?} (r, w, m)")),
        })?;
        let num = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u32);
        let kind = match d.kind.as_deref() {
            None | Some("a") => 'a',
            Some("c") => 'c',
            Some("b") => 'b',
            Some(k) => bail!("linux.resources.devices: type {k:?} (a, c, b)"),
        };
        // "Refuse everything" is how apply begins anyway.
        if !d.allow && kind == 'a' && d.major.is_none() && d.minor.is_none() && bits == devices::RWM
        {
            rules.clear();
            continue;
        }
        rules.push(devices::Rule {
            allow: d.allow,
            kind,
            major: num(d.major),
            minor: num(d.minor),
            access: bits,
        });
    }
    rules.extend(devices::DEFAULT_RULES);
    devices::apply(cg, &rules)?;
    apply_limits(cg, r)
}

/// The memory, CPU and PIDs limits of `r` (`create`, and `update`).
fn apply_limits(cg: &Cgroup, r: &Resources) -> crate::Result<()> {
    let rules = &crate::cgroups::RULES;
    if let Some(limit) = r.memory.as_ref().and_then(|m| m.limit).filter(|l| *l > 0) {
        // v1 refuses a memory limit above the memory+swap one: raise that first (`update`).
        let memsw = "memory.memsw.limit_in_bytes";
        if cg.has(Controller::Memory, memsw) {
            let now: u64 = cg.read(Controller::Memory, memsw)?.parse().unwrap_or(u64::MAX);
            if now < limit as u64 {
                cg.write(Controller::Memory, memsw, &limit.to_string())?;
            }
        }
        (rules.limit_memory)(cg, limit as u64)?;
        // That is no swap; `swap` (memory + swap, Docker's --memory-swap) allows some. -1:
        // unlimited.
        if let Some(swap) = r.memory.as_ref().and_then(|m| m.swap).filter(|s| *s != 0) {
            let v1 = cg.version(Controller::Memory)? == crate::cgroups::Version::V1;
            let (file, value) = match (v1, swap) {
                (true, -1) => ("memory.memsw.limit_in_bytes", "-1".to_string()),
                (true, s) => ("memory.memsw.limit_in_bytes", s.to_string()),
                (false, -1) => ("memory.swap.max", "max".to_string()),
                (false, s) => ("memory.swap.max", (s - limit).max(0).to_string()),
            };
            if cg.has(Controller::Memory, file) {
                cg.write(Controller::Memory, file, &value)?;
            }
        }
    }
    if let Some(shares) = r.cpu.as_ref().and_then(|c| c.shares).filter(|s| *s > 0) {
        match cg.version(Controller::Cpu)? {
            crate::cgroups::Version::V1 => {
                cg.write(Controller::Cpu, "cpu.shares", &shares.to_string())?
            }
            // runc's conversion of shares (2–262144) to a weight (1–10000).
            crate::cgroups::Version::V2 => {
                let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142;
                cg.write(Controller::Cpu, "cpu.weight", &weight.to_string())?
            }
        }
    }
    if let Some(cpu) = &r.cpu {
        if let (Some(quota), period) = (cpu.quota.filter(|q| *q > 0), cpu.period.unwrap_or(100_000))
        {
            (rules.limit_cpus)(cg, quota as f64 / period as f64)?;
        }
    }
    if let Some(pids) = r.pids.as_ref().filter(|p| p.limit > 0) {
        crate::cgroups::limits::limit_pids(cg, pids.limit as u64)?;
    }
    Ok(())
}

/// What the init said on the ready pipe: `r` (ready), `e` and why not, or nothing (it died).
fn read_ready(pipe: &OwnedFd) -> crate::Result<Vec<u8>> {
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(pipe, &mut buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(sys::failure("read(the init's ready pipe)", e)),
            Ok(0) => return Ok(said),
            Ok(n) => said.extend_from_slice(&buf[..n]),
        }
        if said.first() == Some(&b'r') {
            return Ok(said);
        }
    }
}

/// Write `pid` into `path` atomically, as the shim reads it.
fn write_pid_file(path: &Path, pid: i32) -> crate::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, pid.to_string()).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing the pid file {}", path.display()))
}

/// Run a hook with the state on its standard input; its timeout honoured.
fn run_hook(hook: &Hook, state: &State) -> crate::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(&hook.path);
    if let Some((argv0, rest)) = hook.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in &hook.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("hook {}", hook.path))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&serde_json::to_vec(state)?);
    }
    let deadline = hook.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(status.success(), "hook {} failed: {status}", hook.path);
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("hook {} timed out after {} s", hook.path, hook.timeout.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait for `child` (a foreground `run`'s container, or `exec`'s command), passing on to it
/// the SIGINT, SIGTERM and SIGHUP this process gets, as runc does.
pub fn wait_forwarding(child: process::Running) -> crate::Result<process::Exit> {
    use nix::sys::wait::{waitpid, WaitStatus};
    crate::interrupt::install();
    let pid = child.pid();
    loop {
        let exit = match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => process::Exit::Code(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => process::Exit::Signal(sig),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => {
                if let Some(sig) = crate::interrupt::take() {
                    let _ = nix::sys::signal::kill(pid, sig);
                }
                continue;
            }
            Err(e) => return Err(sys::failure(&format!("waitpid({pid})"), e)),
        };
        child.reaped();
        return Ok(exit);
    }
}

/// A signal by name (`KILL`, `SIGKILL`) or number (`9`).
pub fn parse_signal(s: &str) -> crate::Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| anyhow!("unknown signal {s:?}"));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse().map_err(|_| anyhow!("unknown signal {s:?}"))
}
