//! The front doors: every lesson explains itself in `--help` and has its lab sheet; the
//! `minidocker` and `workshop` binaries list what they offer and refuse what they do not know.

mod common;

const LESSONS: [(&str, &str); 8] = [
    ("01-namespaces", env!("CARGO_BIN_EXE_01-namespaces")),
    ("02-cgroups", env!("CARGO_BIN_EXE_02-cgroups")),
    ("03-rootfs-aufs", env!("CARGO_BIN_EXE_03-rootfs-aufs")),
    ("04-dockerfile-build", env!("CARGO_BIN_EXE_04-dockerfile-build")),
    ("05-run-and-port", env!("CARGO_BIN_EXE_05-run-and-port")),
    ("06-exec-setns", env!("CARGO_BIN_EXE_06-exec-setns")),
    ("07-commit", env!("CARGO_BIN_EXE_07-commit")),
    ("08-volumes-bind-mount", env!("CARGO_BIN_EXE_08-volumes-bind-mount")),
];

#[test]
fn every_lesson_explains_itself_and_has_its_lab_sheet() {
    for (name, path) in LESSONS {
        let (code, out, _) = common::run(common::bin(path).arg("--help"));
        assert_eq!(code, 0, "{name}");
        assert!(
            out.contains("Mirrors:") && out.contains(&format!("lessons/{name}/README.md")),
            "{name}: {out}"
        );
        assert!(
            out.contains("  --step ") && out.contains("  --check "),
            "{name}: the common options: {out}"
        );
        let sheet = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("lessons")
            .join(name)
            .join("README.md");
        let text = std::fs::read_to_string(&sheet).unwrap();
        assert!(
            text.contains("## Exercise") && !text.contains("not built yet"),
            "{name}: the lab sheet is not written"
        );
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
    for (lesson, _) in LESSONS {
        assert!(out.contains(lesson), "{lesson} missing from:\n{out}");
    }
    let (code, _, err) = common::run(common::bin(bin).args(["check", "99"]));
    assert_eq!(code, 2);
    assert!(err.contains("no lesson with an exercise is called \"99\""), "{err}");
    let (code, _, _) = common::run(common::bin(bin).arg("frob"));
    assert_eq!(code, 2);
}
