//! Shell-style words as Docker reads them: variable expansion, quotes, escapes, splitting.
//!
//! Docker does not run a shell to expand `$VAR` in ENV, COPY, WORKDIR…: it has its own small
//! lexer following POSIX rules where they matter. Unquoted text and expansions are split at
//! whitespace into words; single quotes keep everything literal; in double quotes the escape
//! character only escapes `"`, `$` and itself; elsewhere it makes the next character literal.
//!
//! Supported expansions: `$name`, `${name}`, `${name:-word}` `${name-word}` (default),
//! `${name:+word}` `${name+word}` (alternative), `${name:?word}` `${name?word}` (required),
//! and the pattern forms `${name#pat}` `${name##pat}` `${name%pat}` `${name%%pat}`
//! `${name/pat/repl}` `${name//pat/repl}` with `*` and `?` wildcards. The `:` forms also treat
//! an empty value as unset. Positional and special parameters (`$1`, `$@`, `$$`…) exist in no
//! Dockerfile, so they expand to nothing.

use anyhow::{bail, Result};

/// Looks a variable up: `None` when unset, `Some("")` when set but empty.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands one word into one string: quotes removed, variables replaced, nothing split
/// (`ENV` values, `WORKDIR`, `USER`…).
pub fn expand(word: &str, env: Lookup, escape: char) -> Result<String> {
    let mut out = Output::new(false);
    Lexer::new(word, env, escape).run(&mut out, &[])?;
    Ok(out.finish().concat())
}

/// Expands and splits into words, as a shell would (`hello${X}bye` with `X="a b"` gives
/// `helloa` and `bbye`; in double quotes it stays one word).
pub fn words(text: &str, env: Lookup, escape: char) -> Result<Vec<String>> {
    let mut out = Output::new(true);
    Lexer::new(text, env, escape).run(&mut out, &[])?;
    Ok(out.finish())
}

// ANCHOR: expand_heredoc
/// Expands the body of a COPY or ADD here-document whose delimiter is not quoted, as BuildKit
/// does: with this lexer, but quotes kept in the text. So `$VAR` in single quotes stays as
/// written, and an apostrophe that opens a quote never closed is an error, as there; `\`
/// escapes the next character whatever the escape directive says. Nothing is split.
pub fn expand_heredoc(text: &str, env: Lookup) -> Result<String> {
    let mut out = Output { keep_quotes: true, ..Output::new(false) };
    Lexer::new(text, env, '\\').run(&mut out, &[])?;
    Ok(out.finish().concat())
}
// ANCHOR_END: expand_heredoc

/// A lookup in a list of `NAME=value` entries, the later entries winning (as in `docker run
/// -e` and the process environment).
pub fn lookup_in(entries: &[String]) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        entries.iter().rev().find_map(|entry| {
            let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
            (key == name).then(|| value.to_string())
        })
    }
}

/// Collects the expanded text as words (splitting mode) or as one string.
struct Output {
    split: bool,
    words: Vec<String>,
    current: String,
    /// Quotes make a word even when empty: `""` is one empty argument.
    quoted: bool,
    /// Keep the quote characters in the text (here-document bodies).
    keep_quotes: bool,
}

impl Output {
    fn new(split: bool) -> Self {
        Output {
            split,
            words: Vec::new(),
            current: String::new(),
            quoted: false,
            keep_quotes: false,
        }
    }

    /// A character that never splits: quoted, escaped, or ordinary.
    fn literal(&mut self, c: char) {
        self.current.push(c);
    }

    fn quoted_text(&mut self, quote: char, text: &str) {
        self.quoted = true;
        match self.keep_quotes {
            true => {
                self.current.extend([quote.to_string().as_str(), text, quote.to_string().as_str()])
            }
            false => self.current.push_str(text),
        }
    }

    /// Unquoted text from the source or from an expansion: its whitespace separates words.
    fn unquoted_text(&mut self, text: &str) {
        for c in text.chars() {
            if self.split && c.is_whitespace() {
                self.end_word();
            } else {
                self.current.push(c);
            }
        }
    }

    fn end_word(&mut self) {
        if !self.current.is_empty() || self.quoted {
            self.words.push(std::mem::take(&mut self.current));
        }
        self.quoted = false;
    }

    fn finish(mut self) -> Vec<String> {
        self.end_word();
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    env: Lookup<'a>,
    escape: char,
    /// Inside the word of an expansion whose result is not used (`${SET:-${X:?}}`): errors
    /// of `?` are not raised there, as the shell never evaluates that word.
    unused_depth: usize,
}

/// What follows the name in `${name…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Default { colon: bool },
    Alternative { colon: bool },
    Required { colon: bool },
    RemovePrefix { longest: bool },
    RemoveSuffix { longest: bool },
    Replace { all: bool },
}

impl<'a> Lexer<'a> {
    fn new(text: &str, env: Lookup<'a>, escape: char) -> Self {
        Lexer { chars: text.chars().collect(), pos: 0, env, escape, unused_depth: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += c.is_some() as usize;
        c
    }

    /// Reads unquoted text until the end or an unquoted character of `stop` (not consumed).
    fn run(&mut self, out: &mut Output, stop: &[char]) -> Result<()> {
        while let Some(c) = self.peek() {
            if stop.contains(&c) {
                return Ok(());
            }
            self.pos += 1;
            match c {
                // An escape at the very end escapes nothing and disappears.
                _ if c == self.escape => {
                    if let Some(next) = self.next() {
                        out.literal(next);
                    }
                }
                '\'' => self.single_quoted(out)?,
                '"' => self.double_quoted(out)?,
                '$' => {
                    let value = self.dollar()?;
                    out.unquoted_text(&value);
                }
                _ => out.unquoted_text(c.encode_utf8(&mut [0; 4])),
            }
        }
        if !stop.is_empty() {
            bail!("missing '}}' to close a ${{...}} expansion");
        }
        Ok(())
    }

    /// After an opening `'`: everything up to the next `'` is literal, escapes included.
    fn single_quoted(&mut self, out: &mut Output) -> Result<()> {
        let mut text = String::new();
        loop {
            match self.next() {
                None => {
                    bail!("unexpected end of statement while looking for matching single-quote")
                }
                Some('\'') => break,
                Some(c) => text.push(c),
            }
        }
        out.quoted_text('\'', &text);
        Ok(())
    }

    // ANCHOR: double_quoted
    /// After an opening `"`: variables expand, the escape only escapes `"`, `$` and itself.
    fn double_quoted(&mut self, out: &mut Output) -> Result<()> {
        let mut text = String::new();
        loop {
            match self.next() {
                None => {
                    bail!("unexpected end of statement while looking for matching double-quote")
                }
                Some('"') => break,
                Some('$') => text.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.peek() {
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        self.pos += 1;
                        text.push(next);
                    }
                    _ => text.push(c),
                },
                Some(c) => text.push(c),
            }
        }
        out.quoted_text('"', &text);
        Ok(())
    }
    // ANCHOR_END: double_quoted

    /// After a `$`: the value of what it introduces, or `$` itself when it introduces nothing.
    fn dollar(&mut self) -> Result<String> {
        if self.peek() == Some('{') {
            self.pos += 1;
            return self.braced();
        }
        Ok(match self.name() {
            Some(name) => self.value(&name).unwrap_or_default(),
            None => "$".to_string(),
        })
    }

    /// A parameter name: an identifier, a positional number, or one special character.
    fn name(&mut self) -> Option<String> {
        let first = self.peek()?;
        let name: String = if first.is_alphabetic() || first == '_' {
            self.take_while(|c| c.is_alphanumeric() || c == '_')
        } else if first.is_ascii_digit() {
            self.take_while(|c| c.is_ascii_digit())
        } else if "@*#?-$!".contains(first) {
            self.pos += 1;
            first.to_string()
        } else {
            return None;
        };
        Some(name)
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A variable's value; positional and special parameters are never set in a Dockerfile.
    fn value(&self, name: &str) -> Option<String> {
        let is_variable = name.starts_with(|c: char| c.is_alphabetic() || c == '_');
        if is_variable {
            (self.env)(name)
        } else {
            None
        }
    }

    /// After `${`: the name, an optional modifier with its word, and the closing `}`.
    fn braced(&mut self) -> Result<String> {
        let Some(name) = self.name() else {
            match self.peek() {
                Some('}') => bail!("bad substitution: ${{}} names no variable"),
                _ => bail!("bad substitution: expected a variable name after '${{'"),
            }
        };
        let value = self.value(&name);
        let Some(modifier) = self.modifier(&name)? else {
            return Ok(value.unwrap_or_default());
        };
        match modifier {
            // ANCHOR: defaults
            Modifier::Default { colon } => {
                let use_word = is_unset(value.as_deref(), colon);
                let word = self.word(&['}'], use_word)?;
                Ok(if use_word { word } else { value.unwrap_or_default() })
            }
            Modifier::Alternative { colon } => {
                let use_word = !is_unset(value.as_deref(), colon);
                let word = self.word(&['}'], use_word)?;
                Ok(if use_word { word } else { String::new() })
            }
            Modifier::Required { colon } => {
                let missing = is_unset(value.as_deref(), colon);
                let message = self.word(&['}'], missing)?;
                if missing && self.unused_depth == 0 {
                    let why = if message.is_empty() { "is not set" } else { &message };
                    bail!("{name}: {why}");
                }
                Ok(value.unwrap_or_default())
            }
            // ANCHOR_END: defaults
            Modifier::RemovePrefix { longest } => {
                let pattern = self.word(&['}'], true)?;
                Ok(remove_prefix(&value.unwrap_or_default(), &pattern, longest))
            }
            Modifier::RemoveSuffix { longest } => {
                let pattern = self.word(&['}'], true)?;
                Ok(remove_suffix(&value.unwrap_or_default(), &pattern, longest))
            }
            Modifier::Replace { all } => {
                let pattern = self.word(&['/', '}'], true)?;
                let replacement = if self.chars[self.pos - 1] == '/' {
                    self.word(&['}'], true)?
                } else {
                    String::new()
                };
                Ok(replace(&value.unwrap_or_default(), &pattern, &replacement, all))
            }
        }
    }

    /// Reads what follows the name; `None` when it is the closing `}` (consumed).
    fn modifier(&mut self, name: &str) -> Result<Option<Modifier>> {
        let Some(c) = self.next() else {
            bail!("missing '}}' after ${{{name}");
        };
        let colon = c == ':';
        let op = if colon { self.next() } else { Some(c) };
        let doubled = |lexer: &mut Self, op: char| {
            let twice = lexer.peek() == Some(op);
            lexer.pos += twice as usize;
            twice
        };
        Ok(Some(match op {
            Some('}') if !colon => return Ok(None),
            Some('-') => Modifier::Default { colon },
            Some('+') => Modifier::Alternative { colon },
            Some('?') => Modifier::Required { colon },
            Some('=') => bail!(
                "unsupported modifier in ${{{name}{}=...}}: Dockerfiles cannot assign variables",
                if colon { ":" } else { "" }
            ),
            Some('#') if !colon => Modifier::RemovePrefix { longest: doubled(self, '#') },
            Some('%') if !colon => Modifier::RemoveSuffix { longest: doubled(self, '%') },
            Some('/') if !colon => Modifier::Replace { all: doubled(self, '/') },
            _ => bail!(
                "bad substitution in ${{{name}...}}: use one of :- :+ :? - + ? # ## % %% / //"
            ),
        }))
    }

    /// The word of a modifier, up to an unquoted character of `stop`, which is consumed.
    fn word(&mut self, stop: &[char], used: bool) -> Result<String> {
        let mut out = Output::new(false);
        self.unused_depth += !used as usize;
        let result = self.run(&mut out, stop);
        self.unused_depth -= !used as usize;
        result?;
        self.pos += 1;
        Ok(out.finish().concat())
    }
}

fn is_unset(value: Option<&str>, empty_too: bool) -> bool {
    match value {
        None => true,
        Some(v) => empty_too && v.is_empty(),
    }
}

/// `${v#pat}` / `${v##pat}`: the shortest / longest matching prefix removed.
fn remove_prefix(value: &str, pattern: &str, longest: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let mut lengths: Vec<usize> = (0..=chars.len()).collect();
    if longest {
        lengths.reverse();
    }
    match lengths.into_iter().find(|&n| glob(&pattern, &chars[..n])) {
        Some(n) => chars[n..].iter().collect(),
        None => value.to_string(),
    }
}

/// `${v%pat}` / `${v%%pat}`: the shortest / longest matching suffix removed.
fn remove_suffix(value: &str, pattern: &str, longest: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let mut starts: Vec<usize> = (0..=chars.len()).rev().collect();
    if longest {
        starts.reverse();
    }
    match starts.into_iter().find(|&n| glob(&pattern, &chars[n..])) {
        Some(n) => chars[..n].iter().collect(),
        None => value.to_string(),
    }
}

/// `${v/pat/repl}` / `${v//pat/repl}`: the first / every longest match replaced.
fn replace(value: &str, pattern: &str, replacement: &str, all: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let mut result = String::new();
    let mut at = 0;
    let mut replaced = false;
    while at < chars.len() {
        let matched = (all || !replaced)
            .then(|| (at + 1..=chars.len()).rev().find(|&end| glob(&pattern, &chars[at..end])))
            .flatten();
        match matched {
            Some(end) => {
                result.push_str(replacement);
                replaced = true;
                at = end;
            }
            None => {
                result.push(chars[at]);
                at += 1;
            }
        }
    }
    result
}

/// Shell pattern matching of the whole `text`: `*` any run, `?` any one character.
fn glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some(('?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "FILE" => Some("/home/tux/book.tar.bz2".into()),
            "EMPTY" => Some(String::new()),
            "TWO" => Some("a  b".into()),
            _ => None,
        }
    }

    #[test]
    fn here_document_bodies_expand_as_buildkit_expands_them() {
        let body = "\"$TWO\" '$TWO' ${FILE##*/} \\$EMPTY \\\\ a\\n \\\n`date` $\n";
        let got = expand_heredoc(body, &env).unwrap();
        assert_eq!(got, "\"a  b\" '$TWO' book.tar.bz2 $EMPTY \\ an \n`date` $\n");
        let e = expand_heredoc("it's\n", &env).unwrap_err().to_string();
        assert_eq!(e, "unexpected end of statement while looking for matching single-quote");
    }

    fn x(word: &str) -> Result<String> {
        expand(word, &env, '\\')
    }

    #[test]
    fn pattern_modifiers() {
        assert_eq!(x("${FILE#*/}").unwrap(), "home/tux/book.tar.bz2");
        assert_eq!(x("${FILE##*/}").unwrap(), "book.tar.bz2");
        assert_eq!(x("${FILE%.*}").unwrap(), "/home/tux/book.tar");
        assert_eq!(x("${FILE%%.*}").unwrap(), "/home/tux/book");
        assert_eq!(x("${FILE/tux/wilber}").unwrap(), "/home/wilber/book.tar.bz2");
        assert_eq!(x("${FILE//o/0}").unwrap(), "/h0me/tux/b00k.tar.bz2");
        assert_eq!(x("${FILE/o}").unwrap(), "/hme/tux/book.tar.bz2");
    }

    #[test]
    // ANCHOR: colonless
    fn colonless_modifiers_only_look_at_unset() {
        assert_eq!(x("${EMPTY-x}").unwrap(), "");
        assert_eq!(x("${NOPE-x}").unwrap(), "x");
        assert_eq!(x("${EMPTY+x}").unwrap(), "x");
        assert_eq!(x("${NOPE+x}").unwrap(), "");
    }
    // ANCHOR_END: colonless

    #[test]
    fn an_unused_word_is_not_evaluated() {
        assert_eq!(x("${FILE:-${NOPE:?}}").unwrap(), "/home/tux/book.tar.bz2");
        let err = x("${NOPE:?set NOPE with --build-arg}").unwrap_err();
        assert_eq!(err.to_string(), "NOPE: set NOPE with --build-arg");
    }

    #[test]
    // ANCHOR: splitting
    fn splitting_keeps_quoted_empty_words() {
        let got = words(r#"a "" $TWO "$TWO" $EMPTY"#, &env, '\\').unwrap();
        assert_eq!(got, ["a", "", "a", "b", "a  b"]);
    }
    // ANCHOR_END: splitting

    #[test]
    fn backtick_escape() {
        assert_eq!(expand(r"C:\dir` x`$FILE", &env, '`').unwrap(), r"C:\dir x$FILE");
    }

    #[test]
    fn lookup_in_a_list_prefers_the_last_entry() {
        let list = vec!["A=1".to_string(), "B=".to_string(), "A=2".to_string()];
        let lookup = lookup_in(&list);
        assert_eq!(lookup("A").as_deref(), Some("2"));
        assert_eq!(lookup("B").as_deref(), Some(""));
        assert_eq!(lookup("C"), None);
    }
}
