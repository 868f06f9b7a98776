//! `minidocker-runc`: the workshop's library behind runc's command line, the one containerd's
//! shim, Docker (`--add-runtime`) and Podman (`--runtime`) call. See `minidocker::oci`.

use clap::{Parser, Subcommand, ValueEnum};
use minidocker::oci::runtime::{parse_signal, wait_forwarding, CreateOptions};
use minidocker::oci::{spec::Process, Runtime};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "minidocker-runc",
    version = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: ", "1.0.2"),
    about = "An OCI runtime with runc's command line, built on the minidocker workshop's library",
    long_about = "An OCI runtime with runc's command line, built on the minidocker workshop's \
                  library: what containerd's shim, Docker (--add-runtime) and Podman (--runtime) \
                  call to create, start, exec, kill and delete a container from a bundle \
                  (config.json + rootfs). Lesson 09 shows it in runc's place."
)]
struct Cli {
    /// Where container state lives.
    #[arg(long, global = true, default_value = "/run/minidocker-runc")]
    root: PathBuf,
    /// Append log entries (errors, and with --debug each command) to this file.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// The log's format: json (what containerd's shim reads) or text.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Also log each command run.
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd's cgroup manager (not supported: cgroupsPath must be a path).
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create {
        #[command(flatten)]
        create: BundleArgs,
    },
    /// Let a created container's process run its command.
    Start { id: String },
    /// Create and start a container; without --detach, wait for it and delete it.
    Run {
        #[command(flatten)]
        create: BundleArgs,
        /// Return once it started.
        #[arg(short, long)]
        detach: bool,
    },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal (name or number, default SIGTERM) to a container's process.
    Kill {
        /// To every process of the container.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a stopped container (with --force, a running one too).
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Run a process, described as JSON in --process, in a container.
    Exec {
        /// The process's JSON (the "process" object of config.json).
        #[arg(short, long)]
        process: PathBuf,
        #[arg(short, long)]
        detach: bool,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        /// Allocate a pseudo-terminal (the process's "terminal").
        #[arg(short, long)]
        tty: bool,
        id: String,
    },
    /// List the processes of a container.
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
    },
    /// Freeze every process of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change a container's memory, CPU and PIDs limits.
    Update {
        /// The new limits as JSON (linux.resources of config.json), "-" for standard input.
        #[arg(short, long)]
        resources: String,
        id: String,
    },
    /// What this runtime supports, as JSON.
    Features,
}

#[derive(clap::Args)]
struct BundleArgs {
    /// The bundle: a directory with config.json and the rootfs.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Write the container's process ID here.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// A Unix socket to send the terminal's master to (process.terminal).
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// chroot instead of pivot_root (a rootfs on a ramdisk).
    #[arg(long)]
    no_pivot: bool,
    /// Accepted for runc's sake: no session keyring is made anyway.
    #[arg(long)]
    no_new_keyring: bool,
    /// Pass N more file descriptors (not supported).
    #[arg(long, default_value_t = 0)]
    preserve_fds: i32,
    id: String,
}

impl BundleArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            preserve_fds: self.preserve_fds,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    // No narration: an engine reads our output.
    minidocker::report::set_quiet(true);
    if cli.debug {
        let args: Vec<String> = std::env::args().collect();
        log(&cli, "debug", &args.join(" "));
    }
    match run(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = format!("{e:#}");
            log(&cli, "error", &msg);
            eprintln!("minidocker-runc: {msg}");
            std::process::exit(1);
        }
    }
}

/// One entry in --log: a JSON line (`level`, `msg`, `time`), as the shim reads the last one
/// on a failure, or runc's text line.
fn log(cli: &Cli, level: &str, msg: &str) {
    let Some(path) = &cli.log else { return };
    let time = minidocker::units::rfc3339_now();
    let line = match cli.log_format {
        LogFormat::Json => {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
        }
        LogFormat::Text => format!("time={time:?} level={level} msg={msg:?}"),
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    if let Ok(mut f) = file {
        let _ = writeln!(f, "{line}");
    }
}

fn run(cli: &Cli) -> minidocker::Result<i32> {
    anyhow::ensure!(
        minidocker::sys::is_root(),
        "minidocker-runc makes namespaces, cgroups and mounts: run it as root"
    );
    let rt = Runtime { root: cli.root.clone(), rules: minidocker::oci::RULES };
    let refuse_systemd = || {
        anyhow::ensure!(
            !cli.systemd_cgroup,
            "--systemd-cgroup is not supported: configure the engine with cgroupfs (cgroupsPath a path)"
        );
        Ok(())
    };
    match &cli.command {
        Command::Create { create } => {
            refuse_systemd()?;
            rt.create(&create.id, &create.options())?;
        }
        Command::Start { id } => rt.start(id)?,
        Command::Run { create, detach } => {
            refuse_systemd()?;
            let pid = rt.create(&create.id, &create.options())?;
            if let Err(e) = rt.start(&create.id) {
                let _ = rt.delete(&create.id, true);
                return Err(e);
            }
            if !detach {
                // The container's process is our child: wait for it, then delete it.
                let exit = wait_forwarding(minidocker::process::Running::new(pid));
                rt.delete(&create.id, true)?;
                return Ok(exit?.code());
            }
        }
        Command::State { id } => {
            println!("{}", serde_json::to_string_pretty(&rt.state(id)?)?);
        }
        Command::Kill { all, id, signal } => rt.kill(id, parse_signal(signal)?, *all)?,
        Command::Delete { force, id } => rt.delete(id, *force)?,
        Command::Exec { process, detach, pid_file, console_socket, tty, id } => {
            let text = std::fs::read_to_string(process)
                .map_err(|e| anyhow::anyhow!("cannot read --process {}: {e}", process.display()))?;
            let mut p: Process = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("--process {} is not valid JSON: {e}", process.display())
            })?;
            p.terminal |= *tty;
            let child = rt.exec(id, &p, pid_file.as_deref(), console_socket.as_deref())?;
            if *detach {
                child.leave();
            } else {
                return Ok(wait_forwarding(child)?.code());
            }
        }
        Command::Ps { format, id } => {
            let pids = rt.pids(id)?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string(&pids)?),
                "table" => {
                    println!("PID   CMD");
                    for pid in pids {
                        println!("{pid:<5} {}", command_line(pid));
                    }
                }
                f => anyhow::bail!("unknown --format {f:?} (table, json)"),
            }
        }
        Command::Pause { id } => rt.freeze(id, true)?,
        Command::Resume { id } => rt.freeze(id, false)?,
        Command::Update { resources, id } => {
            let text = if resources == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(resources)
                    .map_err(|e| anyhow::anyhow!("cannot read --resources {resources}: {e}"))?
            };
            let r = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--resources is not valid JSON: {e}"))?;
            rt.update(id, &r)?;
        }
        Command::Features => println!("{}", serde_json::to_string_pretty(&features())?),
    }
    Ok(0)
}

/// `/proc/PID/cmdline`, spaced.
fn command_line(pid: i32) -> String {
    let raw =
        std::fs::read(Path::new("/proc").join(pid.to_string()).join("cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string()
}

/// runc's `features` document, for what we support.
fn features() -> serde_json::Value {
    use minidocker::oci::spec::NAMESPACE_TYPES;
    let namespaces: Vec<&str> =
        NAMESPACE_TYPES.iter().map(|(n, _)| *n).filter(|n| *n != "user").collect();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": minidocker::oci::runtime::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
            "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave",
            "unbindable", "runbindable", "sync", "async", "atime", "noatime", "relatime",
            "norelatime", "strictatime", "nostrictatime", "diratime", "nodiratime"],
        "linux": {
            "namespaces": namespaces,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_MASKED_EQ"],
            },
        },
    })
}
