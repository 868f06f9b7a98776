//! The Chinese edition of the book (book/po/README.md): the message template is the English of
//! today, the translation has no fuzzy entry and is complete on every page declared finished in
//! book/po/finished.txt, the lab sheets reach it, and the copy-on-write chapter and its figure
//! come out in Chinese. `scripts/i18n check [PAGE]` runs these with the table printed
//! (`I18N_PAGE=PAGE` lists that page's open entries).

#[path = "../scripts/po.rs"]
mod po;

use po::{parse_po, verbatim, Entry};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn book() -> PathBuf {
    Path::new(ROOT).join("book")
}

/// A built book in a directory of its own, removed when dropped (a failed test too).
struct Built(PathBuf);

impl Drop for Built {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Built {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

/// Runs mdbook on the book with `env` into a fresh directory.
fn mdbook(name: &str, env: &[(&str, &str)]) -> Built {
    let out =
        Built(std::env::temp_dir().join(format!("minidocker-i18n-{name}-{}", std::process::id())));
    let result = Command::new("mdbook")
        .arg("build")
        .arg(book())
        .arg("-d")
        .arg(&*out)
        .envs(env.iter().copied())
        .output();
    let output = result.unwrap_or_else(|e| {
        panic!("mdbook: {e}: install it and mdbook-i18n-helpers with scripts/i18n build")
    });
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mdbook build failed:\n{log}");
    // mdBook skips a missing optional preprocessor with a warning only: here it must have run.
    assert!(
        !log.contains("mdbook-gettext") && !log.contains("mdbook-xgettext"),
        "mdbook-i18n-helpers is not installed (scripts/i18n build installs it):\n{log}"
    );
    out
}

/// The template mdbook-xgettext extracts from the book as it is now, as `scripts/i18n update`
/// writes it (its creation date empty: polib needs the field).
fn fresh_pot() -> String {
    let out = mdbook(
        "pot",
        &[("MDBOOK_OUTPUT", r#"{"xgettext": {"pot-file": "messages.pot", "granularity": 0}}"#)],
    );
    let pot = std::fs::read_to_string(out.join("messages.pot")).unwrap();
    let date = |l: &str| l.starts_with("\"POT-Creation-Date: ");
    pot.lines()
        .map(|l| if date(l) { "\"POT-Creation-Date: \\n\"\n".into() } else { format!("{l}\n") })
        .collect()
}

#[test]
fn the_template_is_the_english_of_today() {
    let stored = std::fs::read_to_string(book().join("po/messages.pot")).unwrap();
    let fresh = fresh_pot();
    if stored == fresh {
        return;
    }
    let ids = |t: &str| parse_po(t).into_iter().map(|e| e.msgid).collect::<BTreeSet<_>>();
    let (stored, fresh) = (ids(&stored), ids(&fresh));
    let show =
        |set: Vec<&String>| set.iter().take(5).map(|m| format!("\n  {m:?}")).collect::<String>();
    panic!(
        "book/po/messages.pot is not the English of today: run scripts/i18n update \
         (new in the English:{}\ngone from it:{})",
        show(fresh.difference(&stored).collect()),
        show(stored.difference(&fresh).collect()),
    );
}

/// Per page: messages, untranslated, fuzzy; and zh-CN.po holds every message of the template
/// (a changed English sentence then shows up as fuzzy, not as a translation silently unused).
#[test]
fn no_fuzzy_entry_and_finished_pages_are_translated() {
    let po = book().join("po");
    let template = parse_po(&std::fs::read_to_string(po.join("messages.pot")).unwrap());
    let translated = parse_po(&std::fs::read_to_string(po.join("zh-CN.po")).unwrap());
    let by_id: BTreeMap<&str, &Entry> = translated.iter().map(|e| (e.msgid.as_str(), e)).collect();
    let finished: BTreeSet<String> = std::fs::read_to_string(po.join("finished.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let page = std::env::var("I18N_PAGE").unwrap_or_default();
    let done = |p: &str| finished.contains(p) || finished.contains("*");

    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut failures = Vec::new();
    for entry in &template {
        let found = by_id.get(entry.msgid.as_str());
        let fuzzy = found.is_some_and(|e| e.fuzzy);
        let open = !verbatim(&entry.msgid) && found.is_none_or(|e| e.msgstr.is_empty());
        let short = entry.msgid.chars().take(80).collect::<String>();
        if found.is_none() {
            failures.push(format!("not merged yet (run scripts/i18n update): {short:?}"));
        }
        if let Some(e) = found.filter(|e| verbatim(&e.msgid)) {
            if e.msgstr.is_empty() {
                // Copied, so gettext's own count (msgfmt --statistics) sees a whole translation.
                failures.push(format!("code not copied yet (run scripts/i18n update): {short:?}"));
            } else if e.msgstr != e.msgid {
                failures.push(format!("code translated (it stays as it is): {short:?}"));
            }
        }
        for p in &entry.pages {
            let c = counts.entry(p).or_default();
            c[0] += 1;
            c[1] += usize::from(open);
            c[2] += usize::from(fuzzy);
            if open && done(p) {
                failures
                    .push(format!("{p} is declared finished, but this is untranslated: {short:?}"));
            }
            if fuzzy {
                failures.push(format!(
                    "{p}: fuzzy (check the translation, then remove the fuzzy flag): {short:?}"
                ));
            }
            if *p == page && (open || fuzzy) {
                println!(
                    "{p}: {}\n{}\n",
                    if fuzzy { "fuzzy" } else { "untranslated" },
                    entry.msgid
                );
            }
        }
    }
    for p in finished.iter().filter(|p| *p != "*") {
        if !counts.contains_key(p.as_str()) {
            failures.push(format!("book/po/finished.txt names {p}, a page with no messages"));
        }
    }
    println!("{:<24} {:>8} {:>12} {:>6}", "page", "messages", "untranslated", "fuzzy");
    for (p, [all, open, fuzzy]) in &counts {
        let mark = if done(p) { " finished" } else { "" };
        println!("{p:<24} {all:>8} {open:>12} {fuzzy:>6}{mark}");
    }
    let total = |i: usize| counts.values().map(|c| c[i]).sum::<usize>();
    println!("{:<24} {:>8} {:>12} {:>6}", "total (once per page)", total(0), total(1), total(2));
    let more = failures.len().saturating_sub(40);
    failures.truncate(40);
    if more > 0 {
        failures.push(format!("… and {more} more (scripts/i18n check PAGE lists a page's)"));
    }
    assert!(failures.is_empty(), "book/po/zh-CN.po:\n{}", failures.join("\n"));
}

/// CJK ideographs: what makes a text Chinese here.
fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The texts of a figure left in English. A figure is Chinese when its title and description
/// are, and every text in it that has an English word of three letters or more has Chinese in
/// it too. Paths, commands and names of code (with `/`, `.`, `_`, `=`, `<`, digits…) are not
/// words; nor are the terms that stay English in Chinese books (overlay, whiteout).
fn english_in_figure(svg: &str) -> Vec<String> {
    // Terms the Chinese edition keeps, and the names of programs, images, system calls and
    // namespace kinds a drawing shows (code, as in the text).
    const KEPT: &[&str] = &[
        "overlay",
        "overlayfs",
        "whiteout",
        "Init",
        "pip",
        "python",
        "helloworld",
        "busybox",
        "setns",
        "fork",
        "clone",
        "uts",
        "ipc",
        "net",
        "pid",
        "mnt",
        "cgroup",
        "user",
        "time",
    ];
    let doc =
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}"));
    let word = |w: &str| {
        let w = w.trim_matches(|c: char| ",;:()!?'\"…".contains(c));
        // Upper-case words are code a drawing quotes (Dockerfile instructions, variables).
        let code = w.chars().all(|c| c.is_ascii_uppercase());
        w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()) && !KEPT.contains(&w) && !code
    };
    let mut english = Vec::new();
    for node in
        doc.descendants().filter(|n| ["title", "desc", "text"].contains(&n.tag_name().name()))
    {
        let text: String =
            node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
        // A label that quotes a command line, a rule or an address is code: it stays.
        let code = text.split_whitespace().any(|t| {
            t.starts_with('-')
                || ["/", "=", "()"].iter().any(|c| t.contains(c))
                || t.trim_end_matches(':').contains(':')
        });
        let prose = !node.has_tag_name("text") || (!code && text.split_whitespace().any(word));
        if prose && !has_chinese(&text) {
            english.push(text);
        }
    }
    english
}

#[test]
fn the_chinese_copy_on_write_chapter_and_its_figure_are_chinese() {
    let out = mdbook("zh-CN", &[("MDBOOK_BOOK__LANGUAGE", "zh-CN")]);
    let page = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let cow = page("copy-on-write.html");
    assert!(cow.contains(r#"<html lang="zh-CN""#), "the Chinese edition is not marked zh-CN");
    assert!(cow.contains("写时复制"), "the Chinese copy-on-write chapter never says 写时复制");
    assert!(cow.contains("theme/language-"), "no language switch on the Chinese pages");
    // The copy-on-write deep dive and the lesson chapter whose figure shows copy-up.
    let mut figures = 0;
    for name in ["copy-on-write.html", "03-rootfs.html"] {
        for src in page(name).split("<img src=\"").skip(1) {
            let src = src.split('"').next().unwrap();
            assert!(
                src.starts_with("figures/zh-CN/"),
                "{name}: the Chinese edition shows the English figure {src}: translate its \
                 ![…](figures/…) message to a figures/zh-CN/ copy drawn in Chinese"
            );
            let svg = std::fs::read_to_string(book().join("src").join(src)).unwrap();
            let english = english_in_figure(&svg);
            assert!(english.is_empty(), "{src}: English left in the figure: {english:?}");
            figures += 1;
        }
    }
    assert!(figures >= 1, "no figure in the Chinese copy-on-write chapters");
}

/// Every link of the Chinese edition leads to a page that exists and, with a `#fragment`, to a
/// heading that is there: a translated heading gets a new id, which a link from another page
/// does not know.
#[test]
fn every_link_of_the_chinese_edition_leads_somewhere() {
    let out = mdbook("links", &[("MDBOOK_BOOK__LANGUAGE", "zh-CN")]);
    let attrs = |html: &str, name: &str| -> Vec<String> {
        let quote = format!("{name}=\"");
        html.split(quote.as_str()).skip(1).map(|s| s.split('"').next().unwrap().into()).collect()
    };
    let mut pages = BTreeMap::new();
    for entry in std::fs::read_dir(&*out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            pages.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let mut broken = Vec::new();
    for (name, html) in
        pages.iter().filter(|(n, _)| !["print.html", "toc.html"].contains(&n.as_str()))
    {
        for href in attrs(html, "href") {
            if href.contains(':') || href.starts_with("{{") {
                continue;
            }
            let (file, fragment) = href.split_once('#').unwrap_or((&href, ""));
            let target = if file.is_empty() { name.as_str() } else { file };
            let found = match pages.get(target) {
                Some(page) => {
                    fragment.is_empty() || attrs(page, "id").iter().any(|id| id == fragment)
                }
                None => out.join(target).exists() && fragment.is_empty(),
            };
            if !found {
                broken.push(format!("{name}: {href}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links of the Chinese edition that lead nowhere:\n{}",
        broken.join("\n")
    );
}

/// Every figure the translation points at (`figures/zh-CN/x.svg` in a msgstr) exists, and its
/// text is Chinese — all but the one a program drew.
#[test]
fn every_chinese_figure_exists_and_is_chinese() {
    let po = std::fs::read_to_string(book().join("po/zh-CN.po")).unwrap();
    let mut figures = BTreeSet::new();
    for entry in parse_po(&po) {
        for part in entry.msgstr.split("](figures/").skip(1) {
            figures.insert(format!("figures/{}", part.split(')').next().unwrap()));
        }
    }
    // panorama.svg is not a drawing but what `minidocker xray --svg` printed (scripts/
    // book-outputs makes it), an output like the included ones: it stays as the program drew it.
    figures.remove("figures/panorama.svg");
    for figure in &figures {
        assert!(
            figure.starts_with("figures/zh-CN/"),
            "zh-CN.po points at {figure}, not a Chinese copy"
        );
        let svg = std::fs::read_to_string(book().join("src").join(figure))
            .unwrap_or_else(|_| panic!("zh-CN.po points at {figure}, which does not exist"));
        let english = english_in_figure(&svg);
        assert!(english.is_empty(), "{figure}: English left in the figure: {english:?}");
    }
    assert!(!figures.is_empty(), "no Chinese figure in zh-CN.po");
}

#[test]
fn english_figure_text_is_found() {
    let english = english_in_figure(
        &std::fs::read_to_string(book().join("src/figures/rootfs-stack.svg")).unwrap(),
    );
    assert!(english.contains(&"A container's rootfs: the overlay stack".into()), "{english:?}");
    assert!(english.contains(&"lookup".into()), "{english:?}");
    assert!(!english.iter().any(|t| t.contains("bin/sh   bin/vi")), "{english:?}");
}

/// Every lesson's lab sheet is a page of the book (so it reaches the translation), and a
/// relative link in a sheet leads to the same file from the lesson's folder and from the book.
#[test]
fn every_lab_sheet_is_in_the_book_and_the_template() {
    let summary = std::fs::read_to_string(book().join("src/SUMMARY.md")).unwrap();
    let template = parse_po(&std::fs::read_to_string(book().join("po/messages.pot")).unwrap());
    for lesson in minidocker::lessons::with_capstone() {
        let page = format!("lab-{}.md", lesson.number);
        let include = format!("{{{{#include ../../lessons/{}/README.md}}}}", lesson.name);
        let text = std::fs::read_to_string(book().join("src").join(&page)).unwrap_or_default();
        assert!(text.contains(&include), "book/src/{page} should be: {include}");
        assert!(
            summary.contains(&format!("]({page})")),
            "SUMMARY.md's Lab sheets part lacks {page}"
        );
        let sheet = template.iter().filter(|e| e.pages.contains(&page)).count();
        assert!(sheet >= 10, "{page}: {sheet} messages in book/po/messages.pot");
        let readme = std::fs::read_to_string(
            Path::new(ROOT).join("lessons").join(lesson.name).join("README.md"),
        )
        .unwrap();
        for link in readme.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let from_lesson = Path::new(ROOT).join("lessons").join(lesson.name).join(target);
            let from_book = book().join("src").join(target);
            assert!(
                from_lesson.exists() && from_book.exists(),
                "lessons/{}/README.md: the link {target} does not lead to the same place in the book",
                lesson.name
            );
        }
    }
}
