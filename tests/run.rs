//! Containers as a user sees them: `minidocker run` (foreground and `-d`), `ps`, `logs`,
//! `inspect`, `stop`, `kill`, `rm` — and nothing left behind: no mount, no cgroup, no process.

mod common;

use common::{have_root, md, TestRoot};
use std::time::Duration;

/// Every cgroup directory a container of this root could have left.
fn cgroups_of(root: &TestRoot) -> Vec<String> {
    let mut left = Vec::new();
    let Ok(containers) = std::fs::read_dir(root.path.join("containers")) else { return left };
    let ids: Vec<String> = containers.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for id in &ids {
            let p = h.path().join("minidocker").join(id);
            if p.exists() {
                left.push(p.display().to_string());
            }
        }
    }
    left
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
    let (code, out, err) = md(&root, &["run", "--network", "none", "--name", "fg", "-e", "GREETING=hi", "-w", "/tmp", "busybox", "sh", "-c", "echo $GREETING from $(hostname) in $(pwd); exit 7"]);
    assert_eq!(code, 7, "{err}");
    let line = out.trim();
    let host = line.split(' ').nth(2).unwrap();
    assert!(line.starts_with("hi from ") && line.ends_with(" in /tmp") && host.len() == 12, "{out}");
    // The hostname is the short ID, as in the article.
    let (_, ps, _) = md(&root, &["ps", "-a"]);
    assert!(ps.lines().any(|l| l.starts_with(host) && l.contains("Exited (7)") && l.ends_with("fg")), "{ps}");
    let (code, _, err) = md(&root, &["run", "--network", "none", "--name", "fg", "busybox", "true"]);
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
    let (code, out, err) = md(&root, &["run", "-d", "--network", "none", "--name", "bg", "busybox", "sh", "-c", "echo up; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done"]);
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    let (_, ps, _) = md(&root, &["ps"]);
    assert!(ps.lines().any(|l| l.starts_with(&id[..12]) && l.contains("Up ") && l.ends_with("bg")), "{ps}");
    let (_, pid, _) = md(&root, &["inspect", "--format", "{{.State.Pid}} {{.State.Status}} {{.Name}}", "bg"]);
    let pid_num: i32 = pid.split(' ').next().unwrap().parse().unwrap();
    assert!(pid.trim().ends_with(" running /bg") && pid_num > 1, "{pid}");
    // The container is its own PID namespace's PID 1, and in its own cgroup.
    let status = std::fs::read_to_string(format!("/proc/{pid_num}/status")).unwrap();
    assert!(status.lines().any(|l| l.starts_with("NSpid:") && l.trim_end().ends_with("\t1")), "{status}");
    let cgroup = std::fs::read_to_string(format!("/proc/{pid_num}/cgroup")).unwrap();
    assert!(cgroup.contains(&format!("minidocker/{id}")), "{cgroup}");
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
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(root.path.join("containers").join(&id).join("state.json")).unwrap()).unwrap();
    let (pid, monitor) = (state["pid"].as_i64().unwrap() as i32, state["monitor"].as_i64().unwrap() as i32);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(monitor), nix::sys::signal::Signal::SIGKILL).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (_, ps, _) = md(&root, &["ps", "-a"]);
    assert!(ps.contains("Exited (255)"), "{ps}");
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
    let (code, out, err) = md(&root, &["run", "--rm", "--network", "none", "busybox", "sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "Docker's default capabilities: {out}");
    assert!(out.contains("NoNewPrivs:\t1") && out.contains("proc-sys-read-only"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "0"), "/proc/keys is masked: {out}");
    assert!(out.contains("null") && !out.contains("sda") && !out.contains("vda"), "a minimal /dev: {out}");
    // A memory limit is a memory limit: the hog is killed and the state says OOMKilled.
    let (code, _, _) = md(&root, &["run", "--network", "none", "--name", "hog", "-m", "16m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"]);
    assert_eq!(code, 137);
    let (_, oom, _) = md(&root, &["inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"]);
    assert_eq!(oom.trim(), "true 137");
    md(&root, &["rm", "hog"]);
    assert!(!root.path.join("containers").read_dir().unwrap().any(|_| true), "--rm and rm left a container directory");
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
        (vec!["run", "--network", "none", "--name", "bad name", "busybox", "true"], "invalid container name"),
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
    assert!(!std::path::Path::new("/sys/class/net").join(&bridge).exists(), "the bridge outlived its last container");
    let rules = std::process::Command::new("iptables-save").output().unwrap();
    assert!(!String::from_utf8_lossy(&rules.stdout).contains(&format!("MD-{bridge}")), "chains of the bridge are left");
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
    let (code, out, err) = md(&root, &["run", "--rm", "--network", "container:tgt", "busybox", "ip", "-4", "addr", "show", "eth0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("inet {}/24", ip.trim())), "{out}");
    // --network host: the host's interfaces (those other tests do not create meanwhile).
    let stable = |names: Vec<String>| {
        let mut v: Vec<String> = names.into_iter().filter(|n| !["veth", "ceth", "md"].iter().any(|p| n.starts_with(p))).collect();
        v.sort();
        v
    };
    let host = stable(std::fs::read_dir("/sys/class/net").unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect());
    let (_, out, _) = md(&root, &["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]);
    let inside = stable(out.split_whitespace().map(str::to_owned).collect());
    assert_eq!(inside, host, "--network host shows other interfaces than the host's");
    let (code, _, err) = md(&root, &["run", "--rm", "--network", "container:ghost", "busybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("no such container: ghost") && err.lines().count() == 1, "{err}");
    md(&root, &["rm", "-f", "tgt"]);
    assert_clean(&root);
}
