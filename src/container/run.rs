//! Creating and running a container: its directory and init layer, then a *monitor* — the
//! process that mounts the rootfs in a mount namespace of its own, puts the container in its
//! cgroup and network, starts it, waits for it and records how it ended. With `-d` the
//! monitor is a separate, session-less process and `run` returns; without, `run` is the
//! monitor. No daemon: when the monitor is gone, `state.json` and `/proc` still tell the truth.

use super::security;
use super::spawn;
use super::state::{self, Container, ContainerConfig, State, Status};
use super::tty;
use crate::cgroups::{Cgroup, Layout, Limits};
use crate::image::Store;
use crate::process::{self, Exit};
use crate::rootfs::{self, InitFiles, Rootfs};
use crate::{interrupt, network, sys, units};
use anyhow::{bail, Context};
use nix::sched::CloneFlags;
use nix::unistd::{ForkResult, Pid};
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Lay a new container out on disk: its directory, `config.json`, the init layer and the
/// empty read-write layer. Nothing runs yet (`docker create`).
pub fn create(store: &Store, mut config: ContainerConfig) -> crate::Result<Container> {
    if !config.name.is_empty() {
        if state::find(store, &config.name).is_ok_and(|c| c.config.name == config.name) {
            bail!("the container name \"/{}\" is already in use: remove that container (minidocker rm) or choose another --name", config.name);
        }
    } else {
        config.name = state::random_name(&config.id);
    }
    // The volumes first: anonymous ones get their names, named ones are made on first use.
    // The volumes' lock is held until config.json says this container uses them.
    let volumes = crate::volumes::attach(store.root(), &mut config.volumes)?;
    let dir = state::dir(store, &config.id);
    fs::create_dir_all(&dir)?;
    let made = (|| {
        let init = InitFiles::for_host(&config.hostname, None);
        Rootfs::create(store, &config.diff_ids, &dir.join("rootfs"), &init)?;
        // config.json last: a directory that has it is a whole container (a `run` killed
        // before leaves a directory without one, which `system check --fix` removes).
        crate::files::write_json(&dir.join("state.json"), &State::default())?;
        crate::files::write_json(&dir.join("config.json"), &config)?;
        Container::load(&dir)
    })();
    if made.is_err() {
        let _ = fs::remove_dir_all(&dir);
        volumes.undo();
    }
    made
}

/// Start a created container and, unless detached, wait for it. Returns its exit code.
pub fn start(store: &Store, c: &Container) -> crate::Result<i32> {
    start_with(store, c, &super::RULES)
}

/// [`start`] with the exercises' rules the container is made with — the reference answers,
/// [`super::RULES`], or some of a student's (a lesson's `--mine`, the capstone's
/// `minidocker --mine`). The monitor forked here gets them as an argument.
pub fn start_with(store: &Store, c: &Container, rules: &super::Rules) -> crate::Result<i32> {
    if !c.config.detach {
        return monitor(store, c, None, rules);
    }
    // The monitor tells the waiting `run` through this pipe that the container started (or
    // why not), then lives on alone.
    let (r, w) = pipe()?;
    std::io::Write::flush(&mut std::io::stdout())?;
    // SAFETY: `run` is single-threaded here; the child only continues this program.
    match unsafe { nix::unistd::fork() }.context("fork (the container's monitor)")? {
        ForkResult::Child => {
            drop(r);
            nix::unistd::setsid().ok();
            // The monitor must not hold the terminal or its pipes open.
            if let Ok(null) = fs::File::options().read(true).write(true).open("/dev/null") {
                for fd in 0..3 {
                    let _ = sys::dup2(null.as_raw_fd(), fd);
                }
            }
            std::process::exit(monitor(store, c, Some(w), rules).unwrap_or(125));
        }
        ForkResult::Parent { .. } => {
            drop(w);
            // One read: the monitor writes its message in one go and keeps running.
            let mut buf = vec![0u8; 4096];
            let n = loop {
                match nix::unistd::read(&r, &mut buf) {
                    Err(nix::errno::Errno::EINTR) => interrupt::check().map(|_| 0)?,
                    other => break other?,
                };
            };
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            match msg.strip_prefix("started") {
                Some(_) => Ok(0),
                None if msg.is_empty() => {
                    bail!("the container's monitor died before the container started")
                }
                None => bail!("{}", msg.trim_end()),
            }
        }
    }
}

/// Run the container and wait for it: the monitor's whole job.
fn monitor(
    store: &Store,
    c: &Container,
    ready: Option<OwnedFd>,
    rules: &super::Rules,
) -> crate::Result<i32> {
    // Closed once the container started: `run -d` has read it and gone, and a later write
    // into a pipe nobody reads would kill the monitor with SIGPIPE.
    let ready = std::cell::RefCell::new(ready);
    let tell = |msg: &str| {
        if let Some(fd) = ready.borrow().as_ref() {
            let _ = nix::unistd::write(fd, msg.as_bytes());
        }
        if msg == "started" {
            ready.borrow_mut().take();
        }
    };
    let mut c = c.clone();
    // Recorded first: while its monitor lives, nothing of a container that is starting is a
    // crash's leftover (`system check --fix` leaves its cgroup and veth alone).
    c.state.monitor = std::process::id() as i32;
    c.save_state()?;
    let result = run_container(store, &mut c, &tell, rules);
    if let Err(e) = &result {
        tell(&format!("{e:#}"));
        c.state.status = Status::Exited;
        c.state.exit_code = 125;
        c.state.error = format!("{e:#}");
        c.state.finished_at = units::rfc3339_now();
        let _ = c.save_state();
    }
    if c.config.auto_remove && remove_dir(&c).is_ok() {
        // `run --rm` takes the container's anonymous volumes along, as Docker does.
        let _ = super::volumes::remove_anonymous(store, &c.config);
    }
    result
}

fn run_container(
    store: &Store,
    c: &mut Container,
    tell: &dyn Fn(&str),
    rules: &super::Rules,
) -> crate::Result<i32> {
    // A mount namespace for this monitor: the overlay is mounted here, the container's own
    // namespace is a copy of it, and the host never sees the mount.
    rootfs::private_mount_namespace()?;
    let mut fs_ = rootfs_of(store, c)?;
    fs_.mount(&rules.rootfs)?;
    // Volumes: the empty ones filled from the image (copyData) here, where the overlay is
    // mounted; the bind mounts themselves are the child's, in the container's namespace.
    let binds =
        crate::volumes::prepare(store.root(), &c.config.volumes, &fs_.merged(), &rules.volumes)?;

    let limits = Limits { cpus: c.config.cpus, memory: c.config.memory, pids: c.config.pids_limit };
    let layout = Layout::detect()?;
    // The freezer too, where the host has one: commit and pause stop the container's
    // processes with it.
    let mut controllers = limits.controllers();
    if layout.locate(crate::cgroups::Controller::Freezer).is_some() {
        controllers.push(crate::cgroups::Controller::Freezer);
    }
    // And Docker's device rules: no host device beyond /dev/null and its kind can be opened.
    controllers.push(crate::cgroups::Controller::Devices);
    let cg = Cgroup::create(&layout, &cgroup_name(&c.config.id), &controllers)?;
    limits.apply(&cg, &rules.cgroups)?;
    crate::cgroups::devices::apply(&cg, &crate::cgroups::devices::DEFAULT_RULES)?;

    // Every container has a log, as in Docker, whether anyone is attached or not.
    let log = fs::File::options().create(true).append(true).open(c.log_path())?;
    // A foreground run without -t: the command's output and errors are two pipes, which the
    // monitor copies both to the caller and into the log. CLOEXEC: only the copies the child
    // puts on 1 and 2 reach the command.
    let pipes = if !c.config.detach && !c.config.tty { Some((pipe()?, pipe()?)) } else { None };
    // --network container:NAME joins that container's network namespace: its file is opened
    // here, on the host's /proc, and the child setns()es into it before anything else.
    let shared_net = match c.config.network.strip_prefix("container:") {
        Some(name) => {
            let target = state::find(store, name)?;
            anyhow::ensure!(
                target.running(),
                "cannot join the network of container {name}: it is not running"
            );
            Some(
                fs::File::open(format!("/proc/{}/ns/net", target.state.pid))
                    .with_context(|| format!("opening the network namespace of {name}"))?,
            )
        }
        None => None,
    };
    let namespaces = spawn::container_namespaces(&rules.namespaces)?;
    let flags = match c.config.network.as_str() {
        "host" => namespaces.difference(CloneFlags::CLONE_NEWNET),
        _ if shared_net.is_some() => namespaces.difference(CloneFlags::CLONE_NEWNET),
        "none" | "bridge" => namespaces,
        other => {
            bail!("network {other:?} is not supported: use bridge, host, none or container:NAME")
        }
    };
    let setup_inside = rules.namespaces.setup_inside;
    let shared_net_fd = shared_net.as_ref().map(|f| f.as_raw_fd());
    // Bridge networking: the veth can only be moved into the child's namespace once the child
    // exists; the child gets the result through this pipe and configures its side itself.
    let bridge = match c.config.network.as_str() {
        "bridge" => Some((
            network::Config::from_env()?,
            c.config
                .publish
                .iter()
                .map(|p| network::parse_publish(p))
                .collect::<crate::Result<Vec<_>>>()?,
        )),
        _ => None,
    };
    let handoff = bridge.as_ref().map(|_| network::Handoff::new()).transpose()?;
    let hosts_name = c.config.hostname.clone();
    let merged = fs_.merged();
    let root_rules = *fs_.rules();
    let volume_rules = rules.volumes;
    let argv = c.config.argv();
    anyhow::ensure!(
        !argv.is_empty(),
        "no command specified: the image has no CMD or ENTRYPOINT; give one after the image name"
    );
    let env = c.config.env.clone();
    // Docker's seccomp profile unless --security-opt said otherwise.
    let seccomp = super::config::seccomp_profile(&c.config.security_opt)?;
    let init = c.config.init;
    let (hostname, workdir, user) =
        (c.config.hostname.clone(), c.config.working_dir.clone(), c.config.user.clone());
    let new_net = !flags.is_empty() && flags.contains(CloneFlags::CLONE_NEWNET);
    // The command's standard output and error: detached, the log itself (nobody copies); in
    // the foreground, the pipes' write ends; with -t, the terminal (made in `setup`).
    let outputs = match &pipes {
        _ if c.config.detach => Some((log.as_raw_fd(), log.as_raw_fd())),
        Some(((_, out), (_, err))) => Some((out.as_raw_fd(), err.as_raw_fd())),
        None => None,
    };
    // -t: the child makes its terminal and sends the master back on this socket, sized like
    // the caller's terminal when a foreground run has one.
    let console = if c.config.tty { Some(tty::ConsoleSocket::new()?) } else { None };
    let console_fd = console.as_ref().map(tty::ConsoleSocket::sender_fd);
    let size = if c.config.detach { None } else { tty::caller_size() };
    // Detached, or without -i, a container reads nothing of ours, as in Docker.
    let no_stdin = c.config.detach || !c.config.open_stdin;
    // Before the gate (while the monitor puts the child in its cgroup): the filesystem.
    let prepare = move || -> crate::Result<()> {
        if let Some(fd) = shared_net_fd {
            // SAFETY: a descriptor the monitor opened for us, still open in this copy of it.
            let ns = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            nix::sched::setns(ns, CloneFlags::CLONE_NEWNET)
                .map_err(|e| sys::failure("setns(net of the other container, CLONE_NEWNET)", e))?;
            crate::report::syscall(
                "setns(<the other container's /proc/PID/ns/net>, CLONE_NEWNET)",
                "0",
            );
        }
        // Exercise 01's set-up inside the new namespaces: the hostname, and a /proc of the
        // new PID namespace — mounted here, on the old root, which pivot_root then takes
        // away; the container's own /proc is made (with its masked paths) by `enter_with`.
        setup_inside(&hostname)?;
        if no_stdin {
            sys::stdin_from_null()?;
        }
        if let Some((out, err)) = outputs {
            sys::dup2(out, 1)?;
            sys::dup2(err, 2)?;
        }
        // The volumes are mounted once the rootfs is ready, before pivot_root (lesson 08).
        crate::volumes::enter(&merged, &binds, &volume_rules, &root_rules)?;
        if new_net {
            crate::network::loopback_up()?;
        }
        if !workdir.is_empty() {
            fs::create_dir_all(&workdir).map_err(|e| workdir_error(&workdir, e))?;
            sys::chdir(Path::new(&workdir))?;
        }
        Ok(())
    };
    // After it, the network (the monitor has moved our end of the veth in), the last
    // privileged steps, then the command.
    let handoff = &handoff;
    // ANCHOR: setup
    let setup = move || -> crate::Result<()> {
        if let Some(h) = handoff {
            let att = h.receive()?;
            network::configure_inside(&att)?;
            // /etc/hosts learns the container's address (a copy-up into the read-write
            // layer; commit leaves /etc/hosts out).
            let mut hosts = fs::OpenOptions::new().append(true).open("/etc/hosts")?;
            std::io::Write::write_all(
                &mut hosts,
                format!("{}\t{hosts_name}\n", att.ip).as_bytes(),
            )?;
        }
        // -t: a terminal from the container's own /dev/ptmx, now that it is our root.
        if let Some(sock) = console_fd {
            tty::open_in_child(sock, size, true)?;
        }
        // A cgroup namespace of its own, made now that the monitor has put us in our cgroup:
        // inside, /proc/self/cgroup shows that cgroup as the root, "/" (Docker's default on
        // v2; the article's question 1).
        sys::unshare(CloneFlags::CLONE_NEWCGROUP)?;
        security::restrict()?;
        if !user.is_empty() {
            spawn::switch_user(&user, console_fd.is_some())?;
        }
        // The last step before execve: from here on every system call passes the filter.
        if let Some(profile) = &seccomp {
            crate::seccomp::install(profile)?;
        }
        // --init: this process stays as PID 1; its child executes the command.
        if init {
            super::init::fork_init()?;
        }
        Ok(())
    };
    // ANCHOR_END: setup
    // ANCHOR: attach
    let (child, gate) = process::spawn_staged(flags, &prepare, &setup, &argv, Some(&env))?;
    let console = console.map(tty::ConsoleSocket::into_receiver);
    let placed = cg.add(child.pid()).and_then(|()| match &bridge {
        Some((cfg, ports)) => {
            network::attach(cfg, store.root(), &c.config.id, child.pid(), ports, &rules.network)
                .map(Some)
        }
        None => Ok(None),
    });
    // A child that died in its set-up is why this failed: its reason, not ours ("process N
    // is not running").
    let attachment = placed.map_err(|e| gate.child_error().map_or(e, anyhow::Error::msg))?;
    let _detach = Detach(store.root().to_path_buf(), attachment.clone());
    if let (Some(h), Some(att)) = (handoff, &attachment) {
        h.send(att)?;
    }
    // Once the child has configured its side of the network and run its command: a
    // container `run -d` reports started is one another can join (`--network container:`).
    gate.open_until_exec()?;
    // ANCHOR_END: attach
    // Our copies of the pipes' write ends: once the command and whatever inherited its
    // output have exited, the read ends give end-of-file.
    let pipes = pipes.map(|((out, _), (err, _))| (out, err));
    let master = match &console {
        Some(sock) => tty::receive(sock)?,
        None => None,
    };

    c.state = State {
        status: Status::Running,
        pid: child.pid().as_raw(),
        pid_start: state::start_time(child.pid().as_raw()).unwrap_or(0),
        monitor: std::process::id() as i32,
        started_at: units::rfc3339_now(),
        network: attachment.as_ref().map(serde_json::to_value).transpose()?,
        ..State::default()
    };
    c.save_state()?;
    tell("started");

    // The monitor copies the container's output until it ends: Ctrl-C and SIGTERM meanwhile
    // are passed on to the container.
    let pid = child.pid();
    let forward = |sig| {
        let _ = nix::sys::signal::kill(pid, sig);
    };
    match (&master, &pipes) {
        // Detached with a terminal: into its log (a terminal nobody reads would block the
        // container once its buffer is full).
        (Some(master), _) if c.config.detach => tty::relay(
            vec![tty::Stream::output(master.as_fd(), vec![log.as_fd()])],
            None,
            &forward,
        )?,
        (Some(master), _) => {
            tty::attach(master, c.config.open_stdin, Some(log.as_fd()), None, &forward)?
        }
        // Foreground without: each pipe to the caller's own stream, and both into the log.
        (None, Some((out, err))) => {
            let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
            let streams = vec![
                tty::Stream::output(out.as_fd(), vec![stdout.as_fd(), log.as_fd()]),
                tty::Stream::output(err.as_fd(), vec![stderr.as_fd(), log.as_fd()]),
            ];
            tty::relay(streams, None, &forward)?;
        }
        (None, None) => {}
    }
    let exit = wait_for(child)?;
    c.state.status = Status::Exited;
    c.state.exit_code = exit.code();
    c.state.oom_killed = crate::cgroups::limits::oom_kills(&cg).unwrap_or(0) > 0;
    c.state.finished_at = units::rfc3339_now();
    c.save_state()?;
    drop(cg);
    drop(fs_);
    Ok(exit.code())
}

/// Why the working directory `dir` could not be made, naming a dangling symbolic link on the
/// way (the usual reason for "File exists").
fn workdir_error(dir: &str, e: std::io::Error) -> anyhow::Error {
    let mut at = std::path::PathBuf::from("/");
    for part in Path::new(dir).components().skip(1) {
        at.push(part);
        let dangling = fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink())
            && fs::metadata(&at).is_err();
        if dangling {
            let to = fs::read_link(&at).map(|t| t.display().to_string()).unwrap_or_default();
            return anyhow::anyhow!(
                "the working directory {dir} goes through {}, a symbolic link to {to}, which does not exist in the image: give -w a real directory",
                at.display()
            );
        }
    }
    anyhow::Error::new(e).context(format!("creating the working directory {dir}"))
}

/// Unplugs the container from the bridge when the monitor is done with it (or failed).
struct Detach(std::path::PathBuf, Option<network::Attachment>);

impl Drop for Detach {
    fn drop(&mut self) {
        if let Some(att) = &self.1 {
            let _ = network::detach(&self.0, att);
        }
    }
}

/// Wait for the container. In a foreground run, Ctrl-C is passed on to it (as `docker run`
/// does) instead of ending the wait.
fn wait_for(child: process::Running) -> crate::Result<Exit> {
    let pid = child.pid();
    loop {
        match nix::sys::wait::waitpid(pid, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
                child.reaped();
                return Ok(Exit::Code(code));
            }
            Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => {
                child.reaped();
                return Ok(Exit::Signal(sig));
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => {
                if let Some(sig) = interrupt::take() {
                    let _ = nix::sys::signal::kill(pid, sig);
                }
            }
            Err(e) => return Err(sys::failure(&format!("waitpid({pid})"), e)),
        }
    }
}

/// The container's layers as a [`Rootfs`] (its directories exist already).
pub fn rootfs_of(store: &Store, c: &Container) -> crate::Result<Rootfs> {
    Rootfs::open(store, &c.config.diff_ids, &c.dir.join("rootfs"))
}

/// Send `signal` to the container's first process. A paused container gets it when it is
/// unpaused — except SIGKILL, which unpauses it, as in Docker.
pub fn signal(c: &Container, signal: nix::sys::signal::Signal) -> crate::Result<()> {
    anyhow::ensure!(c.running(), "container {} is not running", c.config.name);
    sys::kill(Pid::from_raw(c.state.pid), signal)?;
    if signal == nix::sys::signal::Signal::SIGKILL {
        thaw(c);
    }
    Ok(())
}

/// `pause`: freeze every process of the running container (the freezer cgroup).
pub fn pause(c: &Container) -> crate::Result<()> {
    anyhow::ensure!(c.running(), "container {} is not running", c.config.name);
    anyhow::ensure!(!paused(c), "container {} is already paused", c.config.name);
    crate::cgroups::freezer::pause(&Layout::detect()?, &cgroup_name(&c.config.id))
}

/// `unpause`: let a paused container's processes run again.
pub fn unpause(c: &Container) -> crate::Result<()> {
    anyhow::ensure!(paused(c), "container {} is not paused", c.config.name);
    crate::cgroups::freezer::thaw(&Layout::detect()?, &cgroup_name(&c.config.id))
}

/// Whether the container is running but frozen.
pub fn paused(c: &Container) -> bool {
    c.running()
        && Layout::detect()
            .is_ok_and(|l| crate::cgroups::freezer::is_paused(&l, &cgroup_name(&c.config.id)))
}

/// Thaw the container if it is frozen: a frozen process acts on no signal, SIGKILL included
/// (on v1). Also what a commit killed while it held the container frozen leaves to undo.
fn thaw(c: &Container) {
    if let Ok(layout) = Layout::detect() {
        let _ = crate::cgroups::freezer::thaw(&layout, &cgroup_name(&c.config.id));
    }
}

/// Stop: the stop signal, then SIGKILL after `timeout` seconds, as `docker stop -t`.
pub fn stop(c: &Container, timeout: u64) -> crate::Result<()> {
    if !c.running() {
        return Ok(());
    }
    let sig = c
        .config
        .stop_signal
        .as_deref()
        .and_then(|s| s.parse::<nix::sys::signal::Signal>().ok())
        .unwrap_or(nix::sys::signal::Signal::SIGTERM);
    signal(c, sig)?;
    if !wait_gone(c, std::time::Duration::from_secs(timeout)) {
        let _ = signal(c, nix::sys::signal::Signal::SIGKILL);
        wait_gone(c, std::time::Duration::from_secs(10));
    }
    Ok(())
}

/// Wait until the container's process is gone and its monitor has recorded the end.
pub fn wait_gone(c: &Container, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let gone = !state::process_alive(c.state.pid, c.state.pid_start);
        let monitor_done = !state::process_alive(c.state.monitor, 0);
        if gone && monitor_done {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// `rm`: the container's directory, and whatever a dead monitor left (its cgroup).
pub fn remove(c: &Container, force: bool) -> crate::Result<()> {
    // One its monitor is still starting (`run -d` killed, or racing us) is let start first:
    // removed from under its monitor, its process could outlive it, with its cgroup.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut c = c.clone();
    while c.state.status == Status::Created
        && state::process_alive(c.state.monitor, 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
        c = Container::load(&c.dir)?;
    }
    let c = &c;
    if c.running() {
        anyhow::ensure!(
            force,
            "you cannot remove a running container {}: stop it first, or use rm -f",
            c.short_id()
        );
        let _ = signal(c, nix::sys::signal::Signal::SIGKILL);
        wait_gone(c, std::time::Duration::from_secs(10));
    }
    // A program that started the container with `start` (a lesson) is the monitor's parent:
    // collect it, or it stays a zombie. For anyone else this is a harmless ECHILD.
    if c.state.monitor > 0 {
        let _ = nix::sys::wait::waitpid(
            Pid::from_raw(c.state.monitor),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
    }
    remove_dir(c)
}

fn remove_dir(c: &Container) -> crate::Result<()> {
    // A monitor killed with -9 leaves the veth, the NAT rules and the address behind.
    if let Some(att) =
        c.state.network.clone().and_then(|v| serde_json::from_value::<network::Attachment>(v).ok())
    {
        let root = c
            .dir
            .parent()
            .and_then(Path::parent)
            .context("a container directory outside a store")?;
        network::detach(root, &att)?;
    }
    // A monitor killed with -9 leaves the cgroup behind: nothing runs in it any more.
    if let Ok(layout) = Layout::detect() {
        for h in &layout.hierarchies {
            let _ = fs::remove_dir(h.mountpoint.join(cgroup_name(&c.config.id)));
        }
    }
    // Out of sight in one step, then deleted: a killed `rm` leaves no half container behind.
    let root =
        c.dir.parent().and_then(Path::parent).context("a container directory outside a store")?;
    Store::open(root)?.trash(&c.dir)
}

/// The container's cgroup, relative to each hierarchy's root.
pub fn cgroup_name(id: &str) -> String {
    format!("minidocker/{id}")
}

/// A pipe whose both ends are closed on exec: (read end, write end).
fn pipe() -> crate::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| sys::failure("pipe2(O_CLOEXEC)", e))
}

/// Wait until a detached container's log has the line `line` — how a lesson knows the
/// container got where it wants to look (a log is all a detached container says).
pub fn wait_for_log_line(c: &Container, line: &str) -> crate::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = fs::read_to_string(c.log_path()).unwrap_or_default();
        if log.lines().any(|l| l == line) {
            return Ok(());
        }
        let now = Container::load(&c.dir)?;
        anyhow::ensure!(
            now.running() && std::time::Instant::now() < deadline,
            "the container did not print {line:?} (does the image have the commands it runs?); it printed: {}",
            log.trim().replace('\n', " | ")
        );
        interrupt::check()?;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
