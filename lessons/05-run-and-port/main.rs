//! Lesson 05 — run the Flask image with -p 4000:80: bridge, veth, NAT and the published port.
//!
//! Its place in the workshop is laid; the lesson itself arrives with the run issue (container lifecycle, networking, published ports).
//! Until then it explains what it will show and says plainly that it is not built yet.

use minidocker::lesson::{self, Info};
use std::process::ExitCode;

static INFO: Info = Info {
    bin: "05-run-and-port",
    title: "run the Flask image with -p 4000:80: bridge, veth, NAT and the published port",
    article: "`docker run -p 4000:80 helloworld`, `docker ps`, curl through the port",
    usage: "05-run-and-port [--image REF] [-p HOST:CONTAINER]",
    about: "Not built yet: this lesson arrives with the run issue (container lifecycle, networking, published ports).",
    options: "",
    needs_root: "containers need namespaces, mounts and cgroups, which only root may create",
};

fn main() -> ExitCode {
    lesson::main(&INFO, lesson::not_built_yet)
}
