//! The book stays true: its listings are included from the sources by anchors that exist, and
//! the outputs it shows are what the binaries print today (numbers aside: PIDs, inodes and
//! timings differ from run to run). Refresh the outputs with scripts/book-outputs.

mod common;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every page of the book (`book/src/*.md`), with its text.
fn pages() -> Vec<(std::path::PathBuf, String)> {
    let src = Path::new(ROOT).join("book/src");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            pages.push((path, text));
        }
    }
    pages
}

#[test]
fn every_include_resolves() {
    let src = Path::new(ROOT).join("book/src");
    let mut n = 0;
    for (path, text) in pages() {
        for inc in text.split("{{#include ").skip(1) {
            let spec = inc.split("}}").next().unwrap();
            let (file, anchor) = spec.split_once(':').map_or((spec, None), |(f, a)| (f, Some(a)));
            let target = src.join(file);
            let body = std::fs::read_to_string(&target)
                .unwrap_or_else(|_| panic!("{}: {file} does not exist", path.display()));
            if let Some(a) = anchor.filter(|a| !a.chars().next().unwrap().is_ascii_digit()) {
                assert!(
                    body.contains(&format!("ANCHOR: {a}\n")),
                    "{}: no anchor {a} in {file}",
                    path.display()
                );
                assert!(
                    body.contains(&format!("ANCHOR_END: {a}\n")),
                    "{}: anchor {a} never ends in {file}",
                    path.display()
                );
            }
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} includes found");
}

/// Numbers out, IDs and digests (12 or more hex digits) out, the host's hostname and DNS
/// servers out, and the memory hog's progress lines (how many it prints before the OOM kill
/// varies) out. Containers' made-up names (`jolly_curie`, from their random IDs) out, and so
/// are the 10 hex digits of a container's ID in its veth's name. `ls -l`'s dates out, and the
/// host's own filesystem at the end of a bind mount's mountinfo line.
fn normalize(text: &str) -> String {
    let names = container_names();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("hog: ") {
            continue;
        }
        let line = if line.starts_with("  hostname: ") { "  hostname: HOST" } else { line };
        let line = if line.starts_with("  init/etc/resolv.conf: ") {
            "  init/etc/resolv.conf: HOST'S"
        } else {
            line
        };
        let line = names.iter().fold(line.to_string(), |l, n| l.replace(n.as_str(), "NAME"));
        let line = &hide_hex(&hide_veth(&hide_dates(&hide_host_fs(&line))));
        let mut prev_digit = false;
        for c in line.trim_end().chars() {
            if c.is_ascii_digit() {
                if !prev_digit {
                    out.push('N');
                }
                prev_digit = true;
            } else {
                out.push(c);
                prev_digit = false;
            }
        }
        out.push('\n');
    }
    out
}

/// Every name `minidocker run` can make up for a container (`adjective_scientist`).
fn container_names() -> Vec<String> {
    (0..256u32).map(|n| minidocker::container::state::random_name(&format!("{n:08x}"))).collect()
}

/// `veth` and the first 10 hex digits of a container's ID (the host end of its veth pair)
/// becomes `vethHEX`: too short for [`hide_hex`].
fn hide_veth(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("veth") {
        let (before, after) = rest.split_at(at + 4);
        out += before;
        let id: String = after.chars().take_while(char::is_ascii_hexdigit).collect();
        if id.len() == 10 {
            out += "HEX";
            rest = &after[10..];
        } else {
            rest = after;
        }
    }
    out + rest
}

/// `ls -l`'s date and time (`Nov 29 06:31`, or `Mar  3  2024` for an old file) becomes
/// `DATE`: the month is a word, and the day is padded to two columns.
fn hide_dates(line: &str) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let digits = |w: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit())
    };
    let clock = |w: &str| {
        w.len() == 5 && w.as_bytes()[2] == b':' && digits(&w[..2], 2..=2) && digits(&w[3..], 2..=2)
    };
    let words: Vec<&str> = line.split(' ').collect();
    let next = |mut i: usize| {
        while words.get(i) == Some(&"") {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if MONTHS.contains(&words[i]) {
            let day = next(i + 1);
            let time = next(day + 1);
            if words.get(day).is_some_and(|d| digits(d, 1..=2))
                && words.get(time).is_some_and(|t| clock(t) || digits(t, 4..=4))
            {
                out.push("DATE");
                i = time + 1;
                continue;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

/// A bind mount's line in a mountinfo shown after `mountinfo: ` (its root, the fourth field,
/// is a directory, not `/`) keeps its first five fields — IDs, device, root, mount point —
/// and loses the rest: the mount options and the filesystem it came from are the host's own,
/// and differ from host to host.
fn hide_host_fs(line: &str) -> String {
    let Some((head, entry)) = line.split_once("mountinfo: ") else { return line.to_string() };
    let fields: Vec<&str> = entry.split(' ').collect();
    if fields.len() < 6 || fields[3] == "/" || !fields[3].starts_with('/') {
        return line.to_string();
    }
    format!("{head}mountinfo: {} HOST'S", fields[..5].join(" "))
}

/// Runs of 12 or more hex digits (image IDs, digests, container IDs) become `HEX`.
fn hide_hex(line: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in line.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out += if run.len() >= 12 { "HEX" } else { &run };
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// `book/src/output/`'s file for lesson `number`'s run, `01-namespaces.txt`, or with a suffix
/// for a second run, `01-namespaces-syscalls.txt`.
fn capture(number: &str, suffix: &str) -> String {
    format!("{}{suffix}.txt", minidocker::lessons::find(number).unwrap().name)
}

fn assert_matches(captured: &str, bin: &str, args: &[&str], filter: fn(&str) -> bool) {
    assert_matches_in(None, captured, bin, args, filter)
}

/// With a store: its path is shown as `$MINIDOCKER_ROOT`, as scripts/book-outputs writes it.
fn assert_matches_in(
    store: Option<&common::TestRoot>,
    captured: &str,
    bin: &str,
    args: &[&str],
    filter: fn(&str) -> bool,
) {
    let mut cmd = match store {
        Some(root) => root.cmd(bin),
        None => common::bin(bin),
    };
    let (code, out, err) = common::run(cmd.args(args));
    let out = match store {
        Some(root) => out.replace(&*root.path.to_string_lossy(), "$MINIDOCKER_ROOT"),
        None => out,
    };
    // A store with a network of its own: its bridge is shown as scripts/book-outputs's, mdbook0.
    let out = match store.and_then(|root| root.net.as_ref()) {
        Some((bridge, _)) => out.replace(bridge.as_str(), "mdbook0"),
        None => out,
    };
    // Paths in the repository are shown relative to it, as scripts/book-outputs writes them.
    let out = out.replace(concat!(env!("CARGO_MANIFEST_DIR"), "/"), "");
    assert_eq!(code, 0, "{err}");
    let fresh: String = out.lines().filter(|l| filter(l)).map(|l| format!("{l}\n")).collect();
    // The stored capture without scripts/book-anchors's markers.
    let stored: String =
        std::fs::read_to_string(Path::new(ROOT).join("book/src/output").join(captured))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("ANCHOR: ") && !l.starts_with("ANCHOR_END: "))
            .map(|l| format!("{l}\n"))
            .collect();
    assert_eq!(
        normalize(&stored),
        normalize(&fresh),
        "book/src/output/{captured} is stale: run scripts/book-outputs"
    );
}

#[test]
fn shown_outputs_are_what_the_binaries_print() {
    if !common::have_root("shown_outputs_are_what_the_binaries_print") {
        return;
    }
    assert_matches(&capture("01", ""), &common::lesson_bin("01"), &[], |_| true);
    assert_matches(
        &capture("01", "-syscalls"),
        &common::lesson_bin("01"),
        &["--explain", "--", "true"],
        |l| l.contains("syscall"),
    );
    assert_matches(&capture("02", ""), &common::lesson_bin("02"), &[], |_| true);
    // A bridge and subnet of the test's own for lesson 05 (scripts/book-outputs uses mdbook0).
    let store = common::TestRoot::with_busybox("book").with_net(21);
    assert_matches_in(Some(&store), &capture("03", ""), &common::lesson_bin("03"), &[], |_| true);
    store.import("python", "python:3.11-slim");
    assert_matches_in(Some(&store), &capture("04", ""), &common::lesson_bin("04"), &[], |_| true);

    let (code, _, err) = common::run(store.minidocker().args([
        "build",
        "-t",
        "helloworld",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld"),
    ]));
    assert_eq!(code, 0, "building helloworld: {err}");
    // The capture's port, 4096, unless something here listens on it (numbers are compared as N).
    let port = if std::net::TcpListener::bind(("0.0.0.0", 4096)).is_ok() {
        4096
    } else {
        common::free_port()
    };
    let publish = format!("{port}:80");
    assert_matches_in(
        Some(&store),
        &capture("05", ""),
        &common::lesson_bin("05"),
        &["-p", &publish],
        |_| true,
    );
    assert_matches_in(
        Some(&store),
        "capstone.txt",
        &common::lesson_bin("capstone"),
        &["-p", &port.to_string()],
        |_| true,
    );

    let (code, _, err) = common::run(store.minidocker().args([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "target",
        "busybox",
        "sleep",
        "1000",
    ]));
    assert_eq!(code, 0, "starting the container to enter: {err}");
    let (_, pid, _) =
        common::run(store.minidocker().args(["inspect", "--format", "{{.State.Pid}}", "target"]));
    let pid = pid.trim();
    let exec06 = &common::lesson_bin("06");
    assert_matches(
        &capture("06", "-net"),
        exec06,
        &[&format!("/proc/{pid}/ns/net"), "ip", "addr"],
        |_| true,
    );
    assert_matches(
        &capture("06", "-pid"),
        exec06,
        &[
            &format!("/proc/{pid}/ns/pid"),
            "sh",
            "-c",
            r#"echo "me: $$"; sh -c "echo my child: \$\$""#,
        ],
        |_| true,
    );
    assert_matches_in(Some(&store), &capture("06", ""), exec06, &["--target", "target"], |_| true);
    let (code, _, err) = common::run(store.minidocker().args(["rm", "-f", "target"]));
    assert_eq!(code, 0, "removing the container: {err}");

    assert_matches_in(Some(&store), &capture("07", ""), &common::lesson_bin("07"), &[], |_| true);

    // Lesson 08 runs busybox containers with volumes, and removes what it made; with
    // --explain, only the two calls of its first container's child.
    let lesson08 = &common::lesson_bin("08");
    assert_matches_in(Some(&store), &capture("08", ""), lesson08, &[], |_| true);
    assert_matches_in(Some(&store), &capture("08", "-child"), lesson08, &["--explain"], |l| {
        l.contains("the child (its log)")
    });
    // Lesson 09 runs a bundle of busybox with runc and with ours (its Docker part left out).
    let lesson09 = &common::lesson_bin("09");
    assert_matches_in(Some(&store), &capture("09", ""), lesson09, &["--no-docker"], |_| true);
}

#[test]
fn normalize_hides_only_what_varies() {
    assert_eq!(
        normalize("PID 8486 in 3.00 s\nhog: 16 MiB\n  hostname: vm\n"),
        "PID N in N.N s\n  hostname: HOST\n"
    );
    assert_eq!(normalize("ID 2f4175433b76 at cafe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/diff"), "ID HEX at cafe HEX/diff\n");
    assert_eq!(
        normalize("(name jolly_curie) NAMES brave_babbage, not pid_for_children"),
        "(name NAME) NAMES NAME, not pid_for_children\n"
    );
    assert_eq!(
        normalize("veth pair: vethd745831668 on the host, not vethernet or veth12"),
        "veth pair: vethHEX on the host, not vethernet or vethN\n"
    );
    assert_eq!(
        normalize("-rw-r--r--  1 0  0  21 Nov  9 06:31 mine.txt"),
        normalize("-rw-r--r--  1 0  0  21 Dec 29 16:01 mine.txt")
    );
    assert_eq!(
        normalize("-rw-r--r--  1 0  0  21 Mar  3  2024 old.txt, in May 2024"),
        "-rw-r--r--  N N  N  N DATE old.txt, in May N\n"
    );
    assert_eq!(
        normalize("container: /proc/9/mountinfo: 95 88 254:0 /srv/v/_data /test rw,relatime - ext4 /dev/vda rw,discard"),
        "container: /proc/N/mountinfo: N N N:N /srv/v/_data /test HOST'S\n"
    );
    let overlay = "  mountinfo: 66 43 0:39 / /merged rw,relatime - overlay overlay rw,lowerdir=l";
    assert_eq!(
        normalize(overlay),
        "  mountinfo: N N N:N / /merged rw,relatime - overlay overlay rw,lowerdir=l\n"
    );
}

/// The text of a chapter a reader sees without opening an answer: everything but what sits in
/// a `<details>` block that is closed (no `open`) and whose `<summary>` calls it an answer.
fn visible_text(md: &str) -> String {
    let mut out = String::new();
    let mut lines = md.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("<details") && !t.contains(" open") {
            let mut block = vec![line];
            let mut depth = 1;
            for inner in lines.by_ref() {
                block.push(inner);
                depth += inner.matches("<details").count();
                depth -= inner.matches("</details>").count();
                if depth == 0 {
                    break;
                }
            }
            let summary = block
                .iter()
                .find_map(|l| l.split("<summary>").nth(1))
                .map(|s| s.to_lowercase())
                .unwrap_or_default();
            if !summary.contains("answer") {
                block.iter().for_each(|l| out += &format!("{l}\n"));
            }
            continue;
        }
        out += &format!("{line}\n");
    }
    out
}

/// The lines of the reference answers that give them away: code (not comments) of a
/// solution's anchored regions, long enough to be distinctive, and not in the starter.
fn answer_lines() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for l in minidocker::lessons::LESSONS {
        let starter = std::fs::read_to_string(Path::new(ROOT).join(l.exercise())).unwrap();
        let solution = std::fs::read_to_string(Path::new(ROOT).join(l.solution())).unwrap();
        let mut inside = false;
        for line in solution.lines() {
            let t = line.trim();
            if t.starts_with("// ANCHOR: ") || t.starts_with("// ANCHOR_END: ") {
                inside = t.starts_with("// ANCHOR: ");
            } else if inside && !t.starts_with("//") && t.len() >= 25 && !starter.contains(t) {
                found.push((l.solution(), t.to_string()));
            }
        }
    }
    found
}

/// What in `md` (a chapter's text) shows a reference answer outside a closed answer block.
fn leaks(md: &str, answers: &[(String, String)]) -> Vec<String> {
    let visible = visible_text(md);
    let mut out: Vec<String> = visible
        .lines()
        .filter(|l| l.contains("{{#include") && l.contains("solutions/"))
        .map(str::to_owned)
        .collect();
    out.extend(
        answers
            .iter()
            .filter(|(_, a)| visible.contains(a.as_str()))
            .map(|(f, a)| format!("{f}: {a}")),
    );
    out
}

#[test]
fn no_chapter_shows_an_answer_outside_the_answers_appendix() {
    let answers = answer_lines();
    assert!(answers.len() >= 16, "{answers:?}");
    let src = Path::new(ROOT).join("book/src");
    for (path, text) in pages() {
        if path.ends_with("answers.md") {
            continue;
        }
        assert_eq!(
            leaks(&text, &answers),
            Vec::<String>::new(),
            "{} shows an answer",
            path.display()
        );
    }
    // The appendix has every answer, and SUMMARY.md lists it as an appendix.
    let appendix = std::fs::read_to_string(src.join("answers.md")).unwrap();
    for l in minidocker::lessons::LESSONS {
        let solution = std::fs::read_to_string(Path::new(ROOT).join(l.solution())).unwrap();
        for anchor in solution.lines().filter_map(|x| x.trim().strip_prefix("// ANCHOR: ")) {
            let inc = format!("{{{{#include ../../solutions/{}/exercise.rs:{anchor}}}}}", l.name);
            assert!(appendix.contains(&inc), "answers.md lacks {inc}");
        }
    }
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let appendix_part = summary.split("# Appendix").nth(1).expect("an Appendix part in SUMMARY.md");
    assert!(appendix_part.contains("(answers.md)"), "{summary}");
}

#[test]
fn an_answer_is_caught_unless_it_is_in_a_closed_answer_block() {
    let answers = answer_lines();
    let inc = "```rust\n{{#include ../../solutions/07-commit/exercise.rs:pack_rw_layer}}\n```\n";
    let pasted = format!("```rust\n{}\n```\n", answers[0].1);
    for shown in [inc.to_string(), pasted.clone()] {
        assert_eq!(leaks(&format!("text\n{shown}more\n"), &answers).len(), 1, "{shown}");
        let open = format!("<details open>\n<summary>Answer</summary>\n\n{shown}</details>\n");
        assert_eq!(leaks(&open, &answers).len(), 1, "an open block shows it");
        let other = format!("<details>\n<summary>More</summary>\n\n{shown}</details>\n");
        assert_eq!(leaks(&other, &answers).len(), 1, "a block not titled as an answer");
        let kept =
            format!("<details>\n<summary>Answer (try first)</summary>\n\n{shown}</details>\n");
        assert_eq!(leaks(&kept, &answers), Vec::<String>::new());
    }
}

/// Outputs are included by scripts/book-anchors's markers, never by line numbers (a range goes
/// stale and cuts a sentence when an output changes): `all`, or `stepN`, whose region starts
/// at the lesson's `Step N` line and ends before the next step.
#[test]
fn outputs_are_included_by_markers_around_whole_steps() {
    let src = Path::new(ROOT).join("book/src");
    let mut n = 0;
    for (path, text) in pages() {
        for inc in text.split("{{#include output/").skip(1) {
            let spec = inc.split("}}").next().unwrap();
            let (file, anchor) = spec.split_once(':').unwrap_or((spec, ""));
            let valid = anchor == "all"
                || anchor.strip_prefix("step").is_some_and(|k| k.parse::<u32>().is_ok());
            assert!(valid, "{}: include output/{spec} by a marker: all or stepN", path.display());
            let body = std::fs::read_to_string(src.join("output").join(file)).unwrap();
            let lines: Vec<&str> = body.lines().collect();
            assert!(
                lines.first() == Some(&"ANCHOR: all") && lines.last() == Some(&"ANCHOR_END: all"),
                "output/{file}: run it through scripts/book-anchors"
            );
            for (i, l) in lines.iter().enumerate() {
                if let Some(k) = l.strip_prefix("ANCHOR: step") {
                    let heading = format!("Step {k} ");
                    assert!(lines[i + 1].starts_with(&heading), "output/{file}: {l} not at a step");
                    let end = lines[i..].iter().position(|x| *x == format!("ANCHOR_END: step{k}"));
                    let end = i + end.unwrap_or_else(|| panic!("output/{file}: {l} never ends"));
                    let next = lines[end + 1..].iter().find(|x| !x.is_empty());
                    assert!(
                        next.is_some_and(|x| x.starts_with("ANCHOR")),
                        "output/{file}: step{k} ends before the step does"
                    );
                }
            }
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} output includes");
}

/// The book's figures: every figure of a chapter (`![alt](figures/….svg)` — Markdown, so that
/// its alt text and path reach the translation) names a file that exists and is well-formed XML
/// with an `<svg>` root, has alt text, and sits in a `<figure>` with a caption; there are at
/// least six; and no diagram is drawn as ASCII art any more (box-drawing characters or `+---`
/// in a `text` block written in the chapter, outputs included aside).
#[test]
fn every_figure_exists_parses_and_has_a_caption() {
    let src = Path::new(ROOT).join("book/src");
    let mut figures = std::collections::BTreeSet::new();
    for (path, text) in pages() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!text.contains("<img "), "{name}: an <img> tag; write the figure as ![alt](file)");
        for (i, part) in text.split("](figures/").enumerate().skip(1) {
            let file = format!("figures/{}", part.split(')').next().unwrap());
            let before = text.split("](figures/").take(i).collect::<Vec<_>>().join("](figures/");
            let (head, alt) = before.rsplit_once("![").unwrap_or_else(|| panic!("{name}: {file}"));
            assert!(alt.len() > 20, "{name}: {file} has no alt text worth the name");
            let after = part.split("</figure>").next().unwrap();
            assert!(
                head.trim_end().ends_with("<figure>") && after.contains("<figcaption>"),
                "{name}: {file} is not in a <figure> with a <figcaption>"
            );
            let svg = std::fs::read_to_string(src.join(&file))
                .unwrap_or_else(|_| panic!("{name}: figure {file} does not exist"));
            let doc = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{name}: figure {file} is not well-formed XML: {e}"));
            assert_eq!(doc.root_element().tag_name().name(), "svg", "{file}");
            figures.insert(file);
        }
        // ASCII art: box drawing or +--- inside a text block of the chapter itself.
        let mut in_text = false;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("```") {
                in_text = line == "```text" && !in_text;
                continue;
            }
            let art = line.contains("+---") || line.chars().any(|c| "┌┐└┘├┤│─═▶►▼▲".contains(c));
            assert!(
                !(in_text && art && !line.contains("{{#include")),
                "{name}:{}: an ASCII-art diagram; draw it as an SVG in book/src/figures/",
                n + 1
            );
        }
    }
    assert!(figures.len() >= 6, "only {} figures: {figures:?}", figures.len());
}

/// The questions of a lab sheet: how many bullets its `## Questions` section has, and the
/// numbers of its `## Observe` items that ask something (a `?` in the item).
fn sheet_questions(sheet: &str) -> (usize, Vec<usize>) {
    let section = |title: &str| -> Vec<&str> {
        sheet
            .lines()
            .skip_while(|l| *l != title)
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .collect()
    };
    let questions = section("## Questions").iter().filter(|l| l.starts_with("* ")).count();
    let mut asking = Vec::new();
    let mut item: Option<(usize, String)> = None;
    for line in section("## Observe").into_iter().chain(["1. "]) {
        let number = line.split_once(". ").and_then(|(n, _)| n.parse::<usize>().ok());
        if let Some(n) = number {
            if let Some((k, text)) = item.take() {
                if text.contains('?') {
                    asking.push(k);
                }
            }
            item = Some((n, String::new()));
        }
        if let Some((_, text)) = item.as_mut() {
            *text += line;
        }
    }
    (questions, asking)
}

/// What a kit page lacks of a lab sheet's answer key: `**QN.**` for each question, numbered in
/// the sheet's order, `**Observe N.**` for each observation that asks something — and no
/// answer numbered past the sheet's last question (the sheet lost or reordered one).
fn unanswered(sheet: &str, kit: &str) -> Vec<String> {
    let (questions, observations) = sheet_questions(sheet);
    let mut missing: Vec<String> = (1..=questions)
        .map(|n| format!("**Q{n}.**"))
        .chain(observations.iter().map(|n| format!("**Observe {n}.**")))
        .filter(|mark| !kit.contains(mark.as_str()))
        .collect();
    let extra = format!("**Q{}.**", questions + 1);
    if kit.contains(&extra) {
        missing.push(format!("{extra} answers a question the sheet does not have"));
    }
    missing
}

/// The instructors' kit answers every question of the lab sheets: every lesson and the capstone
/// has its kit page (`book/src/kit-NN.md`, listed in SUMMARY.md), checked against its sheet.
#[test]
fn every_lab_sheet_question_has_an_answer_in_the_kit() {
    let src = Path::new(ROOT).join("book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let kit_part = summary.split("# Instructors' kit").nth(1).expect("an Instructors' kit part");
    assert!(kit_part.contains("(kit.md)"), "{summary}");
    let mut checked = 0;
    for l in minidocker::lessons::with_capstone() {
        let page = format!("kit-{}.md", l.number);
        let kit = std::fs::read_to_string(src.join(&page))
            .unwrap_or_else(|_| panic!("{page} is missing"));
        let sheet =
            std::fs::read_to_string(Path::new(ROOT).join("lessons").join(l.name).join("README.md"))
                .unwrap();
        assert!(sheet_questions(&sheet).0 >= 3, "{}: its questions were not found", l.name);
        assert_eq!(unanswered(&sheet, &kit), Vec::<String>::new(), "{page} lacks answers");
        assert!(kit_part.contains(&format!("({page})")), "SUMMARY.md does not list {page}");
        checked += 1;
    }
    assert_eq!(checked, minidocker::lessons::LESSONS.len() + 1);
}

#[test]
fn a_missing_answer_is_caught() {
    let sheet =
        "# Lab\n\n## Observe\n\n1. Look.\n2. Which one\n   is it?\n\n## Exercise\n\nWhy?\n\n\
                 ## Questions\n\n* Why this?\n* And\n  that?\n";
    assert_eq!(sheet_questions(sheet), (2, vec![2]));
    let kit = "**Observe 2.** This. **Q1.** Because. **Q2.** So.";
    assert_eq!(unanswered(sheet, kit), Vec::<String>::new());
    assert_eq!(unanswered(sheet, &kit.replace("**Q2.**", "")), ["**Q2.**"]);
    assert_eq!(unanswered(sheet, &kit.replace("Observe 2", "Observe 1")), ["**Observe 2.**"]);
    assert_eq!(unanswered(sheet, &format!("{kit} **Q3.** Old.")).len(), 1);
}

/// mdBook's id for a heading: letters, digits, `_` and `-` kept (lower case), spaces become
/// `-`, the rest (backticks, colons, parentheses) dropped.
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The ids of a page's headings (code blocks, whose `#` lines are comments, left out).
fn heading_ids(md: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut in_code = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            ids.push(heading_id(line.trim_start_matches('#').trim()));
        }
    }
    ids
}

/// The links of the glossary, the troubleshooting page, the kit and the introduction to other
/// pages of the book lead somewhere: the page exists, and so does the heading after `#`.
#[test]
fn the_glossary_and_kit_links_resolve() {
    let src = Path::new(ROOT).join("book/src");
    let mut pages: Vec<String> = ["glossary.md", "troubleshooting.md", "kit.md", "introduction.md"]
        .map(String::from)
        .to_vec();
    pages.extend((1..=6).map(|n| format!("kit-{n:02}.md")));
    let mut links = 0;
    for page in &pages {
        let text = std::fs::read_to_string(src.join(page)).unwrap();
        for part in text.split("](").skip(1) {
            let target = part.split(')').next().unwrap();
            if target.contains("://") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let body = std::fs::read_to_string(src.join(file))
                .unwrap_or_else(|_| panic!("{page}: {target}: no page {file}"));
            if !anchor.is_empty() {
                let ids = heading_ids(&body);
                assert!(ids.iter().any(|id| id == anchor), "{page}: {target}: no heading {anchor}");
            }
            links += 1;
        }
    }
    let glossary = std::fs::read_to_string(src.join("glossary.md")).unwrap();
    let rows = glossary.lines().filter(|l| l.starts_with("| ") && l.contains("](")).count();
    assert!(rows >= 40, "only {rows} glossary entries");
    assert!(links >= rows);
    assert_eq!(heading_id("Into the merged tree: `pivot_root`"), "into-the-merged-tree-pivot_root");
    assert_eq!(heading_id("Three ways to say `-v`"), "three-ways-to-say--v");
}
