//! Entering a running container — `docker exec` — is joining its namespaces with `setns(2)`.
//!
//! A container is nothing but processes in some namespaces and cgroups, on a root of their
//! own. To run one more command "in" it, a process joins those namespaces (`setns` on the
//! files in `/proc/PID/ns/`), those cgroups (its PID written into `cgroup.procs`) and that
//! root, takes the container's environment, working directory, user and capabilities — and
//! executes the command. Three processes take part:
//!
//! ```text
//! this process (the client)      stays on the host: it plans, watches and waits
//!  └─ the helper                 fresh and single-threaded: joins the cgroups, then the namespaces
//!      └─ the command            forked after the joins: the only one really inside the PID
//!                                namespace; enters the root, drops privileges, executes CMD
//! ```
//!
//! Why a helper: `setns` into a mount or user namespace refuses a process with more than one
//! thread, and whatever joined stays joined, so the client keeps its own view of the host.
//! Why the fork: `setns(CLONE_NEWPID)` does not move the caller — a process's PID never
//! changes — it only decides where the caller's *children* are born (`pid_for_children`).
//!
//! The two decisions exercise 06 asks for — how to join one namespace, and in which order to
//! join them — are [`Rules`]; the library uses the reference answers, [`RULES`].
//!
//! Here: the exec itself ([`start`], [`exec`]: the helper, the fork, the command). In
//! `join.rs`: what to join ([`plan`]) and how ([`setns`], [`enter_root`]). In `relay.rs`: the
//! report pipe and the signals passed on.

use crate::container::{security, tty, Container};
use crate::namespaces::Namespace;
use crate::process::{self, Exit, Gate, Running};
use crate::{interrupt, report, sys};
use anyhow::{anyhow, Context};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::fmt;
use std::fs::{self};
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::Path;

/// Exercise 06's reference answer, compiled as this module's own code for joining namespaces.
#[path = "../../solutions/06-exec-setns/exercise.rs"]
pub mod solution;

mod join;
mod relay;

use join::pid_for_children_differs;
pub use join::{cgroups_of, differing, enter_root, kind_of, ns_link, ns_path, plan, setns, Plan};
use relay::{cstrings, read_report, start_error, tell, wait_and_forward, wait_forwarding};

/// Exercise 06, how to join one namespace and in which order to join several: the reference
/// answer's ([`RULES`]) or a student's (`06-exec-setns --mine`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Join the namespace the file `nsfile` stands for, of kind `ns`.
    pub join: fn(&Path, Namespace) -> crate::Result<()>,
    /// The order to join a target's namespaces in (given in [`Namespace::ALL`]'s order).
    pub join_order: fn(&[Namespace]) -> Vec<Namespace>,
}

/// The rules the library uses (and `minidocker exec`): the reference answer's.
pub use solution::RULES;

/// What to run in the container, and how.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub argv: Vec<String>,
    /// Exactly the environment the command gets, `KEY=value`.
    pub env: Vec<String>,
    /// The working directory inside (empty: `/`). It must exist.
    pub workdir: String,
    /// `name`, `uid`, `name:group` or `uid:gid`, resolved in the container's `/etc/passwd`
    /// (empty: root).
    pub user: String,
    /// `-i`: the command reads this process's standard input; otherwise `/dev/null`.
    pub stdin: bool,
    /// `-t`: the command gets a pseudo-terminal of its own, from the container's `/dev/ptmx`.
    pub tty: bool,
    /// The container's `--security-opt`: which seccomp profile the command runs under
    /// (none given: Docker's default, as for the container's own processes).
    pub security_opt: Vec<String>,
}

impl Spec {
    /// `argv` as the container's own processes run: its environment, working directory and
    /// user, as `docker exec` takes them from the container's configuration.
    pub fn for_container(c: &Container, argv: Vec<String>) -> Spec {
        Spec {
            argv,
            env: c.config.env.clone(),
            workdir: c.config.working_dir.clone(),
            user: c.config.user.clone(),
            security_opt: c.config.security_opt.clone(),
            ..Spec::default()
        }
    }

    /// `argv` with the environment of process `pid` (`/proc/PID/environ`), as root in `/`:
    /// for a target that is not a container of the store.
    pub fn for_process(pid: i32, argv: Vec<String>) -> crate::Result<Spec> {
        let raw = fs::read(format!("/proc/{pid}/environ"))
            .with_context(|| format!("reading the environment of process {pid}"))?;
        let mut env: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", process::DEFAULT_PATH));
        }
        Ok(Spec { argv, env, ..Spec::default() })
    }

    /// `-e KEY=VALUE`: set one variable, replacing the container's value if it has one.
    pub fn set_env(&mut self, kv: &str) {
        let key = kv.split('=').next().unwrap_or_default();
        self.env.retain(|e| e.split('=').next() != Some(key));
        self.env.push(kv.to_string());
    }
}

/// The PID to enter a container by: its first process. A container that does not run has
/// no namespaces left to join.
pub fn target_of(c: &Container) -> crate::Result<i32> {
    anyhow::ensure!(c.running(), "Container {} is not running", c.short_id());
    Ok(c.state.pid)
}

/// The command could not be started in the container: it never ran. `code` is what a shell
/// would report — 126 (could not be set up or executed), 127 (not found) — as Docker does.
#[derive(Debug, Clone)]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartError {}

/// An exec whose command is inside the container, waiting at its gate: the caller can look at
/// it (its `/proc/PID/ns` links, its cgroups) before it runs. Dropped before it ended (an
/// error, Ctrl-C), it kills the command, then the helper — in that order, so the helper
/// reaps the command and no zombie is left to the container's PID 1.
pub struct Started {
    pub plan: Plan,
    helper: Option<Running>,
    command: Pid,
    gate: Option<Gate>,
    report: OwnedFd,
    /// What was read from the report pipe after the helper's first line.
    leftover: String,
    /// `-t`: where the command sends its terminal's master; and whether to pass input on (`-i`).
    console: Option<OwnedFd>,
    stdin: bool,
}

impl Started {
    /// The command's PID, as the host sees it.
    pub fn command_pid(&self) -> Pid {
        self.command
    }

    /// The helper that joined the namespaces and forked the command.
    pub fn helper_pid(&self) -> Pid {
        self.helper.as_ref().map_or(Pid::from_raw(0), Running::pid)
    }

    /// Let the command run, and wait for it. A signal to this process (Ctrl-C, SIGTERM) is
    /// passed on to the command instead of ending the wait.
    pub fn run(mut self) -> crate::Result<Exit> {
        if let Some(gate) = self.gate.take() {
            gate.open()?;
        }
        // The command's copy of the report pipe closes when it executes; before that, it
        // writes there why it could not.
        let text = std::mem::take(&mut self.leftover) + &read_report(&self.report, false)?;
        let helper = self.helper.take().expect("a started exec has its helper");
        if let Some(sock) = self.console.take() {
            // The command's terminal on ours, until the command has ended (the helper ends
            // with it) — not until every process holding the terminal has.
            if let Some(master) = tty::receive(&sock)? {
                let pid = helper.pid();
                let ended = sys::pidfd_open(pid)?;
                tty::attach(&master, self.stdin, None, Some(ended.as_fd()), &|sig| {
                    let _ = nix::sys::signal::kill(pid, sig);
                })?;
            }
        }
        let exit = wait_forwarding(helper)?;
        match start_error(&text) {
            Some(err) => Err(err.into()),
            None => Ok(exit),
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(helper) = self.helper.take() {
            let _ = nix::sys::signal::kill(self.command, Signal::SIGKILL);
            drop(helper);
        }
    }
}

/// Run `spec` in the namespaces, cgroups and root of process `target`, and wait for it.
pub fn exec(target: i32, spec: &Spec, rules: &Rules) -> crate::Result<Exit> {
    start(target, spec, rules)?.run()
}

/// The exec up to the gate: plan, start the helper, which joins and forks the command; the
/// command enters the root, drops its privileges and waits.
pub fn start(target: i32, spec: &Spec, rules: &Rules) -> crate::Result<Started> {
    anyhow::ensure!(!spec.argv.is_empty(), "no command to run");
    let plan = plan(target, rules)?;
    // The target's root, opened while this process still resolves paths on the host: the
    // command makes it its own after joining the mount namespace (see `enter_root`).
    let root = open(
        format!("/proc/{target}/root").as_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| sys::failure(&format!("open(\"/proc/{target}/root\")"), e))?;
    let console = if spec.tty { Some(tty::ConsoleSocket::new()?) } else { None };
    let child = Child {
        plan: plan.clone(),
        rules: *rules,
        root,
        stdin: spec.stdin,
        console: console.as_ref().map(tty::ConsoleSocket::sender_fd),
        size: tty::caller_size(),
        argv: cstrings(&spec.argv)?,
        env: cstrings(&spec.env)?,
        argv0: spec.argv[0].clone(),
        search_path: spec
            .env
            .iter()
            .find_map(|v| v.strip_prefix("PATH="))
            .unwrap_or(process::DEFAULT_PATH)
            .to_string(),
        workdir: if spec.workdir.is_empty() { "/".into() } else { spec.workdir.clone() },
        user: spec.user.clone(),
        seccomp: crate::container::config::seccomp_profile(&spec.security_opt)?,
    };
    let gate = Gate::new()?;
    let (report_r, report_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 for the exec's report")?;
    let client = nix::unistd::getpid();
    std::io::Write::flush(&mut std::io::stdout())?;
    // SAFETY: the workshop's processes are single-threaded; the child never returns into
    // our code: it ends in _exit.
    let forked =
        unsafe { nix::unistd::fork() }.map_err(|e| sys::failure("fork (the exec helper)", e))?;
    let helper = match forked {
        ForkResult::Child => {
            drop(report_r);
            let code = child.helper(client, gate.fds(), report_w);
            // SAFETY: ending the helper without running this process's exit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Running::new(child),
    };
    report::syscall("fork()", &helper.pid().to_string());
    drop(report_w);
    drop(child);
    let console = console.map(tty::ConsoleSocket::into_receiver);
    // The helper's first line: the command's PID, or why there is none.
    // (The command may have written already, too: it reports a failed setup at once.)
    let text = read_report(&report_r, true)?;
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(pid) = first.strip_prefix("pid ").and_then(|p| p.trim().parse().ok()) {
        return Ok(Started {
            plan,
            helper: Some(helper),
            command: Pid::from_raw(pid),
            gate: Some(gate),
            report: report_r,
            leftover: rest.to_string(),
            console,
            stdin: spec.stdin,
        });
    }
    let _ = helper.wait();
    Err(match start_error(first) {
        Some(e) => e.into(),
        None => anyhow!("the exec helper died before it started the command"),
    })
}

/// Everything the helper and the command need, prepared before the fork.
struct Child {
    plan: Plan,
    rules: Rules,
    root: OwnedFd,
    /// `-i`: the command reads the client's standard input; otherwise the helper's is `/dev/null`.
    stdin: bool,
    /// `-t`: the socket end to send the terminal's master on, and the caller's terminal size.
    console: Option<RawFd>,
    size: Option<nix::pty::Winsize>,
    argv: Vec<CString>,
    env: Vec<CString>,
    argv0: String,
    search_path: String,
    workdir: String,
    user: String,
    seccomp: Option<crate::seccomp::Profile>,
}

impl Child {
    /// The helper, in a fresh process: join, fork the command, wait for it, end as it ended.
    fn helper(&self, client: Pid, gate: (RawFd, RawFd), report_w: OwnedFd) -> i32 {
        let pid = match self.join_and_fork(client, gate, &report_w) {
            Ok(pid) => pid,
            Err(e) => {
                tell(&report_w, &format!("error 126 {e:#}"));
                return 126;
            }
        };
        tell(&report_w, &format!("pid {pid}"));
        drop(report_w);
        // Only the client opens the gate, and only the command waits at it; only the command
        // sends on the console socket (the client must see end-of-file if it dies first).
        // SAFETY: closing this process's copies of descriptors it no longer uses.
        unsafe {
            libc::close(gate.0);
            libc::close(gate.1);
            if let Some(fd) = self.console {
                libc::close(fd);
            }
        }
        wait_and_forward(pid, client)
    }

    fn join_and_fork(
        &self,
        client: Pid,
        gate: (RawFd, RawFd),
        report_w: &OwnedFd,
    ) -> crate::Result<Pid> {
        // If the client dies (even by SIGKILL), the helper gets SIGTERM: its wait below then
        // kills and reaps the command before it ends. (An orphaned command would be adopted
        // by the container's PID 1, which may never reap it: a zombie in the container.)
        interrupt::install();
        nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
        anyhow::ensure!(nix::unistd::getppid() == client, "the client went away");
        // Without -i the command reads nothing of ours: the host's /dev/null, opened before
        // any join, and inherited by the command.
        if !self.stdin {
            sys::stdin_from_null()?;
        }
        // This process's namespace links, opened on the host's /proc before any join: after
        // the joins, they still tell where its children will be born (see `parent` below).
        let own_ns = open(
            "/proc/self/ns",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| sys::failure("open(\"/proc/self/ns\")", e))?;
        // The cgroups first, while /sys/fs/cgroup is still the host's. The command, forked
        // below, is born in them.
        // ANCHOR: join_and_fork
        let me = nix::unistd::getpid().to_string();
        for dir in &self.plan.cgroups {
            sys::write_file(&dir.join("cgroup.procs"), &me)
                .with_context(|| format!("joining the container's cgroup {}", dir.display()))?;
        }
        for &ns in &self.plan.namespaces {
            let path = ns_path(self.plan.target, ns);
            (self.rules.join)(&path, ns).with_context(|| {
                format!("joining the {} namespace of process {}", ns.file(), self.plan.target)
            })?;
        }
        // The command's parent as the command sees it: none (0) from inside a PID namespace
        // the helper is not in. Whether the command is born in one is the kernel's answer,
        // not the plan's: a `join` that did nothing leaves pid_for_children at the helper's own.
        let in_other_pid_ns = pid_for_children_differs(&own_ns)?;
        let parent = if in_other_pid_ns { Pid::from_raw(0) } else { nix::unistd::getpid() };
        // SAFETY: the helper is single-threaded; the child only sets itself up and executes,
        // or ends in _exit.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => {
                let (code, msg) = self.command(gate, parent);
                tell(report_w, &format!("error {code} {msg}"));
                // SAFETY: ending the command's process without exit handlers.
                unsafe { libc::_exit(code) }
            }
            Ok(ForkResult::Parent { child }) => {
                report::syscall("fork()", &child.to_string());
                Ok(child)
            }
            Err(Errno::ENOMEM) if in_other_pid_ns => {
                Err(anyhow!("fork in the container's PID namespace failed: its PID 1 has exited, and no process can be born there any more"))
            }
            Err(e) => Err(sys::failure("fork (the command)", e)),
        }
        // ANCHOR_END: join_and_fork
    }

    /// The command's process: inside every namespace already. Enter the root, drop
    /// privileges, wait at the gate, execute. Returns only on failure: (exit code, why).
    fn command(&self, gate: (RawFd, RawFd), parent: Pid) -> (i32, String) {
        // If the helper dies, so does the command — and if it died before this was set, the
        // command has been adopted already: its parent changed.
        let orphan_check = || -> crate::Result<()> {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            anyhow::ensure!(nix::unistd::getppid() == parent, "the exec's helper went away");
            Ok(())
        };
        // ANCHOR: command
        let ready = (|| -> crate::Result<()> {
            orphan_check()?;
            enter_root(&self.root)?;
            sys::chdir(Path::new(&self.workdir))
                .with_context(|| format!("the working directory {:?}", self.workdir))?;
            if let Some(sock) = self.console {
                // -t: a terminal from the container's /dev/ptmx, its devpts, now our root.
                tty::open_in_child(sock, self.size, false)?;
            }
            // The container's own processes run with Docker's default capabilities and
            // no_new_privs; an exec'd one must not have more.
            security::restrict()?;
            if !self.user.is_empty() {
                crate::container::spawn::switch_user(&self.user, self.console.is_some())?;
                // Changing the user cleared the parent-death signal: set it again.
                orphan_check()?;
            }
            // The container's seccomp filter, last: an exec'd command is no freer than it.
            if let Some(profile) = &self.seccomp {
                crate::seccomp::install(profile)?;
            }
            Ok(())
        })();
        if let Err(e) = ready {
            return (126, format!("{e:#}"));
        }
        // ANCHOR_END: command
        if !Gate::wait_in_child(gate) {
            return (126, "the client went away".into());
        }
        let Some(path) = process::look_path(&self.argv0, &self.search_path) else {
            return (127, format!("exec: {:?}: executable file not found in $PATH", self.argv0));
        };
        let e = nix::unistd::execve(&path, &self.argv, &self.env).unwrap_err();
        let code = if e == Errno::ENOENT { 127 } else { 126 };
        (code, format!("exec: {:?}: {}", self.argv0, e.desc()))
    }
}
