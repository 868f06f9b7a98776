//! Lessons 05–08 and `minidocker` have their places laid: each binary exists, explains itself
//! in `--help`, and — until its issue lands — says in one line that it is not built yet.

mod common;

const LATER: [(&str, &str); 1] = [
    ("08-volumes-bind-mount", env!("CARGO_BIN_EXE_08-volumes-bind-mount")),
];

#[test]
fn later_lessons_explain_themselves() {
    for (name, path) in LATER {
        let (code, out, _) = common::run(common::bin(path).arg("--help"));
        assert_eq!(code, 0, "{name}");
        assert!(out.contains("Mirrors:") && out.contains(&format!("lessons/{name}/README.md")), "{name}: {out}");
        assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons").join(name).join("README.md").exists());
    }
}

#[test]
fn later_lessons_say_they_are_not_built_in_one_line() {
    if !common::have_root("later_lessons_say_they_are_not_built_in_one_line") {
        return;
    }
    for (name, path) in LATER {
        let (code, _, err) = common::run(&mut common::bin(path));
        assert_eq!(code, 1, "{name}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains("Not built yet"), "{name}: {err}");
    }
}

#[test]
fn minidocker_lists_its_commands_and_refuses_unknown_ones() {
    let bin = env!("CARGO_BIN_EXE_minidocker");
    let (code, out, _) = common::run(&mut common::bin(bin));
    assert_eq!(code, 0);
    for cmd in ["build", "run", "exec", "commit", "volume", "pull", "push"] {
        assert!(out.contains(&format!("  {cmd} ")), "{cmd} missing from:\n{out}");
    }
    let (code, _, err) = common::run(common::bin(bin).arg("frobnicate"));
    assert_eq!(code, 2);
    assert!(err.contains("unknown command 'frobnicate'"), "{err}");
}

#[test]
fn workshop_lists_the_exercises_and_refuses_unknown_lessons() {
    let bin = env!("CARGO_BIN_EXE_workshop");
    let (code, out, _) = common::run(common::bin(bin).arg("list"));
    assert_eq!(code, 0);
    for lesson in ["01-namespaces", "02-cgroups", "03-rootfs-aufs", "04-dockerfile-build", "05-run-and-port", "06-exec-setns", "07-commit"] {
        assert!(out.contains(lesson), "{lesson} missing from:\n{out}");
    }
    let (code, _, err) = common::run(common::bin(bin).args(["check", "99"]));
    assert_eq!(code, 2);
    assert!(err.contains("no lesson with an exercise is called \"99\""), "{err}");
    let (code, _, _) = common::run(common::bin(bin).arg("frob"));
    assert_eq!(code, 2);
}
