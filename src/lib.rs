//! # minidocker — rebuild Docker to learn how a Linux container works
//!
//! One library, one module per kernel mechanism. Each lesson binary in `lessons/` is a thin,
//! narrated driver of one of these modules; the `minidocker` binary composes all of them.
//!
//! ## Layers, in lesson order
//!
//! The modules are layered in the order the lessons meet them. A module uses modules of its
//! own layer or of earlier ones, never of a later one, and no two modules use each other, so a
//! reader of lesson 03's code never meets lesson 08's types. `tests/layers.rs` reads this table
//! and every `crate::…`/`super::…`/`minidocker::…` path in `src/` and `solutions/`, and fails
//! on an import of a later layer (naming file and line) or an import cycle (naming it). A
//! lesson's reference answer (`solutions/NN-*/exercise.rs`) belongs to the module whose row
//! says "exercise NN". The binaries (`src/bin/`, `lessons/`) come after every layer.
//!
//! | layer | module | what it is | lesson |
//! |---|---|---|---|
//! | 0 helpers | [`sys`] | the kernel calls, each printed with `--explain` | |
//! | 0 helpers | [`report`] | steps, evidence, syscall traces: how the workshop talks | |
//! | 0 helpers | [`interrupt`] | Ctrl-C, SIGTERM and SIGHUP as an ordinary error | |
//! | 0 helpers | [`progress`] | progress bars on a terminal | |
//! | 0 helpers | [`units`] | sizes, CPU counts, times as Docker spells them | |
//! | 0 helpers | [`rooted`] | paths resolved inside a root they cannot leave (`openat2`) | |
//! | 0 helpers | [`files`] | atomic JSON files, random IDs, clean paths, copies with owners | |
//! | 0 helpers | [`mounts`] | bind mounts into a rootfs before `pivot_root`, resolved in it | |
//! | 0 helpers | [`process`] | child processes behind a start gate, reaped by a guard | |
//! | 0 helpers | [`workload`] | CPU, memory and fork workloads to put under limits | |
//! | 0 helpers | [`lessons`] | the list of lessons that workshop, harness and tests read | |
//! | 1 mechanisms | [`namespaces`] | clone/unshare, `/proc/PID/ns/*` | 01, exercise 01 |
//! | 1 mechanisms | [`cgroups`] | cgroup v1 and v2: limits, usage counters | 02, exercise 02 |
//! | 1 mechanisms | [`seccomp`] | system call filters: Docker's default profile as classic BPF | |
//! | 1 mechanisms | [`image`] | OCI image store, layer (un)packing, whiteouts, references | 03 |
//! | 1 mechanisms | [`network`] | bridge, veth over netlink, IPAM, NAT, ports | 05, exercise 05 |
//! | 2 rootfs | [`rootfs`] | overlay union mount, the init layer, pivot_root | 03, exercise 03 |
//! | 3 volumes | [`volumes`] | `-v`, volumes on disk, copyData, their binds | 08, exercise 08 |
//! | 4 container | [`container`] | containers on disk, spawning, the monitor, run/stop/rm | 05 |
//! | 5 tools | [`dockerfile`] | the Dockerfile parser and variable expansion | 04 |
//! | 5 tools | [`builder`] | the classic builder: an image per step, the cache | 04, exercise 04 |
//! | 5 tools | [`exec`] | entering a running container with setns | 06, exercise 06 |
//! | 5 tools | [`commit`] | a container's read-write layer as a new layer | 07, exercise 07 |
//! | 5 tools | [`registry`] | pull, push and login over the OCI distribution API | 07 |
//! | 5 tools | [`xray`] | a running container read whole: the panorama of every lesson | 09 |
//! | 5 tools | [`oci`] | the OCI runtime behind `minidocker-runc`: bundles, create/start, exec FIFO | 09, exercise 09 |
//! | 6 harness | [`lesson`] | the flags, steps and exit codes of every lesson binary | |
//! | 7 command line | [`cli`] | `minidocker`'s arguments (clap), parsed without root | all |
//!
//! The kernel is called through [`sys`], which prints every call when `--explain` is on.

// The reference answers in `solutions/` are written against `minidocker::…`, exactly like the
// student's copies in `lessons/`. This alias lets the library compile them as its own modules:
// each is the `solution` module of the mechanism its exercise belongs to (`cgroups::solution`
// is `solutions/02-cgroups/exercise.rs`), which uses it as its own code, so the answer is never
// written twice. `lessons/NN-*/exercise.rs` is the same file with the answer taken out; a test
// keeps the two from drifting apart.
extern crate self as minidocker;

pub mod builder;
pub mod cgroups;
pub mod cli;
pub mod commit;
pub mod container;
pub mod dockerfile;
pub mod exec;
pub mod files;
pub mod image;
pub mod interrupt;
pub mod lesson;
pub mod lessons;
pub mod mounts;
pub mod namespaces;
pub mod network;
pub mod oci;
pub mod process;
pub mod progress;
pub mod registry;
pub mod report;
pub mod rooted;
pub mod rootfs;
pub mod seccomp;
pub mod sys;
pub mod units;
pub mod volumes;
pub mod workload;
pub mod xray;

/// The library's result type: errors are `anyhow` chains printed as one line.
pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;
