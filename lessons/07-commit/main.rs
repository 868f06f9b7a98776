//! Lesson 07 — the read-write layer becomes an image layer.
//!
//! Its place in the workshop is laid; the lesson itself arrives with the exec/commit/volumes issue.
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "07-commit",
    title: "the read-write layer becomes an image layer",
    article: "`docker commit`, why the init layer is left out, `docker tag` / `push`",
    usage: "07-commit [--image REF]",
    about: "Not built yet: this lesson arrives with the exec/commit/volumes issue.",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
