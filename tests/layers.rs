//! The library is layered in lesson order, with no import cycles (DESIGN.md §3).
//!
//! The layer table is written once, in `src/lib.rs`'s documentation (`| layer | module | … |`).
//! This test reads it, then every path that names a top-level module of the library — `use
//! crate::x`, `crate::x::…`, grouped `use crate::{a, b::c}`, `super::` climbing to the top,
//! `minidocker::x` — in `src/**/*.rs` (the binaries in `src/bin/` excepted) and in the
//! reference answers `solutions/*/exercise.rs`, and fails on
//! - an import of a module of a later layer than the importer's, naming file and line;
//! - an import cycle among top-level modules, naming the cycle.
//!
//! Comments and string literals are skipped: a doc link is not an import. No root needed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One row of the layer table.
#[derive(Debug, Clone)]
struct Row {
    layer: u32,
    /// The lesson whose exercise's reference answer this module owns.
    exercise: Option<u32>,
}

/// `src/lib.rs`'s table: module → row, in lesson order.
fn table(lib: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! |") else { continue };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        let Some(layer) = cells[0].split_whitespace().next().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let module = cells[1].trim_start_matches("[`").trim_end_matches("`]").to_string();
        let exercise = cells
            .get(3)
            .and_then(|c| c.split("exercise ").nth(1))
            .and_then(|n| n.trim().parse().ok());
        rows.insert(module, Row { layer, exercise });
    }
    rows
}

/// A reference to a top-level module, where it is written.
#[derive(Debug, Clone)]
struct Ref {
    module: String,
    file: String,
    line: usize,
}

/// `text` with comments, string and character literals blanked out, lines kept.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        {
            // r"…", r#"…"#: ends at the quote followed by as many #s.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let mut k = j + 1;
            while k < b.len()
                && !(b[k] == '"' && (0..hashes).all(|h| b.get(k + 1 + h) == Some(&'#')))
            {
                k += 1;
            }
            let end = (k + 1 + hashes).min(b.len());
            for &ch in &b[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            if i < b.len() {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a): only the first
            // is blanked.
            let end = if next == Some('\\') {
                (i + 2..b.len()).find(|&k| b[k] == '\'').map(|k| k + 1)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for &ch in &b[i..end] {
                        blank(&mut out, ch);
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // ::
    Open,
    Close,
    Comma,
    Other,
}

/// The tokens that matter for paths, each with its line.
fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let b: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            out.push((Tok::Ident(word.trim_start_matches('$').to_string()), line));
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((
                match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Other,
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

/// The first segment of each item of the group that opens at `toks[open]` (`{a, b::c, d::{e}}`
/// → a, b, d), with their lines.
fn group_heads(toks: &[(Tok, usize)], open: usize) -> Vec<(String, usize)> {
    let (mut heads, mut depth, mut expect_head) = (Vec::new(), 0, true);
    for (t, line) in &toks[open..] {
        match t {
            Tok::Open => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Comma if depth == 1 => expect_head = true,
            Tok::Ident(w) if depth == 1 && expect_head => {
                heads.push((w.clone(), *line));
                expect_head = false;
            }
            _ => {
                if depth == 1 {
                    expect_head = false;
                }
            }
        }
    }
    heads
}

/// Every top-level name `text` reaches by an absolute or climbing path. `module` is the
/// file's module path below the crate (`["volumes", "spec"]`), for `super::`.
fn references(text: &str, module: &[String]) -> Vec<(String, usize)> {
    let toks = tokens(&code_only(text));
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) deepen the path `super::` climbs from.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (t, line) = &toks[i];
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some((Tok::Ident(_), _)), Some((Tok::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push(depth);
                }
            }
            _ => {}
        }
        let starts_path = i == 0 || toks[i - 1].0 != Tok::Path;
        let Tok::Ident(w) = t else {
            i += 1;
            continue;
        };
        if !starts_path {
            i += 1;
            continue;
        }
        // Where the path lands at the crate's top: after `crate::`/`minidocker::`, or after
        // enough `super::`s.
        let mut at_top = None;
        if (w == "crate" || w == "minidocker") && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
        {
            at_top = Some(i + 2);
        } else if w == "super" {
            let mut j = i;
            let mut supers = 0;
            while toks.get(j).map(|t| &t.0) == Some(&Tok::Ident("super".into()))
                && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::Path)
            {
                supers += 1;
                j += 2;
            }
            if supers >= module.len() + inline.len() {
                at_top = Some(j);
            }
        }
        if let Some(k) = at_top {
            match toks.get(k) {
                Some((Tok::Ident(name), l)) => out.push((name.clone(), *l)),
                Some((Tok::Open, _)) => out.extend(group_heads(&toks, k)),
                _ => {}
            }
        }
        let _ = line;
        i += 1;
    }
    out
}

/// The files to read, with their owning top-level module and module path.
fn sources(root: &Path, rows: &BTreeMap<String, Row>) -> Vec<(PathBuf, String, Vec<String>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for p in files {
        let rel = p.strip_prefix(root.join("src")).unwrap();
        let mut parts: Vec<String> =
            rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        if parts[0] == "bin" || parts == ["lib"] {
            continue; // the binaries come after every layer; lib.rs only declares
        }
        if parts.last().is_some_and(|l| l == "mod") {
            parts.pop();
        }
        out.push((p, parts[0].clone(), parts));
    }
    let mut answers: Vec<PathBuf> = fs::read_dir(root.join("solutions"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("exercise.rs"))
        .filter(|p| p.is_file())
        .collect();
    answers.sort();
    for p in answers {
        let lesson: u32 =
            p.parent().unwrap().file_name().unwrap().to_string_lossy()[..2].parse().unwrap();
        let owner = rows.iter().find(|(_, r)| r.exercise == Some(lesson)).map(|(m, _)| m.clone());
        let owner = owner.unwrap_or_else(|| {
            panic!(
                "{}: no module of src/lib.rs's layer table says \"exercise {lesson:02}\"",
                p.display()
            )
        });
        // Compiled as a module of its own, `solutionNN`, one level below the crate.
        out.push((p, owner, vec![format!("solution{lesson:02}")]));
    }
    out
}

/// What a referenced top-level name stands for: a module of the table, or the module that
/// owns a reference answer (`solution03`, `solutions::rootfs03`). `None`: not a module
/// (`crate::Result`).
fn target(name: &str, rest: Option<&str>, rows: &BTreeMap<String, Row>) -> Option<String> {
    let lesson = |s: &str| -> Option<u32> { s.get(s.len().checked_sub(2)?..)?.parse().ok() };
    let owner = |n: u32| rows.iter().find(|(_, r)| r.exercise == Some(n)).map(|(m, _)| m.clone());
    if rows.contains_key(name) {
        return Some(name.to_string());
    }
    if let Some(n) = name.strip_prefix("solution").and_then(lesson) {
        return owner(n);
    }
    if name == "solutions" {
        return rest.and_then(lesson).and_then(owner);
    }
    None
}

/// Every edge between top-level modules: importer → (imported → where).
fn edges(
    root: &Path,
    rows: &BTreeMap<String, Row>,
) -> BTreeMap<String, BTreeMap<String, Vec<Ref>>> {
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<Ref>>> = BTreeMap::new();
    for (path, owner, module) in sources(root, rows) {
        let text = fs::read_to_string(&path).unwrap();
        let shown = path.strip_prefix(root).unwrap().display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        for (name, line) in references(&text, &module) {
            // `crate::solutions::rootfs03`: the item after `solutions::` says whose it is.
            let src = lines.get(line - 1).copied().unwrap_or("");
            let rest = src.split(&format!("{name}::")).nth(1).map(|r| {
                r.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("")
            });
            let Some(to) = target(&name, rest, rows) else { continue };
            if to != owner {
                graph.entry(owner.clone()).or_default().entry(to.clone()).or_default().push(Ref {
                    module: to,
                    file: shown.clone(),
                    line,
                });
            }
        }
    }
    graph
}

/// The problems, one line each: upward imports, then cycles.
fn problems(root: &Path) -> Vec<String> {
    let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let rows = table(&lib);
    let mut out = Vec::new();
    // Every module lib.rs declares is in the table, and the other way round.
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';').map(str::to_string))
        .filter(|m| !m.starts_with("solution"))
        .collect();
    for m in declared.iter().filter(|m| !rows.contains_key(*m)) {
        out.push(format!("src/lib.rs: module `{m}` is not in the layer table: give it a layer"));
    }
    for m in rows.keys().filter(|m| !declared.contains(*m)) {
        out.push(format!("src/lib.rs: the layer table names `{m}`, which lib.rs does not declare"));
    }
    let graph = edges(root, &rows);
    for (from, tos) in &graph {
        for (to, refs) in tos {
            let (lf, lt) = (rows[from].layer, rows[to].layer);
            if lt > lf {
                for r in refs {
                    out.push(format!(
                        "{}:{}: `{from}` (layer {lf}) imports `{}` (layer {lt}): a later layer",
                        r.file, r.line, r.module
                    ));
                }
            }
        }
    }
    for cycle in cycles(&graph) {
        let mut names = cycle.clone();
        names.push(cycle[0].clone());
        let evidence: Vec<String> = names
            .windows(2)
            .map(|w| {
                let r = &graph[&w[0]][&w[1]][0];
                format!("{} → {} at {}:{}", w[0], w[1], r.file, r.line)
            })
            .collect();
        out.push(format!("import cycle: {} ({})", names.join(" → "), evidence.join("; ")));
    }
    out
}

/// The import cycles: for every import `a → b` between two modules that reach each other, the
/// shortest way back from `b` to `a`. Each cycle once, starting from its smallest name.
fn cycles(graph: &BTreeMap<String, BTreeMap<String, Vec<Ref>>>) -> Vec<Vec<String>> {
    let succ = |n: &str| -> Vec<String> {
        graph.get(n).map(|t| t.keys().cloned().collect()).unwrap_or_default()
    };
    // The shortest path from `from` to `to` (both ends included), if any.
    let path = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut back: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from.to_string()]);
        while let Some(m) = queue.pop_front() {
            if m == to {
                let mut p = vec![m.clone()];
                while let Some(prev) = back.get(p.last().unwrap()) {
                    p.push(prev.clone());
                }
                p.reverse();
                return Some(p);
            }
            for s in succ(&m) {
                if s != from && !back.contains_key(&s) {
                    back.insert(s.clone(), m.clone());
                    queue.push_back(s);
                }
            }
        }
        None
    };
    let mut found = BTreeSet::new();
    for (a, tos) in graph {
        for b in tos.keys() {
            let Some(way_back) = path(b, a) else { continue };
            let mut cycle = vec![a.clone()];
            cycle.extend(way_back[..way_back.len() - 1].iter().cloned());
            let start = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap();
            cycle.rotate_left(start);
            found.insert(cycle);
        }
    }
    found.into_iter().collect()
}

#[test]
fn the_library_is_layered_in_lesson_order_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let problems = problems(root);
    assert!(
        problems.is_empty(),
        "the library's layers (src/lib.rs's table, DESIGN.md §3) are broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layer_table_is_read() {
    let rows = table(
        &fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap(),
    );
    assert!(rows["sys"].layer < rows["namespaces"].layer);
    assert!(rows["namespaces"].layer < rows["rootfs"].layer);
    assert!(rows["rootfs"].layer < rows["volumes"].layer);
    assert!(rows["volumes"].layer < rows["container"].layer);
    assert!(rows["container"].layer < rows["exec"].layer);
    assert_eq!(rows["volumes"].exercise, Some(8));
    assert_eq!(rows["rootfs"].exercise, Some(3));
}

#[test]
fn every_form_of_path_is_found() {
    let text = r#"
//! A doc link to [`crate::later`] is no import.
use crate::{alpha, beta::{x, y}, self as _};
use crate::gamma::Thing;
use super::super::delta;
fn f() { let _ = "crate::not_a_path"; let _ = '"'; minidocker::epsilon::go(); }
mod tests {
    use super::*;
    use super::super::super::zeta;
}
"#;
    let module = vec!["top".to_string(), "sub".to_string()];
    let found: Vec<String> = references(text, &module).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, ["alpha", "beta", "self", "gamma", "delta", "epsilon", "zeta"]);
}

#[test]
fn an_upward_import_and_a_cycle_are_named() {
    let dir = std::env::temp_dir().join(format!("layers-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for (path, text) in [
        (
            "src/lib.rs",
            "//! | layer | module | what | lesson |\n//! |---|---|---|---|\n\
             //! | 0 helpers | [`low`] | | |\n//! | 1 | [`high`] | | 03, exercise 03 |\n\
             //! | 1 | [`peer`] | | |\npub mod high;\npub mod low;\npub mod peer;\n",
        ),
        ("src/low.rs", "pub fn f() {}\n\nuse crate::high::Thing;\n"),
        ("src/high/mod.rs", "use crate::{low, peer::P};\n"),
        ("src/peer.rs", "fn g() { super::high::h() }\n"),
        ("solutions/03-x/exercise.rs", "use minidocker::low::f;\n"),
    ] {
        fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        fs::write(dir.join(path), text).unwrap();
    }
    let problems = problems(&dir);
    let _ = fs::remove_dir_all(&dir);
    assert!(
        problems.contains(
            &"src/low.rs:3: `low` (layer 0) imports `high` (layer 1): a later layer".to_string()
        ),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle: high → low → high")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle: high → peer → high")),
        "{problems:#?}"
    );
}
