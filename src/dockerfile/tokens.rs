//! Splitting an instruction's argument text without interpreting it.
//!
//! The parser keeps arguments as written (quotes and escapes included): expanding variables
//! and removing quotes happens later, in the builder, with the environment of the moment.
//! Only the instruction flags are unquoted here, because they are options, not arguments.

// ANCHOR: extract_flags
/// Takes the leading `--flag[=value]` words off `rest`, the way Docker does for every
/// instruction: flags end at the first word not starting with `--`, or at a lone `--`.
///
/// Flag words are unquoted (`--chown="a b"` gives `--chown=a b`) with `escape` escaping the
/// next character, since a flag's value is used as is, never expanded.
/// Returns the flags and what follows them, untrimmed.
pub fn extract_flags(rest: &str, escape: char) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut remaining = rest;
    loop {
        let word_start = remaining.trim_start();
        if !word_start.starts_with("--") {
            return (flags, word_start);
        }
        let (word, after) = unquoted_word(word_start, escape);
        if word == "--" {
            return (flags, after);
        }
        flags.push(word);
        remaining = after;
    }
}
// ANCHOR_END: extract_flags

/// Reads one whitespace-delimited word, removing quotes and escapes; returns it and the text
/// after it. An escape at the very end is dropped, an unterminated quote runs to the end.
fn unquoted_word(text: &str, escape: char) -> (String, &str) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match quote {
            None if c.is_whitespace() => return (word, &text[at..]),
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ if c == escape => {
                if let Some((_, next)) = chars.next() {
                    word.push(next);
                }
            }
            _ => word.push(c),
        }
    }
    (word, "")
}

/// Splits at unquoted whitespace, keeping quotes and escapes in the words (ENV, LABEL, ARG).
///
/// The escape character protects the next character (also inside double quotes, never inside
/// single quotes, as in a shell); a lone escape at the very end is dropped.
pub fn raw_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == escape && quote != Some('\'') {
            if let Some(next) = chars.next() {
                word.push(c);
                word.push(next);
            }
            continue;
        }
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Splits at any whitespace, nothing else (FROM, EXPOSE, the shell form of ADD/COPY/VOLUME).
pub fn fields(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

// ANCHOR: json_array
/// The exec (JSON) form: a JSON array of strings, `Ok(Some(…))`. Text that is not a JSON
/// array, invalid JSON included, is not JSON form (`Ok(None)`): Docker then reads it as shell
/// form. A valid JSON array holding anything but strings is an error, as in Docker.
pub fn json_array(text: &str) -> Result<Option<Vec<String>>, String> {
    if !text.starts_with('[') {
        return Ok(None);
    }
    let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(text) else { return Ok(None) };
    let strings = items.into_iter().map(|item| match item {
        serde_json::Value::String(s) => Ok(s),
        other => Err(format!(
            "when using JSON array syntax, arrays must be comprised of strings only: {} is not a string (quote it)",
            crate::report::shorten(&other.to_string(), 40)
        )),
    });
    strings.collect::<Result<Vec<_>, _>>().map(Some)
}
// ANCHOR_END: json_array

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stop_at_the_first_non_flag_or_a_double_dash() {
        let (flags, rest) = extract_flags(" --from=build --chown=\"a b\" src dst", '\\');
        assert_eq!(flags, ["--from=build", "--chown=a b"]);
        assert_eq!(rest, "src dst");
        let (flags, rest) = extract_flags("--link -- --not-a-flag x", '\\');
        assert_eq!(flags, ["--link"]);
        assert_eq!(rest, " --not-a-flag x");
    }

    #[test]
    fn raw_words_keep_quotes_and_escapes() {
        let words = raw_words(r#"a="b c" d=e\ f 'g\'h"#, '\\');
        assert_eq!(words, [r#"a="b c""#, r"d=e\ f", r"'g\'h"]);
    }

    #[test]
    fn json_form_needs_an_array_of_strings() {
        assert_eq!(json_array(r#"["a", "b"]"#), Ok(Some(vec!["a".into(), "b".into()])));
        assert_eq!(json_array("['a']"), Ok(None), "not JSON: shell form");
        assert_eq!(json_array(r#"["a"] x"#), Ok(None), "not JSON: shell form");
        for not_strings in [r#"["a", 1]"#, r#"[ "echo", [ "x" ] ]"#, r#"[null]"#] {
            let e = json_array(not_strings).unwrap_err();
            assert!(e.contains("arrays must be comprised of strings only"), "{e}");
        }
    }
}
