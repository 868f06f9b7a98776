//! Exercise 08 — what a `-v` asks for, and when a volume is filled from the image.
//!
//! `08-volumes-bind-mount --mine` runs with your code; `08-volumes-bind-mount --check` checks it.
//! The lab sheet is lessons/08-volumes-bind-mount/README.md.

use minidocker::volumes::{clean, is_empty, valid_name, Rules, Source, Spec};
use std::path::{Path, PathBuf};

/// Read one `-v` as Docker does on Linux. The forms, each with an optional `:MODE`:
///
/// | `-v`                     | source                          | in the container |
/// |--------------------------|---------------------------------|------------------|
/// | `/test`                  | `Source::Anonymous`             | `/test`          |
/// | `data:/test`             | `Source::Named("data")`         | `/test`          |
/// | `/home/me/src:/test:ro`  | `Source::Host("/home/me/src")`  | `/test`, read-only |
///
/// MODE is a comma-separated list of `ro`, `rw` (the default) and `nocopy` (a volume only:
/// never fill it from the image). The container path must be absolute and is cleaned
/// (`clean("/test/")` is `/test`), and it cannot be `/`. A source that is not an absolute
/// path must be a volume name (`valid_name`); `./src` is neither. Anything else — too many
/// `:`, an empty part, an unknown mode, a mode with no source (`/test:ro`) — is an error
/// whose message says what is wrong.
pub fn parse(text: &str) -> minidocker::Result<Spec> {
    // ANCHOR: parse
    let parts: Vec<&str> = text.split(':').collect();
    let (source, destination, modes) = match parts.as_slice() {
        [dest] => (None, *dest, None),
        [src, dest] => (Some(*src), *dest, None),
        [src, dest, modes] => (Some(*src), *dest, Some(*modes)),
        _ => anyhow::bail!("too many ':' — the forms are /test, NAME:/test and /host/dir:/test, each with an optional :ro"),
    };
    let is_mode =
        |m: &str| !m.is_empty() && m.split(',').all(|w| ["ro", "rw", "nocopy"].contains(&w));
    if source.is_some() && modes.is_none() && is_mode(destination) {
        anyhow::bail!("a mode needs a source before the path: NAME:/test:{destination} or /host/dir:/test:{destination}");
    }
    anyhow::ensure!(!destination.is_empty(), "the path in the container is missing");
    anyhow::ensure!(
        destination.starts_with('/'),
        "the path in the container, {destination:?}, must be absolute"
    );
    let destination = clean(destination);
    anyhow::ensure!(destination != "/", "a volume cannot be mounted on / itself");
    let source = match source {
        None => Source::Anonymous,
        Some("") => anyhow::bail!(
            "the source before ':' is empty: give a volume name or an absolute host path"
        ),
        Some(s) if s.starts_with('/') => Source::Host(PathBuf::from(clean(s))),
        Some(s) if valid_name(s) => Source::Named(s.to_string()),
        Some(s) => anyhow::bail!(
            "{s:?} is neither a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+) nor an absolute host path"
        ),
    };
    let (mut read_only, mut no_copy, mut rw) = (false, false, false);
    for m in modes.map(|m| m.split(',').collect::<Vec<_>>()).unwrap_or_default() {
        match m {
            "ro" => read_only = true,
            "rw" => rw = true,
            "nocopy" => no_copy = true,
            "" => anyhow::bail!("an empty mode after ':'"),
            other => anyhow::bail!("unknown mode {other:?}: ro, rw or nocopy"),
        }
    }
    anyhow::ensure!(!(read_only && rw), "ro and rw at once");
    anyhow::ensure!(
        !(no_copy && matches!(source, Source::Host(_))),
        "nocopy is for volumes: a host directory is never filled from the image"
    );
    Ok(Spec { source, destination, read_only, no_copy })
    // ANCHOR_END: parse
}

/// Docker's copyData: is `dir` — the host directory about to be mounted for `spec`, a
/// volume's `_data` or the host directory of a bind mount — first filled with what the image
/// has at `spec.destination`?
///
/// `is_empty(dir)` says whether a directory has no entries.
pub fn fills_from_image(spec: &Spec, dir: &Path) -> bool {
    // ANCHOR: fills_from_image
    // Only a volume, only when asked (no `nocopy`), and only while it is empty: the first
    // container gets the image's files, the next ones find what the first one left. A host
    // directory is the user's — mounted as it is, empty or not; the image's files stay hidden
    // under it.
    spec.is_volume() && !spec.no_copy && is_empty(dir)
    // ANCHOR_END: fills_from_image
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { parse, fills_from_image };
