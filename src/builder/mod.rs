//! Building images from Dockerfiles, as Docker's classic builder does: one image per
//! instruction, a layer for each that changes files, and a cache of steps.
//!
//! - [`context`]: the build context, snapshotted once; [`ignore`]: `.dockerignore`
//! - [`steps`]: the instruction loop; [`copy`]: ADD and COPY; [`cache`]: the build cache
//! - [`run_flags`]: RUN's `--mount` and `--network`; [`mounts`]: the mounts they make

pub mod cache;
pub mod context;
pub mod copy;
pub mod ignore;
pub mod mounts;
pub mod run_flags;
pub mod steps;

pub use steps::{build, Options, Report, Rules, StepReport};

/// Exercise 04's reference answer, compiled as this module's own code.
#[path = "../../solutions/04-dockerfile-build/exercise.rs"]
pub mod solution;

/// The rules the library uses: the reference answer's.
pub use solution::RULES;
