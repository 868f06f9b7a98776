//! Reading the book's PO files (book/po/): shared by tests/i18n.rs, which checks the
//! translation, and scripts/po-code.rs, which copies the code entries (`scripts/i18n update`).
//! Each uses a part of it.
#![allow(dead_code)]

/// One entry of a PO file; obsolete (`#~`) entries are not kept.
#[derive(Debug, Default)]
pub struct Entry {
    /// The pages it comes from (`copy-on-write.md`), from its `#:` lines.
    pub pages: Vec<String>,
    pub fuzzy: bool,
    pub msgid: String,
    pub msgstr: String,
}

/// The entries of a PO file, the header (the empty msgid) left out.
pub fn parse_po(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut entry = Entry::default();
    // Which string a continuation line `"…"` adds to: 1 msgid, 2 msgstr.
    let mut field = 0;
    let mut obsolete = false;
    let mut flush = |entry: &mut Entry, obsolete: &mut bool| {
        let done = std::mem::take(entry);
        if !done.msgid.is_empty() && !*obsolete {
            entries.push(done);
        }
        *obsolete = false;
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut entry, &mut obsolete);
            field = 0;
        } else if let Some(refs) = line.strip_prefix("#:") {
            entry.pages.extend(refs.split_whitespace().map(|r| {
                let file = r.split(':').next().unwrap();
                file.strip_prefix("src/").unwrap_or(file).to_string()
            }));
        } else if let Some(flags) = line.strip_prefix("#,") {
            entry.fuzzy |= flags.split(',').any(|f| f.trim() == "fuzzy");
        } else if line.starts_with("#~") {
            obsolete = true;
        } else if line.starts_with('#') {
        } else if let Some(s) = line.strip_prefix("msgid ") {
            field = 1;
            entry.msgid = unquote(s);
        } else if let Some(s) = line.strip_prefix("msgstr ") {
            field = 2;
            entry.msgstr = unquote(s);
        } else if line.starts_with('"') {
            match field {
                1 => entry.msgid += &unquote(line),
                2 => entry.msgstr += &unquote(line),
                _ => panic!("a string outside msgid and msgstr: {line}"),
            }
        } else {
            panic!("a PO line this reader does not know: {line}");
        }
    }
    flush(&mut entry, &mut obsolete);
    entries
}

/// `"a \"b\"\n"` → `a "b"` and a newline.
pub fn unquote(s: &str) -> String {
    let inner = s.trim().strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Code stays as it is, in both editions: a literal of a listing (`"…"`, `b"…"`, `'/'`), a
/// whole block of output (mdbook-xgettext extracts a code block that has a `"` and no known
/// language whole), or a message with no word outside its code spans (a table cell
/// `` `07-commit` ``). Such an entry needs no translation, and may only be copied unchanged.
pub fn verbatim(msgid: &str) -> bool {
    let literal = msgid.trim_start_matches(['b', 'r']).trim_matches('#');
    let quoted = |q: char| literal.len() >= 2 && literal.starts_with(q) && literal.ends_with(q);
    let prose = msgid.split('`').step_by(2).any(|outside| outside.chars().any(char::is_alphabetic));
    msgid.starts_with("```") || quoted('"') || quoted('\'') || !prose
}
