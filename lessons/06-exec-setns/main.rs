//! Lesson 06 — entering a container is joining its namespaces with setns().
//!
//! Its place in the workshop is laid; the lesson itself arrives with the exec/commit/volumes issue.
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "06-exec-setns",
    title: "entering a container is joining its namespaces with setns()",
    article: "the article's set_ns program, `docker exec`, `--net container:ID`",
    usage: "06-exec-setns NSFILE CMD ARGS… | --target PID|CONTAINER [-- CMD]",
    about: "Not built yet: this lesson arrives with the exec/commit/volumes issue.",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
