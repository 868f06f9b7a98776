//! `xray`: the panorama of a running container.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Show a running container whole, read live from the kernel (lesson 01 to lesson 08 together)
///
/// Its process, namespaces, cgroup (limits and usage), rootfs layers, volumes and network,
/// each value with the file or call it was read from. Read-only: it changes nothing.
#[derive(Debug, Clone, Args)]
pub struct XrayArgs {
    /// Print a coloured figure (text) or the values as JSON (json)
    #[arg(long, value_enum, default_value = "text")]
    pub format: XrayFormat,
    /// Also write the figure as an SVG picture to FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Redraw every second, to watch the usage against the limits (Ctrl-C ends it)
    #[arg(short, long)]
    pub watch: bool,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum XrayFormat {
    Text,
    Json,
}
