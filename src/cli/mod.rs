//! `minidocker`'s command line: one clap definition that gives the parsing, the help of every
//! command, `--version`, the suggestions for a mistyped command, the shell completions and
//! the man pages.
//!
//! This is the library's top layer: it may use every module, and no module uses it. It holds
//! what a command line *says* — the commands, their flags, and values already checked by the
//! library's own parsers — so a test can parse a real Docker command line without root. The
//! binary (`src/bin/minidocker/`) does the work.
//!
//! - [`containers`]: `run`, `exec`, `ps`, `logs`, `stop`, `kill`, `pause`, `unpause`, `rm`,
//!   `inspect`
//! - [`images`]: `build`, `history`, `images`, `import`, `load`, `tag`, `rmi`, `commit`
//! - [`registry`]: `pull`, `push`, `login`, `logout`
//! - [`volume`]: `volume ls|create|inspect|rm|prune`, `system prune`
//! - [`values`]: the value parsers, and errors as one line
//! - [`xray`]: `xray`, a running container whole

pub mod containers;
pub mod images;
pub mod registry;
pub mod values;
pub mod volume;
pub mod xray;

pub use values::error_line;

use clap::{Parser, Subcommand};

/// A docker-like CLI rebuilt lesson by lesson.
///
/// Each command names the lesson that builds it. State lives in $MINIDOCKER_ROOT (default
/// /var/lib/minidocker); commands that touch it or the kernel need root.
#[derive(Debug, Parser)]
#[command(
    name = "minidocker",
    version,
    after_help = "Run 'minidocker COMMAND --help' for more on a command."
)]
pub struct Cli {
    /// Run on your own code: every lesson's lessons/NN-*/exercise.rs instead of the reference
    /// answers (the capstone: `minidocker --mine run -d -p 4000:80 helloworld`); `--mine=03,05`
    /// takes yours for those lessons only
    #[arg(
        long,
        global = true,
        value_name = "NN,…",
        num_args = 0..=1,
        require_equals = true,
        value_delimiter = ',',
        default_missing_value = "all",
        value_parser = values::exercise_lesson
    )]
    pub mine: Option<Vec<String>>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// ANCHOR: exercises
/// Every exercise of the workshop, as one value: what `minidocker` runs on. [`REFERENCE`] holds
/// the reference answers (`solutions/`); the binary builds the student's from each lesson's
/// `exercise.rs` for `--mine`, the capstone.
#[derive(Debug, Clone, Copy)]
pub struct Exercises {
    /// 01 namespaces, 02 cgroups, 03 rootfs, 05 network, 08 volumes: what `run` makes.
    pub container: crate::container::Rules,
    /// 04: which instructions make a layer, and the cache key (`build`).
    pub builder: crate::builder::Rules,
    /// 06: the joins of `exec`.
    pub exec: crate::exec::Rules,
    /// 07: the read-write layer as an image layer (`commit`).
    pub commit: crate::commit::Rules,
}

// ANCHOR_END: exercises

// ANCHOR: choose
impl Exercises {
    /// `mine` for the lessons `--mine` names (numbers, or `all`), the reference answers for
    /// the others.
    pub fn choose(mine: &Exercises, lessons: &[String]) -> Exercises {
        let yours = |n: &str| lessons.iter().any(|l| l == "all" || l == n);
        let pick = |n: &str| if yours(n) { mine } else { &REFERENCE };
        Exercises {
            container: crate::container::Rules {
                namespaces: pick("01").container.namespaces,
                cgroups: pick("02").container.cgroups,
                rootfs: pick("03").container.rootfs,
                network: pick("05").container.network,
                volumes: pick("08").container.volumes,
            },
            builder: pick("04").builder,
            exec: pick("06").exec,
            commit: pick("07").commit,
        }
    }
}

// ANCHOR_END: choose

/// The reference answers of every exercise: `minidocker` without `--mine`.
pub const REFERENCE: Exercises = Exercises {
    container: crate::container::RULES,
    builder: crate::builder::RULES,
    exec: crate::exec::RULES,
    commit: crate::commit::RULES,
};

/// Docker's command set as this workshop has it, in lesson order within each group.
#[derive(Debug, Subcommand)]
pub enum Command {
    Build(images::BuildArgs),
    History(images::HistoryArgs),
    Images(images::ImagesArgs),
    Import(images::ImportArgs),
    Load(images::LoadArgs),
    Tag(images::TagArgs),
    Rmi(images::RmiArgs),
    Pull(registry::PullArgs),
    Push(registry::PushArgs),
    Login(registry::LoginArgs),
    Logout(registry::LogoutArgs),
    Run(containers::RunArgs),
    Ps(containers::PsArgs),
    Logs(containers::LogsArgs),
    Stop(containers::StopArgs),
    Kill(containers::KillArgs),
    /// Freeze every process of running containers (lesson 07)
    ///
    /// With the freezer cgroup: no signal is sent, the kernel stops scheduling them until
    /// `minidocker unpause`.
    Pause(containers::NamesArgs),
    /// Let paused containers run again (lesson 07)
    Unpause(containers::NamesArgs),
    Rm(containers::RmArgs),
    Inspect(containers::InspectArgs),
    Exec(containers::ExecArgs),
    Commit(images::CommitArgs),
    Volume(volume::VolumeArgs),
    System(volume::SystemArgs),
    Xray(xray::XrayArgs),
    Completion(CompletionArgs),
}

impl Command {
    /// Does this command need root? Everything that reads the store or calls the kernel does;
    /// printing a completion script, or the help of `volume` or `system` given no command,
    /// does not.
    pub fn needs_root(&self) -> bool {
        match self {
            Command::Completion(_) => false,
            Command::Volume(v) => v.command.is_some(),
            Command::System(s) => s.command.is_some(),
            _ => true,
        }
    }
}

/// Print a shell completion script
///
/// On standard output, e.g. `minidocker completion bash >
/// /etc/bash_completion.d/minidocker` (the README says where each shell looks).
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Cli {
    /// The clap command, for completions and man pages.
    pub fn command() -> clap::Command {
        <Cli as clap::CommandFactory>::command()
    }

    /// Parse a command line (the program's name first).
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        <Cli as Parser>::try_parse_from(args)
    }
}
