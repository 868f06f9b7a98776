//! `volume ls|create|inspect|rm|prune` and `system prune`.

use clap::{Args, Subcommand};

/// Manage volumes (lesson 08)
///
/// Volumes are directories in $MINIDOCKER_ROOT/volumes/<name>/_data that containers mount
/// with -v NAME:/path (named) or -v /path (anonymous, named by 64 hex digits).
#[derive(Debug, Clone, Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: Option<VolumeCommand>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum VolumeCommand {
    /// List volumes
    #[command(visible_alias = "list")]
    Ls {
        /// Only names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Create a volume and print its name
    ///
    /// With no NAME, a random 64-hex one. Creating one that exists is not an error, as in
    /// Docker.
    Create {
        /// The volume's name
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
    /// Details of volumes, as JSON
    ///
    /// Shaped like `docker volume inspect`'s; -f '{{.Mountpoint}}' picks a field.
    Inspect {
        /// Print each volume through this Go-style template, e.g. '{{.Mountpoint}}'
        #[arg(short, long, value_name = "TEMPLATE")]
        format: Option<String>,
        /// The volumes
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
    /// Remove volumes no container uses
    ///
    /// And their files. A volume a container uses (running or not) is refused: remove the
    /// container first.
    #[command(visible_alias = "remove")]
    Rm {
        /// A missing volume is not an error
        #[arg(short, long)]
        force: bool,
        /// The volumes
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
    /// Remove the anonymous volumes no container uses
    ///
    /// A container, running or stopped, uses the volumes it was created with. As in Docker
    /// 23+, only anonymous volumes (-v /path) unless -a.
    Prune {
        /// Remove named volumes no container uses too
        #[arg(short, long)]
        all: bool,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
    },
}

/// Prune unused data, check the store: system prune, system check (lesson 05)
#[derive(Debug, Clone, Args)]
pub struct SystemArgs {
    #[command(subcommand)]
    pub command: Option<SystemCommand>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SystemCommand {
    /// Remove stopped containers, untagged images and unused layers
    ///
    /// Untagged images include a build's cache; the layers removed are those no remaining
    /// image uses. Volumes stay unless --volumes.
    Prune {
        /// Do not ask for confirmation (there is no question to skip: accepted as Docker's)
        #[arg(short, long)]
        force: bool,
        /// Also the anonymous volumes no container uses (as `volume prune -f`)
        #[arg(long)]
        volumes: bool,
    },
    /// Verify the store: blobs, layers, images and containers; --fix repairs what a crash left
    ///
    /// Prints one line per finding and a summary. A problem is something a command could
    /// misread (a corrupt blob, a half layer, an image or container missing parts); a leftover
    /// is what a killed command left and nothing reads (scratch, unused blobs and layers, a
    /// dead container's cgroup or veth). Exit 0 when no problem remains, 1 otherwise.
    Check {
        /// Repair: remove leftovers and half-made layers, unpack missing layers from their
        /// blobs, thaw what a killed commit froze, unmount stray mounts
        #[arg(long)]
        fix: bool,
    },
}
