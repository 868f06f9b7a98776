//! The troubleshooting page quotes our programs' lines exactly: when a program stops printing a
//! line the page quotes, this test fails and the entry must be updated. A quoted line is the
//! first code block (a `text` block) under a heading of `book/src/troubleshooting.md`; in it,
//! `<…>` stands for what the program fills in (a name, a path, the kernel's words). No root.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every quoted line of the page: the lines of the first code block under each heading, when
/// that block is a `text` block.
fn quoted_lines(page: &str) -> Vec<String> {
    let mut quoted = Vec::new();
    let mut lines = page.lines();
    let mut under_heading = false;
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            under_heading = true;
        } else if line.starts_with("```") {
            let block: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            if under_heading && line == "```text" {
                quoted.extend(block.iter().map(|l| l.to_string()));
            }
            under_heading = false;
        }
    }
    quoted
}

/// The texts our programs print from: the sources of the library, the lessons, the solutions
/// and the scripts, with Rust's string continuations (`\` at the end of a line, then the next
/// line's indentation) joined and `\"` unescaped, as the program prints them.
fn sources() -> String {
    let mut text = String::new();
    for dir in ["src", "lessons", "solutions", "scripts"] {
        collect(&Path::new(ROOT).join(dir), &mut text);
    }
    join_continuations(&text)
}

fn join_continuations(text: &str) -> String {
    let mut joined = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\\\n") {
        joined += &rest[..at];
        rest = rest[at + 2..].trim_start_matches([' ', '\t']);
    }
    joined += rest;
    joined.replace("\\\"", "\"")
}

fn collect(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            *out += &text;
            out.push('\n');
        }
    }
}

/// The kernel's words for each error number (`Invalid argument`…), which a quoted line may
/// show as they are: no source of ours contains them.
fn errno_texts() -> Vec<&'static str> {
    (1..134).map(|n| nix::errno::Errno::from_raw(n).desc()).collect()
}

/// The pieces of `line` that are in none of `sources`. The line is cut at its `<…>`
/// placeholders and, inside what is left, at `: ` — where an error's contexts are joined, each
/// written in a different place of the code. A leading `minidocker: ` is the prefix minidocker
/// prints in colour, apart from the message. Each piece must be in the sources (or be the
/// kernel's text for an errno), and together they must say something: 15 characters at least.
fn unknown_pieces(line: &str, sources: &str, errnos: &[&str]) -> Vec<String> {
    let line = line.trim().strip_prefix("minidocker: ").unwrap_or(line.trim());
    let mut literal = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        literal += &rest[..open];
        literal.push('\u{0}');
        rest = match rest[open..].find('>') {
            Some(close) => &rest[open + close + 1..],
            None => "",
        };
    }
    literal += rest;
    let pieces: Vec<&str> = literal
        .split(['\u{0}'])
        .flat_map(|f| f.split(": "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut unknown: Vec<String> = pieces
        .iter()
        .filter(|p| !sources.contains(**p) && !errnos.contains(*p))
        .map(|p| p.to_string())
        .collect();
    if pieces.iter().map(|p| p.len()).sum::<usize>() < 15 {
        unknown.push(format!("(too little of {line:?} is quoted to check it)"));
    }
    unknown
}

#[test]
fn every_line_the_page_quotes_is_still_printed_by_our_programs() {
    let page =
        std::fs::read_to_string(Path::new(ROOT).join("book/src/troubleshooting.md")).unwrap();
    let quoted = quoted_lines(&page);
    assert!(quoted.len() >= 15, "only {} quoted lines: {quoted:#?}", quoted.len());
    let (sources, errnos) = (sources(), errno_texts());
    let stale: Vec<String> = quoted
        .iter()
        .filter_map(|l| {
            let unknown = unknown_pieces(l, &sources, &errnos);
            (!unknown.is_empty()).then(|| format!("{l}\n    not in the sources: {unknown:?}"))
        })
        .collect();
    assert!(
        stale.is_empty(),
        "book/src/troubleshooting.md quotes lines no program prints any more:\n{}",
        stale.join("\n")
    );
}

#[test]
fn a_line_no_program_prints_is_caught() {
    let sources = join_continuations(
        r#"bail!("iptables -w {} failed: {first}");
           "{bin}: needs root: {why}. Run it with sudo, or as `cargo run --bin {bin}`, \
            which asks sudo for you.""#,
    );
    let errnos = errno_texts();
    let ok = |l: &str| unknown_pieces(l, &sources, &errnos).is_empty();
    assert!(ok("iptables -w <arguments> failed: <what iptables said>"));
    assert!(ok("iptables -w <arguments> failed: Invalid argument"), "the kernel's words");
    assert!(!ok("iptables -w <arguments> refused: <what iptables said>"), "a changed word");
    assert!(!ok("iptables -w <arguments> failed: Invalid argumen"), "not the kernel's words");
    assert!(!ok("<what>: failed: <why>"), "too little quoted");
    // The continuation is joined as the program prints the line.
    assert!(ok(
        "<lesson>: needs root: <why>. Run it with sudo, or as `cargo run --bin <lesson>`, \
                which asks sudo for you."
    ));
    // Only the first block under a heading, and only a text block, is a quote.
    let page = "# A\n\n```text\nquoted one\n```\n\n```text\nnot quoted\n```\n\n## B\n\n\
                ```sh\nnot quoted\n```\n\n### C\ntext\n\n```text\nquoted two\n```\n";
    assert_eq!(quoted_lines(page), ["quoted one", "quoted two"]);
}
