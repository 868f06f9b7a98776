//! Lesson 04 — a Dockerfile becomes an image: one layer per instruction, and a build cache.
//!
//! Its place in the workshop is laid; the lesson itself arrives with the build issue (Dockerfile parser and layer-caching builder).
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "04-dockerfile-build",
    title: "a Dockerfile becomes an image: one layer per instruction, and a build cache",
    article: "Dockerfile primitives, `docker build -t`, `docker image ls`",
    usage: "04-dockerfile-build [--parse-only] [-f FILE] [CONTEXT]",
    about: "Not built yet: this lesson arrives with the build issue (Dockerfile parser and layer-caching builder).",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
