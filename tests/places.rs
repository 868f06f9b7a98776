//! The front doors: every lesson explains itself in `--help` and has its lab sheet; the
//! `minidocker` and `workshop` binaries list what they offer and refuse what they do not know;
//! the library's list of lessons is the one `Cargo.toml`, `lessons/` and `solutions/` follow.

mod common;

use minidocker::lessons::LESSONS;
use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_lesson_explains_itself_and_has_its_lab_sheet() {
    for lesson in LESSONS {
        let (name, path) = (lesson.name, common::lesson_bin(lesson.name));
        let (code, out, _) = common::run(common::bin(&path).arg("--help"));
        assert_eq!(code, 0, "{name}");
        assert!(
            out.contains(&format!("{name} — "))
                && out.contains("Mirrors: ")
                && out.contains(&format!("lessons/{name}/README.md")),
            "{name}: {out}"
        );
        assert!(
            out.contains("  --step ") && out.contains("  --check "),
            "{name}: the common options: {out}"
        );
        let sheet = Path::new(ROOT).join(lesson.lab_sheet());
        let text = std::fs::read_to_string(&sheet).unwrap();
        assert!(
            text.contains("## Exercise") && !text.contains("not built yet"),
            "{name}: the lab sheet is not written"
        );
    }
}

/// Help, version and usage errors come before the root check: they work for anyone, and a
/// usage error exits 2 with one line saying what is wrong.
#[test]
fn every_lesson_parses_its_command_line_before_it_needs_root() {
    for lesson in LESSONS {
        let path = common::lesson_bin(lesson.name);
        let (code, out, _) = common::run(common::bin(&path).arg("--version"));
        assert_eq!(
            (code, out.trim()),
            (0, &*format!("{} {}", lesson.name, env!("CARGO_PKG_VERSION")))
        );
        let (code, _, err) = common::run(common::bin(&path).arg("--bogus"));
        assert_eq!(code, 2, "{}: {err}", lesson.name);
        assert!(err.contains("unexpected argument '--bogus'"), "{}: {err}", lesson.name);
        let (code, _, err) = common::run(common::bin(&path).arg("--solution"));
        assert_eq!(code, 2, "{}: --solution without --check: {err}", lesson.name);
    }
    let bad_value = [
        ("02", "--cpus"),
        ("02", "--memory"),
        ("05", "--publish"),
        ("04", "--tag"),
        ("07", "--tag"),
    ];
    for (n, flag) in bad_value {
        let (code, _, err) =
            common::run(common::bin(&common::lesson_bin(n)).args([flag, "no:such::value!"]));
        assert_eq!(code, 2, "{n} {flag}: {err}");
        assert!(err.contains(&format!("invalid value 'no:such::value!' for '{flag}")), "{err}");
    }
}

/// The list in src/lessons.rs is the one the rest follows: a lesson added, renamed or removed
/// in one place and not in the others fails here.
#[test]
fn cargo_toml_lessons_and_solutions_follow_the_list() {
    let listed: BTreeSet<String> = LESSONS.iter().map(|l| l.name.to_string()).collect();
    let dirs = |d: &str| -> BTreeSet<String> {
        std::fs::read_dir(Path::new(ROOT).join(d))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir() && e.path().join("exercise.rs").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(dirs("lessons"), listed, "lessons/*/ and src/lessons.rs disagree");
    assert_eq!(dirs("solutions"), listed, "solutions/*/ and src/lessons.rs disagree");

    // Cargo.toml's [[bin]] entries that live in lessons/: name and path.
    let toml = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    for entry in toml.split("[[bin]]").skip(1) {
        let field = |key: &str| {
            entry.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let (name, path) = (field("name").unwrap(), field("path").unwrap());
        if path.starts_with("lessons/") {
            assert_eq!(path, format!("lessons/{name}/main.rs"), "Cargo.toml: [[bin]] {name}");
            bins.insert(name);
        }
    }
    // The capstone is a binary in lessons/ too, with no exercise of its own.
    let with_capstone: BTreeSet<String> =
        minidocker::lessons::with_capstone().map(|l| l.name.to_string()).collect();
    assert_eq!(bins, with_capstone, "Cargo.toml's [[bin]] entries and src/lessons.rs disagree");
    let capstone = &minidocker::lessons::CAPSTONE;
    assert!(Path::new(ROOT).join("book/src").join(capstone.chapter).exists());
    assert!(Path::new(ROOT).join(capstone.lab_sheet()).exists());

    // Each lesson's chapter exists, and its mechanism compiles the reference answer as its
    // `solution` (the #[path] that names the folder is in that module, nowhere else).
    let mut sources = String::new();
    collect_rust(&Path::new(ROOT).join("src"), &mut sources);
    for l in LESSONS {
        assert!(Path::new(ROOT).join("book/src").join(l.chapter).exists(), "{}", l.chapter);
        let attr = format!("/solutions/{}/exercise.rs\"]", l.name);
        assert_eq!(sources.matches(&attr).count(), 1, "{}: its solution module", l.name);
    }
}

fn collect_rust(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rust(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push_str(&std::fs::read_to_string(&p).unwrap());
        }
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
fn minidocker_runc_speaks_runcs_command_line() {
    let bin = env!("CARGO_BIN_EXE_minidocker-runc");
    let (code, out, _) = common::run(common::bin(bin).arg("--help"));
    assert_eq!(code, 0);
    for cmd in ["create", "start", "run", "state", "kill", "delete", "exec", "ps", "features"] {
        assert!(out.contains(&format!("  {cmd} ")), "{cmd} missing from:\n{out}");
    }
    let (code, out, _) = common::run(common::bin(bin).arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("minidocker-runc version ") && out.contains("\nspec: 1.0"), "{out}");
    let (code, _, err) = common::run(common::bin(bin).arg("frobnicate"));
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand 'frobnicate'"), "{err}");
}

#[test]
fn workshop_lists_the_exercises_and_refuses_unknown_lessons() {
    let bin = env!("CARGO_BIN_EXE_workshop");
    let (code, out, _) = common::run(common::bin(bin).arg("list"));
    assert_eq!(code, 0);
    for lesson in minidocker::lessons::with_capstone() {
        assert!(out.contains(lesson.name), "{} missing from:\n{out}", lesson.name);
    }
    let (code, out, _) = common::run(common::bin(bin).args(["list", "--names"]));
    assert_eq!(code, 0);
    assert_eq!(out.lines().collect::<Vec<_>>(), LESSONS.iter().map(|l| l.name).collect::<Vec<_>>());
    let (code, _, err) = common::run(common::bin(bin).args(["check", "99"]));
    assert_eq!(code, 2);
    assert!(err.contains("no lesson with an exercise is called \"99\""), "{err}");
    for args in [&["frob"][..], &["check"], &["check", "01", "--bogus"]] {
        let (code, _, err) = common::run(common::bin(bin).args(args));
        assert_eq!(code, 2, "workshop {args:?}: {err}");
    }
    let (code, out, _) = common::run(common::bin(bin).arg("--version"));
    assert_eq!((code, out.trim()), (0, &*format!("workshop {}", env!("CARGO_PKG_VERSION"))));
}
