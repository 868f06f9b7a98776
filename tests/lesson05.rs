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
