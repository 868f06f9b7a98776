//! The image store end to end, through the `minidocker` binary: malicious or broken input is
//! refused in one line and leaves nothing behind; layers shared by images live as long as one
//! of them does; `images` looks like Docker's.
//!
//! Every test has its own `MINIDOCKER_ROOT` (a `common::TestRoot`, removed when dropped).

mod common;

use common::{have_root, TestRoot};
use minidocker::image::oci::{self, host_platform};
use minidocker::image::Digest;
use serde_json::json;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

// ---- a raw tar writer (names are not checked: that is the point) ----------------------------

const BLOCK: usize = 512;

/// One ustar entry: `kind` is the typeflag ('0' file, '1' hard link, '2' symlink, '3' char
/// device, '5' directory, '6' FIFO), `link` the link target, `dev` the device numbers.
fn entry(tar: &mut Vec<u8>, kind: u8, name: &str, link: &str, data: &[u8], dev: (u32, u32)) {
    fn octal(field: &mut [u8], v: u64) {
        let s = format!("{v:0w$o}\0", w = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], if kind == b'5' { 0o755 } else { 0o644 });
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], data.len() as u64);
    octal(&mut h[136..148], 1_600_000_000);
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], dev.0.into());
    octal(&mut h[337..345], dev.1.into());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&h);
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(BLOCK), 0);
}

fn file(tar: &mut Vec<u8>, name: &str, data: &str) {
    entry(tar, b'0', name, "", data.as_bytes(), (0, 0));
}

fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0; 2 * BLOCK]);
    tar
}

/// A small, harmless root filesystem: `etc/` and `etc/hello` saying `text`.
fn good_tar(text: &str) -> Vec<u8> {
    let mut t = Vec::new();
    entry(&mut t, b'5', "etc/", "", b"", (0, 0));
    file(&mut t, "etc/hello", text);
    end(t)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

// ---- running minidocker and looking at the store ----------------------------------------------

/// `minidocker ARGS…` with this test's root; killed (and the test failed) after 60 s, so that a
/// hang is a failure and not a stuck suite.
fn md(root: &TestRoot, args: &[&str]) -> (i32, String, String) {
    let mut child = root
        .minidocker()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("minidocker {args:?} hung (killed after 60 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A file of the test's own, next to (not inside) the store.
fn scratch_file(root: &TestRoot, name: &str, bytes: &[u8]) -> String {
    let dir = root.path.with_extension("input");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// Removes a test's input directory (`<root>.input`) when dropped.
struct Inputs(PathBuf);

impl Inputs {
    fn of(root: &TestRoot) -> Inputs {
        Inputs(root.path.with_extension("input"))
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn layers(root: &TestRoot) -> Vec<String> {
    names(&root.path.join("layers"))
}

fn blobs(root: &TestRoot) -> Vec<String> {
    names(&root.path.join("images/blobs/sha256"))
}

fn index_manifests(root: &TestRoot) -> Vec<serde_json::Value> {
    let text = fs::read(root.path.join("images/index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&text).unwrap();
    index["manifests"].as_array().cloned().unwrap_or_default()
}

/// The store as a fresh one: no layer, no scratch dir, no blob, an index naming nothing, and
/// nothing else in the root.
fn assert_store_empty(root: &TestRoot) {
    assert_eq!(layers(root), Vec::<String>::new(), "layers/ left behind");
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "tmp/ left behind");
    assert_eq!(blobs(root), Vec::<String>::new(), "blobs left behind");
    assert_eq!(
        index_manifests(root),
        Vec::<serde_json::Value>::new(),
        "index.json names something"
    );
    // (`lock` only if the command got as far as locking: an import unpacks before it locks.)
    let top: Vec<String> = names(&root.path).into_iter().filter(|n| n != "lock").collect();
    assert_eq!(top, ["images", "layers", "tmp"]);
    assert_eq!(names(&root.path.join("images")), ["blobs", "index.json", "oci-layout"]);
}

/// stderr is exactly one line, the error; returns it.
fn one_error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{stderr}");
    assert!(lines[0].starts_with("minidocker: error: "), "{stderr}");
    lines[0].to_string()
}

/// Import `tar` into a fresh store: it must fail with one line containing `what`, and leave the
/// store empty.
fn import_is_refused(test: &str, tar: &[u8], what: &str) {
    let root = TestRoot::new(test);
    let _inputs = Inputs::of(&root);
    let input = scratch_file(&root, "layer.tar", tar);
    // The store exists before the import, so that "empty afterwards" means something.
    assert_eq!(md(&root, &["images"]).0, 0);
    let (code, out, err) = md(&root, &["import", &input, "evil:latest"]);
    assert_ne!(code, 0, "the import succeeded: {out}");
    let line = one_error_line(&err);
    assert!(line.contains(what), "{line:?} does not say {what:?}");
    assert_eq!(out, "", "stdout");
    assert_store_empty(&root);
}

fn import(root: &TestRoot, path: &str, name: &str) -> String {
    let (code, out, err) = md(root, &["import", path, name]);
    assert_eq!(code, 0, "import {path} {name}: {err}");
    let id = out.trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    id
}

// ---- import: refused ------------------------------------------------------------------------

/// A name climbing out of the layer.
#[test]
fn import_refuses_a_dotdot_name() {
    if !have_root("import_refuses_a_dotdot_name") {
        return;
    }
    let mut t = Vec::new();
    file(&mut t, "ok", "fine");
    file(&mut t, "../../../../escape", "pwned");
    import_is_refused("store-dotdot", &end(t), "climbs out of the layer");
}

/// The same, gzipped: the decompressing path refuses it the same way.
#[test]
fn import_refuses_a_dotdot_name_gzipped() {
    if !have_root("import_refuses_a_dotdot_name_gzipped") {
        return;
    }
    let mut t = Vec::new();
    file(&mut t, "../escape", "pwned");
    import_is_refused("store-dotdot-gz", &gzip(&end(t)), "climbs out of the layer");
}

/// A device node outside `/dev` (here: the host's first disk, made readable).
#[test]
fn import_refuses_a_device_outside_dev() {
    if !have_root("import_refuses_a_device_outside_dev") {
        return;
    }
    let mut t = Vec::new();
    entry(&mut t, b'4', "disk", "", b"", (8, 0));
    import_is_refused("store-device", &end(t), "device");
}

/// A hard link to a host file.
#[test]
fn import_refuses_a_hardlink_to_a_host_file() {
    if !have_root("import_refuses_a_hardlink_to_a_host_file") {
        return;
    }
    let mut t = Vec::new();
    entry(&mut t, b'1', "shadow", "/etc/shadow", b"", (0, 0));
    import_is_refused("store-hardlink", &end(t), "not in this layer");
}

/// A whiteout of `..`.
#[test]
fn import_refuses_a_dotdot_whiteout() {
    if !have_root("import_refuses_a_dotdot_whiteout") {
        return;
    }
    let mut t = Vec::new();
    entry(&mut t, b'5', "dir/", "", b"", (0, 0));
    file(&mut t, "dir/.wh...", "");
    import_is_refused("store-whiteout", &end(t), "whiteout");
}

/// A tarball cut in the middle of a file.
#[test]
fn import_refuses_a_truncated_tar() {
    if !have_root("import_refuses_a_truncated_tar") {
        return;
    }
    let mut t = Vec::new();
    file(&mut t, "big", &"x".repeat(5000));
    import_is_refused("store-truncated", &t[..BLOCK + 2000], "truncated");
}

/// Not a tarball at all.
#[test]
fn import_refuses_garbage() {
    if !have_root("import_refuses_garbage") {
        return;
    }
    let garbage: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 1) as u8 | 1).collect();
    import_is_refused("store-garbage", &garbage, "not a tar");
}

/// A refused import leaves an image already in the store as it was.
#[test]
fn a_refused_import_keeps_the_images_already_there() {
    if !have_root("a_refused_import_keeps_the_images_already_there") {
        return;
    }
    let root = TestRoot::new("store-refused-keeps");
    let _inputs = Inputs::of(&root);
    let id = import(&root, &scratch_file(&root, "good.tar", &good_tar("hello\n")), "good:1");
    let (layers_before, blobs_before) = (layers(&root), blobs(&root));
    let mut t = Vec::new();
    file(&mut t, "../escape", "pwned");
    let (code, _, err) =
        md(&root, &["import", &scratch_file(&root, "evil.tar", &end(t)), "good:1"]);
    assert_ne!(code, 0);
    one_error_line(&err);
    assert_eq!((layers(&root), blobs(&root)), (layers_before, blobs_before));
    assert!(root.scratch_left().is_empty());
    let (_, out, _) = md(&root, &["images", "-q"]);
    assert_eq!(out.trim(), &id[7..19], "good:1 still names the image it named");
}

// ---- import: accepted -----------------------------------------------------------------------

/// A gzipped tarball is decompressed; its diff_id is the sha256 of the uncompressed tar.
#[test]
fn import_of_a_gzipped_tar_works() {
    if !have_root("import_of_a_gzipped_tar_works") {
        return;
    }
    let root = TestRoot::new("store-gzip");
    let _inputs = Inputs::of(&root);
    let tar = good_tar("from a gzipped tar\n");
    import(&root, &scratch_file(&root, "layer.tar.gz", &gzip(&tar)), "gz:1");
    let diff_id = Digest::of(&tar);
    assert_eq!(layers(&root), [diff_id.hex()]);
    let layer = root.path.join("layers").join(diff_id.hex());
    assert_eq!(fs::read_to_string(layer.join("diff/etc/hello")).unwrap(), "from a gzipped tar\n");
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(layer.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["diff_id"], diff_id.as_str());
    assert_eq!(meta["size"], tar.len() as u64);
    assert_eq!(blobs(&root).len(), 3, "layer, config, manifest");
    assert!(root.scratch_left().is_empty());
    let (_, out, _) = md(&root, &["images"]);
    assert!(out.lines().any(|l| l.split_whitespace().take(2).eq(["gz", "1"])), "{out}");
}

// ---- load -----------------------------------------------------------------------------------

/// An OCI layout with one image `name` of one layer; returns the layer blob's path.
/// `diff_id` is what the config claims (the layer's own when None).
fn write_layout(
    dir: &Path,
    name: &str,
    layer: &[u8],
    gzipped: bool,
    diff_id: Option<Digest>,
) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({ "digest": d.as_str(), "size": bytes.len() })
    };
    let diff_id = diff_id.unwrap_or_else(|| Digest::of(layer));
    let blob = if gzipped { gzip(layer) } else { layer.to_vec() };
    let mut layer_desc = put(&blob);
    layer_desc["mediaType"] = json!(if gzipped { oci::LAYER_GZIP } else { oci::LAYER_TAR });
    let p = host_platform();
    let config = json!({ "architecture": p.architecture, "os": p.os, "rootfs": { "type": "layers", "diff_ids": [diff_id.as_str()] } });
    let mut config_desc = put(&serde_json::to_vec(&config).unwrap());
    config_desc["mediaType"] = json!(oci::CONFIG);
    let manifest = json!({ "schemaVersion": 2, "mediaType": oci::MANIFEST, "config": config_desc, "layers": [layer_desc] });
    let mut manifest_desc = put(&serde_json::to_vec(&manifest).unwrap());
    manifest_desc["mediaType"] = json!(oci::MANIFEST);
    manifest_desc["annotations"] = json!({ oci::REF_NAME: name });
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": [manifest_desc] })).unwrap(),
    )
    .unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    blobs.join(Digest::of(&blob).hex())
}

/// The control for the refusals below: the same layout, untouched, loads.
#[test]
fn load_of_a_good_layout_works() {
    if !have_root("load_of_a_good_layout_works") {
        return;
    }
    let root = TestRoot::new("store-load-good");
    let inputs = Inputs::of(&root);
    let tar = good_tar("loaded\n");
    for (name, gzipped) in [("plain:1", false), ("gzipped:1", true)] {
        let dir = inputs.0.join(name);
        write_layout(&dir, name, &tar, gzipped, None);
        let (code, out, err) = md(&root, &["load", "-i", &dir.to_string_lossy()]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), format!("Loaded image: {name}"));
    }
    assert_eq!(layers(&root), [Digest::of(&tar).hex()], "both images share the one layer");
    let diff = root.path.join("layers").join(Digest::of(&tar).hex()).join("diff");
    assert_eq!(fs::read_to_string(diff.join("etc/hello")).unwrap(), "loaded\n");
    assert!(root.scratch_left().is_empty());
}

/// One byte of the layer blob flipped: its digest no longer matches.
#[test]
fn load_refuses_a_tampered_layer_blob() {
    if !have_root("load_refuses_a_tampered_layer_blob") {
        return;
    }
    let root = TestRoot::new("store-load-tampered");
    let inputs = Inputs::of(&root);
    assert_eq!(md(&root, &["images"]).0, 0);
    for (i, gzipped) in [false, true].into_iter().enumerate() {
        let dir = inputs.0.join(format!("layout-{i}"));
        let blob = write_layout(&dir, "tampered:1", &good_tar("tampered\n"), gzipped, None);
        let mut bytes = fs::read(&blob).unwrap();
        let at = bytes.len() / 3;
        bytes[at] ^= 0x01;
        fs::write(&blob, bytes).unwrap();
        let (code, _, err) = md(&root, &["load", "-i", &dir.to_string_lossy()]);
        assert_ne!(code, 0, "a tampered layer was loaded");
        let line = one_error_line(&err);
        assert!(line.contains("does not match its digest"), "{line}");
        assert_store_empty(&root);
    }
}

/// A layer blob that is what the manifest says, but the config claims another diff_id: the
/// layer does not unpack to what the image says it is.
#[test]
fn load_refuses_a_wrong_diff_id() {
    if !have_root("load_refuses_a_wrong_diff_id") {
        return;
    }
    let root = TestRoot::new("store-load-diffid");
    let inputs = Inputs::of(&root);
    assert_eq!(md(&root, &["images"]).0, 0);
    for (i, gzipped) in [false, true].into_iter().enumerate() {
        let dir = inputs.0.join(format!("layout-{i}"));
        write_layout(
            &dir,
            "lying:1",
            &good_tar("lying\n"),
            gzipped,
            Some(Digest::of(b"another layer")),
        );
        let (code, _, err) = md(&root, &["load", "-i", &dir.to_string_lossy()]);
        assert_ne!(code, 0, "an image with a wrong diff_id was loaded");
        let line = one_error_line(&err);
        assert!(line.contains("the image config says"), "{line}");
        assert_store_empty(&root);
    }
}

/// A layout whose layer is malicious (a name climbing out) is refused like an import.
#[test]
fn load_refuses_a_malicious_layer() {
    if !have_root("load_refuses_a_malicious_layer") {
        return;
    }
    let root = TestRoot::new("store-load-evil");
    let inputs = Inputs::of(&root);
    assert_eq!(md(&root, &["images"]).0, 0);
    let mut t = Vec::new();
    file(&mut t, "../../../../../escape", "pwned");
    let dir = inputs.0.join("layout");
    write_layout(&dir, "evil:1", &end(t), true, None);
    let (code, _, err) = md(&root, &["load", "-i", &dir.to_string_lossy()]);
    assert_ne!(code, 0);
    assert!(one_error_line(&err).contains("climbs out"), "{err}");
    assert_store_empty(&root);
}

/// `load -i layout.tar`: the tar of a layout is untrusted too. Its files must be the layout's
/// own regular files: a blob that is a symlink to a host file (whose digest the attacker
/// guessed: `load` succeeding would confirm the guess and copy the host file into the store),
/// or an index.json that is a FIFO (opening it would block forever, holding the store's lock).
#[test]
fn load_of_a_layout_tar_reads_only_the_layouts_own_files() {
    if !have_root("load_of_a_layout_tar_reads_only_the_layouts_own_files") {
        return;
    }
    let root = TestRoot::new("store-load-tar");
    let inputs = Inputs::of(&root);
    assert_eq!(md(&root, &["images"]).0, 0);
    // A valid layout, turned into a tar whose layer blob is a symlink to a host file with the
    // same content (so every digest matches).
    let dir = inputs.0.join("layout");
    let layer = good_tar("host secret\n");
    let blob = write_layout(&dir, "probe:1", &layer, false, None);
    let host_file = inputs.0.join("host-file");
    fs::write(&host_file, &layer).unwrap();
    let layout_tar = |blob_entry: &dyn Fn(&mut Vec<u8>, &str), index_fifo: bool| {
        let mut t = Vec::new();
        for rel in ["oci-layout", "index.json"] {
            if rel == "index.json" && index_fifo {
                entry(&mut t, b'6', rel, "", b"", (0, 0));
            } else {
                entry(&mut t, b'0', rel, "", &fs::read(dir.join(rel)).unwrap(), (0, 0));
            }
        }
        for e in fs::read_dir(dir.join("blobs/sha256")).unwrap() {
            let p = e.unwrap().path();
            let rel = format!("blobs/sha256/{}", p.file_name().unwrap().to_string_lossy());
            if p == blob {
                blob_entry(&mut t, &rel);
            } else {
                entry(&mut t, b'0', &rel, "", &fs::read(&p).unwrap(), (0, 0));
            }
        }
        end(t)
    };
    // Control: the layout as a tar of regular files loads.
    let good = scratch_file(
        &root,
        "good.tar",
        &layout_tar(&|t, rel| entry(t, b'0', rel, "", &layer, (0, 0)), false),
    );
    let (code, _, err) = md(&root, &["load", "-i", &good]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(md(&root, &["rmi", "probe:1"]).0, 0);
    assert_store_empty(&root);

    let host = host_file.to_string_lossy().into_owned();
    let symlinked = scratch_file(
        &root,
        "symlink.tar",
        &layout_tar(&|t, rel| entry(t, b'2', rel, &host, b"", (0, 0)), false),
    );
    let (code, out, err) = md(&root, &["load", "-i", &symlinked]);
    assert_ne!(code, 0, "a host file was loaded through a symlink: {out}");
    one_error_line(&err);
    assert_store_empty(&root);

    let fifo = scratch_file(
        &root,
        "fifo.tar",
        &layout_tar(&|t, rel| entry(t, b'0', rel, "", &layer, (0, 0)), true),
    );
    let (code, _, err) = md(&root, &["load", "-i", &fifo]);
    assert_ne!(code, 0);
    one_error_line(&err);
    assert_store_empty(&root);
}

// ---- rmi and shared layers ------------------------------------------------------------------

/// Two images (two imports of the same tarball, from two paths: different configs) share one
/// layer. Removing one keeps the layer and its blob; removing the other deletes them.
#[test]
fn rmi_keeps_a_layer_another_image_uses() {
    if !have_root("rmi_keeps_a_layer_another_image_uses") {
        return;
    }
    let root = TestRoot::new("store-rmi-shared");
    let _inputs = Inputs::of(&root);
    let tar = good_tar("shared\n");
    let one = import(&root, &scratch_file(&root, "one.tar", &tar), "one:1");
    let two = import(&root, &scratch_file(&root, "two.tar", &tar), "two:1");
    assert_ne!(one, two, "two imports from different paths are two images");
    let diff_id = Digest::of(&tar);
    assert_eq!(layers(&root), [diff_id.hex()], "one layer, shared");
    let layer_blob = {
        let store = minidocker::image::Store::open(&root.path).unwrap();
        store.resolve("one:1").unwrap().manifest.layers[0].digest.hex().to_string()
    };
    assert_eq!(blobs(&root).len(), 5, "one layer blob, two configs, two manifests");

    let (code, out, err) = md(&root, &["rmi", "one:1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Untagged: one:1") && out.contains(&format!("Deleted: {one}")), "{out}");
    assert!(!out.contains(diff_id.as_str()), "the shared layer was reported deleted: {out}");
    assert_eq!(layers(&root), [diff_id.hex()], "the shared layer was deleted");
    assert!(root.path.join("layers").join(diff_id.hex()).join("diff/etc/hello").is_file());
    assert!(blobs(&root).contains(&layer_blob), "the shared layer blob was deleted");
    assert_eq!(blobs(&root).len(), 3);

    let (code, out, err) = md(&root, &["rmi", "two:1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Deleted: {two}")) && out.contains(&format!("Deleted: {diff_id}")),
        "{out}"
    );
    assert_store_empty(&root);
}

/// `tag` gives an image a second name: removing one name only untags; the last one removes the
/// image and its layer.
#[test]
fn rmi_of_one_of_two_names_only_untags() {
    if !have_root("rmi_of_one_of_two_names_only_untags") {
        return;
    }
    let root = TestRoot::new("store-rmi-tag");
    let _inputs = Inputs::of(&root);
    let id = import(&root, &scratch_file(&root, "one.tar", &good_tar("tagged\n")), "one:1");
    assert_eq!(md(&root, &["tag", "one:1", "alias:2"]).0, 0);
    let (_, out, _) = md(&root, &["images"]);
    assert_eq!(out.lines().filter(|l| l.contains(&id[7..19])).count(), 2, "{out}");

    let (code, out, err) = md(&root, &["rmi", "one:1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Untagged: one:1");
    assert_eq!(layers(&root).len(), 1);
    assert_eq!(blobs(&root).len(), 3);

    let (code, out, err) = md(&root, &["rmi", "alias:2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Untagged: alias:2") && out.contains(&format!("Deleted: {id}")), "{out}");
    assert_store_empty(&root);
}

// ---- images ---------------------------------------------------------------------------------

/// Docker's columns; an image whose tag moved to another image stays as `<none> <none>`, and can
/// be removed by ID.
#[test]
fn images_lists_names_and_dangling_images() {
    if !have_root("images_lists_names_and_dangling_images") {
        return;
    }
    let root = TestRoot::new("store-images");
    let _inputs = Inputs::of(&root);
    let (code, out, _) = md(&root, &["images"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n"),
        "an empty store"
    );

    let old = import(&root, &scratch_file(&root, "v1.tar", &good_tar("v1\n")), "app:1");
    let new = import(&root, &scratch_file(&root, "v2.tar", &good_tar("version 2\n")), "app:1");
    assert_ne!(old, new);
    let (code, out, err) = md(&root, &["images"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let cols = |l: &str| {
        l.split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(cols(lines[0]), ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], "{out}");
    // Each column starts where its heading does.
    let at = |heading: &str| lines[0].find(heading).unwrap();
    for row in &lines[1..] {
        let c = cols(row);
        assert_eq!(c.len(), 5, "{row:?}");
        assert_eq!(row.find(&c[2]).unwrap(), at("IMAGE ID"), "{out}");
        assert_eq!(row.find(&c[3]).unwrap(), at("CREATED"), "{out}");
        assert!(c[4].ends_with("kB") || c[4].ends_with('B'), "{row:?}");
    }
    let row_of = |id: &str| {
        cols(
            lines
                .iter()
                .find(|l| l.contains(&id[7..19]))
                .unwrap_or_else(|| panic!("{id} not listed:\n{out}")),
        )
    };
    assert_eq!(row_of(&new)[..3], ["app", "1", &new[7..19]]);
    assert_eq!(row_of(&old)[..3], ["<none>", "<none>", &old[7..19]]);

    let (code, _, err) = md(&root, &["rmi", &old[7..19]]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = md(&root, &["images", "-q"]);
    assert_eq!(out.trim(), &new[7..19]);
    assert_eq!(layers(&root), [Digest::of(&good_tar("version 2\n")).hex()]);
}

// ---- import -c / -m ---------------------------------------------------------------------------

/// `import -c` gives the image a configuration (Docker's `--change`), `-m` the history comment;
/// a bad change is one line, checked before anything is read or made.
#[test]
fn import_with_changes_and_a_message() {
    if !have_root("import_with_changes_and_a_message") {
        return;
    }
    let root = TestRoot::new("import-change");
    let tarball = common::base_tarball("busybox");
    let tarball = tarball.to_str().unwrap();
    let (code, _, err) = md(
        &root,
        &[
            "import",
            "-c",
            "ENV GREETING=hello",
            "-c",
            "WORKDIR /tmp",
            "-c",
            r#"CMD ["sh", "-c", "echo $GREETING from $(pwd)"]"#,
            "-m",
            "from a tarball",
            tarball,
            "greeter:1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = md(&root, &["run", "--rm", "--network", "none", "greeter:1"]);
    assert_eq!((code, out.as_str()), (0, "hello from /tmp\n"), "{err}");
    let (_, history, _) = md(&root, &["history", "greeter:1"]);
    assert!(history.contains("from a tarball"), "{history}");

    // Refused before a byte is read: the store holds greeter:1 alone afterwards.
    let before = index_manifests(&root).len();
    for (change, says) in [
        ("RUN echo hi", "RUN is not a change -c can make"),
        ("BOGUS x", "invalid change \"BOGUS x\""),
    ] {
        let (code, _, err) = md(&root, &["import", "-c", change, tarball, "bad:1"]);
        assert_ne!(code, 0);
        assert!(one_error_line(&err).contains(says), "{change}: {err}");
    }
    assert_eq!(index_manifests(&root).len(), before);
    assert_eq!(root.scratch_left(), Vec::<String>::new());
}
