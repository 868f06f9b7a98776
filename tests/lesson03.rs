//! Lesson 03 end to end: a busybox container on an overlay root, copy-on-write and whiteouts
//! as the lesson shows them, and nothing left behind — after success, error or Ctrl-C.

mod common;

use common::{have_root, run, TestRoot};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// The lesson's binary, found through the library's list of lessons.
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("03"));

/// Every file of the image's layers with its content, to prove the container changed none.
fn layer_snapshot(root: &TestRoot) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                walk(&p, out);
            } else {
                out.push((
                    p.display().to_string(),
                    if m.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() },
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.path.join("layers"), &mut out);
    out.sort();
    out
}

fn assert_clean(root: &TestRoot) {
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "scratch directories left in tmp/");
}

#[test]
fn demo_shows_copy_up_and_whiteout_and_leaves_the_image_untouched() {
    if !have_root("demo_shows_copy_up_and_whiteout_and_leaves_the_image_untouched") {
        return;
    }
    let root = TestRoot::with_busybox("l03-demo");
    let before = layer_snapshot(&root);
    let (code, out, err) = run(&mut root.cmd(&BIN));
    assert_eq!(code, 0, "{out}\n{err}");
    // Before the write /etc/passwd comes from the image, after it from the read-write layer.
    let passwd: Vec<&str> =
        out.lines().filter(|l| l.trim_start().starts_with("/etc/passwd: ")).collect();
    assert!(
        passwd.len() == 2
            && passwd[0].contains("image layer 1")
            && passwd[1].contains("the read-write layer"),
        "{passwd:?}"
    );
    assert!(out.contains("image layer's copy: inode") && out.contains("— unchanged"), "{out}");
    assert!(out.contains("/etc/group: deleted: a whiteout in the read-write layer"), "{out}");
    assert!(out.contains("upper layer: character device 0:0"), "{out}");
    // The container's own mount table: an overlay root, a private /proc, no host path.
    assert!(out.lines().any(|l| l.contains(" / / ") && l.contains(" - overlay overlay ")), "{out}");
    assert_eq!(layer_snapshot(&root), before, "the image's layer changed");
    common::assert_all_gone(&common::created_paths(&out));
    assert_clean(&root);
}

#[test]
fn a_command_sees_an_overlay_root_and_no_host_path() {
    if !have_root("a_command_sees_an_overlay_root_and_no_host_path") {
        return;
    }
    let root = TestRoot::with_busybox("l03-cmd");
    let before = layer_snapshot(&root);
    let script = "cat /proc/self/mountinfo; echo HOST > /etc/passwd; rm -rf /bin/ls /etc; hostname";
    let (code, out, err) =
        run(root.cmd(&BIN).args(["--image", "busybox", "--", "/bin/sh", "-c", script]));
    assert_eq!(code, 0, "{out}\n{err}");
    let container: Vec<&str> =
        out.lines().skip_while(|l| !l.contains("in the container")).skip(1).collect();
    // mountinfo lines: "ID PARENT MAJ:MIN ROOT MOUNTPOINT … - TYPE SOURCE OPTIONS"
    let mounts: Vec<&str> = container
        .iter()
        .copied()
        .filter(|l| {
            l.contains(" - ") && l.split(' ').next().is_some_and(|f| f.parse::<u32>().is_ok())
        })
        .collect();
    let root_line = mounts.iter().find(|l| l.split(' ').nth(4) == Some("/")).expect("a root mount");
    assert!(root_line.contains(" - overlay overlay "), "{root_line}");
    let host_path = root.path.to_string_lossy().into_owned();
    for l in &mounts {
        assert!(!l.contains(&host_path), "a host path in the container's mount table: {l}");
        let mountpoint = l.split(' ').nth(4).unwrap();
        // The root, /proc, /dev and /sys — plus Docker's masked and read-only kernel paths.
        let masked = minidocker::rootfs::enter::MASKED
            .iter()
            .chain(&minidocker::rootfs::enter::READ_ONLY)
            .any(|m| mountpoint == format!("/{m}"));
        assert!(
            masked || ["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"].contains(&mountpoint),
            "unexpected mount {l}"
        );
    }
    // The hostname is the 12-digit short ID.
    assert!(
        container.iter().any(|l| l.len() == 12 && l.bytes().all(|b| b.is_ascii_hexdigit())),
        "{out}"
    );
    assert_eq!(
        layer_snapshot(&root),
        before,
        "writes and deletes inside reached the image's layer"
    );
    assert_clean(&root);
}

#[test]
fn ctrl_c_while_the_container_runs_leaves_nothing() {
    if !have_root("ctrl_c_while_the_container_runs_leaves_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("l03-int");
    // A duration no other test uses, so the process can be looked for by its command line.
    let mut child =
        root.cmd(&BIN).args(["--", "sleep", "3141"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("in the container") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        root.host_mounts(),
        Vec::<String>::new(),
        "the overlay is visible in the host's mount table"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rest: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert!(rest.contains("killed and reaped"), "{rest}");
    assert_clean(&root);
    let ps = std::process::Command::new("pgrep").args(["-f", "^sleep 3141$"]).output().unwrap();
    assert!(ps.stdout.is_empty(), "the container's process outlived the lesson");
}

/// A `switch_root` that does nothing (the starter's) must not let a container's command run
/// on the host's root: `enter_with` checks that `/` is the new root and stops with one line.
#[test]
fn a_switch_root_that_did_nothing_is_refused() {
    if !have_root("a_switch_root_that_did_nothing_is_refused") {
        return;
    }
    use minidocker::rootfs::{enter, Rules, RULES};
    let dir = minidocker::lesson::CheckDir::new("test03-switch");
    for d in ["proc", "dev", "sys"] {
        std::fs::create_dir_all(dir.0.join(d)).unwrap();
    }
    let nothing = Rules { switch_root: |_| Ok(()), ..RULES };
    let (read, write) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only makes system calls, writes to the pipe and _exits.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(read);
            let said = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
                .map_err(anyhow::Error::from)
                .and_then(|()| enter::enter_with(&dir.0, &|_| Ok(()), &nothing))
                .map_or_else(|e| format!("{e:#}"), |()| "entered".into());
            let _ = nix::unistd::write(&write, said.as_bytes());
            // SAFETY: _exit ends the forked child without running the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(write);
            let mut said = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut said).unwrap();
            nix::sys::wait::waitpid(child, None).unwrap();
            assert!(said.contains("refusing to run the container's command"), "{said}");
        }
    }
}

#[test]
fn an_unknown_image_is_one_clear_line() {
    if !have_root("an_unknown_image_is_one_clear_line") {
        return;
    }
    let root = TestRoot::new("l03-noimg");
    let (code, _, err) = run(root.cmd(&BIN).args(["--image", "nosuch:1"]));
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no such image: nosuch:1") && err.contains("scripts/base-images"),
        "{err}"
    );
    assert_clean(&root);
}

#[test]
fn the_check_passes_with_the_answer_and_fails_with_the_starter() {
    if !have_root("the_check_passes_with_the_answer_and_fails_with_the_starter") {
        return;
    }
    let (code, out, _) = run(common::bin(&BIN).args(["--check", "--solution"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CHECK OK"), "{out}");
    let (code, out, _) = run(common::bin(&BIN).arg("--check"));
    assert_eq!(code, 1, "the starter exercise must not pass:\n{out}");
    assert!(out.contains("FAIL the kernel accepts the options"), "{out}");
    // The starter's switch_root does nothing: the child's root is still the host's.
    assert!(out.contains("FAIL its /a.txt is \"plain\""), "{out}");
    let leftover = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("minidocker-check03-"));
    assert!(!leftover, "the check left its directory in the temp dir");
}
