//! Volumes (lesson 08): `-v /test`, `-v NAME:/test`, `-v /host/dir:/test[:ro]` are bind mounts
//! made in the container's mount namespace — never in the host's mount table; copyData fills
//! an empty volume from the image and never a host directory; `volume ls/create/inspect/rm`,
//! a volume in use is refused, `rm -v` and `run --rm` take anonymous volumes along; commit
//! leaves a volume's files out; bad specifications are one line and create nothing; a
//! symlink in the image cannot take a volume out of the rootfs; `volume prune` takes only
//! the volumes no container uses (anonymous ones unless -a), asks first unless -f, and never
//! races a `run -v`; the lesson runs and checks.

mod common;

use common::{have_root, md, run, wait_for_log, TestRoot};
use minidocker::volumes::{self, Source, Spec};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The lesson's binary, found through the library's list of lessons.
static LESSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("08"));

fn pid_of(root: &TestRoot, name: &str) -> i32 {
    md(root, &["inspect", "--format", "{{.State.Pid}}", name]).1.trim().parse().unwrap()
}

/// The volumes in this root, by name (`volume ls -q`).
fn volume_names(root: &TestRoot) -> Vec<String> {
    let (code, out, err) = md(root, &["volume", "ls", "-q"]);
    assert_eq!(code, 0, "{err}");
    out.lines().map(str::to_owned).collect()
}

fn is_anonymous_name(n: &str) -> bool {
    n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit())
}

fn data(root: &TestRoot, name: &str) -> PathBuf {
    root.path.join("volumes").join(name).join("_data")
}

/// Sorted entry names of a directory.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn ino(p: &Path) -> (u64, u64) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.dev(), m.ino())
}

/// cgroup directories left for containers of this root.
fn cgroups_left(root: &TestRoot) -> Vec<String> {
    let mut left = Vec::new();
    for id in root.container_ids() {
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let p = h.path().join("minidocker").join(&id);
            if p.exists() {
                left.push(p.display().to_string());
            }
        }
    }
    left
}

/// No mount under this root in the host's table, no container, no cgroup, nothing half-made.
fn assert_clean(root: &TestRoot) {
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts in the host's mount table");
    assert_eq!(cgroups_left(root), Vec::<String>::new(), "cgroups left");
    assert_eq!(root.container_ids(), Vec::<String>::new(), "containers left");
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "entries left in tmp/");
    let half_made: Vec<String> =
        names(&root.path.join("volumes")).into_iter().filter(|n| n.starts_with(".new-")).collect();
    assert_eq!(half_made, Vec::<String>::new(), "half-made volumes left");
}

/// An image `name` from busybox whose /test has image.txt (1000:1000, 0640) and sub/deep.txt.
fn image_with_test(root: &TestRoot, name: &str) {
    let script = "mkdir -p /test/sub && echo 'from the image' > /test/image.txt && echo deep > /test/sub/deep.txt && chown -R 1000:1000 /test && chmod 640 /test/image.txt && chmod 750 /test";
    let (code, _, err) =
        md(root, &["run", "--network", "none", "--name", "maker", "busybox", "sh", "-c", script]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(root, &["commit", "maker", name]);
    assert_eq!(code, 0, "{err}");
    md(root, &["rm", "maker"]);
}

#[test]
fn the_three_kinds_are_bind_mounts_that_the_host_never_sees() {
    if !have_root("the_three_kinds_are_bind_mounts_that_the_host_never_sees") {
        return;
    }
    let root = TestRoot::with_busybox("vol-kinds");
    let host = root.path.join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("from-host.txt"), "hello from the host\n").unwrap();
    let (bind, bind_ro) =
        (format!("{}:/host", host.display()), format!("{}:/ro:ro", host.display()));
    let script = "echo anon > /anon/a.txt && echo named > /named/n.txt && echo bind > /host/b.txt && cat /host/from-host.txt && (touch /ro/x 2>&1 || true) && echo ready && exec sleep 1000";
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "kinds",
            "-v",
            "/anon",
            "-v",
            "mine:/named",
            "-v",
            &bind,
            "-v",
            &bind_ro,
            "busybox",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(code, 0, "{err}");
    wait_for_log(&root, "kinds", "ready");
    let (_, logs, _) = md(&root, &["logs", "kinds"]);
    assert!(logs.contains("hello from the host"), "the bind mount shows the host's file: {logs}");
    assert!(logs.contains("Read-only file system"), ":ro refuses writes: {logs}");
    assert!(!host.join("x").exists());

    // The volumes: one anonymous (64 hex digits), one named, created on first use.
    let vols = volume_names(&root);
    let anon: Vec<&String> = vols.iter().filter(|n| is_anonymous_name(n)).collect();
    assert_eq!(anon.len(), 1, "{vols:?}");
    assert!(vols.contains(&"mine".to_string()), "{vols:?}");
    let anon = anon[0].clone();
    // What the container wrote is on the host, in _data and in the host directory.
    assert_eq!(std::fs::read_to_string(data(&root, &anon).join("a.txt")).unwrap(), "anon\n");
    assert_eq!(std::fs::read_to_string(data(&root, "mine").join("n.txt")).unwrap(), "named\n");
    assert_eq!(std::fs::read_to_string(host.join("b.txt")).unwrap(), "bind\n");

    // The container's mount table has the four mounts; the host's has none of them.
    let pid = pid_of(&root, "kinds");
    let table = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let line = |at: &str| {
        table
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(at))
            .unwrap_or_else(|| panic!("no {at} in {table}"))
            .to_string()
    };
    assert!(line("/anon").contains(&format!("/volumes/{anon}/_data ")), "{}", line("/anon"));
    assert!(line("/named").contains("/volumes/mine/_data "), "{}", line("/named"));
    assert!(
        line("/ro").split(' ').nth(5).unwrap().split(',').any(|o| o == "ro"),
        "{}",
        line("/ro")
    );
    assert!(
        line("/host").split(' ').nth(5).unwrap().split(',').any(|o| o == "rw"),
        "{}",
        line("/host")
    );
    let host_table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for needle in
        [format!("volumes/{anon}"), "volumes/mine".to_string(), host.display().to_string()]
    {
        assert!(!host_table.contains(&needle), "{needle} is in the host's mount table");
    }
    assert_eq!(root.host_mounts(), Vec::<String>::new());

    // One inode seen through two paths.
    let inside = PathBuf::from(format!("/proc/{pid}/root"));
    assert_eq!(ino(&inside.join("anon/a.txt")), ino(&data(&root, &anon).join("a.txt")));
    assert_eq!(ino(&inside.join("named")), ino(&data(&root, "mine")));
    assert_eq!(ino(&inside.join("host/b.txt")), ino(&host.join("b.txt")));

    // inspect's Mounts.
    let json: serde_json::Value =
        serde_json::from_str(&md(&root, &["inspect", "kinds"]).1).unwrap();
    let mounts = json[0]["Mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 4, "{mounts:?}");
    let by_dest = |d: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == d)
            .unwrap_or_else(|| panic!("{d} not in {mounts:?}"))
            .clone()
    };
    assert_eq!(by_dest("/anon")["Type"], "volume");
    assert_eq!(by_dest("/anon")["Name"], anon.as_str());
    assert_eq!(by_dest("/anon")["Source"], data(&root, &anon).to_str().unwrap());
    assert_eq!(by_dest("/named")["Name"], "mine");
    assert_eq!(by_dest("/host")["Type"], "bind");
    assert_eq!(by_dest("/host")["Source"], host.to_str().unwrap());
    assert_eq!(by_dest("/host")["RW"], true);
    assert_eq!(by_dest("/ro")["RW"], false);

    // rm -f -v: the anonymous volume goes with the container, the named one stays.
    let (code, _, err) = md(&root, &["rm", "-f", "-v", "kinds"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(volume_names(&root), ["mine"]);
    assert!(host.join("from-host.txt").exists(), "the host directory is the user's: left as it is");
    assert_clean(&root);
}

#[test]
fn copy_data_fills_an_empty_volume_once_and_never_a_host_directory() {
    if !have_root("copy_data_fills_an_empty_volume_once_and_never_a_host_directory") {
        return;
    }
    let root = TestRoot::with_busybox("vol-copy");
    image_with_test(&root, "withtest");
    let ls = "ls -lnA /test | grep -v '^total' | awk '{print $1, $3, $4, $NF}'";

    // A named volume, new: the image's files with their owners and modes, inside and on the host.
    let (code, out, err) = md(
        &root,
        &["run", "--rm", "--network", "none", "-v", "vol:/test", "withtest", "sh", "-c", ls],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("-rw-r----- 1000 1000 image.txt") && out.contains("sub"), "{out}");
    let d = data(&root, "vol");
    assert_eq!(names(&d), ["image.txt", "sub"]);
    let m = std::fs::metadata(d.join("image.txt")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o640));
    let m = std::fs::metadata(&d).unwrap();
    assert_eq!(
        (m.uid(), m.mode() & 0o7777),
        (1000, 0o750),
        "_data takes the image directory's owner and mode"
    );
    assert_eq!(std::fs::read_to_string(d.join("sub/deep.txt")).unwrap(), "deep\n");

    // Used, it is not filled again: what the container did stays.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "vol:/test",
            "withtest",
            "sh",
            "-c",
            "rm /test/image.txt && echo mine > /test/mine.txt",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = md(
        &root,
        &["run", "--rm", "--network", "none", "-v", "vol:/test", "withtest", "ls", "/test"],
    );
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["mine.txt", "sub"]);

    // An anonymous volume is filled too (and goes with run --rm).
    let (code, out, err) = md(
        &root,
        &["run", "--rm", "--network", "none", "-v", "/test", "withtest", "cat", "/test/image.txt"],
    );
    assert_eq!((code, out.as_str()), (0, "from the image\n"), "{err}");
    // nocopy keeps a new volume empty.
    let (_, out, _) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "fresh:/test:nocopy",
            "withtest",
            "ls",
            "-A",
            "/test",
        ],
    );
    assert_eq!(out, "");
    assert_eq!(names(&data(&root, "fresh")), Vec::<String>::new());

    // A host directory — empty or not — gets nothing, and hides the image's files.
    let empty = root.path.join("empty");
    let full = root.path.join("full");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("host.txt"), "host\n").unwrap();
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{}:/test", empty.display()),
            "withtest",
            "ls",
            "-A",
            "/test",
        ],
    );
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(names(&empty), Vec::<String>::new(), "copyData never fills a bind mount");
    let (_, out, _) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{}:/test", full.display()),
            "withtest",
            "ls",
            "-A",
            "/test",
        ],
    );
    assert_eq!(out, "host.txt\n");
    assert_eq!(names(&full), ["host.txt"]);
    // A host path that does not exist is made, as Docker's -v does, and stays empty.
    let missing = root.path.join("made/by/run");
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{}:/test", missing.display()),
            "withtest",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(missing.is_dir() && names(&missing).is_empty());

    assert_eq!(
        volume_names(&root),
        ["fresh", "vol"],
        "run --rm removed the anonymous volume, not the named ones"
    );
    assert_clean(&root);
}

#[test]
fn volume_commands_refuse_a_volume_in_use_and_rm_v_takes_anonymous_ones() {
    if !have_root("volume_commands_refuse_a_volume_in_use_and_rm_v_takes_anonymous_ones") {
        return;
    }
    let root = TestRoot::with_busybox("vol-cmds");
    let (code, out, _) = md(&root, &["volume", "ls"]);
    assert_eq!((code, out.as_str()), (0, "DRIVER    VOLUME NAME\n"));
    let (code, out, err) = md(&root, &["volume", "create", "mine"]);
    assert_eq!((code, out.as_str()), (0, "mine\n"), "{err}");
    let (code, out, _) = md(&root, &["volume", "create", "mine"]);
    assert_eq!((code, out.as_str()), (0, "mine\n"), "creating an existing volume is not an error");
    let (code, out, _) = md(&root, &["volume", "create"]);
    let random = out.trim().to_string();
    assert!(code == 0 && is_anonymous_name(&random), "{out}");
    let (_, out, _) = md(&root, &["volume", "ls"]);
    let mut want = vec![
        "DRIVER    VOLUME NAME".to_string(),
        format!("local     {random}"),
        "local     mine".to_string(),
    ];
    want[1..].sort();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);

    let (code, out, err) = md(&root, &["volume", "inspect", "mine"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["Name"], "mine");
    assert_eq!(doc[0]["Driver"], "local");
    assert_eq!(doc[0]["Scope"], "local");
    assert_eq!(doc[0]["Mountpoint"], data(&root, "mine").to_str().unwrap());
    assert!(
        minidocker::units::parse_rfc3339(doc[0]["CreatedAt"].as_str().unwrap()).is_some(),
        "{doc}"
    );
    let (_, out, _) = md(&root, &["volume", "inspect", "-f", "{{.Mountpoint}}", "mine"]);
    assert_eq!(out.trim(), data(&root, "mine").to_str().unwrap());

    for (args, says) in [
        (vec!["volume", "inspect", "nosuch"], "no such volume"),
        (vec!["volume", "rm", "nosuch"], "no such volume"),
        (vec!["volume", "create", "bad name"], "invalid volume name"),
        (vec!["volume", "create", "../escape"], "invalid volume name"),
        (vec!["volume", "frob"], "unknown volume command"),
    ] {
        let (code, _, err) = md(&root, &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    assert_eq!(
        md(&root, &["volume", "rm", "-f", "nosuch"]).0,
        0,
        "-f: a missing volume is not an error"
    );

    // In use — even by a stopped container — it is refused; rm (no -v) keeps volumes.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "user",
            "-v",
            "mine:/data",
            "-v",
            "/scratch",
            "busybox",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let anon: Vec<String> =
        volume_names(&root).into_iter().filter(|n| is_anonymous_name(n) && *n != random).collect();
    assert_eq!(anon.len(), 1);
    let (code, _, err) = md(&root, &["volume", "rm", "mine"]);
    assert_eq!(code, 1);
    assert!(err.contains("in use") && err.lines().count() == 1, "{err}");
    let (code, _, err) = md(&root, &["volume", "rm", &anon[0]]);
    assert!(code == 1 && err.contains("in use"), "{err}");
    assert_eq!(md(&root, &["rm", "user"]).0, 0);
    assert!(volume_names(&root).contains(&anon[0]), "rm without -v keeps the anonymous volume");
    let (code, out, err) = md(&root, &["volume", "rm", "mine", &anon[0], &random]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3);
    assert_eq!(volume_names(&root), Vec::<String>::new());

    // rm -v: the anonymous volumes go, a named one stays.
    md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "user2",
            "-v",
            "kept:/data",
            "-v",
            "/scratch",
            "-v",
            "/more",
            "busybox",
            "true",
        ],
    );
    assert_eq!(volume_names(&root).len(), 3);
    let (code, _, err) = md(&root, &["rm", "-v", "user2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(volume_names(&root), ["kept"]);
    assert_clean(&root);
}

#[test]
fn commit_leaves_a_volumes_files_out() {
    if !have_root("commit_leaves_a_volumes_files_out") {
        return;
    }
    let root = TestRoot::with_busybox("vol-commit");
    let script = "echo secret > /test/in-volume.txt && echo kept > /outside.txt && echo ready && exec sleep 1000";
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "c",
            "-v",
            "/test",
            "busybox",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(code, 0, "{err}");
    wait_for_log(&root, "c", "ready");
    let (code, _, err) = md(&root, &["commit", "c", "committed"]);
    assert_eq!(code, 0, "{err}");
    let store = minidocker::image::Store::open(&root.path).unwrap();
    let img = store.resolve("committed").unwrap();
    let entries: Vec<String> =
        minidocker::commit::layer_entries(&store, img.manifest.layers.last().unwrap())
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
    assert!(
        entries.contains(&"outside.txt".to_string()) && entries.contains(&"test/".to_string()),
        "{entries:?}"
    );
    assert!(
        !entries.iter().any(|e| e.contains("in-volume")),
        "the volume's file was committed: {entries:?}"
    );
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "committed",
            "sh",
            "-c",
            "cat /outside.txt; ls -A /test; echo end",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "kept\nend\n"), "{err}");
    // The file is in the volume, on the host.
    let anon = volume_names(&root).into_iter().find(|n| is_anonymous_name(n)).unwrap();
    assert_eq!(
        std::fs::read_to_string(data(&root, &anon).join("in-volume.txt")).unwrap(),
        "secret\n"
    );
    md(&root, &["rm", "-f", "-v", "c"]);
    assert_eq!(volume_names(&root), Vec::<String>::new());
    assert_clean(&root);
}

#[test]
fn an_image_volume_gets_an_anonymous_volume_filled_from_the_image() {
    if !have_root("an_image_volume_gets_an_anonymous_volume_filled_from_the_image") {
        return;
    }
    let root = TestRoot::with_busybox("vol-image");
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "maker",
            "busybox",
            "sh",
            "-c",
            "mkdir /data && echo seeded > /data/seed.txt",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(&root, &["commit", "-c", "VOLUME /data", "maker", "withvol"]);
    assert_eq!(code, 0, "{err}");
    md(&root, &["rm", "maker"]);
    // As in Docker: the image's VOLUME becomes an anonymous volume, filled from the image.
    let (code, out, err) =
        md(&root, &["run", "--network", "none", "--name", "c", "withvol", "cat", "/data/seed.txt"]);
    assert_eq!((code, out.as_str()), (0, "seeded\n"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&md(&root, &["inspect", "c"]).1).unwrap();
    assert_eq!(json[0]["Mounts"][0]["Destination"], "/data");
    assert!(is_anonymous_name(json[0]["Mounts"][0]["Name"].as_str().unwrap()), "{json}");
    // A -v on the same path replaces it.
    let (code, out, _) = md(
        &root,
        &["run", "--rm", "--network", "none", "-v", "mine:/data", "withvol", "ls", "/data"],
    );
    assert_eq!((code, out.as_str()), (0, "seed.txt\n"));
    assert_eq!(volume_names(&root).len(), 2, "one anonymous for c, and mine");
    md(&root, &["rm", "-v", "c"]);
    assert_eq!(volume_names(&root), ["mine"]);
    assert_clean(&root);
}

#[test]
fn containers_starting_together_with_a_new_volume_fill_it_once() {
    if !have_root("containers_starting_together_with_a_new_volume_fill_it_once") {
        return;
    }
    let root = TestRoot::with_busybox("vol-race");
    image_with_test(&root, "withtest");
    let outs: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let root = &root;
                s.spawn(move || {
                    let script =
                        format!("cat /test/image.txt; echo {i} > /test/c{i}; ls /test/sub");
                    md(
                        root,
                        &[
                            "run",
                            "--rm",
                            "--network",
                            "none",
                            "-v",
                            "shared:/test",
                            "-v",
                            "/anon",
                            "withtest",
                            "sh",
                            "-c",
                            &script,
                        ],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, out, err) in &outs {
        assert_eq!(*code, 0, "{err}");
        assert_eq!(out, "from the image\ndeep.txt\n", "{err}");
    }
    let mut want: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    want.extend(["image.txt".to_string(), "sub".to_string()]);
    want.sort();
    assert_eq!(names(&data(&root, "shared")), want);
    assert_eq!(volume_names(&root), ["shared"], "every run --rm took its anonymous volume along");
    assert_clean(&root);
}

#[test]
fn bad_specifications_are_one_line_and_create_nothing() {
    if !have_root("bad_specifications_are_one_line_and_create_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("vol-bad");
    let host = root.path.join("host").display().to_string();
    for (specs, says) in [
        (vec!["::"], "invalid volume specification"),
        (vec!["data:test"], "must be absolute"),
        (vec!["test"], "must be absolute"),
        (vec!["/test:ro"], "a mode needs a source"),
        (vec!["a:/b:ro:x"], "too many ':'"),
        (vec!["./rel:/test"], "neither a volume name"),
        (vec!["data:/"], "cannot be mounted on /"),
        (vec!["data:/test:rx"], "unknown mode"),
        (vec![&format!("{host}:/test:nocopy")], "nocopy is for volumes"),
        (vec!["/t", "data:/t/"], "duplicate mount point /t"),
    ] {
        let mut args = vec!["run", "--network", "none"];
        for s in &specs {
            args.extend(["-v", s]);
        }
        args.extend(["busybox", "true"]);
        let (code, out, err) = md(&root, &args);
        assert_ne!(code, 0, "{specs:?}");
        assert!(
            err.contains(says) && err.lines().count() == 1 && out.is_empty(),
            "{specs:?}: {err}"
        );
    }
    assert!(!root.path.join("host").exists(), "a bad -v made its host directory");
    assert_eq!(volume_names(&root), Vec::<String>::new());
    assert_clean(&root);
}

#[test]
fn a_symlink_in_the_image_cannot_take_a_volume_out_of_the_rootfs() {
    if !have_root("a_symlink_in_the_image_cannot_take_a_volume_out_of_the_rootfs") {
        return;
    }
    let root = TestRoot::with_busybox("vol-link");
    // On the host: a directory with a secret, and a path that must never be made.
    let secret = root.path.join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("secret.txt"), "host secret\n").unwrap();
    let nowhere = root.path.join("nowhere");
    let script = format!("ln -s {} /leak && ln -s {} /make", secret.display(), nowhere.display());
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "maker", "busybox", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(md(&root, &["commit", "maker", "links"]).0, 0);
    md(&root, &["rm", "maker"]);

    // copyData follows /leak inside the rootfs, where it leads nowhere: nothing of the host's.
    // The mount points are made inside the rootfs, at the links' targets.
    let (code, out, err) = md(
        &root,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "grab:/leak",
            "-v",
            "/make/sub",
            "links",
            "sh",
            "-c",
            "echo x > /leak/x && echo y > /make/sub/y && ls -A /leak",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "x\n");
    assert_eq!(names(&data(&root, "grab")), ["x"], "the host's secret was copied into the volume");
    assert_eq!(names(&secret), ["secret.txt"], "a volume was mounted over the host's directory");
    assert!(!nowhere.exists(), "the mount point was made on the host, outside the rootfs");
    assert_clean(&root);
}

/// `mount_all` on its own, on a rootfs whose `/test` is a symlink to a directory of the host
/// and whose `/ro` climbs out of it (`../host`): both mounts land inside the rootfs, at the
/// links' targets made there, the host's directory stays as it was, and `:ro` makes only the
/// new mount read-only. The mounts are made in a child process with a private mount
/// namespace of its own (this test run again under `unshare`), so none can reach the host's.
#[test]
fn a_volume_target_linking_out_of_the_rootfs_is_mounted_inside_it() {
    const TEST: &str = "a_volume_target_linking_out_of_the_rootfs_is_mounted_inside_it";
    const CHILD: &str = "MINIDOCKER_TEST_MOUNT_ALL_IN";
    if !have_root(TEST) {
        return;
    }
    if let Some(top) = std::env::var_os(CHILD) {
        return mount_all_in_child(Path::new(&top));
    }
    let top = std::env::temp_dir().join(format!("minidocker-vol-mountall-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    for dir in ["rootfs", "host", "src"] {
        std::fs::create_dir_all(top.join(dir)).unwrap();
    }
    let top = top.canonicalize().unwrap();
    std::fs::write(top.join("host/host.txt"), "host\n").unwrap();
    std::fs::write(top.join("src/vol.txt"), "volume\n").unwrap();
    std::os::unix::fs::symlink(top.join("host"), top.join("rootfs/test")).unwrap();
    std::os::unix::fs::symlink("../host", top.join("rootfs/ro")).unwrap();

    let me = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new("unshare");
    child
        .args(["--mount", "--propagation", "private"])
        .arg(me)
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, &top);
    let (code, out, err) = run(&mut child);
    assert!(code == 0 && out.contains("1 passed"), "the child failed:\n{out}\n{err}");
    assert_eq!(names(&top.join("host")), ["host.txt"], "the host's directory changed");
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!table.contains(top.to_str().unwrap()), "a mount reached the host's table:\n{table}");
    std::fs::remove_dir_all(&top).unwrap();
}

/// The child of the test above, in its own mount namespace.
fn mount_all_in_child(top: &Path) {
    let (rootfs, host, src) = (top.join("rootfs"), top.join("host"), top.join("src"));
    let bind = |destination: &str, read_only| volumes::Bind {
        source: src.clone(),
        destination: destination.into(),
        read_only,
        file: false,
        tmpfs: None,
    };
    let targets = volumes::mount_all(&rootfs, &[bind("/test", false), bind("/ro", true)]).unwrap();
    // The mount points were made inside the rootfs, where the links lead when it is `/`.
    let (test, ro) = (rootfs.join(host.strip_prefix("/").unwrap()), rootfs.join("host"));
    assert_eq!(targets, [test.clone(), ro.clone()]);
    assert_eq!(names(&host), ["host.txt"], "a volume was mounted over the host's directory");
    assert_eq!(
        (names(&test), names(&ro)),
        (vec!["vol.txt".to_string()], vec!["vol.txt".to_string()])
    );
    // `:ro` is the second mount's alone: the first, and the source, stay writable.
    let denied = std::fs::write(ro.join("x"), "x\n").unwrap_err();
    assert_eq!(denied.raw_os_error(), Some(nix::libc::EROFS), "{denied}");
    std::fs::write(test.join("y"), "y\n").unwrap();
    assert_eq!(names(&src), ["vol.txt", "y"]);
}

/// `minidocker ARGS…` in `root` with `input` on its stdin: (exit code, stdout, stderr).
fn md_stdin(root: &TestRoot, args: &[&str], input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = root
        .minidocker()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every path under the store but `volumes/`, with what it is, its size and mtime: what a
/// prune must leave exactly as it was.
fn store_snapshot(root: &TestRoot) -> Vec<(String, bool, u64, i64, i64)> {
    fn walk(dir: &Path, top: &Path, out: &mut Vec<(String, bool, u64, i64, i64)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p == top.join("volumes") {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            out.push((
                p.strip_prefix(top).unwrap().display().to_string(),
                m.is_dir(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
            ));
            if m.is_dir() {
                walk(&p, top, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.path, &root.path, &mut out);
    out.sort();
    out
}

/// The one volume of container `name`'s mounts at `destination`.
fn volume_of(root: &TestRoot, name: &str, destination: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(&md(root, &["inspect", name]).1).unwrap();
    let m = json[0]["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Destination"] == destination)
        .unwrap_or_else(|| panic!("no {destination} in {json}"))
        .clone();
    m["Name"].as_str().unwrap().to_string()
}

const PRUNE_PROMPT: &str = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ";

#[test]
fn volume_prune_takes_unused_anonymous_volumes_and_named_ones_with_all() {
    if !have_root("volume_prune_takes_unused_anonymous_volumes_and_named_ones_with_all") {
        return;
    }
    let root = TestRoot::with_busybox("vol-prune");
    // An anonymous volume whose container is gone (rm without -v keeps it), 1500 bytes in it.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "gone",
            "-v",
            "/scratch",
            "busybox",
            "sh",
            "-c",
            "dd if=/dev/zero of=/scratch/f bs=1500 count=1 2>/dev/null",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let orphan = volume_of(&root, "gone", "/scratch");
    assert_eq!(md(&root, &["rm", "gone"]).0, 0);
    // A stopped container's anonymous and named volumes; a running one's.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "stopped",
            "-v",
            "/scratch",
            "-v",
            "used:/data",
            "busybox",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let stopped_anon = volume_of(&root, "stopped", "/scratch");
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "running",
            "-v",
            "/scratch",
            "-v",
            "live:/data",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let running_anon = volume_of(&root, "running", "/scratch");
    // Named volumes no container uses: one with 2000 bytes (hard-linked: counted once), and a
    // `volume create` with no name — random, but named as Docker sees it: only -a takes it.
    assert_eq!(md(&root, &["volume", "create", "unused"]).0, 0);
    std::fs::write(data(&root, "unused").join("f"), vec![7u8; 2000]).unwrap();
    std::fs::hard_link(data(&root, "unused").join("f"), data(&root, "unused").join("g")).unwrap();
    let created = md(&root, &["volume", "create"]).1.trim().to_string();
    let mut everything = vec![
        orphan.clone(),
        stopped_anon.clone(),
        running_anon.clone(),
        "used".to_string(),
        "live".to_string(),
        "unused".to_string(),
        created.clone(),
    ];
    everything.sort();
    assert_eq!(volume_names(&root), everything);
    let before = store_snapshot(&root);

    // Without -f it asks, on stdout; "n" (or no answer at all) removes nothing.
    for answer in ["n\n", "", "yes\n", "N\n"] {
        let (code, out, err) = md_stdin(&root, &["volume", "prune"], answer);
        assert_eq!((code, out.as_str(), err.as_str()), (0, PRUNE_PROMPT, ""), "answer {answer:?}");
        let (code, out, _) = md_stdin(&root, &["volume", "prune", "-a"], answer);
        assert_eq!(
            (code, out.as_str()),
            (0, PRUNE_PROMPT.replace("anonymous", "all").as_str()),
            "answer {answer:?}"
        );
        assert_eq!(volume_names(&root), everything);
    }

    // "y": only the anonymous volume nobody uses goes — a stopped container still uses its own.
    let (code, out, err) = md_stdin(&root, &["volume", "prune"], "y\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("{PRUNE_PROMPT}Deleted Volumes:\n{orphan}\n\nTotal reclaimed space: 1.5kB\n")
    );
    everything.retain(|n| *n != orphan);
    assert_eq!(volume_names(&root), everything);
    let (code, out, err) = md(&root, &["volume", "prune", "-f"]);
    assert_eq!((code, out.as_str()), (0, "Total reclaimed space: 0B\n"), "{err}");

    // -a: the named ones nobody uses too; what containers use stays, running or stopped.
    let (code, out, err) = md(&root, &["volume", "prune", "--all", "--force"]);
    assert_eq!(code, 0, "{err}");
    let mut gone = [created.clone(), "unused".to_string()];
    gone.sort();
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{}\n\nTotal reclaimed space: 2kB\n", gone.join("\n"))
    );
    everything.retain(|n| !gone.contains(n));
    assert_eq!(volume_names(&root), everything);
    assert_eq!(store_snapshot(&root), before, "a prune changed something besides volumes/");

    // Once their containers are gone, their volumes can go: anonymous ones first.
    assert_eq!(md(&root, &["rm", "-f", "running", "stopped"]).0, 0);
    let (code, out, _) = md(&root, &["volume", "prune", "-f"]);
    assert_eq!(code, 0);
    let mut anon = [running_anon, stopped_anon];
    anon.sort();
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{}\n\nTotal reclaimed space: 0B\n", anon.join("\n"))
    );
    assert_eq!(volume_names(&root), ["live", "used"]);
    let (code, out, _) = md(&root, &["volume", "prune", "-a", "-f"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Deleted Volumes:\nlive\nused\n\nTotal reclaimed space: 0B\n")
    );
    assert_eq!(volume_names(&root), Vec::<String>::new());
    for bad in [vec!["volume", "prune", "extra"], vec!["volume", "prune", "--filter", "x"]] {
        let (code, _, err) = md(&root, &bad);
        assert!(code != 0 && err.lines().count() == 1, "{bad:?}: {err}");
    }

    // system prune leaves volumes alone; with --volumes it takes the anonymous ones, as Docker.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "last",
            "-v",
            "/scratch",
            "-v",
            "named:/data",
            "busybox",
            "true",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let last_anon = volume_of(&root, "last", "/scratch");
    md(&root, &["volume", "create", "idle"]);
    let (code, _, err) = md(&root, &["system", "prune", "-f"]);
    assert_eq!(code, 0, "{err}");
    let mut three = vec![last_anon.clone(), "idle".to_string(), "named".to_string()];
    three.sort();
    assert_eq!(volume_names(&root), three, "system prune without --volumes");
    // The containers go first, so a stopped one's anonymous volume goes with it.
    let (code, _, err) = md(
        &root,
        &["run", "--network", "none", "--name", "later", "-v", "/scratch", "busybox", "true"],
    );
    assert_eq!(code, 0, "{err}");
    let later_anon = volume_of(&root, "later", "/scratch");
    let (code, out, err) = md(&root, &["system", "prune", "-f", "--volumes"]);
    assert_eq!(code, 0, "{err}");
    let mut anon = [last_anon, later_anon];
    anon.sort();
    assert!(out.contains(&format!("Deleted Volumes:\n{}\n\n", anon.join("\n"))), "{out}");
    assert_eq!(
        volume_names(&root),
        ["idle", "named"],
        "system prune --volumes keeps named volumes"
    );
    assert_clean(&root);
}

/// `run -v` and `volume prune -a` at once: the volumes' lock makes a container either counted
/// as a user by the prune or attach after it — never started on a volume the prune removed.
#[test]
fn volume_prune_never_takes_a_volume_a_new_container_is_attaching() {
    if !have_root("volume_prune_never_takes_a_volume_a_new_container_is_attaching") {
        return;
    }
    let root = TestRoot::with_busybox("vol-prune-race");
    let done = std::sync::atomic::AtomicBool::new(false);
    let outs: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let pruner = s.spawn(|| {
            let mut n = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let (code, _, err) = md(&root, &["volume", "prune", "-a", "-f"]);
                assert_eq!(code, 0, "{err}");
                n += 1;
            }
            n
        });
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let root = &root;
                s.spawn(move || {
                    let (name, named) = (format!("racer{i}"), format!("shared{}:/named", i % 2));
                    md(
                        root,
                        &[
                            "run",
                            "--network",
                            "none",
                            "--name",
                            &name,
                            "-v",
                            "/anon",
                            "-v",
                            &named,
                            "busybox",
                            "sh",
                            "-c",
                            "echo hi > /anon/x && echo hi > /named/x",
                        ],
                    )
                })
            })
            .collect();
        let outs = handles.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(pruner.join().unwrap() > 0);
        outs
    });
    for (code, _, err) in &outs {
        assert_eq!(*code, 0, "a container lost its volume to the prune: {err}");
    }
    // Every container's volumes are still there, and a last prune keeps them.
    md(&root, &["volume", "prune", "-a", "-f"]);
    for i in 0..6 {
        let name = format!("racer{i}");
        for dest in ["/anon", "/named"] {
            let v = volume_of(&root, &name, dest);
            assert!(data(&root, &v).join("x").is_file(), "{name}'s {dest} ({v}) is gone");
        }
    }
    assert_eq!(
        md(&root, &["rm", "-v", "racer0", "racer1", "racer2", "racer3", "racer4", "racer5"]).0,
        0
    );
    md(&root, &["volume", "prune", "-a", "-f"]);
    assert_eq!(volume_names(&root), Vec::<String>::new());
    assert_clean(&root);
}

/// `-v` as Docker reads it on Linux (the table exercise 08's check had when the parser was
/// the exercise; it is library code again).
#[test]
fn parse_reads_the_three_forms() {
    let spec = |source, destination: &str, read_only, no_copy| Spec {
        source,
        destination: destination.into(),
        read_only,
        no_copy,
    };
    let named = |n: &str| Source::Named(n.into());
    let host = |p: &str| Source::Host(p.into());
    for (text, want) in [
        ("/test", spec(Source::Anonymous, "/test", false, false)),
        ("data:/test", spec(named("data"), "/test", false, false)),
        ("data:/test:ro", spec(named("data"), "/test", true, false)),
        ("db:/var/lib/db/", spec(named("db"), "/var/lib/db", false, false)),
        ("/srv/www:/usr/share/www", spec(host("/srv/www"), "/usr/share/www", false, false)),
        ("/srv/www/:/test/:rw", spec(host("/srv/www"), "/test", false, false)),
        ("/home:/test:ro", spec(host("/home"), "/test", true, false)),
        ("pg_data.1:/var/lib/db:nocopy", spec(named("pg_data.1"), "/var/lib/db", false, true)),
        ("cache:/cache:ro,nocopy", spec(named("cache"), "/cache", true, true)),
    ] {
        assert_eq!(volumes::parse(text).unwrap(), want, "-v {text}");
    }
    for text in [
        "::",
        ":/test",
        "data:test",
        "data:",
        "/test:ro",
        "data:/",
        "/a:/b:ro:x",
        "./src:/test",
        "data:/test:rx",
        "data:/test:ro,rw",
        "/home:/test:nocopy",
        "",
    ] {
        let e = volumes::parse(text).expect_err(text);
        let e = format!("{e:#}");
        assert!(e.starts_with(&format!("invalid volume specification {text:?}: ")), "{e}");
    }
    assert!(
        volumes::valid_name("pg_data.1")
            && !volumes::valid_name("a")
            && !volumes::valid_name(".x")
            && !volumes::valid_name("a/b")
    );
}

#[test]
fn a_container_config_without_volumes_still_loads() {
    let mut doc = serde_json::to_value(minidocker::container::ContainerConfig::default()).unwrap();
    doc.as_object_mut().unwrap().remove("volumes").expect("the field exists");
    let c: minidocker::container::ContainerConfig = serde_json::from_value(doc).unwrap();
    assert!(c.volumes.is_empty());
}

#[test]
fn lesson_08_narrates_checks_and_leaves_nothing() {
    if !have_root("lesson_08_narrates_checks_and_leaves_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("vol-lesson");
    let (code, out, err) = run(&mut root.cmd(&LESSON));
    assert_eq!(code, 0, "{out}\n{err}");
    for want in [
        "host: grep the volume and the container in /proc/self/mountinfo: 0 line(s)",
        "tar: drwxr-xr-x 0/0      0 test/",
        "a container of the new image: entries in /test: 0",
        "from-image.txt (1000:1000, 0640)",
        "empty: empty",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    // The same inode through both paths: the two lines of step 4 agree.
    let inode = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split("inode ").nth(1))
            .map(str::to_owned)
    };
    assert!(
        inode("host: _data/text.txt").is_some()
            && inode("host: _data/text.txt") == inode("container: /test/text.txt"),
        "{out}"
    );
    assert_eq!(root.container_ids(), Vec::<String>::new());
    assert_eq!(volume_names(&root), Vec::<String>::new());
    let (_, images, _) = md(&root, &["images"]);
    assert_eq!(images.lines().count(), 2, "only busybox is left: {images}");
    let dir = out
        .lines()
        .find_map(|l| l.split("removed ").nth(1).filter(|p| p.contains("minidocker-lesson08-")))
        .expect("the lesson removes its host directories");
    assert!(!Path::new(dir.trim()).exists(), "{dir} left behind");
    assert_clean(&root);

    let (code, out, _) = run(root.cmd(&LESSON).args(["--check", "--solution"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CHECK OK"), "{out}");
    let (code, out, _) = run(root.cmd(&LESSON).arg("--check"));
    assert_eq!(code, 1, "the exercise as shipped must not pass: {out}");
    // The shipped mount_volumes forgets the volumes; its fill_from_image copies everywhere.
    for want in [
        "FAIL TODO 1: /ro is ro in the mount table",
        "FAIL a write to /ro fails with EROFS",
        "FAIL TODO 2: nothing of the image was copied into the host directory host-rw",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
}
