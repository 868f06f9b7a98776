//! The image store speaks OCI with tools nobody here wrote: skopeo and umoci read what we
//! write, and an image umoci changed (a new layer with a whiteout) loads and runs in lesson 03.

mod common;

use common::{have_root, run, TestRoot};
use minidocker::image::Store;
use std::process::Command;

/// Run a host tool; its failure fails the test with its stderr. scripts/test installs them.
fn tool(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{} is needed (scripts/test installs it): {e}", args[0]));
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn skopeo_and_umoci_read_our_layout() {
    if !have_root("skopeo_and_umoci_read_our_layout") {
        return;
    }
    let root = TestRoot::with_busybox("interop-read");
    let ours = Store::open(&root.path).unwrap().resolve("busybox").unwrap();
    let layout = root.path.join("images");
    let inspect = tool(&["skopeo", "inspect", &format!("oci:{}:busybox:latest", layout.display())]);
    let json: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(
        json["Layers"][0].as_str(),
        Some(ours.manifest.layers[0].digest.as_str()),
        "{inspect}"
    );
    assert_eq!(json["Architecture"].as_str(), Some(ours.config.architecture.as_str()));

    let bundle = root.path.join("bundle");
    tool(&[
        "umoci",
        "unpack",
        "--image",
        &format!("{}:busybox:latest", layout.display()),
        &bundle.to_string_lossy(),
    ]);
    assert!(bundle.join("rootfs/bin/busybox").is_file() && bundle.join("config.json").is_file());
}

#[test]
fn an_image_umoci_changed_loads_and_runs_with_its_whiteout() {
    if !have_root("an_image_umoci_changed_loads_and_runs_with_its_whiteout") {
        return;
    }
    let a = TestRoot::with_busybox("interop-a");
    let layout = a.path.join("copied");
    let bundle = a.path.join("bundle");
    let (layout_s, bundle_s) =
        (layout.to_string_lossy().into_owned(), bundle.to_string_lossy().into_owned());
    // skopeo copies our image into a layout of its own; umoci unpacks it, we change the tree,
    // umoci repacks the change as a second layer: a new file and a `.wh.group` whiteout.
    tool(&[
        "skopeo",
        "copy",
        "-q",
        &format!("oci:{}:busybox:latest", a.path.join("images").display()),
        &format!("oci:{layout_s}:busybox:base"),
    ]);
    tool(&["umoci", "unpack", "--image", &format!("{layout_s}:busybox:base"), &bundle_s]);
    std::fs::remove_file(bundle.join("rootfs/etc/group")).unwrap();
    std::fs::write(bundle.join("rootfs/umoci.txt"), "written by umoci\n").unwrap();
    tool(&["umoci", "repack", "--image", &format!("{layout_s}:busybox:changed"), &bundle_s]);

    let b = TestRoot::new("interop-b");
    let (code, out, err) = run(b.minidocker().args(["load", "-i", &layout_s]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Loaded image: busybox:base") && out.contains("Loaded image: busybox:changed"),
        "{out}"
    );
    let changed = Store::open(&b.path).unwrap().resolve("busybox:changed").unwrap();
    assert_eq!(changed.diff_ids().len(), 2, "umoci's change is a layer of its own");
    assert!(b.scratch_left().is_empty());

    let script = "cat /umoci.txt; test -e /etc/group && echo group-still-there || echo group-gone";
    let (code, out, err) = run(b.cmd(&common::lesson_bin("03")).args([
        "--image",
        "busybox:changed",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("written by umoci") && out.contains("group-gone"), "{out}");
    let (_, out, _) = run(b.cmd(&common::lesson_bin("03")).args([
        "--image",
        "busybox:base",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]));
    assert!(
        out.contains("group-still-there") && !out.contains("written by umoci"),
        "the base image must not see the change:\n{out}"
    );
}
