//! Containers as a user sees them: `minidocker run` (foreground and `-d`), `ps`, `logs`,
//! `inspect`, `stop`, `kill`, `rm` — and nothing left behind: no mount, no cgroup, no process.

mod common;

use common::{have_root, md, run, TestRoot};
use minidocker::cgroups::Layout;
use minidocker::container::run::cgroup_name;
use std::time::Duration;

/// The directories container `id`'s cgroup has (one per hierarchy it is in).
fn cgroup_dirs(id: &str) -> Vec<std::path::PathBuf> {
    let layout = Layout::detect().unwrap();
    layout
        .hierarchies
        .iter()
        .map(|h| h.mountpoint.join(cgroup_name(id)))
        .filter(|p| p.exists())
        .collect()
}

/// Every cgroup directory a container of this root could have left.
fn cgroups_of(root: &TestRoot) -> Vec<String> {
    let Ok(containers) = std::fs::read_dir(root.path.join("containers")) else { return Vec::new() };
    let ids: Vec<String> =
        containers.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    ids.iter().flat_map(|id| cgroup_dirs(id)).map(|p| p.display().to_string()).collect()
}

fn assert_clean(root: &TestRoot) {
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
    assert_eq!(cgroups_of(root), Vec::<String>::new(), "cgroups left");
}

#[test]
fn a_foreground_run_prints_and_returns_the_exit_code() {
    if !have_root("a_foreground_run_prints_and_returns_the_exit_code") {
        return;
    }
    let root = TestRoot::with_busybox("run-fg");
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "fg",
            "-e",
            "GREETING=hi",
            "-w",
            "/tmp",
            "busybox",
            "sh",
            "-c",
            "echo $GREETING from $(hostname) in $(pwd); exit 7",
        ],
    );
    assert_eq!(code, 7, "{err}");
    let line = out.trim();
    let host = line.split(' ').nth(2).unwrap();
    assert!(
        line.starts_with("hi from ") && line.ends_with(" in /tmp") && host.len() == 12,
        "{out}"
    );
    // The hostname is the short ID, as in the article.
    let (_, ps, _) = md(&root, &["ps", "-a"]);
    assert!(
        ps.lines().any(|l| l.starts_with(host) && l.contains("Exited (7)") && l.ends_with("fg")),
        "{ps}"
    );
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "fg", "busybox", "true"]);
    assert_eq!(code, 1);
    assert!(err.contains("already in use") && err.lines().count() == 1, "{err}");
    md(&root, &["rm", "fg"]);
    assert_clean(&root);
}

#[test]
fn a_detached_container_lives_on_and_is_stopped_and_removed() {
    if !have_root("a_detached_container_lives_on_and_is_stopped_and_removed") {
        return;
    }
    let root = TestRoot::with_busybox("run-d");
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "bg",
            "busybox",
            "sh",
            "-c",
            "echo up; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    let (_, ps, _) = md(&root, &["ps"]);
    assert!(
        ps.lines().any(|l| l.starts_with(&id[..12]) && l.contains("Up ") && l.ends_with("bg")),
        "{ps}"
    );
    let (_, pid, _) =
        md(&root, &["inspect", "--format", "{{.State.Pid}} {{.State.Status}} {{.Name}}", "bg"]);
    let pid_num: i32 = pid.split(' ').next().unwrap().parse().unwrap();
    assert!(pid.trim().ends_with(" running /bg") && pid_num > 1, "{pid}");
    // The container is its own PID namespace's PID 1, and in its own cgroup.
    let status = std::fs::read_to_string(format!("/proc/{pid_num}/status")).unwrap();
    assert!(
        status.lines().any(|l| l.starts_with("NSpid:") && l.trim_end().ends_with("\t1")),
        "{status}"
    );
    let cgroup = std::fs::read_to_string(format!("/proc/{pid_num}/cgroup")).unwrap();
    assert!(cgroup.contains(&cgroup_name(&id)), "{cgroup}");
    let json: serde_json::Value = serde_json::from_str(&md(&root, &["inspect", "bg"]).1).unwrap();
    assert_eq!(json[0]["Id"], id.as_str());
    assert_eq!(json[0]["Config"]["Hostname"], &id[..12]);

    let (code, out, _) = md(&root, &["stop", "-t", "5", "bg"]);
    assert_eq!((code, out.trim()), (0, "bg"));
    let (_, logs, _) = md(&root, &["logs", "bg"]);
    assert_eq!(logs, "up\nbye\n");
    let (_, ps, _) = md(&root, &["ps", "-a"]);
    assert!(ps.contains("Exited (0)"), "{ps}");
    let (code, _, _) = md(&root, &["rm", "bg"]);
    assert_eq!(code, 0);
    assert!(!root.path.join("containers").join(&id).exists());
    assert_clean(&root);
}

#[test]
fn rm_f_kills_and_a_dead_monitor_shows_as_exited() {
    if !have_root("rm_f_kills_and_a_dead_monitor_shows_as_exited") {
        return;
    }
    let root = TestRoot::with_busybox("run-kill");
    let (_, out, _) = md(&root, &["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
    let id = out.trim().to_string();
    let (code, _, err) = md(&root, &["rm", &id[..12]]);
    assert_eq!(code, 1);
    assert!(err.contains("running") && err.contains("rm -f"), "{err}");
    // Kill the container's process behind the monitor's back (and the monitor with -9): the
    // state on disk must not claim it still runs.
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.path.join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let (pid, monitor) =
        (state["pid"].as_i64().unwrap() as i32, state["monitor"].as_i64().unwrap() as i32);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(monitor), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (_, ps, _) = md(&root, &["ps", "-a"]);
    assert!(ps.contains("Exited (137)"), "a monitor killed by SIGKILL: 128 + 9; {ps}");
    let (code, _, err) = md(&root, &["rm", &id]);
    assert_eq!(code, 0, "{err}");

    // rm -f of a running one kills it first.
    let (_, out, _) = md(&root, &["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
    let (code, _, err) = md(&root, &["rm", "-f", out.trim()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(md(&root, &["ps", "-aq"]).1, "");
    assert_clean(&root);
}

#[test]
fn limits_and_isolation_defaults_hold_inside() {
    if !have_root("limits_and_isolation_defaults_hold_inside") {
        return;
    }
    let root = TestRoot::with_busybox("run-sec");
    let script = "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; cat /proc/keys | wc -c; echo x > /proc/sys/kernel/hostname 2>/dev/null || echo proc-sys-read-only; ls /dev | tr '\\n' ' '";
    let (code, out, err) =
        md(&root, &["run", "--rm", "--network", "none", "busybox", "sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "Docker's default capabilities: {out}");
    assert!(out.contains("NoNewPrivs:\t1") && out.contains("proc-sys-read-only"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "0"), "/proc/keys is masked: {out}");
    assert!(
        out.contains("null") && !out.contains("sda") && !out.contains("vda"),
        "a minimal /dev: {out}"
    );
    // A memory limit is a memory limit: the hog is killed and the state says OOMKilled.
    let (code, _, _) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "hog",
            "-m",
            "16m",
            "busybox",
            "sh",
            "-c",
            "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    assert_eq!(code, 137);
    let (_, oom, _) =
        md(&root, &["inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"]);
    assert_eq!(oom.trim(), "true 137");
    md(&root, &["rm", "hog"]);
    assert!(
        !root.path.join("containers").read_dir().unwrap().any(|_| true),
        "--rm and rm left a container directory"
    );
    assert_clean(&root);
}

#[test]
fn bad_input_is_one_line_and_creates_nothing() {
    if !have_root("bad_input_is_one_line_and_creates_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("run-bad");
    for (args, says) in [
        (vec!["run", "nosuch:1"], "no such image"),
        (
            vec!["run", "--network", "none", "--name", "bad name", "busybox", "true"],
            "invalid container name",
        ),
        (vec!["run", "--network", "wifi", "busybox", "true"], "invalid --network"),
        (vec!["run", "-m", "lots", "busybox", "true"], "invalid size"),
        (vec!["stop", "ghost"], "no such container"),
    ] {
        let (code, _, err) = md(&root, &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    let (code, _, err) = md(&root, &["run", "--network", "none", "busybox", "/no/such/program"]);
    assert_eq!(code, 127, "{err}");
    assert!(!root.path.join("tmp").read_dir().unwrap().any(|_| true));
    assert_clean(&root);
}

#[test]
fn a_hundred_run_rm_cycles_leave_nothing() {
    if !have_root("a_hundred_run_rm_cycles_leave_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("run-100").with_net(14);
    for i in 0..100 {
        // Every other one on the bridge: veths, addresses and NAT rules come and go too.
        let net = if i % 2 == 0 { "bridge" } else { "none" };
        let (code, _, err) = md(&root, &["run", "--rm", "--network", net, "busybox", "true"]);
        assert_eq!(code, 0, "cycle {i}: {err}");
    }
    assert!(root.container_ids().is_empty(), "--rm left containers");
    assert_clean(&root);
    let bridge = root.net.clone().unwrap().0;
    assert!(
        !std::path::Path::new("/sys/class/net").join(&bridge).exists(),
        "the bridge outlived its last container"
    );
    let rules = std::process::Command::new("iptables-save").output().unwrap();
    assert!(
        !String::from_utf8_lossy(&rules.stdout).contains(&format!("MD-{bridge}")),
        "chains of the bridge are left"
    );
}

#[test]
fn network_container_and_host_share_an_existing_network_namespace() {
    if !have_root("network_container_and_host_share_an_existing_network_namespace") {
        return;
    }
    let root = TestRoot::with_busybox("run-netns").with_net(15);
    let (code, _, err) = md(&root, &["run", "-d", "--name", "tgt", "busybox", "sleep", "1000"]);
    assert_eq!(code, 0, "{err}");
    let (_, ip, _) = md(&root, &["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "tgt"]);
    // --network container:tgt: the new container's eth0 is tgt's, address and all.
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "container:tgt",
            "busybox",
            "ip",
            "-4",
            "addr",
            "show",
            "eth0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("inet {}/24", ip.trim())), "{out}");
    // --network host: the host's interfaces (those other tests do not create meanwhile).
    let stable = |names: Vec<String>| {
        let mut v: Vec<String> = names
            .into_iter()
            .filter(|n| !["veth", "ceth", "md"].iter().any(|p| n.starts_with(p)))
            .collect();
        v.sort();
        v
    };
    let host = stable(
        std::fs::read_dir("/sys/class/net")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    );
    let (_, out, _) =
        md(&root, &["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]);
    let inside = stable(out.split_whitespace().map(str::to_owned).collect());
    assert_eq!(inside, host, "--network host shows other interfaces than the host's");
    let (code, _, err) =
        md(&root, &["run", "--rm", "--network", "container:ghost", "busybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("no such container: ghost") && err.lines().count() == 1, "{err}");
    // The bridge's MTU is a host-internal wire's (65535) unless MINIDOCKER_MTU says otherwise;
    // bad values, and another MTU than the running bridge's, are refused before anything is made.
    let (_, out, _) = md(&root, &["exec", "tgt", "cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(out.trim(), "65535");
    for (mtu, says) in
        [("9x", "invalid MINIDOCKER_MTU \"9x\""), ("1500", "created with MTU 65535, not 1500")]
    {
        let (code, _, err) = run(root
            .minidocker()
            .env("MINIDOCKER_MTU", mtu)
            .args(["run", "--rm", "--name", "badmtu", "busybox", "true"]));
        assert!(
            code != 0 && err.contains(says) && err.lines().count() == 1,
            "MINIDOCKER_MTU={mtu}: {err}"
        );
    }
    let (_, all, _) = md(&root, &["ps", "-a"]);
    assert!(!all.contains("badmtu"), "a refused run left a container: {all}");
    md(&root, &["rm", "-f", "tgt"]);
    // The last container took the bridge along: the next one makes it anew, with its MTU.
    let (code, out, err) = run(root.minidocker().env("MINIDOCKER_MTU", "1500").args([
        "run",
        "--rm",
        "busybox",
        "cat",
        "/sys/class/net/eth0/mtu",
    ]));
    assert_eq!((code, out.trim()), (0, "1500"), "{err}");
    assert_clean(&root);
}

/// `minidocker ARGS…` on a terminal of the test's own, as a shell in a terminal window runs
/// it: a pty pair whose slave is the standard input, output and error and the controlling
/// terminal of a shell that runs minidocker, says how it ended (`[exit N]`) and waits for a
/// line. (The shell leads the session: had minidocker led it, its exit would hang the
/// terminal up, and its mode could not be read afterwards.) The test types on the master and
/// reads there what the terminal shows.
struct Terminal {
    master: nix::pty::PtyMaster,
    /// Held open, so the terminal's mode can be read at any time.
    slave: std::fs::File,
    child: std::process::Child,
    seen: String,
}

impl Terminal {
    fn start(root: &TestRoot, args: &[&str], rows: u16, cols: u16) -> Terminal {
        use nix::fcntl::OFlag;
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::process::CommandExt;
        // CLOEXEC: the other tests' children (they run in parallel) must not hold it open.
        let master =
            nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).unwrap();
        nix::pty::grantpt(&master).unwrap();
        nix::pty::unlockpt(&master).unwrap();
        set_size(&master, rows, cols);
        let name = nix::pty::ptsname_r(&master).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&name)
            .unwrap();
        let md = root.minidocker();
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args([
            "-c",
            "\"$@\"; echo \"[exit $?]\"; read _",
            "sh",
            env!("CARGO_BIN_EXE_minidocker"),
        ])
        .args(args);
        for (k, v) in md.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                nix::errno::Errno::result(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        Terminal { master, slave, child, seen: String::new() }
    }

    /// Wait (at most 10 s) until the terminal shows `text`.
    fn expect(&mut self, text: &str) {
        use nix::poll::{poll, PollFd, PollFlags};
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.seen.contains(text) {
            // (Its last 2000 characters: what a test shows can be long.)
            let tail = |s: &str| s.char_indices().rev().nth(2000).map_or(0, |(i, _)| i);
            assert!(
                std::time::Instant::now() < deadline,
                "the terminal never showed {text:?}; it ends with {:?}",
                &self.seen[tail(&self.seen)..]
            );
            let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(&self.master), PollFlags::POLLIN)];
            if poll(&mut fds, nix::poll::PollTimeout::from(100u8)).unwrap_or(0) == 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            if let Ok(n) = nix::unistd::read(&self.master, &mut buf) {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    }

    /// What a terminal window does when it is resized (the kernel then sends SIGWINCH to
    /// the terminal's foreground process group: the shell and minidocker).
    fn resize(&self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
    }

    fn type_in(&self, bytes: &str) {
        nix::unistd::write(&self.master, bytes.as_bytes()).unwrap();
    }

    fn mode(&self) -> nix::sys::termios::Termios {
        nix::sys::termios::tcgetattr(&self.slave).unwrap()
    }

    /// Wait for minidocker to exit: its exit code, what the terminal showed, and the
    /// terminal's mode it left behind.
    fn finish(mut self) -> (i32, String, nix::sys::termios::Termios) {
        self.expect("[exit ");
        self.expect("]");
        let at = self.seen.rfind("[exit ").unwrap();
        let code = self.seen[at + 6..].split(']').next().unwrap().parse().unwrap();
        let mode = self.mode();
        self.type_in("\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the terminal's shell did not exit: {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.seen.truncate(at);
        (code, std::mem::take(&mut self.seen), mode)
    }
}

fn set_size(master: &nix::pty::PtyMaster, rows: u16, cols: u16) {
    let size = nix::pty::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    let fd = std::os::fd::AsRawFd::as_raw_fd(master);
    // SAFETY: TIOCSWINSZ reads a winsize we own.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &size) };
    assert_eq!(rc, 0);
}

/// Run `args` on a fresh terminal of `rows`×`cols`: (exit code, what it showed); the terminal's
/// mode must be the same afterwards.
fn on_terminal(root: &TestRoot, args: &[&str], rows: u16, cols: u16) -> (i32, String) {
    let t = Terminal::start(root, args, rows, cols);
    let before = t.mode();
    let (code, out, after) = t.finish();
    assert_eq!(after, before, "{args:?} left the terminal in another mode");
    (code, out)
}

#[test]
fn run_t_gives_the_container_a_terminal_of_its_own() {
    if !have_root("run_t_gives_the_container_a_terminal_of_its_own") {
        return;
    }
    let root = TestRoot::with_busybox("run-tty");
    // The container's own devpts: its first terminal is pts/0, whatever the host has. (Without
    // -i the caller's terminal stays as it is, as in Docker: its own output processing turns the
    // container terminal's \r\n into \r\r\n, which shows the same.)
    let (code, out) =
        on_terminal(&root, &["run", "-t", "--rm", "--network", "none", "busybox", "tty"], 24, 80);
    assert_eq!((code, out.as_str()), (0, "/dev/pts/0\r\r\n"));
    // Input and output are that terminal, sized like the caller's; TERM says what it is.
    let script = "test -t 0 && test -t 1 && echo both; stty size; echo $TERM; readlink /proc/self/fd/2; ls -l /dev/console";
    let (code, out) = on_terminal(
        &root,
        &["run", "-t", "--rm", "--network", "none", "busybox", "sh", "-c", script],
        33,
        101,
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.split("\r\r\n").collect();
    assert_eq!(lines[..4], ["both", "33 101", "xterm", "/dev/pts/0"], "{out}");
    // /dev/console is the same terminal (bind-mounted, as runc does): char device 136, 0.
    assert!(lines[4].starts_with('c') && lines[4].contains("136,   0"), "{out}");
    // Its owner is the container's user (as runc hands it over), its group `tty` (5).
    let (code, out) = on_terminal(
        &root,
        &[
            "run",
            "-t",
            "--rm",
            "--network",
            "none",
            "-u",
            "1000",
            "busybox",
            "sh",
            "-c",
            "stat -c '%u %g %a' $(tty)",
        ],
        24,
        80,
    );
    assert_eq!((code, out.trim()), (0, "1000 5 620"));
    // Without -t: no terminal at all, even when the caller has one.
    let (code, out) =
        on_terminal(&root, &["run", "--rm", "--network", "none", "busybox", "tty"], 24, 80);
    assert_eq!((code, out.trim()), (1, "not a tty"));
    // And the caller's own terminal, passed through with -i, is not handed to the user.
    let (code, out) = on_terminal(
        &root,
        &[
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            "-u",
            "1000",
            "busybox",
            "stat",
            "-L",
            "-c",
            "%u",
            "/proc/self/fd/0",
        ],
        24,
        80,
    );
    assert_eq!((code, out.trim()), (0, "0"));
    assert!(root.container_ids().is_empty(), "--rm left containers");
    assert_clean(&root);
}

#[test]
fn run_it_is_an_interactive_shell_whose_ctrl_c_reaches_the_foreground_job() {
    if !have_root("run_it_is_an_interactive_shell_whose_ctrl_c_reaches_the_foreground_job") {
        return;
    }
    let root = TestRoot::with_busybox("run-it");
    let mut t = Terminal::start(
        &root,
        &["run", "-it", "--rm", "--network", "none", "busybox", "sh"],
        24,
        80,
    );
    let before = t.mode();
    t.expect("# ");
    // Meanwhile the caller's terminal is raw: the container's terminal echoes and edits.
    let raw = t.mode().local_flags;
    use nix::sys::termios::LocalFlags;
    assert!(!raw.intersects(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG), "{raw:?}");
    t.type_in("echo hi-$((6*7))\r");
    t.expect("hi-42");
    // The window is resized: the terminal inside follows (SIGWINCH, passed on).
    t.resize(40, 120);
    t.type_in("stty size\r");
    t.expect("40 120");
    // Ctrl-C is the byte 0x03 on the wire; the container's line discipline turns it into
    // SIGINT for its foreground job: the sleep ends, the shell lives on.
    t.type_in("sleep 30\r");
    let id = root.container_ids().pop().expect("the container");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !procs_named(&id, "sleep") {
        assert!(std::time::Instant::now() < deadline, "sleep never started: {:?}", t.seen);
        std::thread::sleep(Duration::from_millis(20));
    }
    t.type_in("\x03");
    t.type_in("echo after-$((2+3))\r");
    // Within expect's 10 s: well before the sleep's 30 s were over.
    t.expect("after-5");
    t.type_in("exit\r");
    let (code, out, after) = t.finish();
    assert_eq!(code, 0, "{out}");
    assert_eq!(after, before, "the terminal's mode was not restored");
    assert!(root.container_ids().is_empty(), "--rm left containers");
    assert_clean(&root);
}

#[test]
fn run_it_takes_a_long_paste_while_the_container_prints_without_reading() {
    if !have_root("run_it_takes_a_long_paste_while_the_container_prints_without_reading") {
        return;
    }
    let root = TestRoot::with_busybox("run-it-paste");
    // 20 000 bytes pasted while the container prints 100 kB before it reads any: more than its
    // terminal holds either way (about 16 kB). A monitor that waited for the paste to go in
    // before it copied the output on would wait for the container, and the container for it.
    let script = "echo ready; sleep 1; seq 1 20000; head -c 20000 >/dev/null; echo got-it";
    let mut t = Terminal::start(
        &root,
        &["run", "-it", "--rm", "--network", "none", "busybox", "sh", "-c", script],
        24,
        80,
    );
    t.expect("ready");
    // Typed by another thread, as a terminal window does, while this one reads what it shows.
    let keys = std::os::fd::AsFd::as_fd(&t.master).try_clone_to_owned().unwrap();
    let typing = std::thread::spawn(move || {
        let paste = format!("{}\n", "x".repeat(79)).repeat(250);
        let mut rest = paste.as_bytes();
        while !rest.is_empty() {
            match nix::unistd::write(&keys, rest) {
                Ok(n) => rest = &rest[n..],
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => panic!("typing: {e}"),
            }
        }
    });
    t.expect("got-it");
    typing.join().unwrap();
    let (code, _, _) = t.finish();
    assert_eq!(code, 0);
    assert!(root.container_ids().is_empty(), "--rm left containers");
    assert_clean(&root);
}

/// Does a process named `comm` run in container `id`'s cgroup?
fn procs_named(id: &str, comm: &str) -> bool {
    cgroup_dirs(id).iter().any(|dir| {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        procs.lines().any(|p| {
            std::fs::read_to_string(format!("/proc/{}/comm", p.trim()))
                .is_ok_and(|c| c.trim() == comm)
        })
    })
}

#[test]
fn a_detached_tty_container_is_read_into_its_log() {
    if !have_root("a_detached_tty_container_is_read_into_its_log") {
        return;
    }
    let root = TestRoot::with_busybox("run-dt");
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "-d",
            "-t",
            "--network",
            "none",
            "--name",
            "dt",
            "busybox",
            "sh",
            "-c",
            "echo hello; tty; sleep 30",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A terminal's output, line endings and all, as Docker's logs of a -t container.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, logs, _) = md(&root, &["logs", "dt"]);
        if logs == "hello\r\n/dev/pts/0\r\n" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "logs: {logs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, cfg, _) =
        md(&root, &["inspect", "--format", "{{.Config.Tty}} {{.Config.OpenStdin}}", "dt"]);
    assert_eq!(cfg.trim(), "true false");
    let (code, _, err) = md(&root, &["rm", "-f", "dt"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(md(&root, &["ps", "-a", "-q"]).1, "");
    assert_clean(&root);
}

#[test]
fn run_it_without_a_terminal_is_refused_before_anything_is_made() {
    if !have_root("run_it_without_a_terminal_is_refused_before_anything_is_made") {
        return;
    }
    let root = TestRoot::with_busybox("run-it-pipe");
    // md() gives the command no terminal (its standard input is /dev/null).
    let (code, _, err) = md(&root, &["run", "-it", "--rm", "--network", "none", "busybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a TTY") && err.lines().count() == 1, "{err}");
    assert_eq!(md(&root, &["ps", "-a", "-q"]).1, "");
    assert!(root.container_ids().is_empty());
    // -i alone passes standard input on; without -i the container reads /dev/null.
    let mut cmd = root.minidocker();
    cmd.args(["run", "-i", "--rm", "--network", "none", "busybox", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"typed in\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stdout).as_ref()),
        (Some(0), "typed in\n")
    );
    let mut cmd = root.minidocker();
    cmd.args(["run", "--rm", "--network", "none", "busybox", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Kept open and never written: only /dev/null lets `cat` end.
    let _stdin = child.stdin.take();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("without -i the container read the caller's standard input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    assert_clean(&root);
}

/// `child`'s exit code, waiting at most `secs` seconds (then it is killed and the test fails).
fn exit_within(child: &mut std::process::Child, secs: u64, what: &str) -> i32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: minidocker did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_foreground_container_is_logged_too() {
    if !have_root("a_foreground_container_is_logged_too") {
        return;
    }
    let root = TestRoot::with_busybox("run-fg-log");
    // The caller gets the output and the errors apart, as before; the log gets both, and
    // `logs` prints it all on standard output (the log does not keep the two apart).
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "fg",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!((code, out.as_str(), err.as_str()), (3, "out\n", "err\n"));
    let (code, logs, err) = md(&root, &["logs", "fg"]);
    assert_eq!((code, logs.as_str(), err.as_str()), (0, "out\nerr\n", ""));
    // A large output arrives whole and in order, on the caller's side and in the log.
    let expected: String = (1..=200000).map(|i| format!("{i}\n")).collect();
    let (code, out, err) =
        md(&root, &["run", "--network", "none", "--name", "big", "busybox", "seq", "1", "200000"]);
    assert_eq!(code, 0, "{err}");
    assert!(out == expected, "stdout: {} bytes, {} expected", out.len(), expected.len());
    let (_, logs, _) = md(&root, &["logs", "big"]);
    assert!(logs == expected, "log: {} bytes, {} expected", logs.len(), expected.len());
    // A container without a log (here: taken away) has nothing to print, and that is no error.
    let (_, id, _) = md(&root, &["inspect", "--format", "{{.Id}}", "fg"]);
    std::fs::remove_file(root.path.join("containers").join(id.trim()).join("container.log"))
        .unwrap();
    assert_eq!(md(&root, &["logs", "fg"]), (0, String::new(), String::new()));
    md(&root, &["rm", "fg", "big"]);
    assert_clean(&root);
}

#[test]
fn a_caller_that_stops_reading_neither_stops_the_container_nor_its_log() {
    if !have_root("a_caller_that_stops_reading_neither_stops_the_container_nor_its_log") {
        return;
    }
    let root = TestRoot::with_busybox("run-head");
    // `minidocker run … seq 1 100000 | head -1`: one line read, then the pipe is closed.
    let mut cmd = root.minidocker();
    cmd.args(["run", "--network", "none", "--name", "head", "busybox", "seq", "1", "100000"]);
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first, "1\n");
    // The reader is gone: minidocker gets EPIPE, not its death by SIGPIPE, and goes on.
    let code = exit_within(&mut child, 30, "a closed standard output");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!((code, err.as_str()), (0, ""));
    let (_, logs, _) = md(&root, &["logs", "head"]);
    let expected: String = (1..=100000).map(|i| format!("{i}\n")).collect();
    assert!(logs == expected, "log: {} bytes, {} expected", logs.len(), expected.len());
    let (_, state, _) =
        md(&root, &["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "head"]);
    assert_eq!(state.trim(), "exited 0");
    md(&root, &["rm", "head"]);
    assert_clean(&root);
}

#[test]
fn sigterm_reaches_a_foreground_container_while_the_caller_does_not_read() {
    if !have_root("sigterm_reaches_a_foreground_container_while_the_caller_does_not_read") {
        return;
    }
    let root = TestRoot::with_busybox("run-stalled");
    // `minidocker run … | less`, and less paused: the monitor waits in its write to the
    // caller — and must still pass SIGTERM on.
    let mut cmd = root.minidocker();
    cmd.args([
        "run",
        "--network",
        "none",
        "--name",
        "stalled",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 9' TERM; yes & wait",
    ]);
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.split(' ').nth(2) != Some("Z"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let (_, pid, _) = md(&root, &["inspect", "--format", "{{.State.Pid}}", "stalled"]);
        match pid.trim().parse() {
            Ok(pid) if pid > 0 && alive(pid) => break pid,
            _ => assert!(std::time::Instant::now() < deadline, "the container did not start"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Soon `yes` has filled the pipe, and the monitor's write to it waits.
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGTERM did not reach the container while its output waited"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Read again: the rest is copied, and the container's exit code is run's.
    std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    assert_eq!(exit_within(&mut child, 10, "after the reader came back"), 9);
    md(&root, &["rm", "stalled"]);
    assert_clean(&root);
}

#[test]
fn a_foreground_tty_container_is_logged_too() {
    if !have_root("a_foreground_tty_container_is_logged_too") {
        return;
    }
    let root = TestRoot::with_busybox("run-t-log");
    let (code, out) = on_terminal(
        &root,
        &[
            "run",
            "-t",
            "--network",
            "none",
            "--name",
            "tl",
            "busybox",
            "sh",
            "-c",
            "echo hello; tty",
        ],
        24,
        80,
    );
    assert_eq!((code, out.as_str()), (0, "hello\r\r\n/dev/pts/0\r\r\n"));
    // The log has what the container's terminal said: its own \r\n, not the caller's \r\r\n.
    let (code, logs, _) = md(&root, &["logs", "tl"]);
    assert_eq!((code, logs.as_str()), (0, "hello\r\n/dev/pts/0\r\n"));
    md(&root, &["rm", "tl"]);
    assert_clean(&root);
}

#[test]
fn ctrl_c_and_sigterm_reach_a_foreground_container_while_its_output_is_copied() {
    if !have_root("ctrl_c_and_sigterm_reach_a_foreground_container_while_its_output_is_copied") {
        return;
    }
    let root = TestRoot::with_busybox("run-fg-sig");
    // The container's first process is its PID namespace's init: the kernel delivers it only
    // the signals it handles (a bare `sleep 30` would ignore Ctrl-C, as under Docker). So a
    // shell that traps the signal and waits for its sleep.
    for (sig, name, code) in [
        (nix::sys::signal::Signal::SIGINT, "INT", 130),
        (nix::sys::signal::Signal::SIGTERM, "TERM", 143),
    ] {
        let script =
            format!("trap 'echo got-{name}; exit {code}' {name}; sleep 30 & echo ready; wait");
        let container = format!("sig{name}");
        let mut cmd = root.minidocker();
        cmd.args([
            "run",
            "--network",
            "none",
            "--name",
            &container,
            "busybox",
            "sh",
            "-c",
            &script,
        ]);
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line, "ready\n");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        // Passed on at once: the trap ends the container long before its sleep's 30 s.
        assert_eq!(exit_within(&mut child, 5, name), code);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert_eq!(rest, format!("got-{name}\n"));
        let (_, logs, _) = md(&root, &["logs", &container]);
        assert_eq!(logs, format!("ready\ngot-{name}\n"));
        md(&root, &["rm", &container]);
    }
    assert!(root.container_ids().is_empty());
    assert_clean(&root);
}
