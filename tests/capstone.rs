//! The capstone: `capstone` drives `minidocker` (or `minidocker --mine`) through the article's
//! whole story and checks it. With the reference answers it passes and leaves nothing behind;
//! with any one lesson's starter in place of its answer (`--check --only NN`: that lesson's
//! exercise.rs, untouched as the workshop ships it, the reference answers for the others) it
//! fails — each exercise is needed for your docker to work.

mod common;

use common::TestRoot;

fn capstone(root: &TestRoot, args: &[&str]) -> (i32, String) {
    let port = common::free_port().to_string();
    let (code, out, err) =
        common::run(root.cmd(&common::lesson_bin("capstone")).args(["--port", &port]).args(args));
    (code, format!("{out}{err}"))
}

fn python_root(test: &str, net: u8) -> TestRoot {
    let root = TestRoot::new(test).with_net(net);
    root.import("busybox", "busybox");
    root.import("python", "python:3.11-slim");
    root
}

/// What the store holds that the capstone could have left: containers, volumes, images.
fn inventory(root: &TestRoot) -> Vec<String> {
    let mut all = root.container_ids();
    for args in [&["volume", "ls", "-q"][..], &["images", "-a", "-q"]] {
        let (_, out, _) = common::md(root, args);
        all.extend(out.lines().map(str::to_owned));
    }
    all.sort();
    all
}

#[test]
fn the_reference_answers_build_run_and_serve_and_nothing_is_left() {
    if !common::have_root("capstone") {
        return;
    }
    let root = python_root("capstone-ref", 91);
    let before = inventory(&root);
    let (code, out) = capstone(&root, &["--check", "--solution"]);
    assert_eq!(code, 0, "{out}");
    for seen in
        ["CHECK OK: all 17 checks", "<b>Hostname:</b>", "PASS exec's process is in every namespace"]
    {
        assert!(out.contains(seen), "{seen}: {out}");
    }
    assert_eq!(inventory(&root), before, "the capstone left something: {out}");
    assert!(root.host_mounts().is_empty() && root.scratch_left().is_empty());
}

#[test]
fn each_starter_breaks_your_docker() {
    if !common::have_root("capstone") {
        return;
    }
    let root = python_root("capstone-starters", 92);
    let before = inventory(&root);
    let mut passed = Vec::new();
    for lesson in minidocker::lessons::in_minidocker() {
        let (code, out) = capstone(&root, &["--check", "--only", lesson.number]);
        if code == 0 {
            passed.push(lesson.name);
        }
        assert_eq!(inventory(&root), before, "--only {} left something: {out}", lesson.number);
    }
    assert!(passed.is_empty(), "the capstone passed with the starter of {passed:?}");
}
