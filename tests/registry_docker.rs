//! The real Docker engine (Debian's docker.io, 20.10) and minidocker trade images through a
//! registry, both ways: Docker pulls and runs what minidocker pushed, and minidocker pulls and
//! runs (in lesson 03) what Docker built and pushed — Docker v2 schema 2 manifests, gzip layers,
//! and a whiteout.
//!
//! Each test starts a Docker daemon of its own (tests/common/dockerd.rs, scripts/test-dockerd),
//! which never sees the host's Docker. The registry (docker-registry) runs in the daemon's
//! network namespace, so 127.0.0.1:5000 there is the test's alone (Docker treats 127.0.0.0/8
//! registries as insecure: plain HTTP), and the minidocker commands that talk to it are started
//! in that namespace too.
//!
//! Debian packages: docker.io, docker-registry, iproute2 (ip), util-linux (unshare),
//! busybox-static (the busybox image).

mod common;

use common::dockerd::{self, mounts_under, Dockerd, REGISTRY};
use common::{have_root, run, TestRoot};
use minidocker::image::{oci, Image, Store};
use std::time::Instant;

/// The lesson's binary, found through the library's list of lessons.
static LESSON03: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| common::lesson_bin("03"));

fn md(d: &Dockerd, root: &TestRoot, args: &[&str]) -> String {
    let (code, out, err) = run(d.in_net(&mut root.minidocker()).args(args));
    assert_eq!(code, 0, "minidocker {args:?} failed:\n{out}\n{err}");
    out
}

/// busybox pushed by minidocker to the registry, then pulled by Docker: (the root it came from,
/// the image as minidocker has it, its name in the registry).
fn busybox_through_the_registry(d: &Dockerd, test: &str) -> (TestRoot, Image, String) {
    let a = TestRoot::with_busybox(test);
    let name = format!("{REGISTRY}/x/busybox:v1");
    md(d, &a, &["tag", "busybox", &name]);
    let t = Instant::now();
    let out = md(d, &a, &["push", &name]);
    eprintln!("minidocker push busybox: {:?}", t.elapsed());
    assert!(out.contains(": Pushed"), "{out}");
    let ours = Store::open(&a.path).unwrap().resolve("busybox").unwrap();

    let t = Instant::now();
    let out = d.docker_ok(&["pull", &name]);
    eprintln!("docker pull of what minidocker pushed: {:?}", t.elapsed());
    assert!(
        out.contains(&format!("Digest: {}", ours.manifest_desc.digest)),
        "Docker pulled the manifest minidocker pushed:\n{out}"
    );
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}")), "{out}");
    (a, ours, name)
}

#[test]
fn docker_pulls_and_runs_what_minidocker_pushed() {
    if !have_root("docker_pulls_and_runs_what_minidocker_pushed")
        || !dockerd::available("docker_pulls_and_runs_what_minidocker_pushed")
    {
        return;
    }
    let t = Instant::now();
    let mut d = Dockerd::start("m2d");
    eprintln!("private dockerd answering: {:?}", t.elapsed());
    d.start_registry();
    let (_a, ours, name) = busybox_through_the_registry(&d, "dk-m2d");

    let t = Instant::now();
    let (code, out, err) = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "/bin/sh",
        "-c",
        "echo ok-from-docker",
    ]);
    eprintln!("docker run --rm --network none: {:?}", t.elapsed());
    assert_eq!(code, 0, "docker run failed:\n{out}\n{err}\n{}", d.log_tail());
    assert!(
        out.lines().any(|l| l.trim() == "ok-from-docker"),
        "the container should print ok-from-docker:\n{out}\n{err}"
    );
    assert!(
        mounts_under(&d.dir).is_empty(),
        "Docker's container mounts stayed in its mount namespace"
    );

    // The same layers (uncompressed digests), the same config (Docker's image ID is its digest).
    let layers = d.docker_ok(&["inspect", "--format", "{{.RootFS.Layers}}", &name]);
    let diff_ids: Vec<&str> = ours.diff_ids().iter().map(|d| d.as_str()).collect();
    assert_eq!(
        layers.trim(),
        format!("[{}]", diff_ids.join(" ")),
        "Docker's RootFS.Layers are our diff_ids"
    );
    let json = d.inspect(&name);
    assert_eq!(
        json["Id"].as_str(),
        Some(ours.id.as_str()),
        "Docker's image ID is our config's digest"
    );
    let repo_digest = format!("{REGISTRY}/x/busybox@{}", ours.manifest_desc.digest);
    assert!(
        json["RepoDigests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some(repo_digest.as_str())),
        "{}",
        json["RepoDigests"]
    );
    assert_eq!(json["Architecture"].as_str(), Some(ours.config.architecture.as_str()));
    d.finish();
}

#[test]
fn minidocker_pulls_and_runs_what_docker_built_and_pushed() {
    if !have_root("minidocker_pulls_and_runs_what_docker_built_and_pushed")
        || !dockerd::available("minidocker_pulls_and_runs_what_docker_built_and_pushed")
    {
        return;
    }
    let t = Instant::now();
    let mut d = Dockerd::start("d2m");
    eprintln!("private dockerd answering: {:?}", t.elapsed());
    d.start_registry();
    let (_a, ours, base) = busybox_through_the_registry(&d, "dk-d2m-a");

    // Two layers on top of busybox; the second deletes a file, so its tarball holds a whiteout.
    let ctx = d.dir.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {base}\nRUN echo docker > /made-by-docker\nRUN rm /etc/group\n"),
    )
    .unwrap();
    let name = format!("{REGISTRY}/x/made-by-docker:v1");
    let t = Instant::now();
    // --network none: the daemon has no bridge (--bridge=none), so no default network either.
    d.docker_ok(&["build", "--network", "none", "-t", &name, &ctx.to_string_lossy()]);
    eprintln!("docker build (legacy builder, two RUN steps): {:?}", t.elapsed());
    let t = Instant::now();
    let out = d.docker_ok(&["push", &name]);
    eprintln!("docker push: {:?}", t.elapsed());
    assert!(
        out.contains(&format!("{}: Mounted from x/busybox", &ours.diff_ids()[0].hex()[..12]))
            || out.contains("Layer already exists"),
        "Docker reuses the base layer minidocker pushed:\n{out}"
    );
    let json = d.inspect(&name);
    let docker_layers: Vec<String> = json["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(docker_layers.len(), 3, "busybox and two RUN layers: {docker_layers:?}");
    let prefix = format!("{REGISTRY}/x/made-by-docker@");
    let pushed = json["RepoDigests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .find_map(|s| s.strip_prefix(prefix.as_str()))
        .expect("a repo digest after the push")
        .to_string();

    let b = TestRoot::new("dk-d2m-b");
    let t = Instant::now();
    let out = md(&d, &b, &["pull", &name]);
    eprintln!("minidocker pull of what Docker pushed: {:?}", t.elapsed());
    assert_eq!(out.matches(": Pull complete").count(), 3, "{out}");
    assert!(out.contains(&format!("Digest: {pushed}")), "{out}");
    let store = Store::open(&b.path).unwrap();
    let pulled = store.resolve(&name).unwrap();
    assert_eq!(
        pulled.manifest_desc.digest.as_str(),
        pushed,
        "the manifest Docker pushed, byte for byte"
    );
    assert_eq!(
        pulled.manifest_desc.media_type,
        oci::DOCKER_MANIFEST,
        "Docker pushes Docker v2 schema 2 manifests"
    );
    assert_eq!(pulled.manifest.config.media_type, oci::DOCKER_CONFIG);
    assert!(
        pulled.manifest.layers.iter().all(|l| l.media_type == oci::DOCKER_LAYER_GZIP),
        "gzip layers: {:?}",
        pulled.manifest.layers
    );
    assert_eq!(json["Id"].as_str(), Some(pulled.id.as_str()), "the same image ID in both");
    let diff_ids: Vec<String> = pulled.diff_ids().iter().map(|d| d.to_string()).collect();
    assert_eq!(diff_ids, docker_layers, "the same layers in both");
    let top = store.layer_meta(&pulled.diff_ids()[2]).unwrap();
    assert_eq!(
        (top.entries, top.whiteouts),
        (1, 1),
        "the last layer is just the whiteout of /etc/group"
    );
    assert!(b.scratch_left().is_empty());

    let t = Instant::now();
    let script = "cat /made-by-docker; test -e /etc/group || echo group-gone";
    let (code, out, err) =
        run(b.cmd(&LESSON03).args(["--image", &name, "--", "/bin/sh", "-c", script]));
    eprintln!("lesson 03 runs it: {:?}", t.elapsed());
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"docker") && lines.contains(&"group-gone"),
        "Docker's file is there and /etc/group is gone:\n{out}"
    );
    assert!(b.host_mounts().is_empty(), "{:?}", b.host_mounts());
    d.finish();
}
