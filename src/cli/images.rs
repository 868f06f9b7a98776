//! `build`, `history`, `images`, `import`, `load`, `tag`, `rmi`, `commit`.

use super::values;
use crate::image::Reference;
use clap::{ArgAction, Args};
use std::path::PathBuf;

/// Build an image from a Dockerfile (lesson 04)
///
/// One image per instruction, a layer for each that changes files, and steps taken from the
/// cache while nothing they depend on changed.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Name the image (repeatable)
    #[arg(short, long = "tag", value_name = "NAME[:TAG]", value_parser = values::tagged)]
    pub tag: Vec<Reference>,
    /// The Dockerfile (default: CONTEXT/Dockerfile)
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Run every step, use no cached one
    #[arg(long)]
    pub no_cache: bool,
    /// A value for ARG NAME (NAME alone takes it from the environment)
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_arg: Vec<String>,
    /// The build context: the directory COPY and ADD read from (e.g. .)
    #[arg(value_name = "CONTEXT")]
    pub context: PathBuf,
}

impl BuildArgs {
    /// `--build-arg` as (name, value): NAME alone takes NAME's value from our environment,
    /// and is left out when it has none, as Docker does.
    pub fn build_args(&self) -> Vec<(String, String)> {
        values::resolve_env(&self.build_arg)
            .into_iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    }
}

/// Show the history of an image (lesson 04)
///
/// One line per instruction, newest first, with the size of the layer it made (0B for
/// instructions that only change the configuration).
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Do not cut the CREATED BY column short
    #[arg(long)]
    pub no_trunc: bool,
    /// The image
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// List images (lesson 03)
#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Also the intermediate images a build keeps for its cache
    #[arg(short, long)]
    pub all: bool,
    /// Only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Only the images of this repository (and tag)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub filter: Option<String>,
}

/// Import a rootfs tarball as a one-layer image (lesson 03)
///
/// A root filesystem tarball (plain or gzipped; - reads stdin) becomes an image of one layer.
/// Prints the new image's ID.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// A Dockerfile instruction for the image's configuration (repeatable): CMD, ENTRYPOINT,
    /// ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR
    #[arg(short, long, value_name = "INSTRUCTION", value_parser = values::change)]
    pub change: Vec<String>,
    /// The history entry's comment
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// The tarball, or - for standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// The new image's name
    #[arg(value_name = "REPOSITORY[:TAG]", value_parser = values::tagged)]
    pub name: Option<Reference>,
}

/// Load the images of an OCI layout (directory or tar) (lesson 03)
///
/// The named images of an OCI image layout: a directory (what `skopeo copy …
/// oci:DIR:NAME:TAG` writes) or a tar of one. Every blob is checked against its digest.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// The layout: a directory or a tar of one
    #[arg(short, long, value_name = "PATH")]
    pub input: PathBuf,
}

/// Give an image another name (lesson 03)
#[derive(Debug, Clone, Args)]
pub struct TagArgs {
    /// The image, by name or ID
    #[arg(value_name = "SOURCE_IMAGE")]
    pub source: String,
    /// Its new name
    #[arg(value_name = "TARGET_IMAGE", value_parser = values::tagged)]
    pub target: Reference,
}

/// Remove images (lesson 03)
///
/// Removes names, and images left without one. Layers still used by another image are kept.
#[derive(Debug, Clone, Args)]
pub struct RmiArgs {
    /// Remove an image given by ID even when it has several names
    #[arg(short, long)]
    pub force: bool,
    /// The images (names or IDs)
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

/// Create a new image from a container's changes (lesson 07)
///
/// Its read-write layer becomes one more layer on top of its image's, and its configuration
/// (command, environment, working directory, user) the new image's. Works on a running container. The init layer's files (/etc/hosts,
/// /etc/hostname, /etc/resolv.conf) are left out even when the container changed them. Prints
/// the image's ID.
#[derive(Debug, Clone, Args)]
pub struct CommitArgs {
    /// The history entry's comment
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// The author, e.g. "Jane Doe <jane@example.com>"
    #[arg(short, long, value_name = "AUTHOR")]
    pub author: Option<String>,
    /// Apply a Dockerfile instruction to the configuration (repeatable): CMD, ENTRYPOINT, ENV,
    /// EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR
    #[arg(short, long, value_name = "INSTRUCTION", value_parser = values::change)]
    pub change: Vec<String>,
    /// Freeze a running container while its files are read; --pause=false lets it run on, at
    /// the risk of a half-written file
    #[arg(
        short,
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        action = ArgAction::Set,
        value_parser = values::pause,
    )]
    pub pause: bool,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The new image's name
    #[arg(value_name = "REPOSITORY[:TAG]", value_parser = values::tagged)]
    pub name: Option<Reference>,
}
