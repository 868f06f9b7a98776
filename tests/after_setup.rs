//! Every lesson (and the capstone) with no arguments, as a student runs it first on a machine `scripts/setup`
//! made: busybox and python:3.11-slim in the store, and the demo — helloworld, published on
//! port 4000 — still running. Each lesson exits 0 and leaves the store as it found it: the
//! demo running and alone, the same images, no mount and no scratch directory.

mod common;

use common::{md, run, TestRoot};

/// What a lesson could leave behind in the store or the host's mount table.
fn state(root: &TestRoot) -> (Vec<String>, String, Vec<String>, Vec<String>) {
    let mut ids = root.container_ids();
    ids.sort();
    let (_, images, _) = md(root, &["images", "-q"]);
    (ids, images, root.host_mounts(), root.scratch_left())
}

#[test]
fn every_lesson_runs_with_no_arguments_next_to_the_setup_demo() {
    if !common::have_root("every_lesson_runs_with_no_arguments_next_to_the_setup_demo") {
        return;
    }
    let root = TestRoot::with_busybox("after-setup").with_net(174);
    root.import("python", "python:3.11-slim");
    let (code, _, err) = run(root.minidocker().args([
        "build",
        "-t",
        "helloworld",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld"),
    ]));
    assert_eq!(code, 0, "building helloworld: {err}");
    // The demo on port 4000 — unless something else has it already, which is the same case.
    let publish = if std::net::TcpListener::bind(("0.0.0.0", 4000)).is_ok() {
        "4000:80".to_string()
    } else {
        format!("{}:80", common::free_port())
    };
    let (code, _, err) =
        md(&root, &["run", "-d", "--name", "helloworld", "-p", &publish, "helloworld"]);
    assert_eq!(code, 0, "starting the demo: {err}");
    let before = state(&root);
    assert_eq!(before.0.len(), 1);

    for lesson in minidocker::lessons::with_capstone() {
        let (code, out, err) = run(&mut root.cmd(&common::lesson_bin(lesson.name)));
        assert_eq!(code, 0, "{} with no arguments:\n{out}\n{err}", lesson.name);
        assert!(!out.contains("not found") && !err.contains("not found"), "{out}\n{err}");
        assert_eq!(state(&root), before, "{} left something behind:\n{out}", lesson.name);
        if ["05", "capstone"].contains(&lesson.number) {
            assert!(
                out.contains("port 4000 is taken"),
                "{} must say it moved:\n{out}",
                lesson.name
            );
        }
    }
    // Entering the demo: the default command uses only the shell and /proc (no ps in python).
    let (code, out, err) =
        run(root.cmd(&common::lesson_bin("06")).args(["--target", "helloworld"]));
    assert_eq!(code, 0, "06 --target helloworld:\n{out}\n{err}");
    assert!(out.lines().any(|l| l.trim().ends_with(" python")), "PID 1 is python:\n{out}");
    let (_, ps, _) = md(&root, &["ps"]);
    assert!(ps.contains("helloworld") && ps.contains("Up"), "the demo still runs:\n{ps}");
}
