//! # minidocker — rebuild Docker to learn how a Linux container works
//!
//! One library, one module per kernel mechanism. Each lesson binary in `lessons/` is a thin,
//! narrated driver of one of these modules; the `minidocker` binary composes all of them.
//!
//! | module | mechanism | lesson |
//! |---|---|---|
//! | [`namespaces`] | clone/unshare into new namespaces, `/proc/PID/ns/*` as files | 01 |
//! | [`cgroups`] | cgroup v1 and v2 hierarchies, limits, usage counters | 02 |
//! | [`image`] | OCI image store, safe layer unpacking, references | 03 |
//! | [`rootfs`] | overlay union mount, the init layer, pivot_root | 03 |
//! | [`dockerfile`] | the Dockerfile parser and variable expansion | 04 |
//! | [`builder`] | the classic builder: one image per instruction, the build cache | 04 |
//! | [`container`] | containers on disk, the monitor, run/stop/kill/rm, default isolation | 05 |
//! | [`network`] | bridge, veth pairs over netlink, IPAM, NAT and published ports | 05 |
//! | [`exec`] | entering a running container with setns | 06 |
//! | [`volumes`] | volumes and bind mounts, made before pivot_root; copyData | 08 |
//! | [`commit`] | a container's read-write layer as a new image layer | 07 |
//! | [`registry`] | pull, push and login over the OCI distribution API | 07 |
//! | [`cli`] | `minidocker`'s command line (clap): the top layer, nothing imports it | all |
//!
//! The kernel is called through [`sys`], which prints every call when `--explain` is on.

// The reference answers in `solutions/` are written against `minidocker::…`, exactly like the
// student's copies in `lessons/`. This alias lets the library compile them as its own modules.
extern crate self as minidocker;

pub mod builder;
pub mod cgroups;
pub mod cli;
pub mod commit;
pub mod container;
pub mod dockerfile;
pub mod exec;
pub mod image;
pub mod interrupt;
pub mod lesson;
pub mod namespaces;
pub mod network;
pub mod process;
pub mod progress;
pub mod registry;
pub mod report;
pub mod rooted;
pub mod rootfs;
pub mod sys;
pub mod units;
pub mod volumes;
pub mod workload;

/// Reference answers to the lesson exercises. They are real library code: the mechanism a
/// lesson's exercise asks for is used from here by the rest of the library (and `minidocker`),
/// so the answer is never written twice. `lessons/NN-*/exercise.rs` is the same file with the
/// answer taken out; a test keeps the two from drifting apart.
pub mod solutions {
    pub use super::{
        solution01 as namespaces01, solution02 as cgroups02, solution03 as rootfs03,
        solution04 as builder04, solution05 as network05,
    };
    pub use super::{solution06 as exec06, solution07 as commit07};
}
#[path = "../solutions/01-namespaces/exercise.rs"]
#[doc(hidden)]
pub mod solution01;
#[path = "../solutions/02-cgroups/exercise.rs"]
#[doc(hidden)]
pub mod solution02;
#[path = "../solutions/03-rootfs-aufs/exercise.rs"]
#[doc(hidden)]
pub mod solution03;
#[path = "../solutions/04-dockerfile-build/exercise.rs"]
#[doc(hidden)]
pub mod solution04;
#[path = "../solutions/05-run-and-port/exercise.rs"]
#[doc(hidden)]
pub mod solution05;
#[path = "../solutions/06-exec-setns/exercise.rs"]
#[doc(hidden)]
pub mod solution06;
#[path = "../solutions/07-commit/exercise.rs"]
#[doc(hidden)]
pub mod solution07;

/// The library's result type: errors are `anyhow` chains printed as one line.
pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;
