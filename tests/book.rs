//! The book stays true: its listings are included from the sources by anchors that exist, and
//! the outputs it shows are what the binaries print today (numbers aside: PIDs, inodes and
//! timings differ from run to run). Refresh the outputs with scripts/book-outputs.

mod common;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_include_resolves() {
    let src = Path::new(ROOT).join("book/src");
    let mut n = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for inc in text.split("{{#include ").skip(1) {
            let spec = inc.split("}}").next().unwrap();
            let (file, anchor) = spec.split_once(':').map_or((spec, None), |(f, a)| (f, Some(a)));
            let target = src.join(file);
            let body = std::fs::read_to_string(&target).unwrap_or_else(|_| panic!("{}: {file} does not exist", path.display()));
            if let Some(a) = anchor.filter(|a| !a.chars().next().unwrap().is_ascii_digit()) {
                assert!(body.contains(&format!("ANCHOR: {a}\n")), "{}: no anchor {a} in {file}", path.display());
                assert!(body.contains(&format!("ANCHOR_END: {a}\n")), "{}: anchor {a} never ends in {file}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} includes found");
}

/// Numbers out, IDs and digests (12 or more hex digits) out, the host's hostname and DNS
/// servers out, and the memory hog's progress lines (how many it prints before the OOM kill
/// varies) out. Containers' made-up names (`jolly_curie`, from their random IDs) out, and so
/// are the 10 hex digits of a container's ID in its veth's name.
fn normalize(text: &str) -> String {
    let names = container_names();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("hog: ") {
            continue;
        }
        let line = if line.starts_with("  hostname: ") { "  hostname: HOST" } else { line };
        let line = if line.starts_with("  init/etc/resolv.conf: ") { "  init/etc/resolv.conf: HOST'S" } else { line };
        let line = names.iter().fold(line.to_string(), |l, n| l.replace(n.as_str(), "NAME"));
        let line = &hide_hex(&hide_veth(&line));
        let mut prev_digit = false;
        for c in line.trim_end().chars() {
            if c.is_ascii_digit() {
                if !prev_digit {
                    out.push('N');
                }
                prev_digit = true;
            } else {
                out.push(c);
                prev_digit = false;
            }
        }
        out.push('\n');
    }
    out
}

/// Every name `minidocker run` can make up for a container (`adjective_scientist`).
fn container_names() -> Vec<String> {
    (0..256u32).map(|n| minidocker::container::state::random_name(&format!("{n:08x}"))).collect()
}

/// `veth` and the first 10 hex digits of a container's ID (the host end of its veth pair)
/// becomes `vethHEX`: too short for [`hide_hex`].
fn hide_veth(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("veth") {
        let (before, after) = rest.split_at(at + 4);
        out += before;
        let id: String = after.chars().take_while(char::is_ascii_hexdigit).collect();
        if id.len() == 10 {
            out += "HEX";
            rest = &after[10..];
        } else {
            rest = after;
        }
    }
    out + rest
}

/// Runs of 12 or more hex digits (image IDs, digests, container IDs) become `HEX`.
fn hide_hex(line: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in line.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out += if run.len() >= 12 { "HEX" } else { &run };
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

fn assert_matches(captured: &str, bin: &str, args: &[&str], filter: fn(&str) -> bool) {
    assert_matches_in(None, captured, bin, args, filter)
}

/// With a store: its path is shown as `$MINIDOCKER_ROOT`, as scripts/book-outputs writes it.
fn assert_matches_in(store: Option<&common::TestRoot>, captured: &str, bin: &str, args: &[&str], filter: fn(&str) -> bool) {
    let mut cmd = match store {
        Some(root) => root.cmd(bin),
        None => common::bin(bin),
    };
    let (code, out, err) = common::run(cmd.args(args));
    let out = match store {
        Some(root) => out.replace(&*root.path.to_string_lossy(), "$MINIDOCKER_ROOT"),
        None => out,
    };
    // A store with a network of its own: its bridge is shown as scripts/book-outputs's, mdbook0.
    let out = match store.and_then(|root| root.net.as_ref()) {
        Some((bridge, _)) => out.replace(bridge.as_str(), "mdbook0"),
        None => out,
    };
    // Paths in the repository are shown relative to it, as scripts/book-outputs writes them.
    let out = out.replace(concat!(env!("CARGO_MANIFEST_DIR"), "/"), "");
    assert_eq!(code, 0, "{err}");
    let fresh: String = out.lines().filter(|l| filter(l)).map(|l| format!("{l}\n")).collect();
    let stored = std::fs::read_to_string(Path::new(ROOT).join("book/src/output").join(captured)).unwrap();
    assert_eq!(normalize(&stored), normalize(&fresh), "book/src/output/{captured} is stale: run scripts/book-outputs");
}

#[test]
fn shown_outputs_are_what_the_binaries_print() {
    if !common::have_root("shown_outputs_are_what_the_binaries_print") {
        return;
    }
    assert_matches("01-namespaces.txt", env!("CARGO_BIN_EXE_01-namespaces"), &[], |_| true);
    assert_matches("01-namespaces-syscalls.txt", env!("CARGO_BIN_EXE_01-namespaces"), &["--explain", "--", "true"], |l| l.contains("syscall"));
    assert_matches("02-cgroups.txt", env!("CARGO_BIN_EXE_02-cgroups"), &[], |_| true);
    // A bridge and subnet of the test's own for lesson 05 (scripts/book-outputs uses mdbook0).
    let store = common::TestRoot::with_busybox("book").with_net(21);
    assert_matches_in(Some(&store), "03-rootfs-aufs.txt", env!("CARGO_BIN_EXE_03-rootfs-aufs"), &[], |_| true);
    store.import("python", "python:3.11-slim");
    assert_matches_in(Some(&store), "04-dockerfile-build.txt", env!("CARGO_BIN_EXE_04-dockerfile-build"), &[], |_| true);

    let (code, _, err) = common::run(store.minidocker().args(["build", "-t", "helloworld", concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld")]));
    assert_eq!(code, 0, "building helloworld: {err}");
    // The capture's port, 4096, unless something here listens on it (numbers are compared as N).
    let port = std::net::TcpListener::bind(("0.0.0.0", 4096)).or_else(|_| std::net::TcpListener::bind(("0.0.0.0", 0))).unwrap().local_addr().unwrap().port();
    let publish = format!("{port}:80");
    assert_matches_in(Some(&store), "05-run-and-port.txt", env!("CARGO_BIN_EXE_05-run-and-port"), &["-p", &publish], |_| true);

    let (code, _, err) = common::run(store.minidocker().args(["run", "-d", "--network", "none", "--name", "target", "busybox", "sleep", "1000"]));
    assert_eq!(code, 0, "starting the container to enter: {err}");
    let (_, pid, _) = common::run(store.minidocker().args(["inspect", "--format", "{{.State.Pid}}", "target"]));
    let pid = pid.trim();
    let exec06 = env!("CARGO_BIN_EXE_06-exec-setns");
    assert_matches("06-exec-setns-net.txt", exec06, &[&format!("/proc/{pid}/ns/net"), "ip", "addr"], |_| true);
    assert_matches("06-exec-setns-pid.txt", exec06, &[&format!("/proc/{pid}/ns/pid"), "sh", "-c", r#"echo "me: $$"; sh -c "echo my child: \$\$""#], |_| true);
    assert_matches_in(Some(&store), "06-exec-setns.txt", exec06, &["--target", "target"], |_| true);
    let (code, _, err) = common::run(store.minidocker().args(["rm", "-f", "target"]));
    assert_eq!(code, 0, "removing the container: {err}");

    assert_matches_in(Some(&store), "07-commit.txt", env!("CARGO_BIN_EXE_07-commit"), &[], |_| true);
}

#[test]
fn normalize_hides_only_what_varies() {
    assert_eq!(normalize("PID 8486 in 3.00 s\nhog: 16 MiB\n  hostname: vm\n"), "PID N in N.N s\n  hostname: HOST\n");
    assert_eq!(normalize("ID 2f4175433b76 at cafe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/diff"), "ID HEX at cafe HEX/diff\n");
    assert_eq!(normalize("(name jolly_curie) NAMES brave_babbage, not pid_for_children"), "(name NAME) NAMES NAME, not pid_for_children\n");
    assert_eq!(normalize("veth pair: vethd745831668 on the host, not vethernet or veth12"), "veth pair: vethHEX on the host, not vethernet or vethN\n");
}
