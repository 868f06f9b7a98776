//! The Dockerfile parser against BuildKit's parser corpus (`../shared/corpus/buildkit-dockerfile`,
//! see its NOTICE.md for the format of each part). Each test reports every failing case at
//! once, so one run shows the whole picture.

use std::fs;
use std::path::{Path, PathBuf};

use minidocker::dockerfile::{self, dump, expand, parse, words};

/// `../shared/corpus/…` next to the checkout; `MINIDOCKER_CORPUS` (the `corpus/` directory)
/// when the checkout lives elsewhere, or the team's shared tree at /work/shared.
fn corpus() -> PathBuf {
    let candidates = [
        std::env::var_os("MINIDOCKER_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|c| c.join("buildkit-dockerfile"))
        .find(|c| c.is_dir());
    found.expect("the BuildKit corpus: ../shared/corpus/buildkit-dockerfile next to the checkout (or set MINIDOCKER_CORPUS)")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The case directories of one part, sorted by name.
fn cases(part: &str) -> Vec<PathBuf> {
    let dir = corpus().join(part);
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut cases: Vec<PathBuf> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    cases
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// Fails with every problem listed, after saying how many of `total` cases passed.
fn report(part: &str, total: usize, failures: Vec<String>) {
    println!("{part}: {} of {total} cases pass", total - failures.len());
    assert!(
        failures.is_empty(),
        "{part}: {} of {total} cases fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The first differing line of two dumps, to point at the problem in a long file.
fn first_difference(got: &str, want: &str) -> String {
    let (got_lines, want_lines): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    for i in 0..got_lines.len().max(want_lines.len()) {
        let (g, w) = (got_lines.get(i), want_lines.get(i));
        if g != w {
            return format!(
                "line {}:\n   got: {}\n  want: {}",
                i + 1,
                g.unwrap_or(&"<none>"),
                w.unwrap_or(&"<none>")
            );
        }
    }
    "same lines, different line endings".to_string()
}

#[test]
fn positive_cases_dump_as_expected() {
    let cases = cases("testfiles");
    let mut failures = Vec::new();
    for case in &cases {
        let want = read(&case.join("result"));
        match parse(&read(&case.join("Dockerfile")), "Dockerfile") {
            Ok(parsed) if dump(&parsed) == want => {}
            Ok(parsed) => failures.push(format!(
                "{}: {}",
                name(case),
                first_difference(&dump(&parsed), &want)
            )),
            Err(e) => failures.push(format!("{}: unexpected error: {e}", name(case))),
        }
    }
    assert!(cases.len() >= 25, "the corpus has at least 25 positive cases, found {}", cases.len());
    report("testfiles", cases.len(), failures);
}

#[test]
fn negative_cases_fail() {
    let cases = cases("testfiles-negative");
    let mut failures = Vec::new();
    for case in &cases {
        if let Ok(parsed) = parse(&read(&case.join("Dockerfile")), "Dockerfile") {
            failures.push(format!("{}: parsed, but must fail:\n{}", name(case), dump(&parsed)));
        }
    }
    assert!(!cases.is_empty());
    report("testfiles-negative", cases.len(), failures);
}

/// The corpus has the Dockerfile but not its expectations (they live in BuildKit's Go test).
/// Read off the file: FROM on line 5; ENV on 11–12 (`\` continues it); RUN from 17 to 31,
/// the blank lines inside its continuation included.
#[test]
fn line_numbers() {
    let parsed = parse(&read(&corpus().join("testfile-line/Dockerfile")), "Dockerfile").unwrap();
    let got: Vec<(&str, usize, usize)> = parsed
        .instructions
        .iter()
        .map(|i| (i.keyword.as_str(), i.start_line, i.end_line))
        .collect();
    assert_eq!(got, [("from", 5, 5), ("env", 11, 12), ("run", 17, 31)]);
    // The four blank lines inside the RUN continuation are accepted, with a warning each.
    assert_eq!(parsed.warnings.len(), 4, "{:#?}", parsed.warnings);
    assert!(
        parsed.warnings[0].starts_with("Dockerfile:19: empty continuation line"),
        "{}",
        parsed.warnings[0]
    );
}

/// `PWD=/home SHELL=bash KOREAN=한국어 NULL=`, as NOTICE.md gives it.
fn env_var_test_env(name: &str) -> Option<String> {
    let value = match name {
        "PWD" => "/home",
        "SHELL" => "bash",
        "KOREAN" => "한국어",
        "NULL" => "",
        _ => return None,
    };
    Some(value.to_string())
}

#[test]
fn variable_expansion() {
    let text = read(&corpus().join("shell/envVarTest"));
    let (mut total, mut failures) = (0, Vec::new());
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        let [platform, input, want] = fields[..] else {
            panic!("envVarTest:{}: not PLATFORM|input|expected", number + 1)
        };
        if platform == "W" {
            continue; // Windows only: variable names are case-insensitive there
        }
        total += 1;
        let got = expand(input, &env_var_test_env, '\\');
        let ok = match &got {
            Ok(value) => want != "error" && value == want,
            Err(_) => want == "error",
        };
        if !ok {
            failures
                .push(format!("envVarTest:{}: {input:?}: got {got:?}, want {want:?}", number + 1));
        }
    }
    report("envVarTest", total, failures);
}

#[test]
fn word_splitting() {
    let text = read(&corpus().join("shell/wordsTest"));
    let mut env: Vec<String> = Vec::new();
    let (mut total, mut failures) = (0, Vec::new());
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(entry) = line.strip_prefix("ENV ") {
            // `ENV name=value`: the value is kept exactly, trailing spaces included.
            env.push(entry.trim_start().to_string());
            continue;
        }
        let Some((input, want)) = line.split_once('|') else {
            panic!("wordsTest:{}: not input|words", number + 1)
        };
        // Only the left of the expectation is trimmed: some end with meaningful spaces.
        let (input, want) = (input.trim(), want.trim_start());
        total += 1;
        let got = words(input, &dockerfile::lookup_in(&env), '\\');
        let ok = match &got {
            Ok(got) => want != "error" && *got == want.split(',').collect::<Vec<_>>(),
            Err(_) => want == "error",
        };
        if !ok {
            failures
                .push(format!("wordsTest:{}: {input:?}: got {got:?}, want {want:?}", number + 1));
        }
    }
    report("wordsTest", total, failures);
}
