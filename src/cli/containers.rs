//! `run`, `exec`, `ps`, `logs`, `stop`, `kill`, `pause`, `unpause`, `rm`, `inspect`.

use super::values;
use crate::container::config::Overrides;
use clap::Args;

/// Run a command in a new container (lesson 05)
///
/// IMAGE's layers under an empty read-write layer, in new namespaces and a cgroup of its own,
/// running COMMAND [ARG]... or the image's ENTRYPOINT and CMD. Everything after IMAGE is the
/// command's, dashes included (`run busybox ls -la`).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Run in the background and print the container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keep standard input open (otherwise the container's is /dev/null)
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Name the container
    #[arg(long, value_name = "NAME", value_parser = values::container_name)]
    pub name: Option<String>,
    /// Set an environment variable (KEY alone: take its value from here)
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Run as this user
    #[arg(short, long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// The container's hostname (default: its short ID)
    #[arg(long, value_name = "NAME", value_parser = values::hostname)]
    pub hostname: Option<String>,
    /// Override the image's ENTRYPOINT (and drop its CMD); "" clears it
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// Publish a container's port on the host
    #[arg(short, long, value_name = "[IP:]HOST:CONTAINER[/tcp|udp]", value_parser = values::publish)]
    pub publish: Vec<String>,
    /// Mount a volume: /PATH (anonymous), NAME:/PATH (named, made on first use) or
    /// /HOST/DIR:/PATH (a host directory); add :ro, or :nocopy for a volume
    #[arg(short, long, value_name = "[SOURCE:]/PATH[:ro|rw|nocopy]", value_parser = values::volume)]
    pub volume: Vec<String>,
    /// The network: bridge, host, none, or container:NAME (share that container's)
    #[arg(long, visible_alias = "net", value_name = "MODE", default_value = "bridge", value_parser = values::network)]
    pub network: String,
    /// CPU quota, in CPUs (e.g. 0.5)
    #[arg(long, value_name = "N", value_parser = values::cpus)]
    pub cpus: Option<f64>,
    /// Memory limit, e.g. 64m (no swap beyond it)
    #[arg(short, long, value_name = "SIZE", value_parser = values::memory)]
    pub memory: Option<u64>,
    /// At most N processes
    #[arg(long, value_name = "N", value_parser = values::pids_limit)]
    pub pids_limit: Option<u64>,
    /// Security options: seccomp=unconfined (no system call filter) or seccomp=FILE (a
    /// profile in Docker's JSON format); Docker's default profile otherwise
    #[arg(long, value_name = "OPT", value_parser = values::security_opt)]
    pub security_opt: Vec<String>,
    /// Run a small init as PID 1 that forwards signals to the command and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// The image to run
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// The command and its arguments (default: the image's)
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl RunArgs {
    /// What this command line changes about the image's defaults: the input of
    /// [`crate::container::config::from_image`]. `-e KEY` takes KEY's value from our
    /// environment here; two `-v` on one path are refused here.
    pub fn overrides(&self) -> crate::Result<Overrides> {
        Ok(Overrides {
            name: self.name.clone().unwrap_or_default(),
            hostname: self.hostname.clone(),
            entrypoint: self.entrypoint.clone(),
            cmd: self.command.clone(),
            env: values::resolve_env(&self.env),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            network: self.network.clone(),
            publish: self.publish.clone(),
            volumes: crate::volumes::parse_all(&self.volume)?,
            cpus: self.cpus,
            memory: self.memory,
            pids_limit: self.pids_limit,
            auto_remove: self.rm,
            detach: self.detach,
            tty: self.tty,
            open_stdin: self.interactive,
            security_opt: self.security_opt.clone(),
            init: self.init,
        })
    }
}

/// Run a command in a running container (lesson 06)
///
/// In its namespaces and cgroups, on its root, with its environment, working directory, user
/// and capabilities. Exits with the command's status.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Keep standard input open (otherwise it is /dev/null)
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal (TERM=xterm unless set)
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (KEY alone: take its value from here)
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container (it must exist)
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Run as this user
    #[arg(short, long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// List containers (lesson 05)
///
/// The running ones, or all with -a.
#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Also stopped containers
    #[arg(short, long)]
    pub all: bool,
    /// Only IDs
    #[arg(short, long)]
    pub quiet: bool,
}

/// Fetch the logs of a container (lesson 05)
///
/// What a container printed, detached or not, all on standard output (the log does not keep
/// the container's output and errors apart).
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Keep printing until the container exits
    #[arg(short, long)]
    pub follow: bool,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Stop running containers (lesson 05)
///
/// Send the stop signal (SIGTERM unless the image says otherwise), then SIGKILL after the
/// timeout.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL
    #[arg(short = 't', long = "time", value_name = "SECONDS", default_value_t = 10)]
    pub time: u64,
    /// The containers (names or IDs)
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// Kill running containers (lesson 05)
///
/// Send a signal (default SIGKILL) to the container's first process.
#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// The signal, e.g. TERM or SIGHUP
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL", value_parser = values::signal)]
    pub signal: nix::sys::signal::Signal,
    /// The containers (names or IDs)
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// Containers, and nothing else (`pause`, `unpause`).
#[derive(Debug, Clone, Args)]
pub struct NamesArgs {
    /// The containers (names or IDs)
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// Remove containers (lesson 05)
#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// Kill a running one first
    #[arg(short, long)]
    pub force: bool,
    /// Also remove its anonymous volumes (named ones stay)
    #[arg(short, long)]
    pub volumes: bool,
    /// The containers (names or IDs)
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// Low-level information on a container (lesson 05)
///
/// As JSON shaped like Docker's; -f '{{.State.Pid}}' picks a field.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Print each container through this Go-style template, e.g. '{{.State.Pid}}'
    #[arg(short, long, value_name = "TEMPLATE")]
    pub format: Option<String>,
    /// The containers (names or IDs)
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}
