//! A container on disk: `$MINIDOCKER_ROOT/containers/<id>/`, with `config.json` (what was
//! asked for, written once) and `state.json` (what is happening, rewritten atomically by
//! `run` and the container's monitor). No daemon holds this in memory: every command reads it.

use crate::files::{read_json, write_json};
use crate::image::Store;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What a container was created with (Docker's `Config` + `HostConfig`, the parts we have).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ContainerConfig {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The image as the user named it, and its ID.
    pub image_name: String,
    pub image_id: String,
    pub diff_ids: Vec<crate::image::Digest>,
    pub hostname: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// `bridge`, `host`, `none` or `container:NAME`.
    pub network: String,
    /// `-p` as given, parsed again when the network is attached.
    pub publish: Vec<String>,
    pub cpus: Option<f64>,
    pub memory: Option<u64>,
    pub pids_limit: Option<u64>,
    pub auto_remove: bool,
    pub detach: bool,
    /// `-t`: the container gets a pseudo-terminal of its own (`container::tty`).
    pub tty: bool,
    /// `-i`: the container reads the caller's standard input (otherwise `/dev/null`).
    #[serde(default)]
    pub open_stdin: bool,
    pub stop_signal: Option<String>,
    /// `-v`: the volumes and host directories mounted into it (lesson 08). Absent from the
    /// state files of containers made before volumes existed, hence the default.
    #[serde(default)]
    pub volumes: Vec<crate::volumes::Mount>,
    /// `--security-opt`, as Docker keeps it: `seccomp=unconfined`, or `seccomp=` followed
    /// by the profile's JSON (read from the file when the container was made).
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--init`: a small init of ours runs as PID 1 and starts the command as its child.
    #[serde(default)]
    pub init: bool,
}

impl ContainerConfig {
    /// The command a container runs: ENTRYPOINT followed by CMD.
    pub fn argv(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
}

/// What is happening to a container.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct State {
    pub status: Status,
    /// The container's first process, as the host sees it.
    pub pid: i32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22): a PID the
    /// kernel reused for another process is not our container.
    pub pid_start: u64,
    /// The monitor process that waits for it.
    pub monitor: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The network attachment, for `inspect` and for the teardown.
    pub network: Option<serde_json::Value>,
}

pub fn containers_dir(store: &Store) -> PathBuf {
    store.root().join("containers")
}

pub fn dir(store: &Store, id: &str) -> PathBuf {
    containers_dir(store).join(id)
}

/// A container as read from disk.
#[derive(Debug, Clone)]
pub struct Container {
    pub dir: PathBuf,
    pub config: ContainerConfig,
    pub state: State,
}

impl Container {
    pub fn load(dir: &Path) -> crate::Result<Container> {
        let config: ContainerConfig = read_json(&dir.join("config.json"))?;
        let mut state: State = read_json(&dir.join("state.json")).unwrap_or_default();
        // A commit killed while the container was frozen: the next look at it thaws it.
        if state.status == Status::Running && process_alive(state.pid, state.pid_start) {
            thaw_abandoned(dir, &config.id);
        }
        // No daemon keeps this true: a "running" container whose process is gone (its
        // monitor was killed, the machine rebooted) has exited. Its process dies of SIGKILL
        // when its monitor does (the parent-death signal): 128 + 9, as a shell says it.
        if state.status == Status::Running && !process_alive(state.pid, state.pid_start) {
            state.status = Status::Exited;
            if state.finished_at.is_empty() {
                state.exit_code = 128 + libc::SIGKILL;
                state.error =
                    "the container's monitor was killed, and its process with it (SIGKILL)".into();
            }
        }
        Ok(Container { dir: dir.to_path_buf(), config, state })
    }

    pub fn save_state(&self) -> crate::Result<()> {
        write_json(&self.dir.join("state.json"), &self.state)
    }

    pub fn short_id(&self) -> &str {
        &self.config.id[..12]
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("container.log")
    }

    pub fn running(&self) -> bool {
        self.state.status == Status::Running
    }

    /// Where a commit that froze the container says so (`commit::commit`).
    pub fn freeze_marker(&self) -> PathBuf {
        freeze_marker(&self.dir)
    }
}

/// The file a commit writes into container directory `dir` while it holds it frozen.
pub fn freeze_marker(dir: &Path) -> PathBuf {
    dir.join("frozen-by-commit")
}

// ANCHOR: thaw_abandoned
/// A commit killed while it held the container frozen left it so, with its marker: every
/// command that reads the container thaws it (a `pause` has no marker and is left alone).
fn thaw_abandoned(dir: &Path, id: &str) {
    let marker = freeze_marker(dir);
    if marker.exists() {
        if let Ok(layout) = crate::cgroups::Layout::detect() {
            let name = super::run::cgroup_name(id);
            let _ = crate::cgroups::freezer::thaw_abandoned(&layout, &name, &marker);
        }
    }
}
// ANCHOR_END: thaw_abandoned

/// Every container in the store, newest first.
pub fn list(store: &Store) -> crate::Result<Vec<Container>> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(containers_dir(store)) else { return Ok(out) };
    for e in entries.flatten() {
        match Container::load(&e.path()) {
            Ok(c) => out.push(c),
            // No config.json: a container being created (it is written last) or one being
            // removed (`rm`, another `run --rm`) as we read — not a container to list.
            Err(_) if !e.path().join("config.json").exists() => {}
            Err(err) => return Err(err),
        }
    }
    out.sort_by(|a, b| b.config.created.cmp(&a.config.created));
    Ok(out)
}

/// Find a container by name, full ID or unique ID prefix, as Docker does.
pub fn find(store: &Store, what: &str) -> crate::Result<Container> {
    let all = list(store)?;
    let what = what.trim_start_matches('/');
    if let Some(c) = all.iter().find(|c| c.config.name == what || c.config.id == what) {
        return Ok(c.clone());
    }
    let hits: Vec<&Container> =
        all.iter().filter(|c| !what.is_empty() && c.config.id.starts_with(what)).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no such container: {what} (see `minidocker ps -a`)"),
        _ => bail!("container ID prefix {what} is ambiguous: give more digits"),
    }
}

pub use crate::process::{process_alive, start_time};

/// A Docker-style name for a container nobody named: `brave_lovelace`.
pub fn random_name(id: &str) -> String {
    const ADJ: [&str; 16] = [
        "brave", "calm", "eager", "fervent", "gifted", "happy", "jolly", "keen", "loving", "nifty",
        "quirky", "serene", "sharp", "trusting", "vibrant", "zealous",
    ];
    const WHO: [&str; 16] = [
        "babbage", "curie", "dijkstra", "hopper", "kilby", "lamport", "liskov", "lovelace",
        "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak",
    ];
    let n = u64::from_str_radix(&id[..8], 16).unwrap_or(0) as usize;
    format!("{}_{}", ADJ[n % 16], WHO[(n / 16) % 16])
}
