//! From the file's text to logical lines: parser directives, comments, line continuations.
//!
//! Docker reads a Dockerfile line by line. The first lines may be parser directives; after
//! that, a line starting (after blanks) with `#` is a comment wherever it is — even between
//! the continuation lines of one instruction — and an instruction continues on the next line
//! when it ends with the escape character. The lines of a here-document (see
//! [`super::heredoc`]) are the exception: they are taken as they are, comments included.

use super::heredoc::{self, Heredoc};

/// The parser directives: `# name=value` lines at the very top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character, `\` or `` ` `` (the latter for Windows paths). It escapes
    /// characters in arguments and continues a line.
    pub escape: char,
    /// `# syntax=` — the BuildKit frontend image to use; kept for information only.
    pub syntax: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives { escape: '\\', syntax: None }
    }
}

/// One instruction's text, continuation lines joined, with the lines it spans (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    pub text: String,
    pub start_line: usize,
    pub end_line: usize,
    /// Blank lines inside the continuation: allowed, but Docker warns they will not be.
    pub empty_continuations: Vec<usize>,
    /// The here-documents that follow the instruction (`end_line` is their last line).
    pub heredocs: Vec<Heredoc>,
}

/// A problem found while reading lines, at a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// Splits the source into directives and logical lines.
pub fn read(text: &str) -> Result<(Directives, Vec<LogicalLine>), LineError> {
    // Editors on Windows may save a byte order mark; it is not part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let (directives, first) = read_directives(&lines)?;
    let logical = join_lines(&lines, first, directives.escape)?;
    Ok((directives, logical))
}

// ANCHOR: directives
/// Reads directives from the top; returns them and the index of the first other line.
///
/// Directive lookup stops at the first line that is not a known directive — an empty line,
/// a comment (an unknown directive is a comment), an instruction — as Docker documents it.
fn read_directives(lines: &[&str]) -> Result<(Directives, usize), LineError> {
    let mut directives = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line) else {
            return Ok((directives, index));
        };
        let error = |message: String| LineError { line: index + 1, message };
        if seen.contains(&name) {
            return Err(error(format!("only one `{name}` parser directive can be used")));
        }
        match name.as_str() {
            "escape" => directives.escape = escape_token(value).map_err(error)?,
            "syntax" => directives.syntax = Some(value.to_string()),
            _ => return Ok((directives, index)),
        }
        seen.push(name);
    }
    Ok((directives, lines.len()))
}
// ANCHOR_END: directives

/// `# name = value` → (lower-cased name, value), whitespace allowed around each part.
fn directive(line: &str) -> Option<(String, &str)> {
    let body = line.trim_start().strip_prefix('#')?;
    let (name, value) = body.split_once('=')?;
    let name = name.trim();
    let mut name_chars = name.chars();
    let starts_with_letter = name_chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_with_letter || !name_chars.all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let value = value.trim();
    (!value.is_empty()).then(|| (name.to_ascii_lowercase(), value))
}

fn escape_token(value: &str) -> Result<char, String> {
    match value {
        "\\" => Ok('\\'),
        "`" => Ok('`'),
        _ => Err(format!(
            "invalid escape token '{value}': use \\ (the default) or ` (for Windows paths)"
        )),
    }
}

/// A comment line: `#` first once leading blanks are skipped.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Joins continuation lines into logical lines, from `lines[first..]`, and reads the bodies
/// of their here-documents.
fn join_lines(lines: &[&str], first: usize, escape: char) -> Result<Vec<LogicalLine>, LineError> {
    let mut logical = Vec::new();
    let mut index = first;
    while index < lines.len() {
        let line = lines[index].trim_start();
        index += 1;
        if line.is_empty() || is_comment(line) {
            continue;
        }
        let (text, mut continues) = strip_continuation(line, escape);
        let mut current = LogicalLine {
            text: text.to_string(),
            start_line: index,
            end_line: index,
            empty_continuations: Vec::new(),
            heredocs: Vec::new(),
        };
        while continues && index < lines.len() {
            let line = lines[index];
            index += 1;
            if is_comment(line) {
                continue;
            }
            if line.trim().is_empty() {
                current.empty_continuations.push(index);
                continue;
            }
            let (text, next_continues) = strip_continuation(line, escape);
            current.text.push_str(text);
            current.end_line = index;
            continues = next_continues;
        }
        for (mut doc, strip_tabs) in heredoc::openers(&current.text) {
            let Some(taken) = heredoc::read_body(&mut doc, strip_tabs, &lines[index..]) else {
                let message = format!(
                    "here-document <<{0} is never ended: add a line `{0}` after its last line",
                    doc.name
                );
                return Err(LineError { line: current.start_line, message });
            };
            index += taken;
            current.end_line = index;
            current.heredocs.push(doc);
        }
        logical.push(current);
    }
    Ok(logical)
}

// ANCHOR: continuation
/// A line continues when it ends with an unescaped escape character, blanks after it allowed.
/// Returns the line without that escape (and the blanks) and whether it continues.
///
/// "Unescaped" means an odd run of escape characters: `C:\\` does not continue, so a value
/// may end with an (escaped) backslash.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let content = line.trim_end_matches([' ', '\t']);
    let escapes = content.chars().rev().take_while(|&c| c == escape).count();
    if escapes % 2 == 1 {
        (&content[..content.len() - escape.len_utf8()], true)
    } else {
        (line, false)
    }
}
// ANCHOR_END: continuation

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_only_read_at_the_top() {
        let (d, lines) = read("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM a\n").unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(lines.len(), 1);
        let (d, _) = read("# a comment\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(d.escape, '\\');
        let (d, _) = read("\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn bad_or_repeated_directives_fail_with_their_line() {
        let err = read("# escape=x\nFROM a").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("invalid escape token 'x'"), "{}", err.message);
        let err = read("# escape=`\n# escape=\\\nFROM a").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    // ANCHOR: continuation_test
    fn continuations_skip_comments_and_blank_lines() {
        let (_, lines) = read("RUN a \\\n# note\n\n  b \\\\\nRUN c\r\n").unwrap();
        assert_eq!(lines[0].text, "RUN a   b \\\\");
        assert_eq!((lines[0].start_line, lines[0].end_line), (1, 4));
        assert_eq!(lines[0].empty_continuations, [3]);
        assert_eq!(lines[1].text, "RUN c");
    }
    // ANCHOR_END: continuation_test
}
