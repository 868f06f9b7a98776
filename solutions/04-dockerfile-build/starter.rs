//! Exercise 04 — one image per instruction, a layer only where files change, and a cache
//! that knows when a step can be skipped.
//!
//! `04-dockerfile-build --mine` builds with your code; `04-dockerfile-build --check` checks it.
//! The lab sheet is lessons/04-dockerfile-build/README.md.

use minidocker::builder::Rules;
use minidocker::image::Digest;

/// Does this instruction (`run`, `copy`, `env`, … lower-case) add a layer to the image?
///
/// Every instruction makes a new image. Those that change files add a layer with the
/// changes; the others only change the image's configuration and record an `empty_layer`
/// entry in its history.
pub fn makes_layer(keyword: &str) -> bool {
    // ANCHOR: makes_layer
    // TODO 1: which instructions change the image's files? (The rest only change its
    // configuration: ENV, CMD, EXPOSE, WORKDIR, …)
    let _ = keyword;
    true
    // ANCHOR_END: makes_layer
}

/// The build cache's key for a step: the image it starts from (`None` for `FROM scratch`)
/// and `created_by`, the instruction with its variables expanded (for ADD and COPY it also
/// holds a hash of the copied files' content).
pub fn cache_key(parent: Option<&Digest>, created_by: &str) -> String {
    // ANCHOR: cache_key
    // TODO 2: two steps may share a cached result only when they are really the same step.
    // What must the key depend on? (Digest::of hashes bytes; .hex() gives its text.)
    let _ = parent;
    Digest::of(created_by.as_bytes()).hex().to_string()
    // ANCHOR_END: cache_key
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { makes_layer, cache_key };
