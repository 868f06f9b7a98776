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
    // What the init layer holds as a *file* (or link) was copied up from there. Its
    // directories are another matter: `etc/` is in the init layer too, and leaving it out
    // would lose every change the container made under /etc.
    fs::symlink_metadata(init.join(path)).is_ok_and(|m| !m.is_dir())
    // ANCHOR_END: left_out
}

/// The environment the committed image keeps, from the container's `env`.
///
/// `env` is exactly what the container's process got: the image's variables, the `-e` flags,
/// and what the runtime added for this container — `HOSTNAME=<its hostname>` always, and
/// `HOME=/root` when nothing else set HOME. `hostname` is the container's hostname.
pub fn image_env(env: &[String], hostname: &str) -> Vec<String> {
    // ANCHOR: image_env
    // The runtime adds both again for every container of the new image. Kept, HOSTNAME would
    // name the old container in every new one (twice in `env`, the old name first); a
    // HOSTNAME the user set with -e has another value and stays.
    let ours = [format!("HOSTNAME={hostname}"), "HOME=/root".to_string()];
    env.iter().filter(|e| !ours.contains(e)).cloned().collect()
    // ANCHOR_END: image_env
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { left_out, image_env };
