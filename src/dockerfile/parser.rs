//! Instructions from logical lines: the keyword, its flags, its arguments split the way that
//! instruction wants them, and the checks that need nothing but the Dockerfile itself.
//!
//! Arguments stay as written: `ENV A="x y"` keeps its quotes, `RUN echo $HOME` its `$`.
//! Expanding them needs the build's variables, so that is the builder's job (see
//! [`super::shell`]). Flags are kept for every instruction without checking their names:
//! which flags an instruction accepts is the builder's business too.

use std::fmt;

use super::heredoc::{self, Heredoc};
use super::lines::{self, Directives, LogicalLine};
use super::tokens::{extract_flags, fields, json_array, raw_words};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The name used in error messages, e.g. `Dockerfile`.
    pub file_name: String,
    pub directives: Directives,
    pub instructions: Vec<Instruction>,
    /// Accepted but discouraged constructs, one line each with file and line number.
    pub warnings: Vec<String>,
}

/// One instruction, e.g. `COPY --from=build /app /app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Lower-case: `copy`.
    pub keyword: String,
    /// As given, unquoted: `--from=build`. A lone `--` ends the flags and is not kept.
    pub flags: Vec<String>,
    /// Split the way the instruction wants, quotes and `$` kept:
    /// - RUN, CMD, ENTRYPOINT, SHELL: the JSON array's strings, or the whole command text;
    /// - ADD, COPY, VOLUME: the JSON array's strings, or whitespace-separated words;
    /// - FROM, EXPOSE: whitespace-separated words (`FROM img AS name` gives three);
    /// - ENV, LABEL: triples `key`, `value`, `=` or `""` (the `KEY value` legacy form);
    /// - ARG: quote-aware words, each `name` or `name=default`;
    /// - USER, WORKDIR, STOPSIGNAL, MAINTAINER: the whole text as one argument;
    /// - HEALTHCHECK: `NONE`, or `CMD` then the command as for CMD;
    /// - ONBUILD: none, see [`Instruction::onbuild`].
    pub args: Vec<String>,
    /// Exec (JSON) form: the arguments are an argv, no shell involved.
    pub json: bool,
    /// First and last line (1-based) the instruction spans in the file.
    pub start_line: usize,
    pub end_line: usize,
    /// The instruction's text, continuation lines joined, as Docker shows it in build output.
    pub original: String,
    /// ONBUILD's trigger: the instruction to run when the image is used as a base.
    pub onbuild: Option<Box<Instruction>>,
    /// RUN, COPY, ADD: the here-documents that follow, in the order their `<<NAME` words
    /// appear in `args`.
    pub heredocs: Vec<Heredoc>,
}

/// One pair of ENV or LABEL, raw (quotes kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: &'a str,
    pub value: &'a str,
    /// Written `key=value`; `false` for the legacy `KEY value` form, whose value is the rest
    /// of the line.
    pub equals: bool,
}

impl Instruction {
    /// The pairs of an ENV or LABEL instruction; empty for any other.
    pub fn key_values(&self) -> Vec<KeyValue<'_>> {
        if self.keyword != "env" && self.keyword != "label" {
            return Vec::new();
        }
        self.args
            .chunks_exact(3)
            .map(|kv| KeyValue { key: &kv[0], value: &kv[1], equals: kv[2] == "=" })
            .collect()
    }

    /// The value of flag `--name=value`; `Some("")` for a bare `--name`, `None` if absent.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|flag| {
            let rest = flag.strip_prefix("--")?.strip_prefix(name)?;
            match rest {
                "" => Some(""),
                _ => rest.strip_prefix('='),
            }
        })
    }
}

/// A parse error, displayed as one line: `Dockerfile:7: unknown instruction: FOO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    /// `None` for errors about the whole file.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Every instruction keyword, lower-case.
#[rustfmt::skip]
pub const KEYWORDS: &[&str] = &[
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
];

/// Parses a Dockerfile's text; `file_name` only appears in messages. Errors are
/// [`ParseError`]s (inside the `anyhow::Error`): the first problem, with its line.
impl Dockerfile {
    /// The checks that come after parsing, as in Docker (whose parser, too, reads an
    /// instruction's words before anything asks what they mean): refused before a build
    /// starts, with the line.
    pub fn check(&self) -> anyhow::Result<()> {
        let triggers = self.instructions.iter().filter_map(|i| i.onbuild.as_deref());
        for ins in self.instructions.iter().chain(triggers) {
            if ins.keyword == "healthcheck" {
                check_healthcheck(&ins.args).map_err(|message| ParseError {
                    file: self.file_name.clone(),
                    line: Some(ins.start_line),
                    message,
                })?;
            }
        }
        Ok(())
    }
}

pub fn parse(text: &str, file_name: &str) -> anyhow::Result<Dockerfile> {
    let error = |line, message| ParseError { file: file_name.to_string(), line, message };
    let (directives, logical) = lines::read(text).map_err(|e| error(Some(e.line), e.message))?;
    let escape = directives.escape;
    let mut instructions: Vec<Instruction> = Vec::with_capacity(logical.len());
    let mut warnings = Vec::new();
    for line in &logical {
        warnings.extend(line.empty_continuations.iter().map(|n| {
            format!("{file_name}:{n}: empty continuation line (a future Docker will reject it: delete it)")
        }));
        let instruction = parse_line(line, escape, instructions.last())
            .map_err(|m| error(Some(line.start_line), m))?;
        instructions.push(instruction);
    }
    if instructions.is_empty() {
        let message = "file with no instructions: a Dockerfile needs at least a FROM <image> line";
        return Err(error(None, message.to_string()).into());
    }
    Ok(Dockerfile { file_name: file_name.to_string(), directives, instructions, warnings })
}

fn parse_line(
    line: &LogicalLine,
    escape: char,
    previous: Option<&Instruction>,
) -> Result<Instruction, String> {
    let text = line.text.trim();
    let (word, _) = split_keyword(text);
    if !is_keyword(word) {
        // A shell command right under an instruction is usually a forgotten continuation.
        let above = previous.filter(|p| p.end_line + 1 == line.start_line);
        // …or the body of a here-document after an instruction that takes none.
        let keyword_of = |p: &Instruction| {
            p.onbuild.as_ref().map_or(p.keyword.clone(), |trigger| trigger.keyword.clone())
        };
        if let Some(p) =
            above.filter(|p| !heredoc::allowed(&keyword_of(p)) && p.original.contains("<<"))
        {
            let (shown, keyword) = (word.to_uppercase(), keyword_of(p).to_uppercase());
            return Err(format!("unknown instruction: {shown} (only RUN, COPY and ADD take a here-document, not {keyword})"));
        }
        return Err(unknown_instruction(word, above.map(|_| escape)));
    }
    let mut instruction = parse_instruction(text, escape)?;
    instruction.set_lines(line.start_line, line.end_line);
    instruction.heredocs = line.heredocs.clone();
    let destination =
        instruction.args.last().filter(|_| matches!(instruction.keyword.as_str(), "copy" | "add"));
    if let Some(name) = destination.and_then(|d| heredoc::opener(d)).map(|(doc, _)| doc.name) {
        let keyword = instruction.keyword.to_uppercase();
        return Err(format!("{keyword} <<{name} as the destination: a here-document can only be a source; name the destination path last"));
    }
    Ok(instruction)
}

impl Instruction {
    fn set_lines(&mut self, start: usize, end: usize) {
        (self.start_line, self.end_line) = (start, end);
        if let Some(trigger) = &mut self.onbuild {
            trigger.set_lines(start, end);
        }
    }
}

/// The keyword as written and the text after it.
fn split_keyword(text: &str) -> (&str, &str) {
    text.split_once(char::is_whitespace).unwrap_or((text, ""))
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word.to_lowercase().as_str())
}

/// Parses one instruction's trimmed text; the caller sets the line numbers.
fn parse_instruction(text: &str, escape: char) -> Result<Instruction, String> {
    let (word, rest) = split_keyword(text);
    if !is_keyword(word) {
        return Err(unknown_instruction(word, None));
    }
    let keyword = word.to_lowercase();
    let (flags, rest) = extract_flags(rest, escape);
    let parsed = parse_arguments(&keyword, rest.trim(), escape).map_err(|p| p.message(&keyword))?;
    Ok(Instruction {
        keyword,
        flags,
        args: parsed.args,
        json: parsed.json,
        start_line: 0,
        end_line: 0,
        original: text.to_string(),
        onbuild: parsed.onbuild,
        heredocs: Vec::new(),
    })
}

/// What an instruction's argument text gives.
#[derive(Default)]
struct Parsed {
    args: Vec<String>,
    json: bool,
    onbuild: Option<Box<Instruction>>,
}

impl Parsed {
    fn words(args: Vec<String>) -> Self {
        Parsed { args, ..Parsed::default() }
    }
}

/// Why the arguments do not parse.
enum Problem {
    /// Not written the way the instruction is used: the message shows its usage.
    Usage,
    /// Something more specific, the whole message.
    Message(String),
}

impl Problem {
    fn message(self, keyword: &str) -> String {
        match self {
            Problem::Message(message) => message,
            Problem::Usage => {
                let (requirement, usage) = syntax(keyword);
                format!("{} requires {requirement} (usage: {usage})", keyword.to_uppercase())
            }
        }
    }
}

/// What an instruction requires and how it is written, for error messages.
fn syntax(keyword: &str) -> (&'static str, &'static str) {
    match keyword {
        "add" => {
            ("at least two arguments", "ADD [--chown=<user>] [--chmod=<mode>] <src>... <dest>")
        }
        "arg" => ("at least one argument", "ARG <name>[=<default value>]..."),
        "cmd" => ("a command", "CMD [\"executable\", \"param\"...] or CMD command param..."),
        "copy" => {
            ("at least two arguments", "COPY [--from=<stage>] [--chown=<user>] <src>... <dest>")
        }
        "entrypoint" => (
            "a command",
            "ENTRYPOINT [\"executable\", \"param\"...] or ENTRYPOINT command param...",
        ),
        "env" => ("a name and a value", "ENV <name>=<value>... or ENV <name> <value>"),
        "expose" => ("at least one argument", "EXPOSE <port>[/<protocol>]..."),
        "from" => {
            ("either one or three arguments", "FROM [--platform=<platform>] <image> [AS <name>]")
        }
        "healthcheck" => (
            "CMD or NONE",
            "HEALTHCHECK [--interval=<duration>...] CMD <command>, or HEALTHCHECK NONE",
        ),
        "label" => ("a name and a value", "LABEL <name>=<value>... or LABEL <name> <value>"),
        "maintainer" => ("exactly one argument", "MAINTAINER <name>"),
        "onbuild" => ("an instruction", "ONBUILD <instruction>, e.g. ONBUILD COPY . /app"),
        "run" => ("a command", "RUN [--mount=...] <command> or RUN [\"executable\", \"param\"...]"),
        "shell" => ("arguments in JSON form", "SHELL [\"executable\", \"parameters\"]"),
        "stopsignal" => ("exactly one argument", "STOPSIGNAL <signal>"),
        "user" => ("exactly one argument", "USER <user>[:<group>]"),
        "volume" => ("at least one argument", "VOLUME <path>... or VOLUME [\"<path>\"...]"),
        "workdir" => ("exactly one argument", "WORKDIR <path>"),
        _ => ("", ""),
    }
}

// ANCHOR: arguments
fn parse_arguments(keyword: &str, rest: &str, escape: char) -> Result<Parsed, Problem> {
    match keyword {
        "run" | "cmd" | "entrypoint" => command(rest),
        "shell" => shell(rest),
        "add" | "copy" => sources_and_destination(rest),
        "volume" => volume(rest),
        "from" => from(rest),
        "expose" => at_least_one(fields(rest)),
        "env" | "label" => key_values(keyword, rest, escape),
        "arg" => arg(rest, escape),
        "maintainer" | "user" | "workdir" | "stopsignal" => whole(rest),
        "healthcheck" => healthcheck(rest),
        "onbuild" => onbuild(rest, escape),
        _ => unreachable!("{keyword} is in KEYWORDS but has no parser"),
    }
}
// ANCHOR_END: arguments

// ANCHOR: command
/// RUN, CMD, ENTRYPOINT: exec form if it is a JSON array of strings, else shell form.
fn command(rest: &str) -> Result<Parsed, Problem> {
    if let Some(args) = json_array(rest).map_err(Problem::Message)? {
        return Ok(Parsed { args, json: true, onbuild: None });
    }
    whole(rest)
}
// ANCHOR_END: command

/// SHELL has no shell form: it names the shell.
fn shell(rest: &str) -> Result<Parsed, Problem> {
    match json_array(rest).map_err(Problem::Message)? {
        Some(args) if !args.is_empty() => Ok(Parsed { args, json: true, onbuild: None }),
        _ => Err(Problem::Usage),
    }
}

/// A JSON array of strings, or whitespace-separated words (ADD, COPY, VOLUME).
fn list(rest: &str) -> Result<Parsed, Problem> {
    Ok(match json_array(rest).map_err(Problem::Message)? {
        Some(args) => Parsed { args, json: true, onbuild: None },
        None => Parsed::words(fields(rest)),
    })
}

fn sources_and_destination(rest: &str) -> Result<Parsed, Problem> {
    let parsed = list(rest)?;
    if parsed.args.len() < 2 {
        return Err(Problem::Usage);
    }
    Ok(parsed)
}

fn volume(rest: &str) -> Result<Parsed, Problem> {
    let parsed = list(rest)?;
    if parsed.args.is_empty() {
        return Err(Problem::Usage);
    }
    if parsed.args.iter().any(String::is_empty) {
        return Err(Problem::Message("VOLUME paths can not be empty strings".to_string()));
    }
    Ok(parsed)
}

/// `FROM image` or `FROM image AS name`.
fn from(rest: &str) -> Result<Parsed, Problem> {
    let args = fields(rest);
    match args.as_slice() {
        [_] => {}
        [_, as_word, name] => {
            if !as_word.eq_ignore_ascii_case("as") {
                let message = format!(
                    "FROM expects AS between the image and the stage name, found {as_word:?}"
                );
                return Err(Problem::Message(message));
            }
            if !is_stage_name(name) {
                let message = format!(
                    "invalid stage name {name:?}: start it with a letter, then use letters, digits, '-', '_' or '.'"
                );
                return Err(Problem::Message(message));
            }
        }
        _ => return Err(Problem::Usage),
    }
    Ok(Parsed::words(args))
}

fn is_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn at_least_one(args: Vec<String>) -> Result<Parsed, Problem> {
    if args.is_empty() {
        return Err(Problem::Usage);
    }
    Ok(Parsed::words(args))
}

/// The whole text as one argument (USER, WORKDIR…, and the shell form of RUN…).
fn whole(rest: &str) -> Result<Parsed, Problem> {
    if rest.is_empty() {
        return Err(Problem::Usage);
    }
    Ok(Parsed::words(vec![rest.to_string()]))
}

// ANCHOR: key_values
/// ENV and LABEL: `name=value...` (quote-aware words), or the legacy `name value` where the
/// value is the rest of the line. Each pair becomes `name`, `value`, `=` or `""`.
fn key_values(keyword: &str, rest: &str, escape: char) -> Result<Parsed, Problem> {
    let name = keyword.to_uppercase();
    let words = raw_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(Problem::Usage);
    };
    if !first.contains('=') {
        let (key, value) = rest.split_once(char::is_whitespace).ok_or(Problem::Usage)?;
        return Ok(Parsed::words(vec![
            key.to_string(),
            value.trim_start().to_string(),
            String::new(),
        ]));
    }
    let mut args = Vec::with_capacity(words.len() * 3);
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            let message = format!(
                "{name} {word:?} has no '=': write {name} <name>=<value>... (or {name} <name> <value> for a single pair)"
            );
            return Err(Problem::Message(message));
        };
        if key.is_empty() {
            return Err(Problem::Message(format!("{name} names can not be blank")));
        }
        args.extend([key.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(Parsed::words(args))
}
// ANCHOR_END: key_values

/// ARG: quote-aware words, each `name` or `name=default`.
fn arg(rest: &str, escape: char) -> Result<Parsed, Problem> {
    let words = raw_words(rest, escape);
    if words.iter().any(|word| word.starts_with('=')) {
        return Err(Problem::Message("ARG names can not be blank".to_string()));
    }
    at_least_one(words)
}

/// HEALTHCHECK as Docker's parser reads it (flags already taken off): a type word, kept as
/// written, then the rest as a command, JSON or text. `HEALTHCHECK` alone, `HEALTHCHECK CMD`
/// with no command or an unknown type parse too; [`Dockerfile::check`] refuses them.
fn healthcheck(rest: &str) -> Result<Parsed, Problem> {
    let (kind, command_text) = split_keyword(rest);
    if kind.is_empty() {
        return Ok(Parsed::default());
    }
    let mut parsed = match command_text.trim() {
        "" => Parsed::default(),
        text => command(text)?,
    };
    parsed.args.insert(0, kind.to_string());
    Ok(parsed)
}

/// What a HEALTHCHECK means: `NONE`, or `CMD` and a command.
fn check_healthcheck(args: &[String]) -> Result<(), String> {
    let Some(kind) = args.first() else { return Err(Problem::Usage.message("healthcheck")) };
    match kind.to_uppercase().as_str() {
        "NONE" if args.len() == 1 => Ok(()),
        "NONE" => Err("HEALTHCHECK NONE takes no arguments".to_string()),
        "CMD" if args[1..].iter().any(|a| !a.is_empty()) => Ok(()),
        "CMD" => Err("HEALTHCHECK CMD requires a command (usage: HEALTHCHECK [OPTIONS] CMD <command>)".to_string()),
        _ => Err(format!("unknown HEALTHCHECK type {kind:?}: use HEALTHCHECK [OPTIONS] CMD <command>, or HEALTHCHECK NONE")),
    }
}

/// ONBUILD: the trigger is a whole instruction of its own, kept for the image's users.
fn onbuild(rest: &str, escape: char) -> Result<Parsed, Problem> {
    let (word, _) = split_keyword(rest);
    match word.to_lowercase().as_str() {
        "" => return Err(Problem::Usage),
        "onbuild" => {
            return Err(Problem::Message(
                "ONBUILD ONBUILD is not allowed: a trigger can not add triggers".into(),
            ))
        }
        "from" | "maintainer" => {
            return Err(Problem::Message(format!(
                "{} isn't allowed as an ONBUILD trigger",
                word.to_uppercase()
            )))
        }
        _ => {}
    }
    let trigger = parse_instruction(rest, escape).map_err(Problem::Message)?;
    Ok(Parsed { onbuild: Some(Box::new(trigger)), ..Parsed::default() })
}

/// `unknown instruction: FOO (did you mean FROM?)`; `continuation` is the escape character
/// when the line directly follows an instruction, to suggest a forgotten line continuation.
fn unknown_instruction(word: &str, continuation: Option<char>) -> String {
    let shown = word.to_uppercase();
    if let Some(keyword) = closest_keyword(&word.to_lowercase()) {
        return format!("unknown instruction: {shown} (did you mean {}?)", keyword.to_uppercase());
    }
    match continuation {
        Some(escape) => format!(
            "unknown instruction: {shown} (if it continues the instruction above, end that line with {escape})"
        ),
        None => {
            let all: Vec<String> = KEYWORDS.iter().map(|k| k.to_uppercase()).collect();
            format!("unknown instruction: {shown} (instructions are {})", all.join(", "))
        }
    }
}

/// The keyword within two edits of `word` (and closer than its length), the closest first.
fn closest_keyword(word: &str) -> Option<&'static str> {
    let (distance, keyword) =
        KEYWORDS.iter().map(|k| (edit_distance(word, k), *k)).min_by_key(|&(d, _)| d)?;
    (distance <= 2 && distance < word.chars().count()).then_some(keyword)
}

/// Levenshtein distance: insertions, deletions and substitutions of characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "Dockerfile").and_then(|d| d.check()).unwrap_err().to_string()
    }

    #[test]
    fn here_documents_follow_their_instruction() {
        let text = "FROM a\nRUN <<EOF bash\n# kept\n\nset -e\nEOF\nCOPY <<-one.txt <<'two' /dst/\n\t$X\none.txt\n$Y\ntwo\nCMD x\n";
        let df = parse(text, "Dockerfile").unwrap();
        let [_, run, copy, cmd] = &df.instructions[..] else { panic!("{:?}", df.instructions) };
        assert_eq!(
            (run.start_line, run.end_line, run.args.as_slice()),
            (2, 6, ["<<EOF bash".to_string()].as_slice())
        );
        assert_eq!(
            run.heredocs,
            [Heredoc { name: "EOF".into(), content: "# kept\n\nset -e\n".into(), expand: true }]
        );
        assert_eq!((copy.start_line, copy.end_line), (7, 11));
        let docs: Vec<_> =
            copy.heredocs.iter().map(|d| (d.name.as_str(), d.content.as_str(), d.expand)).collect();
        assert_eq!(docs, [("one.txt", "$X\n", true), ("two", "$Y\n", false)]);
        assert_eq!((cmd.start_line, cmd.heredocs.len()), (12, 0));

        assert_eq!(error("FROM a\nRUN cat <<EOF\nhello\n"), "Dockerfile:2: here-document <<EOF is never ended: add a line `EOF` after its last line");
        assert_eq!(error("FROM a\nCOPY f <<EOF\nx\nEOF\n"), "Dockerfile:2: COPY <<EOF as the destination: a here-document can only be a source; name the destination path last");
        let e = error("FROM a\nCMD <<EOF\nhello\nEOF\n");
        assert_eq!(e, "Dockerfile:3: unknown instruction: HELLO (only RUN, COPY and ADD take a here-document, not CMD)");
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            error("FROM a\n\nFOO bar\n"),
            "Dockerfile:3: unknown instruction: FOO (did you mean FROM?)"
        );
        assert_eq!(
            error("FROM a\nRUN x\n\n\nENV =v\n"),
            "Dockerfile:5: ENV names can not be blank"
        );
        assert_eq!(
            error("FROM a\nRUN apt-get update &&\n  apt-get install -y curl\n"),
            "Dockerfile:3: unknown instruction: APT-GET (if it continues the instruction above, end that line with \\)"
        );
        assert_eq!(
            error("FROM a\nCOPY \\\n  onlyone\n"),
            "Dockerfile:2: COPY requires at least two arguments (usage: COPY [--from=<stage>] [--chown=<user>] <src>... <dest>)"
        );
        assert_eq!(
            error("# escape=x\nFROM a\n").split(':').take(2).collect::<Vec<_>>(),
            ["Dockerfile", "1"]
        );
    }

    #[test]
    fn a_file_without_instructions_fails() {
        assert!(error("").starts_with("Dockerfile: file with no instructions"));
        assert!(
            error("# only\n\n   # comments\n").starts_with("Dockerfile: file with no instructions")
        );
        let e = parse("", "x").unwrap_err();
        assert_eq!(e.downcast_ref::<ParseError>().map(|e| e.line), Some(None));
    }

    #[test]
    fn a_json_array_of_other_things_than_strings_is_an_error_with_its_line() {
        for (text, line) in [
            ("FROM a\nRUN true\nCMD [ \"echo\", [ \"x\" ] ]\n", 3),
            ("FROM a\nENTRYPOINT [\"sleep\", 10]\n", 2),
            ("FROM a\nCOPY [\"a\", 1, \"/b\"]\n", 2),
            ("FROM a\nVOLUME [true]\n", 2),
            ("FROM a\nHEALTHCHECK CMD [\"x\", {}]\n", 2),
        ] {
            let e = error(text);
            assert!(e.starts_with(&format!("Dockerfile:{line}: ")), "{e}");
            assert!(e.contains("arrays must be comprised of strings only"), "{e}");
        }
        // Not JSON at all: the shell form, silently, as in Docker.
        let df = parse("FROM a\nCMD ['echo', 'x']\n", "Dockerfile").unwrap();
        assert!(!df.instructions[1].json);
    }

    #[test]
    fn instruction_specific_checks() {
        assert!(error("FROM a b\n").contains("FROM requires either one or three arguments"));
        assert!(error("FROM a TO b\n").contains("FROM expects AS"));
        assert!(error("FROM a AS 1st\n").contains("invalid stage name \"1st\""));
        assert!(
            error("FROM a\nSHELL /bin/sh -c\n").contains("SHELL requires arguments in JSON form")
        );
        assert!(error("FROM a\nENV A\n").contains("ENV requires a name and a value"));
        assert!(error("FROM a\nENV A=1 B\n").contains("\"B\" has no '='"));
        assert!(error("FROM a\nHEALTHCHECK NONE x\n").contains("takes no arguments"));
        assert!(error("FROM a\nHEALTHCHECK TEST x\n").contains("unknown HEALTHCHECK type \"TEST\""));
        assert!(error("FROM a\nHEALTHCHECK\n").contains("HEALTHCHECK requires CMD or NONE"));
        assert!(error("FROM a\nRUN x\nHEALTHCHECK CMD\n")
            .starts_with("Dockerfile:3: HEALTHCHECK CMD requires a command"));
        assert!(error("FROM a\nONBUILD HEALTHCHECK CONNECT x\n")
            .contains("unknown HEALTHCHECK type \"CONNECT\""));
        assert!(
            error("FROM a\nONBUILD FROM b\n").contains("FROM isn't allowed as an ONBUILD trigger")
        );
        assert!(error("FROM a\nONBUILD ONBUILD RUN x\n").contains("ONBUILD ONBUILD is not allowed"));
        assert!(error("FROM a\nVOLUME [\"\"]\n").contains("VOLUME paths can not be empty"));
        assert!(error("FROM a\nWORKDIR\n").contains("WORKDIR requires exactly one argument"));
        assert!(
            error("FROM a\nRUN --mount=type=cache,target=/c\n").contains("RUN requires a command")
        );
    }

    #[test]
    fn healthcheck_parses_as_docker_reads_it_and_is_checked_after() {
        let text = "FROM a\nHEALTHCHECK\nHEALTHCHECK cmd\nHEALTHCHECK --retries=2 CMD [\"x\", \"y\"]\nHEALTHCHECK PING  host now\n";
        let df = parse(text, "Dockerfile").unwrap();
        let dumped: Vec<String> =
            df.instructions.iter().map(crate::dockerfile::dump_instruction).collect();
        assert_eq!(
            dumped,
            [
                "(from \"a\")",
                "(healthcheck)",
                "(healthcheck \"cmd\")",
                "(healthcheck [\"--retries=2\"] \"CMD\" \"x\" \"y\")",
                "(healthcheck \"PING\" \"host now\")",
            ]
        );
        assert!(df
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("Dockerfile:2: HEALTHCHECK requires CMD or NONE"));
    }

    #[test]
    fn instructions_keep_forms_flags_lines_and_text() {
        let text = "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang AS build\n\
                    RUN --mount=type=cache,target=/root/.cache \\\n    go build -o /app\n\
                    ENV A=1 B=\"x y\"\nHEALTHCHECK --interval=5s CMD [\"curl\", \"-f\", \"localhost\"]\n\
                    ONBUILD COPY --link . /src\n";
        let parsed = parse(text, "Dockerfile").unwrap();
        assert_eq!(parsed.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        let [from, run, env, health, onbuild] = &parsed.instructions[..] else {
            panic!("{parsed:#?}")
        };
        assert_eq!(from.args, ["golang", "AS", "build"]);
        assert_eq!(from.flag("platform"), Some("$BUILDPLATFORM"));
        assert_eq!((run.start_line, run.end_line), (3, 4));
        assert_eq!(run.original, "RUN --mount=type=cache,target=/root/.cache     go build -o /app");
        assert_eq!(run.args, ["go build -o /app"]);
        assert!(!run.json);
        let pairs: Vec<(&str, &str)> =
            env.key_values().iter().map(|kv| (kv.key, kv.value)).collect();
        assert_eq!(pairs, [("A", "1"), ("B", "\"x y\"")]);
        assert_eq!(health.args, ["CMD", "curl", "-f", "localhost"]);
        assert!(health.json);
        let trigger = onbuild.onbuild.as_deref().unwrap();
        assert_eq!((trigger.keyword.as_str(), trigger.start_line), ("copy", 7));
        assert_eq!(trigger.flag("link"), Some(""));
        assert_eq!(
            crate::dockerfile::dump_instruction(onbuild),
            r#"(onbuild (copy ["--link"] "." "/src"))"#
        );
    }

    #[test]
    // ANCHOR: backtick_test
    fn backtick_escape_continues_lines_and_keeps_backslashes() {
        let parsed = parse("# escape=`\nFROM w\nCOPY a `\n  C:\\dir\\\n", "Dockerfile").unwrap();
        assert_eq!(parsed.instructions[1].args, ["a", "C:\\dir\\"]);
    }
    // ANCHOR_END: backtick_test
}
