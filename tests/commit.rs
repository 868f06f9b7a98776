//! `minidocker commit` and lesson 07: a container's read-write layer becomes an image layer —
//! running or stopped; files added, deleted, changed and whole directories replaced come out
//! so in a container of the new image; the init layer's files and the runtime's variables do
//! not; `-c` changes the configuration; errors are one line; nothing is left behind.

mod common;

use common::{have_root, md, run, wait_for_log, TestRoot};
use minidocker::cgroups::Layout;
use minidocker::commit;
use minidocker::container::run::cgroup_name;
use minidocker::image::{Image, Store};

/// The lesson's binary, found through the library's list of lessons.
static LESSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("07"));

/// The image `name` as the store has it.
fn image(root: &TestRoot, name: &str) -> Image {
    Store::open(&root.path).unwrap().resolve(name).unwrap()
}

/// The paths in the last layer of image `name`'s tarball.
fn last_layer(root: &TestRoot, name: &str) -> Vec<String> {
    let store = Store::open(&root.path).unwrap();
    let img = store.resolve(name).unwrap();
    let desc = img.manifest.layers.last().unwrap();
    commit::layer_entries(&store, desc).unwrap().into_iter().map(|e| e.path).collect()
}

/// `minidocker run --rm --network none IMAGE sh -c SCRIPT`: its output.
fn run_in(root: &TestRoot, image: &str, script: &str) -> String {
    let (code, out, err) =
        md(root, &["run", "--rm", "--network", "none", image, "sh", "-c", script]);
    assert_eq!(code, 0, "{script}: {err}");
    out
}

fn assert_clean(root: &TestRoot) {
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "entries left in tmp/");
    let containers =
        std::fs::read_dir(root.path.join("containers")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(containers, 0, "container directories left");
}

/// cgroup directories left for containers whose IDs start with one of `ids` (short IDs too).
fn cgroups_left(ids: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    for h in &Layout::detect().unwrap().hierarchies {
        for id in ids {
            // A container's cgroup is named after its whole ID: look among its siblings.
            let named = h.mountpoint.join(cgroup_name(id));
            for e in std::fs::read_dir(named.parent().unwrap()).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with(id.as_str()) {
                    left.push(e.path().display().to_string());
                }
            }
        }
    }
    left
}

fn is_image_id(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn a_running_container_is_committed_with_its_changes_and_without_its_init_layer() {
    if !have_root("a_running_container_is_committed_with_its_changes_and_without_its_init_layer") {
        return;
    }
    let root = TestRoot::with_busybox("commit-running");
    let changes =
        "echo hi > /new.txt && rm /etc/group && echo extra:x:7:7::/:/bin/sh >> /etc/passwd \
        && echo '10.1.2.3 db' >> /etc/hosts && echo renamed > /etc/hostname \
        && rm -rf /sbin && mkdir /sbin && echo only > /sbin/only && echo ready && exec sleep 1000";
    let (code, _, err) = md(
        &root,
        &["run", "-d", "--network", "none", "--name", "box", "busybox", "sh", "-c", changes],
    );
    assert_eq!(code, 0, "{err}");
    wait_for_log(&root, "box", "ready");
    let old_hostname =
        md(&root, &["inspect", "--format", "{{.Config.Hostname}}", "box"]).1.trim().to_string();

    let (code, out, err) = md(
        &root,
        &["commit", "-m", "my change", "-a", "Jane <jane@example.com>", "box", "committed:v1"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        is_image_id(out.trim()) && out.lines().count() == 1,
        "commit prints the image ID as Docker does: {out}"
    );
    let (_, state, _) = md(&root, &["inspect", "--format", "{{.State.Status}}", "box"]);
    assert_eq!(state.trim(), "running", "the container runs on after the commit");

    // One more layer and one more history entry, with the message; the base's layers shared.
    let (base, new) = (image(&root, "busybox"), image(&root, "committed:v1"));
    assert_eq!(new.id.as_str(), out.trim());
    assert_eq!(new.diff_ids().len(), base.diff_ids().len() + 1);
    assert!(new.diff_ids().starts_with(base.diff_ids()));
    assert_eq!(new.config.history.len(), base.config.history.len() + 1);
    let h = new.config.history.last().unwrap();
    assert_eq!(h.comment.as_deref(), Some("my change"));
    assert_eq!(h.author.as_deref(), Some("Jane <jane@example.com>"));
    assert!(
        !h.empty_layer
            && h.created_by.as_deref().is_some_and(|c| c.starts_with("sh -c echo hi > /new.txt")),
        "{h:?}"
    );
    assert_eq!(new.config.author.as_deref(), Some("Jane <jane@example.com>"));
    let (_, history, _) = md(&root, &["history", "committed:v1"]);
    assert!(history.lines().nth(1).is_some_and(|l| l.ends_with("my change")), "{history}");

    // The layer: whiteouts and the opaque directory in OCI's form, no init layer file.
    let layer = last_layer(&root, "committed:v1");
    for want in
        ["new.txt", "etc/.wh.group", "etc/passwd", "sbin/", "sbin/.wh..wh..opq", "sbin/only"]
    {
        assert!(layer.iter().any(|p| p == want), "{want} missing from the layer: {layer:?}");
    }
    for not in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        assert!(!layer.iter().any(|p| p == not), "{not} was committed: {layer:?}");
    }
    // The runtime's per-container variables stay out of the image.
    let env = new.config.config.env.clone().unwrap_or_default();
    assert!(env.iter().all(|e| !e.starts_with("HOSTNAME=") && e != "HOME=/root"), "{env:?}");

    // A container of the new image sees the changes — and its own hostname and hosts file.
    let out = run_in(&root, "committed:v1", "cat /new.txt; ls /etc/group 2>&1; tail -n 1 /etc/passwd; ls /sbin; cat /etc/hostname; grep -c db /etc/hosts; tr '\\0' '\\n' < /proc/1/environ | grep -c ^HOSTNAME=");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hi", "{out}");
    assert!(lines[1].contains("No such file"), "{out}");
    assert_eq!(lines[2], "extra:x:7:7::/:/bin/sh", "{out}");
    assert_eq!(lines[3], "only", "the opaque /sbin hides the image's: {out}");
    assert!(
        lines[4].len() == 12 && lines[4] != old_hostname && lines[4] != "renamed",
        "its own /etc/hostname: {out}"
    );
    assert_eq!(&lines[5..], ["0", "1"], "no db line, one HOSTNAME: {out}");

    let id = md(&root, &["inspect", "--format", "{{.Id}}", "box"]).1.trim().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(md(&root, &["rm", "-f", "box"]).0, 0);
    assert_eq!(cgroups_left(&[id]), Vec::<String>::new());
    let (code, _, err) = md(&root, &["rmi", "committed:v1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(Store::open(&root.path).unwrap().list().unwrap().len(), 1, "only busybox is left");
    assert_clean(&root);
}

#[test]
fn a_stopped_container_is_committed_with_changes_to_its_configuration() {
    if !have_root("a_stopped_container_is_committed_with_changes_to_its_configuration") {
        return;
    }
    let root = TestRoot::with_busybox("commit-stopped");
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "done",
            "-e",
            "FROM_RUN=1",
            "busybox",
            "sh",
            "-c",
            "echo stopped > /stopped.txt",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let changes = [
        "CMD [\"echo\",\"hi\"]",
        "ENV GREETING=hello WHO=$FROM_RUN",
        "WORKDIR /srv",
        "EXPOSE 8080",
        "LABEL team=infra",
        "USER nobody",
    ];
    let mut args = vec!["commit"];
    for c in &changes {
        args.extend(["-c", c]);
    }
    args.extend(["done", "stopped:v1"]);
    let (code, out, err) = md(&root, &args);
    assert_eq!(code, 0, "{err}");
    assert!(is_image_id(out.trim()), "{out}");
    let rc = image(&root, "stopped:v1").config.config;
    assert_eq!(rc.cmd, Some(vec!["echo".to_string(), "hi".to_string()]));
    assert_eq!(rc.working_dir.as_deref(), Some("/srv"));
    assert_eq!(rc.user.as_deref(), Some("nobody"));
    assert!(rc.exposed_ports.as_ref().is_some_and(|p| p.contains_key("8080/tcp")), "{rc:?}");
    assert_eq!(rc.labels.as_ref().and_then(|l| l.get("team")).map(String::as_str), Some("infra"));
    let env = rc.env.clone().unwrap_or_default();
    for want in ["FROM_RUN=1", "GREETING=hello", "WHO=1"] {
        assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
    }
    // The CMD the change set runs by default; the rest shows inside.
    let (code, out, err) = md(&root, &["run", "--rm", "--network", "none", "stopped:v1"]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    let out = run_in(&root, "stopped:v1", "echo $GREETING; pwd; cat /stopped.txt; id -u");
    assert_eq!(out, "hello\n/srv\nstopped\n65534\n");

    // Without a CMD change, the image runs what the container ran (as Docker's commit does).
    let (code, out, err) = md(&root, &["commit", "done"]);
    assert_eq!(code, 0, "{err}");
    let plain = image(&root, out.trim());
    assert!(plain.names.is_empty(), "no name given: a <none> image");
    assert_eq!(
        plain.config.config.cmd,
        Some(vec!["sh".to_string(), "-c".to_string(), "echo stopped > /stopped.txt".to_string()])
    );
    assert!(plain.config.history.last().unwrap().comment.is_none());

    md(&root, &["rm", "done"]);
    for img in ["stopped:v1", out.trim()] {
        let (code, _, err) = md(&root, &["rmi", img]);
        assert_eq!(code, 0, "{err}");
    }
    assert_clean(&root);
}

#[test]
fn a_container_that_changed_nothing_adds_an_empty_history_entry() {
    if !have_root("a_container_that_changed_nothing_adds_an_empty_history_entry") {
        return;
    }
    let root = TestRoot::with_busybox("commit-empty");
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "idle", "busybox", "true"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = md(&root, &["commit", "-m", "nothing", "idle", "idle:v1"]);
    assert_eq!(code, 0, "{err}");
    let (base, new) = (image(&root, "busybox"), image(&root, "idle:v1"));
    assert_eq!(new.id.as_str(), out.trim());
    assert_eq!(new.diff_ids(), base.diff_ids(), "no layer for no change");
    let h = new.config.history.last().unwrap();
    assert!(h.empty_layer && h.comment.as_deref() == Some("nothing"), "{h:?}");

    // Only /etc/hosts written: it is left out, and what remains is /etc, which overlay copied
    // up (from the init layer) to hold it.
    let (code, _, err) = md(
        &root,
        &[
            "run",
            "--network",
            "none",
            "--name",
            "hosts",
            "busybox",
            "sh",
            "-c",
            "echo '10.0.0.1 x' >> /etc/hosts",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(&root, &["commit", "hosts", "hosts:v1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(last_layer(&root, "hosts:v1"), ["etc/"]);
    for (c, i) in [("idle", "idle:v1"), ("hosts", "hosts:v1")] {
        md(&root, &["rm", c]);
        assert_eq!(md(&root, &["rmi", i]).0, 0);
    }
    assert_clean(&root);
}

/// Whether the container `id`'s cgroup is frozen now.
fn frozen(id: &str) -> bool {
    minidocker::cgroups::freezer::is_paused(&Layout::detect().unwrap(), &cgroup_name(id))
}

/// `minidocker commit ARGS…` while another thread watches whether container `id` is frozen:
/// (exit code, stderr, whether it was seen frozen).
fn commit_watched(root: &TestRoot, id: &str, args: &[&str]) -> (i32, String, bool) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let seen = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if frozen(id) {
                    seen.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        });
        let (code, _, err) = md(root, &[&["commit"], args].concat());
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (code, err, seen.load(std::sync::atomic::Ordering::SeqCst))
    })
}

#[test]
fn a_running_container_is_frozen_while_its_files_are_read() {
    if !have_root("a_running_container_is_frozen_while_its_files_are_read") {
        return;
    }
    let root = TestRoot::with_busybox("commit-freeze");
    // 3000 files, so that reading the layer takes a while; then, without a pause, twenty
    // files rewritten with the same counter, round after round.
    let files: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let script = format!(
        "mkdir /d /many; i=0; while [ $i -lt 3000 ]; do echo $i > /many/$i; i=$((i+1)); done; echo ready; \
         n=0; while true; do n=$((n+1)); for f in {}; do echo $n > /d/$f; done; done",
        files.join(" ")
    );
    let (code, id, err) = md(
        &root,
        &["run", "-d", "--network", "none", "--name", "busy", "busybox", "sh", "-c", &script],
    );
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_string();
    wait_for_log(&root, "busy", "ready");
    // Past its first round: all twenty files exist.
    while md(&root, &["exec", "busy", "test", "-s", "/d/20"]).0 != 0 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // Docker's default: frozen while the layer is read, thawed afterwards.
    let (code, err, seen) = commit_watched(&root, &id, &["busy", "snap:1"]);
    assert_eq!(code, 0, "{err}");
    assert!(seen, "the container was never seen frozen during the commit");
    assert!(!frozen(&id), "the container is still frozen after the commit");
    // One instant: the twenty files hold the same round's number, or the next one's for
    // those written before the freeze caught the loop mid-round — and the one it caught
    // between `>` truncating it and `echo` writing may be empty.
    let values: Vec<u64> = run_in(&root, "snap:1", "cat /d/*")
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(values.len() >= 19, "more than one file caught half-written: {values:?}");
    let (lo, hi) = (values.iter().min().unwrap(), values.iter().max().unwrap());
    assert!(hi - lo <= 1, "the committed files come from different moments: {values:?}");
    // And it went on after the thaw. (The file is empty between `>` and `echo`: read again.)
    let later = loop {
        let (code, later, err) = md(&root, &["exec", "busy", "cat", "/d/1"]);
        assert_eq!(code, 0, "{err}");
        if let Ok(n) = later.trim().parse::<u64>() {
            break n;
        }
    };
    assert!(later > *hi, "the container did not go on after the commit: {later}");

    // --pause=false: never frozen — and then a file the loop truncates while it is read is
    // refused in one line rather than packed into a broken tarball (pack's `Exactly`).
    let (code, err, seen) = commit_watched(&root, &id, &["--pause=false", "busy", "snap:2"]);
    assert!(
        code == 0
            || (err.contains("while it was read: something was writing it")
                && err.lines().count() == 1),
        "{err}"
    );
    assert!(!seen, "--pause=false froze the container");

    // A commit killed while the container is frozen leaves it frozen; rm -f still removes it.
    let layout = Layout::detect().unwrap();
    let frozen_by_hand = minidocker::cgroups::freezer::freeze(&layout, &cgroup_name(&id)).unwrap();
    std::mem::forget(frozen_by_hand); // as if its process had been killed: nobody thaws it
    assert!(frozen(&id));
    // A commit of a container someone else froze leaves it as it found it.
    let (code, err, _) = commit_watched(&root, &id, &["busy", "snap:3"]);
    assert_eq!(code, 0, "{err}");
    assert!(frozen(&id), "the commit thawed a container it had not frozen");
    let (code, _, err) = md(&root, &["rm", "-f", "busy"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cgroups_left(&[id]), Vec::<String>::new());
    for tag in ["snap:1", "snap:2", "snap:3"] {
        // (snap:2 may not exist: see above)
        md(&root, &["rmi", tag]);
    }
    assert_clean(&root);
}

#[test]
fn pause_freezes_a_container_and_unpause_lets_it_go_on() {
    if !have_root("pause_freezes_a_container_and_unpause_lets_it_go_on") {
        return;
    }
    let root = TestRoot::with_busybox("commit-pause");
    let (code, id, err) = md(
        &root,
        &[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "ticker",
            "busybox",
            "sh",
            "-c",
            "echo ready; n=0; while true; do n=$((n+1)); echo $n > /t; mv /t /tick; done",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_string();
    wait_for_log(&root, "ticker", "ready");
    // The counter, read from the host (renamed into place whole: never seen half-written).
    let tick = || {
        std::fs::read_to_string(root.path.join("containers").join(&id).join("rootfs/upper/tick"))
            .unwrap_or_default()
    };
    while tick().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (code, out, err) = md(&root, &["pause", "ticker"]);
    assert_eq!((code, out.trim()), (0, "ticker"), "{err}");
    assert!(frozen(&id));
    // Frozen: the file stops changing; ps, inspect say so; exec and a second pause are refused.
    let before = tick();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(tick(), before, "a paused container went on writing");
    let (_, ps, _) = md(&root, &["ps"]);
    assert!(ps.contains("(Paused)"), "{ps}");
    let (_, state, _) =
        md(&root, &["inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "ticker"]);
    assert_eq!(state.trim(), "paused true");
    for (args, says) in [
        (vec!["exec", "ticker", "true"], "is paused: unpause it before exec"),
        (vec!["pause", "ticker"], "is already paused"),
    ] {
        let (code, _, err) = md(&root, &args);
        assert!(code != 0 && err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    let (code, _, err) = md(&root, &["unpause", "ticker"]);
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_ne!(tick(), before, "an unpaused container did not go on");
    let (code, _, err) = md(&root, &["unpause", "ticker"]);
    assert!(code != 0 && err.contains("is not paused"), "{err}");
    // Paused again, it can still be stopped: SIGKILL thaws it, as in Docker.
    md(&root, &["pause", "ticker"]);
    let (code, _, err) = md(&root, &["stop", "-t", "1", "ticker"]);
    assert_eq!(code, 0, "{err}");
    let (_, state, _) = md(&root, &["inspect", "--format", "{{.State.Status}}", "ticker"]);
    assert_eq!(state.trim(), "exited");
    md(&root, &["rm", "ticker"]);
    assert_eq!(cgroups_left(&[id]), Vec::<String>::new());
    assert_clean(&root);
}

#[test]
fn bad_input_is_one_line_and_makes_nothing() {
    if !have_root("bad_input_is_one_line_and_makes_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("commit-bad");
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "c1", "busybox", "true"]);
    assert_eq!(code, 0, "{err}");
    for (args, says) in [
        (vec!["commit", "ghost"], "no such container: ghost"),
        (vec!["commit", "ghost", "x:1"], "no such container: ghost"),
        (vec!["commit", "-c", "FROM busybox", "c1"], "FROM is not a change -c can make"),
        (vec!["commit", "-c", "RUN echo hi", "c1"], "RUN is not a change -c can make"),
        (vec!["commit", "-c", "BOGUS x", "c1"], "invalid change \"BOGUS x\""),
        (vec!["commit", "c1", "Not:A:Name"], "invalid reference"),
        (vec!["commit"], "commit needs a container"),
        (vec!["commit", "--pause=maybe", "c1"], "invalid --pause value \"maybe\""),
    ] {
        let (code, _, err) = md(&root, &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    assert_eq!(Store::open(&root.path).unwrap().list().unwrap().len(), 1, "only busybox");
    md(&root, &["rm", "c1"]);
    assert_clean(&root);
}

#[test]
fn the_lesson_commits_a_running_container_and_removes_what_it_made() {
    if !have_root("the_lesson_commits_a_running_container_and_removes_what_it_made") {
        return;
    }
    let root = TestRoot::with_busybox("commit-lesson");
    let (code, out, err) = run(&mut root.cmd(&LESSON));
    assert_eq!(code, 0, "{out}\n{err}");
    // The read-write layer from the host: the new file, the whiteout, the copied-up hosts file.
    assert!(out.contains("etc/group: character device 0:0 — a whiteout"), "{out}");
    assert!(out.contains("etc/hosts was copied up from the init layer"), "{out}");
    assert!(out.contains("still running: true"), "{out}");
    // The layer's tarball and what stayed behind.
    assert!(out.contains(" etc/.wh.group  ← a whiteout") && out.contains(" test.txt"), "{out}");
    assert!(out.contains(" usr/sbin/.wh..wh..opq  ← opaque"), "{out}");
    assert!(out.contains("left out: etc/hosts — from the init layer"), "{out}");
    assert!(!out.lines().any(|l| l.contains("tar:") && l.ends_with(" etc/hosts")), "{out}");
    // The new image's container.
    for want in [
        "output: hello from the container",
        "output: ls: /etc/group: No such file",
        "output: /usr/sbin: only",
        "output: no db line in /etc/hosts",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert_eq!(out.matches("output: HOSTNAME=").count(), 1, "{out}");
    assert_eq!(
        Store::open(&root.path).unwrap().list().unwrap().len(),
        1,
        "the lesson's image is removed"
    );
    let ids: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("cleanup removed container "))
        .map(|l| l[..12].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert_eq!(cgroups_left(&ids), Vec::<String>::new());
    assert_clean(&root);

    // With the starter exercise the walk packs nothing: the new image has none of the changes.
    let (code, out, err) = run(root.cmd(&LESSON).arg("--mine"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("the commit made no layer"), "{out}");
    assert!(!out.contains("output: hello from the container"), "{out}");
    assert_clean(&root);
}

#[test]
fn the_check_passes_with_the_answer_and_fails_with_the_starter() {
    if !have_root("the_check_passes_with_the_answer_and_fails_with_the_starter") {
        return;
    }
    // The check's directory is named after its process: it must be gone when the check is.
    let check = |args: &[&str]| {
        let child = common::bin(&LESSON)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("minidocker-check07-{}", child.id()));
        let out = child.wait_with_output().unwrap();
        assert!(!dir.exists(), "the check left {} behind", dir.display());
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = check(&["--check", "--solution"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CHECK OK"), "{out}");
    let (code, out) = check(&["--check"]);
    assert_eq!(code, 1, "the starter exercise must not pass:\n{out}");
    assert!(
        out.contains("FAIL each deleted path has its whiteout")
            && out.contains("FAIL the opaque directory data/ holds an empty .wh..wh..opq")
            && out.contains("FAIL an overlay of your layer on the lower one shows exactly"),
        "{out}"
    );
}
