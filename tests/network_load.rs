//! The bridge network under load: many `run --rm` at once, and an `rm -f` killed half-way —
//! all through the `minidocker` binary, on a bridge and subnet of the test's own.

mod common;

use common::{md, TestRoot};
use std::time::Duration;

fn mtu(name: &str) -> Option<String> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu")).ok().map(|m| m.trim().into())
}

/// Nothing of the bridge is left: the link, its chains and jumps, its address files.
fn assert_no_bridge(root: &TestRoot) {
    let bridge = root.net.clone().unwrap().0;
    assert_eq!(mtu(&bridge), None, "the bridge outlived its last container");
    let rules = std::process::Command::new("iptables-save").output().unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(!rules.contains(&format!("MD-{bridge}")), "chains of the bridge are left");
    assert!(!root.path.join("network").join(&bridge).exists(), "address files are left");
}

/// Three loops side by side, twenty `run --rm` each (the reproduction: containers
/// start while others stop and the last one of the moment removes the bridge).
#[test]
fn three_concurrent_loops_of_twenty_runs_all_succeed() {
    if !common::have_root("three_concurrent_loops_of_twenty_runs_all_succeed") {
        return;
    }
    let root = TestRoot::with_busybox("net-load").with_net(41);
    let failures: Vec<String> = std::thread::scope(|s| {
        let loops: Vec<_> = (0..3)
            .map(|l| {
                let root = &root;
                s.spawn(move || {
                    let mut failed = Vec::new();
                    for i in 0..20 {
                        let (code, _, err) =
                            md(root, &["run", "--rm", "--network", "bridge", "busybox", "true"]);
                        if code != 0 {
                            failed.push(format!("loop {l}, run {i}: exit {code}: {}", err.trim()));
                        }
                    }
                    failed
                })
            })
            .collect();
        loops.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{} of 60 runs failed:\n{}", failures.len(), failures.join("\n"));
    assert!(root.container_ids().is_empty(), "--rm left containers: {:?}", root.container_ids());
    assert_no_bridge(&root);
}

#[test]
fn an_rm_f_killed_half_way_does_not_block_later_runs() {
    if !common::have_root("an_rm_f_killed_half_way_does_not_block_later_runs") {
        return;
    }
    let root = TestRoot::with_busybox("net-rmkill").with_net(42);
    let bridge = root.net.clone().unwrap().0;
    let run_d = |name: &str| {
        let (code, out, err) = md(&root, &["run", "-d", "--name", name, "busybox", "sleep", "300"]);
        assert_eq!(code, 0, "{err}");
        out.trim().to_string()
    };
    // Where a killed `rm -f` can stop: the container's veth deleted, its address still held —
    // the bridge without a port. Its MTU stays the one it was created with.
    let id = run_d("halfway");
    let veth = minidocker::network::host_veth_name(&id);
    let mut nl = minidocker::network::netlink::Netlink::open().unwrap();
    let link = nl.link(&veth).unwrap().expect("the container's veth");
    nl.delete_link(&link).unwrap();
    assert_eq!(mtu(&bridge).as_deref(), Some("65535"), "the bridge's MTU fell with its last port");
    let (code, out, err) = md(&root, &["run", "--rm", "busybox", "echo", "still runs"]);
    assert_eq!((code, out.trim(), err.as_str()), (0, "still runs", ""));

    // And a real `rm -f`, killed with SIGKILL at several moments.
    for (round, delay_ms) in [0u64, 5, 15, 30, 60, 120].into_iter().enumerate() {
        let name = format!("victim{round}");
        run_d(&name);
        let mut rm = root.minidocker().args(["rm", "-f", &name]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = rm.kill();
        let _ = rm.wait();
        let (code, out, err) = md(&root, &["run", "--rm", "busybox", "echo", "ok"]);
        assert_eq!(
            (code, out.trim(), err.as_str()),
            (0, "ok", ""),
            "a run after an rm -f killed after {delay_ms} ms"
        );
    }
    // What the killed commands left is removed by a second `rm -f` (a directory half
    // removed is the store's business: `system check`), and the bridge goes with the last.
    let (code, _, err) = md(&root, &["rm", "-f", "halfway"]);
    assert_eq!(code, 0, "{err}");
    for round in 0..6 {
        let _ = md(&root, &["rm", "-f", &format!("victim{round}")]);
    }
    let (_, left, _) = md(&root, &["ps", "-aq"]);
    assert_eq!(left, "", "containers left");
    assert_no_bridge(&root);
}
