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
    // TODO 1: split `text` at ':' into [SOURCE:]DESTINATION[:MODE] and build the Spec. Which
    // source is which — nothing, a name, an absolute path? Refuse, with a message that says
    // why: a relative destination, `/`, an unknown mode, nocopy on a host directory, ro and rw
    // together, too many ':'. (`clean`, `valid_name` and `anyhow::bail!` help.)
    let _ = (text, clean, valid_name, PathBuf::new(), Source::Anonymous);
    anyhow::bail!("parse() is not written yet: TODO 1 in lessons/08-volumes-bind-mount/exercise.rs")
    // ANCHOR_END: parse
}

/// Docker's copyData: is `dir` — the host directory about to be mounted for `spec`, a
/// volume's `_data` or the host directory of a bind mount — first filled with what the image
/// has at `spec.destination`?
///
/// `is_empty(dir)` says whether a directory has no entries.
pub fn fills_from_image(spec: &Spec, dir: &Path) -> bool {
    // ANCHOR: fills_from_image
    // TODO 2: the article says the image's files show up in the host's directory. Check its
    // premise: which kinds of mount does Docker fill from the image, and when not any more?
    // (As shipped, this answers like the article: always.)
    let _ = (spec.is_volume(), spec.no_copy, is_empty(dir));
    true
    // ANCHOR_END: fills_from_image
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { parse, fills_from_image };
