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
/// varies) out.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("hog: ") {
            continue;
        }
        let line = if line.starts_with("  hostname: ") { "  hostname: HOST" } else { line };
        let line = if line.starts_with("  init/etc/resolv.conf: ") { "  init/etc/resolv.conf: HOST'S" } else { line };
        let line = &hide_hex(line);
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
    let store = common::TestRoot::with_busybox("book");
    assert_matches_in(Some(&store), "03-rootfs-aufs.txt", env!("CARGO_BIN_EXE_03-rootfs-aufs"), &[], |_| true);
    store.import("python", "python:3.11-slim");
    assert_matches_in(Some(&store), "04-dockerfile-build.txt", env!("CARGO_BIN_EXE_04-dockerfile-build"), &[], |_| true);
}

#[test]
fn normalize_hides_only_what_varies() {
    assert_eq!(normalize("PID 8486 in 3.00 s\nhog: 16 MiB\n  hostname: vm\n"), "PID N in N.N s\n  hostname: HOST\n");
    assert_eq!(normalize("ID 2f4175433b76 at cafe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/diff"), "ID HEX at cafe HEX/diff\n");
}
