//! Lesson 05 with no arguments: the article's `-p 4000:80`, or — when port 4000 is taken, as it
//! is by the demo `scripts/setup` leaves running — the next free port, said so; and nothing
//! left behind.

mod common;

use common::{have_root, run, TestRoot};

static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("05"));

#[test]
fn a_taken_default_port_is_replaced_by_the_next_free_one() {
    if !have_root("a_taken_default_port_is_replaced_by_the_next_free_one") {
        return;
    }
    let root = TestRoot::with_busybox("l05-port").with_net(173);
    root.import("python", "python:3.11-slim");
    // Port 4000 taken: by us, or already by someone else — taken either way.
    let _held = std::net::TcpListener::bind(("0.0.0.0", 4000)).ok();
    let (code, out, err) = run(&mut root.cmd(&BIN));
    assert_eq!(code, 0, "{out}\n{err}");
    let port: u16 = out
        .lines()
        .find_map(|l| l.split("port 4000 is taken").nth(1))
        .and_then(|rest| rest.split("using ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no note about port 4000:\n{out}"));
    assert!(port > 4000, "{out}");
    assert!(out.contains(&format!("curl localhost:{port}")), "{out}");
    assert!(out.contains("the answer came from inside"), "{out}");
    assert_eq!(root.container_ids(), Vec::<String>::new(), "the container is left");
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
}

/// The check wires a child of its own to a bridge of its own with the exercise's functions:
/// the reference answer passes, the untouched starter fails at the veth and at curl, and
/// neither leaves its bridge, veth or rules behind.
#[test]
fn the_check_passes_with_the_answer_and_fails_with_the_starter() {
    if !have_root("the_check_passes_with_the_answer_and_fails_with_the_starter") {
        return;
    }
    let (code, out, err) = run(common::bin(&BIN).args(["--check", "--solution"]));
    assert_eq!(code, 0, "the reference answer fails its check:\n{out}{err}");
    let (code, out, err) = run(common::bin(&BIN).arg("--check"));
    assert_eq!(code, 1, "the starter passes its check:\n{out}{err}");
    assert!(out.contains("FAIL the child's namespace has it as eth0"), "{out}");
    assert!(out.contains("FAIL nat OUTPUT jumps to"), "{out}");
    assert!(out.contains("FAIL 127.0.0.1:"), "{out}");
    let save = std::process::Command::new("iptables-save").output().unwrap();
    let save = String::from_utf8_lossy(&save.stdout);
    assert!(!save.contains("mdck"), "the check left rules behind:\n{save}");
    let links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mdck"))
        .collect();
    assert!(links.is_empty(), "the check left its bridge: {links:?}");
}
