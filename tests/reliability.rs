//! The reliability suite (issue 14), bounded to a few minutes:
//!
//! - `kill -9` at random moments of `import`, `build`, `commit`, `rmi`, `run -d` and `rm -f`;
//!   after each, `system check` must find no *problem* (a leftover — scratch, an unused blob,
//!   a dead build's lease, a freeze the next command undoes — is allowed: nothing misreads
//!   it), `system check --fix` must leave the store spotless, and a `run` must succeed;
//! - 200 run/rm cycles (most with `--network none`, some on a bridge with a published port)
//!   that leave no mount, cgroup, veth, NAT rule or address file behind.
//!
//! The random moments come from a seed printed at the start; `RELIABILITY_SEED=N` replays one.

mod common;

use common::{busybox_tarball, have_root, md, TestRoot};
use minidocker::cgroups::Layout;
use minidocker::container::run::cgroup_name;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness to pick moments, replayable from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn ok(root: &TestRoot, args: &[&str]) -> String {
    let (code, out, err) = md(root, args);
    assert_eq!(code, 0, "minidocker {}: {err}{out}", args.join(" "));
    out
}

/// Run `minidocker ARGS…` and `kill -9` it after `delay`; whether it had ended by then.
fn kill_after(root: &TestRoot, args: &[&str], delay: Duration) -> bool {
    let mut child = root
        .minidocker()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// How long `minidocker ARGS…` takes when left alone.
fn timed(root: &TestRoot, args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(root, args);
    t.elapsed()
}

/// After a crash: no problem as it is; spotless after --fix; a container runs.
fn after_crash(root: &TestRoot, what: &str) {
    // (A container's monitor may still be recording the end `rm -f` caused.)
    std::thread::sleep(Duration::from_millis(100));
    let (code, out, err) = md(root, &["system", "check"]);
    assert_eq!(code, 0, "{what}: system check found problems:\n{out}{err}");
    let (code, out, err) = md(root, &["system", "check", "--fix"]);
    assert_eq!(code, 0, "{what}: system check --fix:\n{out}{err}");
    let (code, out, err) = md(root, &["system", "check"]);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"), "{what}: after --fix: {err}");
    ok(root, &["run", "--rm", "--network", "none", "busybox", "true"]);
    // No one paused a container here: a killed commit's freeze must be gone.
    let ps = ok(root, &["ps"]);
    assert!(!ps.contains("Paused"), "{what}: {ps}");
    ok(root, &["exec", "keep", "true"]);
}

#[test]
fn kill_9_at_random_moments_leaves_a_store_that_checks_clean() {
    if !have_root("kill_9_at_random_moments_leaves_a_store_that_checks_clean") {
        return;
    }
    let started = Instant::now();
    let seed =
        std::env::var("RELIABILITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
                | 1
        });
    eprintln!("reliability: RELIABILITY_SEED={seed}");
    let mut rng = Rng(seed);
    let root = TestRoot::with_busybox("reliability-kill");
    let tar = busybox_tarball();
    let tar = tar.to_str().unwrap();
    let ctx = root.path.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n",
    )
    .unwrap();
    let ctx = ctx.to_str().unwrap().to_string();
    let script = "head -c 20000000 /dev/zero > /data; echo ready; sleep 1000";
    ok(&root, &["run", "-d", "--network", "none", "--name", "keep", "busybox", "sh", "-c", script]);
    common::wait_for_log(&root, "keep", "ready");

    // Each operation's duration left alone: the kill comes at a random moment within it.
    let took = [
        timed(&root, &["import", tar, "imp:base"]),
        timed(&root, &["build", "--no-cache", "-t", "b:base", &ctx]),
        timed(&root, &["commit", "keep", "c:base"]),
        {
            ok(&root, &["import", tar, "victim:base"]);
            timed(&root, &["rmi", "victim:base"])
        },
        timed(
            &root,
            &["run", "-d", "--network", "none", "--name", "d-base", "busybox", "sleep", "1000"],
        ),
        timed(&root, &["rm", "-f", "d-base"]),
    ];
    const ROUNDS: usize = 60;
    let mut ended = 0;
    for round in 0..ROUNDS {
        let op = round % 6;
        let within = took[op] + took[op] / 4;
        let delay = Duration::from_micros(rng.below(within.as_micros() as u64));
        let (name, tag) = (format!("r{round}"), format!("t:{round}"));
        let args: Vec<&str> = match op {
            0 => vec!["import", tar, &tag],
            1 => vec!["build", "--no-cache", "-t", &tag, &ctx],
            2 => vec!["commit", "keep", &tag],
            3 => {
                ok(&root, &["import", tar, &tag]);
                vec!["rmi", &tag]
            }
            4 => {
                vec!["run", "-d", "--network", "none", "--name", &name, "busybox", "sleep", "1000"]
            }
            _ => {
                ok(
                    &root,
                    &[
                        "run",
                        "-d",
                        "--network",
                        "none",
                        "--name",
                        &name,
                        "busybox",
                        "sleep",
                        "1000",
                    ],
                );
                vec!["rm", "-f", &name]
            }
        };
        let what = format!("round {round}: kill -9 of `{}` after {delay:?}", args[..2].join(" "));
        ended += usize::from(kill_after(&root, &args, delay));
        after_crash(&root, &what);
        // The containers a round made go (keep stays), so the store does not grow.
        if op >= 4 {
            let _ = md(&root, &["rm", "-f", &name]);
        }
    }
    eprintln!(
        "reliability: {ROUNDS} kill -9 rounds ({ended} ended before the kill), 0 failures, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ok(&root, &["rm", "-f", "keep"]);
    let (code, out, _) = md(&root, &["system", "check"]);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
}

/// The container `id`'s cgroups left in any hierarchy.
fn cgroups_of(id: &str) -> Vec<String> {
    Layout::detect()
        .unwrap()
        .hierarchies
        .iter()
        .map(|h| h.mountpoint.join(cgroup_name(id)))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect()
}

/// The lines of `iptables-save` that mention `needle`.
fn nat_rules(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("iptables-save").output().expect("iptables-save");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.starts_with(':') && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn two_hundred_run_rm_cycles_leak_nothing() {
    if !have_root("two_hundred_run_rm_cycles_leak_nothing") {
        return;
    }
    let started = Instant::now();
    let root = TestRoot::with_busybox("reliability-cycles").with_net(77);
    let (bridge, subnet) = root.net.clone().unwrap();
    let prefix = subnet.trim_end_matches("0/24").to_string();
    // The bridge and its rules exist once the first container used it: the baseline.
    ok(&root, &["run", "--rm", "busybox", "true"]);
    let rules_before = nat_rules(&bridge).len() + nat_rules(&prefix).len();
    let mut ids = Vec::new();
    const CYCLES: usize = 200;
    for i in 0..CYCLES {
        let bridged = i % 10 == 0; // 20 of the 200 on the bridge
        let net = if bridged { "bridge" } else { "none" };
        if i % 2 == 1 {
            ok(&root, &["run", "--rm", "--network", net, "busybox", "true"]);
            continue;
        }
        let port = common::free_port().to_string();
        let publish = format!("{port}:80");
        let mut args = vec!["run", "-d", "--network", net];
        if bridged {
            args.extend(["-p", publish.as_str()]);
        }
        args.extend(["busybox", "sleep", "100"]);
        let id = ok(&root, &args).trim().to_string();
        ok(&root, &["rm", "-f", &id]);
        ids.push(id);
    }
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left");
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "tmp/ entries left");
    assert_eq!(root.container_ids(), Vec::<String>::new(), "containers left");
    for id in &ids {
        assert_eq!(cgroups_of(id), Vec::<String>::new(), "cgroups left");
        let veth = minidocker::network::host_veth_name(id);
        assert!(!std::path::Path::new("/sys/class/net").join(&veth).exists(), "{veth} left");
    }
    let ips = minidocker::network::ips_dir(&root.path, &bridge);
    assert_eq!(minidocker::network::ipam::allocated(&ips), vec![], "address files left");
    let rules_after = nat_rules(&bridge).len() + nat_rules(&prefix).len();
    assert_eq!(rules_after, rules_before, "NAT rules left: {:?}", nat_rules(&prefix));
    let (code, out, _) = md(&root, &["system", "check"]);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
    eprintln!(
        "reliability: {CYCLES} run/rm cycles (20 on a bridge), no leak, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
