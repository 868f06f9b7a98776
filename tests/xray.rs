//! `minidocker xray`: what it reports of a running container is what the kernel says when
//! asked directly (readlink, the cgroup file, `ip link`, `iptables-save`, stat), its SVG is
//! well-formed XML naming the container, its layers and its port, and a container that is not
//! running gets one line and a failure.

mod common;

use common::{free_port, md, run, wait_for_log, TestRoot};
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// `net:[4026531840]` → 4026531840, as `readlink /proc/PID/ns/net` shows it.
fn readlink_inode(path: &str) -> u64 {
    let out = Command::new("readlink").arg(path).output().expect("readlink");
    let s = String::from_utf8_lossy(&out.stdout);
    s.trim().split_once(":[").unwrap().1.trim_end_matches(']').parse().unwrap()
}

/// The memory limit file of the process's cgroup, found from `/proc/PID/cgroup` alone: the v1
/// memory hierarchy's `memory.limit_in_bytes` if there is one, else v2's `memory.max`.
fn memory_limit_file(pid: i64) -> String {
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for l in cgroup.lines() {
        let f: Vec<&str> = l.splitn(3, ':').collect();
        if f[1].split(',').any(|c| c == "memory") {
            return format!("/sys/fs/cgroup/memory{}/memory.limit_in_bytes", f[2]);
        }
    }
    let v2 = cgroup.lines().find_map(|l| l.strip_prefix("0::")).expect("a v2 line");
    format!("/sys/fs/cgroup{v2}/memory.max")
}

#[test]
fn xray_reports_what_the_kernel_says() {
    if !common::have_root("xray_reports_what_the_kernel_says") {
        return;
    }
    let root = TestRoot::with_busybox("xray").with_net(31);
    let (bridge, _) = root.net.clone().unwrap();
    let host = root.path.join("shared");
    std::fs::create_dir_all(&host).unwrap();
    let port = free_port();
    let (publish, volume) = (format!("{port}:80"), format!("{}:/data", host.display()));
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--name",
            "xr",
            "-m",
            "64m",
            "-p",
            &publish,
            "-v",
            &volume,
            "busybox",
            "sh",
            "-c",
            "echo ready; exec sleep 1000",
        ],
    );
    assert_eq!(code, 0, "{err}");
    wait_for_log(&root, "xr", "ready");

    let (code, out, err) = md(&root, &["xray", "--format", "json", "xr"]);
    assert_eq!(code, 0, "{err}");
    let x: Value = serde_json::from_str(&out).expect("xray's JSON");
    let pid = x["process"]["host_pid"].as_i64().unwrap();
    assert_eq!(x["process"]["pid_inside"], 1, "the container's first process is PID 1 inside");

    // Namespaces: the inodes readlink shows, each the container's own but user and time.
    let kinds: Vec<&str> =
        x["namespaces"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    for k in ["mnt", "uts", "ipc", "pid", "net", "cgroup", "user"] {
        assert!(kinds.contains(&k), "namespace {k} missing: {kinds:?}");
    }
    for n in x["namespaces"].as_array().unwrap() {
        let kind = n["kind"].as_str().unwrap();
        let inode = readlink_inode(&format!("/proc/{pid}/ns/{kind}"));
        assert_eq!(n["inode"].as_u64(), Some(inode), "namespace {kind}");
        let own = !["user", "time"].contains(&kind);
        assert_eq!(n["own"].as_bool(), Some(own), "namespace {kind} own: {n}");
    }

    // The memory limit: the number in the cgroup file, which is -m's.
    let file = memory_limit_file(pid);
    let in_file: u64 = std::fs::read_to_string(&file).unwrap().trim().parse().unwrap();
    assert_eq!(in_file, 64 << 20, "{file}");
    assert_eq!(x["cgroup"]["limits"]["memory_bytes"].as_u64(), Some(in_file));
    assert!(x["cgroup"]["usage"]["memory_current"].as_u64().is_some_and(|m| m > 0));

    // The host end of the veth: `ip link` shows it as a port of the test's bridge.
    let b = &x["network"]["bridge"];
    let veth = b["host_veth"].as_str().unwrap();
    assert_eq!(b["host_veth_master"], bridge.as_str());
    let (_, link, _) = run(Command::new("ip").args(["-o", "link", "show", veth]));
    assert!(link.contains(&format!("master {bridge} ")), "ip link: {link}");

    // The DNAT rule of -p: a line iptables-save prints.
    let (_, saved, _) = run(Command::new("iptables-save").args(["-t", "nat"]));
    let dnat = b["dnat"].as_array().unwrap();
    assert_eq!(dnat.len(), 1, "{dnat:?}");
    let rule = dnat[0].as_str().unwrap();
    assert!(rule.contains(&format!("--dport {port} ")) && rule.contains("DNAT"), "{rule}");
    assert!(saved.lines().any(|l| l == rule), "iptables-save -t nat has no {rule:?}:\n{saved}");

    // The volume: one inode, seen from the host and from inside.
    let v = &x["volumes"][0];
    let host_ino = std::fs::metadata(&host).unwrap().ino();
    let inside_ino = std::fs::metadata(format!("/proc/{pid}/root/data")).unwrap().ino();
    assert_eq!(host_ino, inside_ino);
    assert_eq!(v["host_inode"].as_u64(), Some(host_ino));
    assert_eq!(v["container_inode"].as_u64(), Some(inside_ino));
    assert_eq!(v["same_inode"], true);
    assert_eq!(v["destination"], "/data");

    // The text figure: 100 columns at most, no colour codes without a terminal.
    let (code, text, err) = md(&root, &["xray", "xr"]);
    assert_eq!(code, 0, "{err}");
    for l in text.lines() {
        assert!(l.chars().count() <= 100, "wider than 100 columns: {l:?}");
        assert!(!l.contains('\x1b'), "colour codes with NO_COLOR: {l:?}");
    }
    // The book's capture (scripts/book-outputs) has the sections xray draws today. Only the
    // headings are compared: the rest pads and wraps by the widths of PIDs, sizes and names.
    let headings = |t: &str| -> Vec<String> {
        t.lines().filter(|l| l.starts_with("── ")).map(str::to_owned).collect()
    };
    let book = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/book/src/output/09-xray.txt"
    ))
    .unwrap();
    assert_eq!(
        headings(&book),
        headings(&text),
        "book/src/output/09-xray.txt is stale: run scripts/book-outputs"
    );
    let short = x["container"]["short_id"].as_str().unwrap();
    assert!(text.contains(short) && text.contains(&format!("{port}->80/tcp")), "{text}");

    // The SVG: well-formed, naming the short ID, every layer and the published port.
    let svg = root.path.join("xr.svg");
    let (code, _, err) = md(&root, &["xray", "--svg", svg.to_str().unwrap(), "xr"]);
    assert_eq!(code, 0, "{err}");
    let doc = std::fs::read_to_string(&svg).unwrap();
    let tree = roxmltree::Document::parse(&doc).expect("a well-formed SVG");
    assert_eq!(tree.root_element().tag_name().name(), "svg");
    let words: String = tree
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(words.contains(short), "{words}");
    for l in x["rootfs"]["layers"].as_array().unwrap() {
        assert!(words.contains(l["short_diff_id"].as_str().unwrap()), "{l} not in {words}");
    }
    assert!(words.contains(&format!(":{port}->80/tcp")), "{words}");
}

#[test]
fn xray_of_a_stopped_or_unknown_container_is_one_line() {
    if !common::have_root("xray_of_a_stopped_or_unknown_container_is_one_line") {
        return;
    }
    let root = TestRoot::with_busybox("xray-stopped");
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "done", "busybox", "true"]);
    assert_eq!(code, 0, "{err}");
    for (name, says) in [("done", "is not running"), ("nobody", "no such container")] {
        let (code, out, err) = md(&root, &["xray", "--format", "json", name]);
        assert_ne!(code, 0, "xray {name} succeeded: {out}");
        assert!(out.is_empty(), "xray {name} printed {out}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(says), "xray {name}: {err}");
    }

    // `--watch` on a container that stops meanwhile: it ends with one line, not a half figure.
    let (code, _, err) = md(
        &root,
        &["run", "-d", "--network", "none", "--name", "brief", "busybox", "sleep", "1000"],
    );
    assert_eq!(code, 0, "{err}");
    let watch = root
        .minidocker()
        .args(["xray", "--watch", "brief"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (code, _, err) = md(&root, &["kill", "brief"]);
    assert_eq!(code, 0, "{err}");
    let out = watch.wait_with_output().unwrap();
    let (stdout, err) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "the watch did not fail once the container stopped");
    assert!(stdout.contains("xray brief"), "it drew the figure while it ran: {stdout}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("brief") && (err.contains("not running") || err.contains("stopped")),
        "{err}"
    );
}
