//! Value parsers for the command line — each one the library's own parser, so a bad value is
//! refused with the library's words before anything is created — and clap's errors rewritten
//! as the one line every minidocker error is.

use crate::image::oci::Platform;
use crate::image::{reference, Reference};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsStr;
use std::fmt;

/// A value the library refused: its message, shown as the whole error line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

impl From<anyhow::Error> for Invalid {
    fn from(e: anyhow::Error) -> Invalid {
        Invalid(format!("{e:#}"))
    }
}

type Parsed<T> = Result<T, Invalid>;

/// `-m 64m`: bytes.
pub fn size(s: &str) -> Parsed<u64> {
    Ok(crate::units::parse_size(s)?)
}

/// `-m 64m` for a container: bytes, at least [`MIN_MEMORY`] (Docker's minimum too).
pub fn memory(s: &str) -> Parsed<u64> {
    let bytes = crate::units::parse_size(s)?;
    if bytes < MIN_MEMORY {
        return Err(Invalid(format!(
            "invalid --memory {s:?}: the smallest memory limit a container can start with is 6m (6 MiB, as in Docker)"
        )));
    }
    Ok(bytes)
}

/// The smallest `--memory`: below it, a container is killed before its command runs.
pub const MIN_MEMORY: u64 = 6 << 20;

/// `--hostname`: at most 64 characters (the kernel's `HOST_NAME_MAX`), no control characters
/// or `/`.
pub fn hostname(s: &str) -> Parsed<String> {
    let bad = |c: char| c.is_control() || c.is_whitespace() || c == '/';
    if s.is_empty() || s.len() > 64 || s.chars().any(bad) {
        return Err(Invalid(format!(
            "invalid --hostname {:?}: 1 to 64 characters (HOST_NAME_MAX), no spaces, control characters or '/'{}",
            crate::report::shorten(s, 80),
            if s.len() > 64 { format!("; this one has {}", s.len()) } else { String::new() }
        )));
    }
    Ok(s.to_string())
}

/// `--cpus 0.5`: CPUs, at most the host's.
pub fn cpus(s: &str) -> Parsed<f64> {
    Ok(crate::units::parse_cpus(s)?)
}

/// `--pids-limit 100`: a whole number above 0.
pub fn pids_limit(s: &str) -> Parsed<u64> {
    Ok(crate::units::parse_count("--pids-limit", s)?)
}

/// `-p [IP:]HOST:CONTAINER[/PROTO]`, kept as given (a container's `config.json` keeps it so).
pub fn publish(s: &str) -> Parsed<String> {
    crate::network::parse_publish(s)?;
    Ok(s.to_string())
}

/// `-v [SOURCE:]/PATH[:MODE]`, kept as given; two `-v` on one path are refused when the
/// command's mounts are made ([`super::containers::RunArgs::overrides`]).
pub fn volume(s: &str) -> Parsed<String> {
    crate::volumes::parse_all(&[s.to_string()])?;
    Ok(s.to_string())
}

/// `--network bridge|host|none|container:NAME`.
pub fn network(s: &str) -> Parsed<String> {
    Ok(crate::container::config::parse_network(s)?)
}

/// `--security-opt`: seccomp=unconfined, seccomp=FILE (its JSON read now), no-new-privileges.
pub fn security_opt(s: &str) -> Parsed<String> {
    Ok(crate::container::config::parse_security_opt(s)?)
}

/// `--name`: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn container_name(s: &str) -> Parsed<String> {
    Ok(crate::container::config::parse_name(s)?)
}

/// `NAME:TAG` for an image this store will keep (`busybox` is `busybox:latest`).
pub fn tagged(s: &str) -> Parsed<Reference> {
    Ok(reference::parse_tagged(s)?)
}

/// Any reference a registry understands, digests included; kept as given.
pub fn image_reference(s: &str) -> Parsed<String> {
    Reference::parse(s)?;
    Ok(s.to_string())
}

/// `commit -c` / `import -c`: one Dockerfile instruction a change may make.
pub fn change(s: &str) -> Parsed<String> {
    crate::commit::parse_changes(&[s.to_string()])?;
    Ok(s.to_string())
}

/// `kill -s KILL`, `-s SIGTERM`, `-s hup`.
pub fn signal(s: &str) -> Parsed<nix::sys::signal::Signal> {
    let up = s.to_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse()
        .map_err(|_| Invalid(format!("invalid signal {s:?}: give a name such as TERM or KILL")))
}

/// `commit --pause=false`: Docker's boolean flag, `true` when given without a value.
pub fn pause(s: &str) -> Parsed<bool> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Invalid(format!("invalid --pause value {s:?}: true or false"))),
    }
}

/// `--platform linux/arm64/v8`, `linux/amd64`.
pub fn platform(s: &str) -> Parsed<Platform> {
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(Invalid(format!(
            "invalid platform {s:?}: give OS/ARCH[/VARIANT], like linux/amd64 or linux/arm64/v8"
        )));
    }
    Ok(Platform {
        os: parts[0].to_string(),
        architecture: parts[1].to_string(),
        variant: parts.get(2).map(|v| v.to_string()),
    })
}

/// `-e KEY=VALUE` as given, `-e KEY` with the value KEY has in our environment; a KEY that is
/// not set is left out, as Docker does.
pub fn resolve_env(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect()
}

/// A clap error as one line — what is wrong, what to do — without the `error: ` clap puts
/// first: `unknown command 'rn'; did you mean 'run'? (see 'minidocker --help')`. `args` is the
/// command line that failed (the program's name first): it says which command's help to see.
pub fn error_line<S: AsRef<OsStr>>(e: &clap::Error, args: &[S]) -> String {
    let (cmd, path) = command_at(args);
    let strings = |k| match e.get(k) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    };
    // clap lists its suggestions worst first: its best one.
    let mut suggestions: Vec<String> =
        [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg, ContextKind::SuggestedValue]
            .into_iter()
            .flat_map(|k| strings(k).into_iter().last())
            .collect();
    let mut line = match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let what = strings(ContextKind::InvalidSubcommand).join(" ");
            if suggestions.is_empty() {
                suggestions = similar(&what, cmd.get_subcommands().map(|c| c.get_name()));
            }
            let sub = path.strip_prefix("minidocker").unwrap_or(&path).trim();
            let sub = if sub.is_empty() { String::new() } else { format!("{sub} ") };
            format!("unknown {sub}command '{what}'")
        }
        ErrorKind::MissingRequiredArgument => {
            let missing: Vec<String> =
                strings(ContextKind::InvalidArg).iter().map(|a| needed(a)).collect();
            let sub = path.strip_prefix("minidocker ").unwrap_or(&path);
            format!("{sub} needs {}", missing.join(" and "))
        }
        ErrorKind::ValueValidation => {
            match std::error::Error::source(e).and_then(|s| s.downcast_ref::<Invalid>()) {
                Some(invalid) => invalid.0.clone(),
                None => clap_words(e),
            }
        }
        _ => clap_words(e),
    };
    if !suggestions.is_empty() {
        let quoted: Vec<String> = suggestions.iter().take(2).map(|s| format!("'{s}'")).collect();
        line.push_str(&format!("; did you mean {}?", quoted.join(" or ")));
    }
    line.push_str(&format!(" (see '{path} --help')"));
    line
}

/// `<CONTAINER>` → `a container`, `<COMMAND>...` → `a command`, `--input <PATH>` as it is.
fn needed(arg: &str) -> String {
    match arg.strip_prefix('<').and_then(|a| a.split_once('>')) {
        Some((name, _)) => {
            let name = name.to_lowercase().replace('_', " ");
            let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            format!("{article} {name}")
        }
        None => arg.to_string(),
    }
}

/// clap's own message, its lines joined into one and its tips left out.
fn clap_words(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.split("\n\n").next().unwrap_or_default();
    let words: Vec<&str> = first.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    words.join(" ").trim_start_matches("error: ").to_string()
}

/// The deepest command `args` name (`minidocker volume` for `minidocker volume frob -x`), and
/// its path.
fn command_at<S: AsRef<OsStr>>(args: &[S]) -> (clap::Command, String) {
    let mut cmd = super::Cli::command();
    let mut path = vec!["minidocker".to_string()];
    for a in args.iter().skip(1) {
        let a = a.as_ref().to_string_lossy().into_owned();
        if a.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd.find_subcommand(&a).cloned() else { break };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    (cmd, path.join(" "))
}

/// The names closest to a mistyped `word`, when one or two edits away (a letter left out,
/// added, changed, or two swapped): all those as close as the closest, a name that holds the
/// word's letters in order (`rn` in `run`) first.
fn similar<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut close: Vec<(usize, bool, &str)> = names
        .map(|n| (edits(word, n), !is_within(word, n), n))
        .filter(|(d, _, n)| *d <= 2.min(n.len() / 2 + 1))
        .collect();
    close.sort();
    let best = close.first().map(|c| c.0);
    close.into_iter().filter(|c| Some(c.0) == best).map(|(_, _, n)| n.to_string()).collect()
}

/// Are `word`'s letters all in `name`, in order?
fn is_within(word: &str, name: &str) -> bool {
    let mut rest = name.chars();
    word.chars().all(|c| rest.any(|n| n == c))
}

/// The fewest letters to leave out, add, change or swap (two neighbours) to make `a` into
/// `b` (the optimal string alignment distance).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: from a's first i letters to b's first j.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let change = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + change);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A value of `--mine=NN,…`: a lesson with an exercise (`3`, `03` or its name), as its number,
/// or `all`.
pub fn exercise_lesson(text: &str) -> Result<String, String> {
    if text == "all" {
        return Ok(text.into());
    }
    crate::lessons::find(text)
        .filter(|l| crate::lessons::in_minidocker().any(|e| e.name == l.name))
        .map(|l| l.number.to_string())
        .ok_or_else(|| format!("no lesson {text:?} has an exercise: give 01 to 08, or all"))
}
