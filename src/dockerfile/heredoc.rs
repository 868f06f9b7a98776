//! Here-documents: the lines after `RUN <<EOF` up to a line `EOF`, as BuildKit reads them
//! (Dockerfile syntax 1.4 and later; the classic builder never did).
//!
//! Only RUN, COPY and ADD take them, also as ONBUILD triggers. Any word of the instruction
//! of the form `<<NAME`, `<<-NAME` (leading tabs of the body removed), `<<"NAME"` or
//! `<<'NAME'` (body taken literally) opens one, optionally after a file descriptor
//! (`3<<NAME`); the bodies follow the instruction in the order their words appear. A word like `<<<` (a here-string) or
//! `cat<<EOF` (glued to a command) opens none, as in BuildKit.

use super::tokens::raw_words;

/// One here-document of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, unquoted: `EOF` for `<<EOF`, `<<-EOF` and `<<"EOF"`. For COPY and
    /// ADD it is also the name of the file the body becomes.
    pub name: String,
    /// The lines between the instruction and the delimiter, each ending with a newline;
    /// with `<<-`, without their leading tabs.
    pub content: String,
    /// The delimiter was not quoted: `$VAR` in the body expands.
    pub expand: bool,
}

impl Heredoc {
    /// The name as a file name (COPY's file, RUN's script): one path component.
    pub fn file_name(&self) -> anyhow::Result<&str> {
        let plain = !self.name.contains('/') && self.name != "." && self.name != "..";
        anyhow::ensure!(plain, "here-document <<{}: its name becomes a file name, so it cannot contain / or be . or ..", self.name);
        Ok(&self.name)
    }
}

/// The instructions that take here-documents.
pub fn allowed(keyword: &str) -> bool {
    matches!(keyword, "run" | "copy" | "add")
}

// ANCHOR: opener
/// The here-document `word` opens, with an empty body, and whether it strips tabs (`<<-`);
/// `None` if the word opens none.
pub fn opener(word: &str) -> Option<(Heredoc, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix("<<")?;
    let (strip_tabs, delimiter) = match rest.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, rest),
    };
    if delimiter.is_empty() || delimiter.contains('<') {
        return None;
    }
    // Quoting any part of the delimiter (`"EOF"`, `'EOF'`, `E"O"F`) makes the body literal,
    // as in a shell; BuildKit does not count a backslash (`\EOF`) as quoting. The delimiter
    // itself is the word with its quotes and backslashes removed.
    let quoted = delimiter.contains(['"', '\'']);
    let name: String = delimiter.chars().filter(|c| !matches!(c, '"' | '\'' | '\\')).collect();
    (!name.is_empty())
        .then(|| (Heredoc { name, content: String::new(), expand: !quoted }, strip_tabs))
}
// ANCHOR_END: opener

/// The here-documents an instruction's text (keyword included) opens, in order.
pub fn openers(text: &str) -> Vec<(Heredoc, bool)> {
    if !text.contains("<<") {
        return Vec::new(); // every logical line comes here: most need no word split
    }
    let mut words = raw_words(text, '\\').into_iter().peekable();
    // ONBUILD RUN <<EOF: the trigger's keyword decides.
    words.next_if(|w| w.eq_ignore_ascii_case("onbuild"));
    match words.next() {
        Some(keyword) if allowed(&keyword.to_lowercase()) => {
            words.filter_map(|w| opener(&w)).collect()
        }
        _ => Vec::new(),
    }
}

/// Is `text` (a RUN's command line) nothing but one here-document's opening word?
pub fn is_alone(text: &str) -> bool {
    matches!(&raw_words(text, '\\')[..], [word] if opener(word).is_some())
}

/// `text` followed by the bodies of `docs`, each ended by its delimiter: the instruction as
/// it was written, to give to a shell (RUN) or to store as an ONBUILD trigger.
pub fn with_bodies(text: &str, docs: &[Heredoc]) -> String {
    docs.iter().fold(text.to_string(), |text, doc| format!("{text}\n{}{}", doc.content, doc.name))
}

/// Reads the body of `doc` from `lines`, up to its delimiter line; returns how many lines
/// that took (delimiter included), or `None` when no line ends it.
pub fn read_body(doc: &mut Heredoc, strip_tabs: bool, lines: &[&str]) -> Option<usize> {
    for (n, line) in lines.iter().enumerate() {
        let line = if strip_tabs { line.trim_start_matches('\t') } else { line };
        if line == doc.name {
            return Some(n + 1);
        }
        doc.content.push_str(line);
        doc.content.push('\n');
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, bool, bool)> {
        openers(text).into_iter().map(|(d, tabs)| (d.name, d.expand, tabs)).collect()
    }

    #[test]
    fn words_that_open_here_documents() {
        assert_eq!(names("RUN <<EOF"), [("EOF".into(), true, false)]);
        assert_eq!(names("run python3 <<-'PY' > /out"), [("PY".into(), false, true)]);
        assert_eq!(
            names(r#"COPY <<"a.txt" 3<<b.txt /dst/"#),
            [("a.txt".into(), false, false), ("b.txt".into(), true, false)]
        );
        assert_eq!(names(r"onbuild RUN <<\EOF cat"), [("EOF".into(), true, false)]);
        assert!(
            is_alone(" <<EOF ")
                && !is_alone("<<EOF bash")
                && !is_alone("<<EOF > /out")
                && !is_alone("cat")
        );
        // Not openers: a here-string, a glued word, a quoted word, other instructions.
        for text in [
            "RUN cat <<<word",
            "RUN cat<<EOF",
            "RUN echo '<<EOF'",
            "RUN echo \"<<EOF\"",
            "RUN <<",
            "CMD <<EOF",
            "ENV A=<<EOF",
        ] {
            assert_eq!(names(text), [], "{text}");
        }
    }

    #[test]
    fn bodies_end_at_their_delimiter_line() {
        let (mut doc, tabs) = opener("<<-END").unwrap();
        let lines = ["\tone", "  two", "# not a comment", "\tEND", "after"];
        assert_eq!(read_body(&mut doc, tabs, &lines), Some(4));
        assert_eq!(doc.content, "one\n  two\n# not a comment\n");
        let (mut doc, tabs) = opener("<<END").unwrap();
        assert_eq!(
            read_body(&mut doc, tabs, &[" END", "END "]),
            None,
            "only the exact line ends it"
        );
    }
}
