//! The workshop's main job, end to end: the article's Flask app built from
//! `assets/helloworld`, run with a published port, answering `curl` through it — and the
//! bridge networking under it: distinct addresses for concurrent containers, nothing left
//! behind after `rm -f`, even when the monitor was killed with -9.

mod common;

use common::{have_root, md, TestRoot};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// `curl -s ADDR/`: the body, retried until the server is up (at most `wait`).
fn get(addr: &str, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        if let Ok(mut s) =
            std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
        {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut resp = String::new();
            if s.read_to_string(&mut resp).is_ok() && resp.starts_with("HTTP/1.") {
                return resp.split_once("\r\n\r\n").map(|(_, body)| body.to_string());
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What a container leaves on the host while it exists: its veth, NAT rules, address file.
fn traces(root: &TestRoot, id: &str) -> Vec<String> {
    let mut t = Vec::new();
    let veth = minidocker::network::host_veth_name(id);
    if std::path::Path::new("/sys/class/net").join(&veth).exists() {
        t.push(format!("veth {veth}"));
    }
    let rules = std::process::Command::new("iptables-save").output().unwrap();
    let tag = format!("minidocker:{id}");
    t.extend(
        String::from_utf8_lossy(&rules.stdout)
            .lines()
            .filter(|l| l.contains(&tag))
            .map(str::to_owned),
    );
    let (bridge, _) = root.net.clone().unwrap();
    let ips = minidocker::network::ips_dir(&root.path, &bridge);
    t.extend(
        minidocker::network::ipam::find(&ips, id).into_iter().map(|ip| format!("address {ip}")),
    );
    t.extend(root.host_mounts());
    t
}

#[test]
fn the_article_flask_app_answers_through_the_published_port() {
    if !have_root("the_article_flask_app_answers_through_the_published_port") {
        return;
    }
    let root = TestRoot::new("flask").with_net(11);
    root.import("python", "python:3.11-slim");
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld");
    let (code, out, err) = md(&root, &["build", "-t", "helloworld", assets]);
    assert_eq!(code, 0, "{out}\n{err}");
    let port = common::free_port();
    let publish = format!("{port}:80");
    let (code, out, err) =
        md(&root, &["run", "-d", "-p", &publish, "--name", "hello", "helloworld"]);
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();

    // The article's check: curl localhost:4000 (here: a free port) answers from the container.
    let body = get(&format!("127.0.0.1:{port}"), Duration::from_secs(20)).unwrap_or_else(|| {
        panic!("no answer on :{port}; logs: {}", md(&root, &["logs", "hello"]).1)
    });
    assert_eq!(body, format!("<h3>Hello World!</h3><b>Hostname:</b> {}<br/>", &id[..12]));
    // The container's own address answers too, from the host.
    let (_, ip, _) = md(&root, &["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "hello"]);
    let ip = ip.trim();
    let subnet = &root.net.as_ref().unwrap().1;
    assert!(ip.starts_with(subnet.trim_end_matches("0/24")), "{ip} not in {subnet}");
    assert_eq!(get(&format!("{ip}:80"), Duration::from_secs(5)), Some(body));

    let (_, ps, _) = md(&root, &["ps"]);
    let line = ps.lines().find(|l| l.starts_with(&id[..12])).unwrap_or_else(|| panic!("{ps}"));
    assert!(
        line.contains("helloworld") && line.contains("\"python app.py\"") && line.contains("Up "),
        "{line}"
    );
    assert!(line.contains(&format!("0.0.0.0:{port}->80/tcp")) && line.ends_with("hello"), "{line}");
    let (_, logs, _) = md(&root, &["logs", "hello"]);
    assert!(logs.contains("Running on") && logs.contains("\"GET / HTTP/1.0\" 200"), "{logs}");
    let (_, pid, _) = md(&root, &["inspect", "--format", "{{.State.Pid}}", "hello"]);
    let pid: i32 = pid.trim().parse().unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, "python\0app.py\0");

    let (code, _, _) = md(&root, &["stop", "hello"]);
    assert_eq!(code, 0);
    assert!(md(&root, &["ps", "-a"]).1.contains("Exited"), "stopped");
    assert!(
        get(&format!("127.0.0.1:{port}"), Duration::from_millis(300)).is_none(),
        "the port still answers after stop"
    );
    let (code, _, _) = md(&root, &["rm", "hello"]);
    assert_eq!(code, 0);
    assert_eq!(traces(&root, &id), Vec::<String>::new());
}

#[test]
fn twenty_concurrent_containers_get_distinct_addresses_and_all_answer() {
    if !have_root("twenty_concurrent_containers_get_distinct_addresses_and_all_answer") {
        return;
    }
    let root = TestRoot::with_busybox("flask-20").with_net(12);
    // Twenty different free ports: held open together while they are picked, or the kernel
    // may hand the same one out twice.
    let held: Vec<std::net::TcpListener> =
        (0..20).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let ports: Vec<u16> = held.iter().map(|l| l.local_addr().unwrap().port()).collect();
    drop(held);
    let server = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www";
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ports
            .iter()
            .map(|p| {
                let publish = format!("127.0.0.1:{p}:80");
                let root = &root;
                s.spawn(move || {
                    let (code, out, err) =
                        md(root, &["run", "-d", "-p", &publish, "busybox", "sh", "-c", server]);
                    assert_eq!(code, 0, "{err}");
                    out.trim().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ips = std::collections::BTreeSet::new();
    for (id, port) in ids.iter().zip(&ports) {
        let (_, ip, _) = md(&root, &["inspect", "--format", "{{.NetworkSettings.IPAddress}}", id]);
        ips.insert(ip.trim().to_string());
        let body = get(&format!("127.0.0.1:{port}"), Duration::from_secs(10));
        assert_eq!(body.as_deref().map(str::trim), Some(&id[..12]), "container {id} on :{port}");
    }
    assert_eq!(ips.len(), 20, "addresses handed out twice: {ips:?}");
    let (code, _, err) = md(
        &root,
        &[&["rm", "-f"][..], &ids.iter().map(String::as_str).collect::<Vec<_>>()].concat(),
    );
    assert_eq!(code, 0, "{err}");
    for id in &ids {
        assert_eq!(traces(&root, id), Vec::<String>::new());
    }
}

#[test]
fn kill_9_of_the_monitor_then_rm_f_leaves_nothing() {
    if !have_root("kill_9_of_the_monitor_then_rm_f_leaves_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("flask-k9").with_net(13);
    let port = common::free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "-d",
            "-p",
            &publish,
            "busybox",
            "sh",
            "-c",
            "mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 80 -h /w",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    assert_eq!(get(&format!("127.0.0.1:{port}"), Duration::from_secs(10)).as_deref(), Some("ok\n"));
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.path.join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let monitor = state["monitor"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(monitor), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (code, _, err) = md(&root, &["rm", "-f", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(traces(&root, &id), Vec::<String>::new());
    assert!(!root.path.join("containers").join(&id).exists());
    // A port in use is refused before anything is made.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let publish = format!("127.0.0.1:{}:80", busy.local_addr().unwrap().port());
    let (code, _, err) = md(&root, &["run", "-d", "-p", &publish, "busybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("already in use") && err.lines().count() == 1, "{err}");
    assert!(root.container_ids().is_empty(), "a refused run left a container");
}
