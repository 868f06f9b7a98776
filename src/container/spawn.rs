//! Starting a command in a container: fresh namespaces, `pivot_root` into its mounted rootfs
//! ([`crate::rootfs::enter`], with the bind mounts made just before), the hostname, the
//! working directory, the user, exactly the environment given. A build's `RUN` and lesson 03
//! use [`run`]; a container's monitor ([`super::run`]) takes the same steps around a terminal,
//! cgroups and a network.

use crate::cgroups::{devices, Cgroup, Controller, Layout};
use crate::mounts::{self, Bind};
use crate::process::{self, Exit};
use crate::rootfs::{enter, Rootfs};
use crate::{network, sys};
use anyhow::Context;
use nix::sched::CloneFlags;
use std::fs;
use std::path::Path;

/// The namespaces a container gets: its own mounts, process IDs, hostname, IPC and network.
pub const CONTAINER_NAMESPACES: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWNET);

/// The clone flags of a container's first process, from exercise 01's `child_namespaces`: the
/// namespaces of [`CONTAINER_NAMESPACES`] and the cgroup namespace, which the child makes
/// itself once its monitor has put it in its cgroup. Anything else is refused before a process
/// exists: a container without its own network or UTS namespace would configure the host's.
pub fn container_namespaces(rules: &crate::namespaces::Rules) -> crate::Result<CloneFlags> {
    use crate::namespaces::{clone_flags, Namespace};
    let wanted = CONTAINER_NAMESPACES | CloneFlags::CLONE_NEWCGROUP;
    let given = clone_flags(&(rules.child_namespaces)());
    let named = |flags: CloneFlags| {
        let names: Vec<&str> = Namespace::ALL
            .iter()
            .filter(|ns| flags.contains(ns.flag()))
            .map(|ns| ns.file())
            .collect();
        names.join(", ")
    };
    anyhow::ensure!(
        given == wanted,
        "exercise 01's child_namespaces() gives [{}]; a container needs exactly [{}]{}: fix \
         lessons/01-namespaces/exercise.rs (`workshop check 01`)",
        named(given),
        named(wanted),
        match named(wanted.difference(given)) {
            missing if missing.is_empty() => String::new(),
            missing => format!(" (missing: {missing})"),
        }
    );
    Ok(CONTAINER_NAMESPACES)
}

/// What runs in a container, and how.
pub struct Spec<'a> {
    pub hostname: &'a str,
    pub argv: &'a [String],
    /// Exactly the environment the command gets (see [`environment`]).
    pub env: &'a [String],
    /// The working directory inside; created when missing, as Docker does.
    pub workdir: Option<&'a str>,
    /// `name`, `uid`, `name:group` or `uid:gid`, looked up in the container's own
    /// `/etc/passwd` and `/etc/group`.
    pub user: Option<&'a str>,
    /// Stay in the host's network namespace (a build's RUN does, to reach package indexes).
    pub host_network: bool,
    /// Executable files put into the container's own `/dev` (a tmpfs, never part of a
    /// layer) before the command starts, as (path below /dev, text): how a build's
    /// `RUN <<EOF` whose body starts with `#!` gets its script, as in BuildKit.
    pub dev_scripts: &'a [(String, String)],
    /// Mounts made before `pivot_root`, parents first (a build's `RUN --mount`).
    pub binds: &'a [Bind],
}

/// Run a command in a container on `rootfs` (mounted): fresh namespaces, pivot_root into the
/// merged tree, the hostname, the working directory and user, exactly the environment given.
/// Waits for it to end.
pub fn run(rootfs: &Rootfs, spec: &Spec) -> crate::Result<Exit> {
    let merged = rootfs.merged();
    let default_profile = crate::seccomp::docker_default();
    let setup = || -> crate::Result<()> {
        // If this process dies (even by SIGKILL), the container dies with it.
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
        enter::enter_with(
            &merged,
            &|root| mounts::mount_all(root, spec.binds).map(drop),
            rootfs.rules(),
        )?;
        sys::sethostname(spec.hostname)?;
        for (path, text) in spec.dev_scripts {
            let path = Path::new("/dev").join(path);
            fs::create_dir_all(path.parent().unwrap_or(Path::new("/dev")))?;
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        }
        if !spec.host_network {
            network::loopback_up()?;
        }
        if let Some(dir) = spec.workdir.filter(|d| !d.is_empty()) {
            fs::create_dir_all(dir)
                .with_context(|| format!("creating the working directory {dir}"))?;
            sys::chdir(Path::new(dir))?;
        }
        if let Some(user) = spec.user.filter(|u| !u.is_empty()) {
            switch_user(user, false)?;
        }
        // Docker's seccomp profile, last (a build's RUN runs under it in Docker too).
        crate::seccomp::install(&default_profile)
    };
    let flags = if spec.host_network {
        CONTAINER_NAMESPACES.difference(CloneFlags::CLONE_NEWNET)
    } else {
        CONTAINER_NAMESPACES
    };
    // A cgroup of its own for Docker's device rules, as a container has (see `devices_only`).
    let cg = devices_only()?;
    let (child, gate) = process::spawn_with_env(flags, &setup, spec.argv, Some(spec.env))?;
    cg.add(child.pid())?;
    gate.open()?;
    child.wait()
}

/// A cgroup with only the device controller, holding Docker's default device rules: how a
/// build's `RUN` gets the same device isolation as a container. Removed when dropped; one
/// that a process killed with -9 left (`run-<its PID>-N`) is removed by the next.
pub fn devices_only() -> crate::Result<Cgroup> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let layout = Layout::detect()?;
    if let Some(h) = layout.locate(Controller::Devices) {
        let parent = h.mountpoint.join("minidocker");
        for entry in fs::read_dir(&parent).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let owner = name.strip_prefix("run-").and_then(|r| r.split('-').next());
            if owner.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = fs::remove_dir(entry.path()); // empty: its processes died with it
            }
        }
    }
    let name =
        format!("minidocker/run-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let cg = Cgroup::create(&layout, &name, &[Controller::Devices])?.quietly();
    devices::apply(&cg, &devices::DEFAULT_RULES)?;
    Ok(cg)
}

/// The environment for a container whose image sets `image_env`: that, with `PATH`,
/// `HOSTNAME` and `HOME` as Docker provides them when the image does not.
pub fn environment(image_env: &[String], hostname: &str) -> Vec<String> {
    let mut env = image_env.to_vec();
    let has = |env: &[String], k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
    if !has(&env, "PATH") {
        env.insert(0, format!("PATH={}", process::DEFAULT_PATH));
    }
    env.push(format!("HOSTNAME={hostname}"));
    if !has(&env, "HOME") {
        env.push("HOME=/root".into());
    }
    env
}

/// The terminal minidocker made for the command (`-t`) on standard input, output and error
/// was opened by root: hand it to `uid`, as runc does, or the user could not reopen it as
/// `/dev/tty` or change its modes. (Only that one: a terminal passed in from the caller, with
/// `-i` and no `-t`, is the caller's and stays so.)
fn give_terminal(uid: u32) -> crate::Result<()> {
    use std::os::fd::AsFd;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for fd in [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()] {
        if nix::unistd::isatty(fd).unwrap_or(false) {
            nix::unistd::fchown(fd, Some(nix::unistd::Uid::from_raw(uid)), None)
                .map_err(|e| sys::failure("fchown(<the terminal>)", e))?;
        }
    }
    Ok(())
}

/// Become `user` (`name`, `uid`, `name:group`, `uid:gid`), resolved in the container's own
/// `/etc/passwd` and `/etc/group` — after pivot_root, so the image's names count, not the host's.
/// `terminal`: the standard streams are a terminal made for the command (`-t`), now the user's.
pub fn switch_user(user: &str, terminal: bool) -> crate::Result<()> {
    let (u, g) = user.split_once(':').map_or((user, None), |(u, g)| (u, Some(g)));
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == u || f[2] == u));
    let uid: u32 = match (&entry, u.parse()) {
        (_, Ok(n)) => n,
        (Some(f), _) => f[2].parse()?,
        (None, _) => anyhow::bail!(
            "unable to find user {u}: no matching entries in the container's /etc/passwd"
        ),
    };
    let gid: u32 = match g {
        None => entry.as_ref().and_then(|f| f[3].parse().ok()).unwrap_or(uid),
        Some(g) => match g.parse() {
            Ok(n) => n,
            Err(_) => {
                let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
                let found = groups
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .find(|f| f.len() > 2 && f[0] == g);
                found.and_then(|f| f[2].parse().ok()).with_context(|| {
                    format!("unable to find group {g} in the container's /etc/group")
                })?
            }
        },
    };
    if terminal {
        give_terminal(uid)?;
    }
    // Groups first: once the uid is not 0 any more, changing them is not allowed.
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))?;
    Ok(())
}
