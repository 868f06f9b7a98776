//! Exercise 07 — what of a container belongs in an image, and what only to that container.
//!
//! `07-commit --mine` commits with your code; `07-commit --check` checks it.
//! The lab sheet is lessons/07-commit/README.md.

use minidocker::commit::Rules;
use std::fs;
use std::path::Path;

/// Is `path` of the container's read-write layer (relative, as it is found there:
/// `etc/hosts`, `test.txt`, `tmp` for a directory) left out of the committed layer?
///
/// `init` is the container's init layer (lesson 03): the directory with the files that made
/// this container itself. A write to one of them copies it up into the read-write layer like
/// any other file, but it still describes this one container — its name, its addresses, its
/// host's DNS servers — and not the image.
pub fn left_out(path: &str, init: &Path) -> bool {
    // ANCHOR: left_out
    // TODO 1: which paths of the read-write layer came from the init layer? Look there
    // (fs::symlink_metadata(init.join(path))). Careful: not everything the init layer has
    // must be left out — what else lives in /etc?
    let _ = (path, init, fs::symlink_metadata::<&Path>);
    false
    // ANCHOR_END: left_out
}

/// The environment the committed image keeps, from the container's `env`.
///
/// `env` is exactly what the container's process got: the image's variables, the `-e` flags,
/// and what the runtime added for this container — `HOSTNAME=<its hostname>` always, and
/// `HOME=/root` when nothing else set HOME. `hostname` is the container's hostname.
pub fn image_env(env: &[String], hostname: &str) -> Vec<String> {
    // ANCHOR: image_env
    // TODO 2: keep what belongs to the image; drop what the runtime made for this container
    // (it adds it again to every container of the new image). A HOSTNAME given with -e is
    // the user's: keep it.
    let _ = hostname;
    env.to_vec()
    // ANCHOR_END: image_env
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { left_out, image_env };
