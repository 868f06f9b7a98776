//! Lesson 03 — a container's root filesystem: image layers, the init layer and the read-write layer, union-mounted.
//!
//! Its place in the workshop is laid; the lesson itself arrives with the rootfs issue (OCI image store, safe layer unpacking, overlay rootfs, pivot_root).
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "03-rootfs-aufs",
    title: "a container's root filesystem: image layers, the init layer and the read-write layer, union-mounted",
    article: "rootfs, union mounts (联合文件系统), layers, copy-on-write, whiteouts and the Init layer",
    usage: "03-rootfs-aufs [--image REF] [-- CMD ARGS…]",
    about: "Not built yet: this lesson arrives with the rootfs issue (OCI image store, safe layer unpacking, overlay rootfs, pivot_root).",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
