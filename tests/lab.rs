//! The lab mechanism: every exercise mirrors its solution, and neither is already the other.
//!
//! `lessons/NN-*/exercise.rs` must be `solutions/NN-*/exercise.rs` with the answers taken out:
//! identical outside the `ANCHOR: name` … `ANCHOR_END: name` regions, with the same regions in
//! the same order, and different inside at least one of them.

use std::fs;
use std::path::Path;

/// (text outside regions, [(region name, region text)]).
fn split(text: &str) -> (String, Vec<(String, String)>) {
    let (mut outside, mut regions) = (String::new(), Vec::new());
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("// ANCHOR: ") {
            assert!(current.is_none(), "nested anchor {name}");
            current = Some((name.to_owned(), String::new()));
        } else if let Some(name) = t.strip_prefix("// ANCHOR_END: ") {
            let region =
                current.take().unwrap_or_else(|| panic!("ANCHOR_END: {name} without ANCHOR"));
            assert_eq!(region.0, name, "anchor {} closed as {name}", region.0);
            regions.push(region);
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        } else {
            outside.push_str(line);
            outside.push('\n');
        }
    }
    assert!(current.is_none(), "an anchor is never closed");
    (outside, regions)
}

fn lessons_with_exercises() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = fs::read_dir(root.join("lessons"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("exercise.rs").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_lesson_has_an_exercise() {
    let names = lessons_with_exercises();
    for lesson in minidocker::lessons::LESSONS {
        assert!(names.iter().any(|n| n == lesson.name), "{} is missing", lesson.exercise());
    }
}

/// Every exercise, the student's and the reference answer, ends the same way: its answers as
/// one `RULES` value of its mechanism's `Rules`, which the lesson picks with `Lab::rules`.
#[test]
fn every_exercise_plugs_in_the_same_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lesson in minidocker::lessons::LESSONS {
        for file in [lesson.exercise(), lesson.solution()] {
            let text = fs::read_to_string(root.join(&file)).unwrap();
            let last = text.trim_end().lines().last().unwrap_or_default();
            assert!(
                last.starts_with("pub const RULES: Rules = Rules {"),
                "{file} ends with {last}"
            );
        }
        let main = fs::read_to_string(root.join(lesson.room()).join("main.rs")).unwrap();
        assert!(
            main.contains("lab.rules(&mine::RULES, &solution::RULES)"),
            "{}: the lesson picks the rules with Lab::rules",
            lesson.name
        );
    }
}

#[test]
fn exercise_and_solution_do_not_drift() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in lessons_with_exercises() {
        let ex = fs::read_to_string(root.join("lessons").join(&name).join("exercise.rs")).unwrap();
        let sol_path = root.join("solutions").join(&name).join("exercise.rs");
        let sol = fs::read_to_string(&sol_path)
            .unwrap_or_else(|_| panic!("{} is missing", sol_path.display()));
        let (ex_out, ex_regions) = split(&ex);
        let (sol_out, sol_regions) = split(&sol);
        assert!(!ex_regions.is_empty(), "{name}: the exercise marks no region for the student");
        for (e, s) in ex_out.lines().zip(sol_out.lines()) {
            assert_eq!(e, s, "{name}: exercise and solution differ outside the anchored regions");
        }
        assert_eq!(
            ex_out.lines().count(),
            sol_out.lines().count(),
            "{name}: exercise and solution differ outside the anchored regions"
        );
        let names = |r: &[(String, String)]| r.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ex_regions), names(&sol_regions), "{name}: the regions differ");
        assert!(
            ex_regions.iter().zip(&sol_regions).any(|(e, s)| e.1 != s.1),
            "{name}: the exercise already contains the solution"
        );
    }
}

#[test]
fn split_keeps_regions_apart() {
    let (out, regions) = split("a\n// ANCHOR: x\nb\n// ANCHOR_END: x\nc\n");
    assert_eq!(out, "a\nc\n");
    assert_eq!(regions, vec![("x".to_string(), "b\n".to_string())]);
}

/// `workshop reset` puts `solutions/NN-*/starter.rs` back: it must be the untouched exercise.
/// (A student who has edited an exercise sees this fail for that lesson: that is expected.)
#[test]
fn the_starter_kept_for_reset_is_the_exercise() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lesson in minidocker::lessons::LESSONS {
        let starter = fs::read_to_string(root.join(lesson.starter())).unwrap_or_else(|_| {
            panic!("{} is missing: copy {} there", lesson.starter(), lesson.exercise())
        });
        let exercise = fs::read_to_string(root.join(lesson.exercise())).unwrap();
        assert!(
            starter == exercise,
            "{} differs from {}: a changed starter must be copied to both",
            lesson.starter(),
            lesson.exercise()
        );
    }
}

/// `workshop hint NN` reads `## Hint N` sections: at least two for every exercise, in order.
#[test]
fn every_exercise_has_hints_in_stages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lesson in minidocker::lessons::LESSONS {
        let text = fs::read_to_string(root.join(lesson.hints()))
            .unwrap_or_else(|_| panic!("{} is missing", lesson.hints()));
        let numbers: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("## Hint "))
            .map(|n| n.trim().to_string())
            .collect();
        let want: Vec<String> = (1..=numbers.len()).map(|n| n.to_string()).collect();
        assert!(numbers.len() >= 2 && numbers == want, "{}: {numbers:?}", lesson.hints());
    }
}
