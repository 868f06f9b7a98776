//! The store against careless users and `kill -9` (issue 14, items 3, 4, 6, 7 and `system
//! check`): `rmi` refuses an image a container uses; a layer counts only once whole, and a
//! killed `rmi` never leaves half a layer for a later `import` to reuse; a killed `commit`
//! does not leave its container frozen; a build locks the store only while it writes;
//! `system check [--fix]` finds and repairs what a crash left.

mod common;

use common::{have_root, md, TestRoot};
use minidocker::cgroups::Layout;
use minidocker::container::run::cgroup_name;
use minidocker::image::{Digest, Store};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn frozen(id: &str) -> bool {
    minidocker::cgroups::freezer::is_paused(&Layout::detect().unwrap(), &cgroup_name(id))
}

fn ok(root: &TestRoot, args: &[&str]) -> String {
    let (code, out, err) = md(root, args);
    assert_eq!(code, 0, "minidocker {}: {err}{out}", args.join(" "));
    out
}

/// `system check` (with `--fix` when asked): (exit code, its output).
fn check(root: &TestRoot, fix: bool) -> (i32, String) {
    let args: &[&str] = if fix { &["system", "check", "--fix"] } else { &["system", "check"] };
    let (code, out, err) = md(root, args);
    (code, format!("{out}{err}"))
}

fn spawn(root: &TestRoot, args: &[&str]) -> Child {
    root.minidocker().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// A tarball of `dirs` directories of `files` small files each: a layer slow to delete.
fn wide_tarball(path: &std::path::Path, dirs: usize, files: usize) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for d in 0..dirs {
        for f in 0..files {
            let data = format!("{d}/{f}\n");
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_600_000_000);
            h.set_cksum();
            b.append_data(&mut h, format!("d{d:03}/f{f:04}"), data.as_bytes()).unwrap();
        }
    }
    b.finish().unwrap();
}

fn files_under(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        n += 1;
        if e.file_type().unwrap().is_dir() {
            n += files_under(&e.path());
        }
    }
    n
}

#[test]
fn rmi_refuses_an_image_a_container_uses_and_f_only_untags_it() {
    if !have_root("rmi_refuses_an_image_a_container_uses_and_f_only_untags_it") {
        return;
    }
    let root = TestRoot::with_busybox("rmi-in-use");
    // The same rootfs imported twice: two images, one shared layer.
    root.import("busybox", "twin");
    ok(&root, &["run", "-d", "--network", "none", "--name", "web", "busybox", "sleep", "300"]);
    ok(&root, &["run", "--network", "none", "--name", "done", "twin", "true"]);

    let (code, _, err) = md(&root, &["rmi", "busybox"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("running container web") && err.contains("rm -f web"), "{err}");
    let (code, _, err) = md(&root, &["rmi", "twin"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("stopped container done") && err.contains("minidocker rm done"), "{err}");

    // -f: the name goes, the image and its layer stay while the container needs them.
    let out = ok(&root, &["rmi", "-f", "busybox"]);
    assert_eq!(out.trim(), "Untagged: busybox:latest", "{out}");
    let store = Store::open(&root.path).unwrap();
    assert_eq!(store.list().unwrap().len(), 2, "the untagged image stays");
    assert_ne!(ok(&root, &["exec", "web", "sh", "-c", "ls /bin | wc -l"]).trim(), "0");
    ok(&root, &["commit", "web", "snap:1"]);
    // The stopped container's image: untagged too, then the shared layer survives its removal.
    ok(&root, &["rm", "done"]);
    let out = ok(&root, &["rmi", "twin"]);
    assert!(out.contains("Deleted:"), "no container uses it any more: {out}");
    ok(&root, &["run", "--rm", "--network", "none", "snap:1", "true"]);
    ok(&root, &["rm", "-f", "web"]);
    // With the container gone, prune takes the untagged image; snap:1 keeps the shared layer.
    ok(&root, &["system", "prune"]);
    ok(&root, &["run", "--rm", "--network", "none", "snap:1", "true"]);
    assert_eq!(check(&root, false).0, 0);
}

#[test]
fn a_killed_rmi_never_leaves_half_a_layer_for_a_later_import() {
    if !have_root("a_killed_rmi_never_leaves_half_a_layer_for_a_later_import") {
        return;
    }
    let root = TestRoot::new("rmi-killed");
    let tarball = root.path.join("wide.tar");
    wide_tarball(&tarball, 50, 40);
    let tar_path = tarball.to_str().unwrap();
    let whole = 50 * 41;
    let mut caught_midway = 0;
    for round in 0..3 {
        let id = ok(&root, &["import", tar_path, "wide"]);
        let store = Store::open(&root.path).unwrap();
        let img = store.resolve(id.trim()).unwrap();
        let layer = store.layer_dir(&img.diff_ids()[0]);
        assert_eq!(files_under(&layer), whole);
        // Kill rmi the moment the layer starts to go (or is gone from its place).
        let mut rmi = spawn(&root, &["rmi", "wide"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let ino = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| m.ino());
        let placed = ino(&layer);
        loop {
            let left = std::fs::read_dir(&layer).map(|d| d.count()).unwrap_or(0);
            if left < 50 || rmi.try_wait().unwrap().is_some() || Instant::now() > deadline {
                // A count that began before rmi moved the directory aside goes on reading it
                // in its new place while it is deleted there: that is not layers/. Only a
                // directory still in its place after the count was seen half empty there.
                let still_in_place = ino(&layer).is_some() && ino(&layer) == placed;
                caught_midway += usize::from(left > 0 && left < 50 && still_in_place);
                break;
            }
        }
        let _ = rmi.kill();
        let _ = rmi.wait();
        // Whatever it left: no problem for check, and a new import gives a whole layer.
        let (code, out) = check(&root, false);
        assert_eq!(code, 0, "round {round}: {out}");
        let id = ok(&root, &["import", tar_path, "wide"]);
        let img = store.resolve(id.trim()).unwrap();
        assert!(store.has_layer(&img.diff_ids()[0]));
        assert_eq!(files_under(&store.layer_dir(&img.diff_ids()[0])), whole, "round {round}");
        ok(&root, &["rmi", "wide"]);
    }
    // (With the layer renamed aside first, the old place is never seen half empty.)
    assert_eq!(caught_midway, 0, "a half-deleted layer was seen in layers/");
}

#[test]
fn a_layer_directory_that_is_not_whole_is_replaced_not_reused() {
    if !have_root("a_layer_directory_that_is_not_whole_is_replaced_not_reused") {
        return;
    }
    let root = TestRoot::new("half-layer");
    let tarball = root.path.join("wide.tar");
    wide_tarball(&tarball, 10, 20);
    let tar_path = tarball.to_str().unwrap();
    let id = ok(&root, &["import", tar_path, "wide"]);
    let store = Store::open(&root.path).unwrap();
    let diff_id: Digest = store.resolve(id.trim()).unwrap().diff_ids()[0].clone();
    ok(&root, &["rmi", "wide"]);
    // What an older minidocker killed halfway through deleting left: a few files, no meta.json.
    let half = store.layer_dir(&diff_id);
    std::fs::create_dir_all(half.join("d000")).unwrap();
    std::fs::write(half.join("d000/f0000"), "0/0\n").unwrap();
    let (code, out) = check(&root, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a whole layer"), "{out}");
    ok(&root, &["import", tar_path, "wide"]);
    assert_eq!(files_under(&store.layer_dir(&diff_id)), 10 * 21, "the import made it whole");
    let (code, out) = check(&root, false);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
}

#[test]
fn an_import_locks_the_store_only_to_move_its_layer_in() {
    if !have_root("an_import_locks_the_store_only_to_move_its_layer_in") {
        return;
    }
    let root = TestRoot::with_busybox("import-lock");
    let tarball = root.path.join("wide.tar");
    wide_tarball(&tarball, 100, 50);
    let mut import = spawn(&root, &["import", tarball.to_str().unwrap(), "wide"]);
    // Once it unpacks in tmp/, other commands go on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while root.scratch_left().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = Instant::now();
    ok(&root, &["tag", "busybox", "other"]);
    let took = t.elapsed();
    // (The import of 5000 files takes seconds: tag, which waited for it before, is done first.)
    let still_importing = import.try_wait().unwrap().is_none();
    assert!(import.wait().unwrap().success());
    assert!(still_importing && took < Duration::from_secs(1), "tag waited {took:?} for the import");
    let store = Store::open(&root.path).unwrap();
    let layer = store.layer_dir(&store.resolve("wide").unwrap().diff_ids()[0]);
    assert_eq!(files_under(&layer), 100 * 51);
}

#[test]
fn a_commit_killed_while_the_container_is_frozen_leaves_it_running() {
    if !have_root("a_commit_killed_while_the_container_is_frozen_leaves_it_running") {
        return;
    }
    let root = TestRoot::with_busybox("commit-killed");
    let script = "dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null; echo ready; sleep 300";
    let id = ok(
        &root,
        &["run", "-d", "--network", "none", "--name", "busy", "busybox", "sh", "-c", script],
    );
    let id = id.trim().to_string();
    common::wait_for_log(&root, "busy", "ready");
    let mut seen_frozen = false;
    for _ in 0..5 {
        let mut commit = spawn(&root, &["commit", "busy", "snap:1"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !frozen(&id) && commit.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        seen_frozen = frozen(&id);
        let _ = commit.kill();
        let _ = commit.wait();
        if seen_frozen {
            break;
        }
    }
    assert!(seen_frozen, "never caught the commit while it held the container frozen");
    // The next command that reads the container thaws it.
    let ps = ok(&root, &["ps"]);
    assert!(!ps.contains("Paused"), "{ps}");
    assert!(!frozen(&id));
    assert_eq!(ok(&root, &["exec", "busy", "echo", "alive"]).trim(), "alive");
    // A user's pause is not a dead commit's: it stays.
    ok(&root, &["pause", "busy"]);
    assert!(ok(&root, &["ps"]).contains("Paused"));
    assert!(frozen(&id));
    ok(&root, &["unpause", "busy"]);
    ok(&root, &["commit", "busy", "snap:2"]);
    assert!(!frozen(&id));
    ok(&root, &["rm", "-f", "busy"]);
}

/// Start a build of `dockerfile`, and wait until it runs its RUN step.
fn build_until_running(root: &TestRoot, name: &str, dockerfile: &str) -> Child {
    let ctx = root.path.join(format!("ctx-{name}"));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let mut child = spawn(root, &["build", "--no-cache", "-t", name, ctx.to_str().unwrap()]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("Running in") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the build of {name} ended early");
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

#[test]
fn a_build_locks_the_store_only_while_it_writes() {
    if !have_root("a_build_locks_the_store_only_while_it_writes") {
        return;
    }
    let root = TestRoot::with_busybox("build-lock");
    let started = Instant::now();
    let mut one = build_until_running(&root, "one", "FROM busybox\nRUN sleep 5 && echo 1 > /one\n");
    let mut two = build_until_running(&root, "two", "FROM busybox\nRUN sleep 5 && echo 2 > /two\n");
    // Both run their RUN step at once; tag, run and rmi go on meanwhile.
    let t = Instant::now();
    ok(&root, &["tag", "busybox", "other"]);
    assert!(t.elapsed() < Duration::from_secs(2), "tag waited {:?}", t.elapsed());
    ok(&root, &["run", "--rm", "--network", "none", "other", "true"]);
    // The builds' base image is theirs while they run: refused, naming the build.
    ok(&root, &["rmi", "other"]);
    let (code, _, err) = md(&root, &["rmi", "busybox"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a build (pid"), "{err}");
    // A prune meanwhile leaves their untagged images alone.
    ok(&root, &["system", "prune"]);
    assert!(one.wait().unwrap().success());
    assert!(two.wait().unwrap().success());
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the builds ran one after the other: {:?}",
        started.elapsed()
    );
    assert_eq!(ok(&root, &["run", "--rm", "--network", "none", "one", "cat", "/one"]).trim(), "1");
    assert_eq!(ok(&root, &["run", "--rm", "--network", "none", "two", "cat", "/two"]).trim(), "2");
    let (code, out) = check(&root, false);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
}

#[test]
fn system_check_finds_what_a_crash_left_and_fix_repairs_it() {
    if !have_root("system_check_finds_what_a_crash_left_and_fix_repairs_it") {
        return;
    }
    let root = TestRoot::with_busybox("system-check");
    let (code, out) = check(&root, false);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
    let store = Store::open(&root.path).unwrap();
    let img = store.resolve("busybox").unwrap();
    // A dead process's scratch, an unused blob, a half layer, a dead build's lease, a container
    // directory a killed `run` left without config.json, a layer of the image gone.
    let dead = 4_000_000; // above the default pid_max
    std::fs::create_dir_all(root.path.join(format!("tmp/{dead}-0/layer"))).unwrap();
    let blob = store.put_blob(b"nobody uses me").unwrap();
    std::fs::create_dir_all(root.path.join("layers").join("ab".repeat(32)).join("diff")).unwrap();
    std::fs::create_dir_all(root.path.join("leases")).unwrap();
    std::fs::write(
        root.path.join(format!("leases/{dead}-0.json")),
        format!(r#"{{"pid":{dead},"start":1,"what":"a build","images":["{}"]}}"#, img.id),
    )
    .unwrap();
    std::fs::create_dir_all(root.path.join("containers").join("cd".repeat(32)).join("rootfs"))
        .unwrap();
    let layer = store.layer_dir(&img.diff_ids()[0]).parent().unwrap().to_path_buf();
    std::fs::rename(&layer, root.path.join("moved-away")).unwrap();

    let (code, out) = check(&root, false);
    assert_eq!(code, 1, "{out}");
    for what in [
        format!("tmp/{dead}-0 is a dead process's scratch"),
        format!("blob {} is used by no image", blob.short()),
        format!("layer {} is not a whole layer", &"ab".repeat(6)),
        format!("leases/{dead}-0.json is the lease of a build that is gone"),
        format!("container {}: a directory without config.json", &"cd".repeat(6)),
        format!("image busybox:latest: layer {} is not unpacked whole", img.diff_ids()[0].short()),
    ] {
        assert!(out.contains(&what), "{what:?} not in:\n{out}");
    }
    assert!(
        out.trim().ends_with("2 problems, 4 leftovers (system check --fix removes them)"),
        "{out}"
    );
    // Nothing changed without --fix.
    assert!(root.path.join(format!("tmp/{dead}-0")).exists());

    let (code, out) = check(&root, true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unpacked again from its blob"), "{out}");
    assert!(out.trim().ends_with("0 problems, 0 leftovers; 6 fixed"), "{out}");
    let (code, out) = check(&root, false);
    assert_eq!((code, out.trim()), (0, "0 problems, 0 leftovers"));
    ok(&root, &["run", "--rm", "--network", "none", "busybox", "true"]);

    // A corrupt blob an image needs: a problem --fix cannot repair (exit 1 after it).
    let layer_blob = store.blob_path(&img.manifest.layers[0].digest);
    std::fs::write(&layer_blob, b"not the layer").unwrap();
    let (code, out) = check(&root, true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is corrupt") && out.contains("rmi -f"), "{out}");
    assert!(out.trim().ends_with("1 problems, 0 leftovers; 0 fixed"), "{out}");
}
