//! `cargo run --example po-code -- book/po/zh-CN.po`: copy every code entry of a PO file — a
//! listing's literal, a block of output, a table cell of code spans only — into its msgstr,
//! so the translation is complete in gettext's own count (`msgfmt --statistics`) and a code
//! entry msgmerge guessed from another one (fuzzy) is simply the code again. Prose is left
//! for a translator. `scripts/i18n update` runs it after msgmerge.

#[path = "po.rs"]
mod po;

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("po-code: give the PO file to complete, e.g. book/po/zh-CN.po");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("po-code: cannot read {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut copied = 0;
    let blocks: Vec<String> = text
        .split("\n\n")
        .map(|block| match code_copied(block) {
            Some(b) => {
                copied += 1;
                b
            }
            None => block.to_string(),
        })
        .collect();
    if let Err(e) = std::fs::write(&path, blocks.join("\n\n")) {
        eprintln!("po-code: cannot write {path}: {e}");
        return ExitCode::from(1);
    }
    println!("po-code: {copied} code entries of {path} copied");
    ExitCode::SUCCESS
}

/// The entry `block` with its msgstr made its msgid, when it is code whose msgstr is empty or
/// a fuzzy guess; `None` when there is nothing to do.
fn code_copied(block: &str) -> Option<String> {
    let entry = po::parse_po(block).pop()?;
    if !po::verbatim(&entry.msgid) || (!entry.msgstr.is_empty() && !entry.fuzzy) {
        return None;
    }
    let lines: Vec<&str> = block.lines().collect();
    // The msgid's lines as they are written (quoting and wrapping kept), as the msgstr's.
    let string_at = |start: usize| {
        let end =
            (start + 1..lines.len()).find(|&i| !lines[i].starts_with('"')).unwrap_or(lines.len());
        start..end
    };
    let id = lines.iter().position(|l| l.starts_with("msgid "))?;
    let msgstr = lines.iter().position(|l| l.starts_with("msgstr "))?;
    let mut out: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let old_msgid = line.starts_with("#|");
        let flags = line.strip_prefix("#,").map(|f| {
            f.split(',').map(str::trim).filter(|f| *f != "fuzzy").collect::<Vec<_>>().join(", ")
        });
        match flags {
            Some(f) if f.is_empty() => continue,
            Some(f) => out.push(format!("#, {f}")),
            None if old_msgid || string_at(msgstr).contains(&i) => {}
            None => out.push(line.to_string()),
        }
        if i == msgstr {
            for j in string_at(id) {
                out.push(lines[j].replacen("msgid ", "msgstr ", 1));
            }
        }
    }
    Some(out.join("\n"))
}
