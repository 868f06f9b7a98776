//! Lesson 08 — a volume is a bind mount made at the right moment.
//!
//! Its place in the workshop is laid; the lesson itself arrives with the exec/commit/volumes issue.
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "08-volumes-bind-mount",
    title: "a volume is a bind mount made at the right moment",
    article: "`-v /test`, `-v /home:/test`, bind mount before pivot_root, copyData",
    usage: "08-volumes-bind-mount [--image REF]",
    about: "Not built yet: this lesson arrives with the exec/commit/volumes issue.",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
