//! Lesson 09 — how Docker really runs your container: dockerd → containerd → shim → an OCI
//! runtime (runc, or ours) → the kernel, and the create/start split the runtime keeps.
//!
//! The mechanism is in `src/oci/` (`runtime.rs`: `create` leaves the container's init waiting
//! at the exec FIFO, exercise 09's `wait_for_start`; `start` lets it go, exercise 09's
//! `release`); `src/bin/minidocker-runc.rs` is the runtime's command line. This file only
//! narrates it. The lab sheet is `README.md` here.

mod check;
mod docker;
#[path = "exercise.rs"]
mod mine;

use anyhow::{bail, Context};
use clap::Parser;
use minidocker::image::Store;
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::oci::{runtime::CreateOptions, solution, Rules, Runtime};
use minidocker::report;
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Makes an OCI bundle of an image of the store (default: busybox) — its layers copied into
/// `rootfs/`, a `config.json` as `runc spec` writes it, adapted — and runs it with Debian's
/// runc and with this library's runtime side by side: create, `state` says "created" while the
/// init waits at the exec FIFO (its /proc/PID/cmdline is not yet the command), start, state,
/// delete. Then, if Docker is installed, it starts a private dockerd with our runtime added
/// (`--add-runtime mini=...`) and shows the command lines the shim gives our runtime, the
/// bundle's config.json as Docker wrote it, and its hooks. Everything it made is removed.
#[derive(Parser)]
struct Args {
    /// The image to use (it needs sh, echo, sleep)
    #[arg(long = "image", value_name = "REF", default_value = "busybox")]
    image_ref: String,
    /// Leave out the private dockerd (even when Docker is installed)
    #[arg(long)]
    no_docker: bool,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str =
    "an OCI runtime makes namespaces, cgroups and mounts, which only root may create";

/// The container's command: short, silent (its output would land among the lesson's), and
/// easy to recognise in /proc/PID/cmdline.
const COMMAND: [&str; 2] = ["sleep", "1"];

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let rules = *lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules, &args.image_ref);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));
    let tag = std::process::id();

    lab.step("A bundle: a root filesystem and a config.json, as an engine hands them over")?;
    let bundle = Bundle::new(&args.image_ref, &format!("lesson09-{tag}"), &COMMAND)?;
    report::evidence("bundle", &bundle.dir.display().to_string());
    report::evidence("  rootfs/", &format!("{} entries", fs::read_dir(bundle.rootfs())?.count()));
    let config = bundle.config()?;
    report::evidence("  config.json: ociVersion", &config["ociVersion"].to_string());
    report::evidence("  process.args", &config["process"]["args"].to_string());
    let ns: Vec<String> = config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["type"].to_string())
        .collect();
    report::evidence("  linux.namespaces", &ns.join(" "));
    report::say(
        "`runc spec` wrote it; we set terminal to false and the command. No image, no layers, no",
    );
    report::say("registry: a runtime knows only this directory.");

    let id = format!("lesson09-{tag}");
    let runc = Runc::new(&format!("lesson09-runc-{tag}"));
    let ours = Ours::new(&format!("lesson09-ours-{tag}"), rules);
    for rt in [&runc as &dyn Oci, &ours] {
        lab.step(&format!("{}: create, state, start, state, delete", rt.name()))?;
        lifecycle(rt, &bundle, &id)?;
    }
    report::say("Both say \"created\" while the init waits, both run the command only at start. In between,");
    report::say("no process of the runtime's is alive: the init sleeps in open(2) on the exec FIFO — a named");
    report::say("pipe's write end, which blocks until start opens the read end.");

    lab.step("Docker with our runtime: dockerd → containerd → shim → minidocker-runc")?;
    if args.no_docker {
        report::note("--no-docker: left out");
    } else if !docker::installed() {
        report::note(docker::HOW_TO_INSTALL);
    } else {
        docker::show(&bundle, &format!("lesson09-{tag}"))?;
    }
    drop((runc, ours, bundle));
    report::cleanup("the bundle, both runtimes' state directories and containers");
    Ok(0)
}

/// create → state → start → state → delete, narrated, with the kernel's view of the init.
fn lifecycle(rt: &dyn Oci, bundle: &Bundle, id: &str) -> minidocker::Result<()> {
    rt.create(bundle, id)?;
    let state = rt.state(id)?;
    let pid = state["pid"].as_i64().unwrap_or(0) as i32;
    report::evidence("create, then state", &format!("status {}, pid {pid}", state["status"]));
    report::evidence(&format!("  /proc/{pid}/cmdline"), &cmdline(pid));
    // create returns once the init said it is ready; its blocking open of the FIFO follows a
    // moment later: wait (a little) until it sleeps there.
    let deadline = Instant::now() + Duration::from_secs(2);
    while wchan(pid) == "0" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    report::evidence(&format!("  /proc/{pid}/wchan"), &wchan(pid));
    let fifo = rt.root().join(id).join("exec.fifo");
    report::evidence("  the exec FIFO", &file_kind(&fifo));
    let waiting = cmdline(pid);
    rt.start(id)?;
    let state = rt.state(id)?;
    report::evidence("start, then state", &format!("status {}", state["status"]));
    // start returns once the init is through the FIFO; its execve follows a moment later.
    let deadline = Instant::now() + Duration::from_secs(2);
    while cmdline(pid) == waiting && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    report::evidence(&format!("  /proc/{pid}/cmdline"), &cmdline(pid));
    report::evidence("  the exec FIFO", &file_kind(&fifo));
    let state = rt.wait_stopped(id, pid)?;
    report::evidence("the command ended: state", &format!("status {}", state["status"]));
    rt.delete(id)?;
    report::evidence("delete, then its state directory", &file_kind(&rt.root().join(id)));
    Ok(())
}

/// `/proc/PID/cmdline`, spaced, or what is there instead.
fn cmdline(pid: i32) -> String {
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(b) if b.is_empty() => "(empty: a zombie, or gone)".into(),
        Ok(b) => String::from_utf8_lossy(&b).replace('\0', " ").trim_end().to_string(),
        Err(_) => "(no such process)".into(),
    }
}

/// Where in the kernel the process sleeps.
fn wchan(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default()
}

/// `a FIFO (prw--w--w-)`, `a directory`, `not there`.
fn file_kind(p: &Path) -> String {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    match fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_fifo() => {
            format!("{}: a FIFO, mode {:o}", p.display(), m.permissions().mode() & 0o777)
        }
        Ok(m) if m.is_dir() => format!("{}: a directory", p.display()),
        Ok(_) => format!("{}: a file", p.display()),
        Err(_) => format!("{}: not there", p.display()),
    }
}

/// An OCI bundle in a temporary directory: the image's layers copied into `rootfs/`, and
/// `runc spec`'s config.json with the command given. Removed when dropped.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    pub fn new(image_ref: &str, name: &str, args: &[&str]) -> minidocker::Result<Bundle> {
        let store = Store::open_default()?;
        let image = store.resolve(image_ref).map_err(|e| {
            e.context(format!("this lesson needs the {image_ref} image: `bash scripts/base-images busybox` puts busybox in the store"))
        })?;
        need("runc")?;
        let bundle = Bundle { dir: std::env::temp_dir().join(format!("minidocker-{name}")) };
        let _ = fs::remove_dir_all(&bundle.dir);
        fs::create_dir_all(bundle.rootfs())?;
        for diff_id in image.diff_ids() {
            let layer = store.layer_dir(diff_id);
            quiet(Command::new("cp").arg("-a").arg(layer.join(".")).arg(bundle.rootfs()))?;
        }
        quiet(Command::new("runc").arg("spec").current_dir(&bundle.dir))?;
        let mut config = bundle.config()?;
        config["process"]["terminal"] = json!(false);
        config["root"]["readonly"] = json!(false);
        config["process"]["args"] = json!(args);
        config["hostname"] = json!("lesson09");
        fs::write(bundle.dir.join("config.json"), serde_json::to_string_pretty(&config)?)?;
        Ok(bundle)
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config(&self) -> minidocker::Result<Value> {
        Ok(serde_json::from_str(&fs::read_to_string(self.dir.join("config.json"))?)?)
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// One line saying what to install, when `tool` is not on PATH.
pub fn need(tool: &str) -> minidocker::Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    if !found {
        bail!("{tool} is not installed: sudo apt-get install {tool} (scripts/setup installs it)");
    }
    Ok(())
}

/// Run a command; its error output, in one line, if it fails.
pub fn quiet(cmd: &mut Command) -> minidocker::Result<String> {
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{:?} failed: {}", cmd.get_program(), err.trim().lines().last().unwrap_or(""));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the lesson and the check do with a runtime: runc's commands, or ours.
pub trait Oci {
    fn name(&self) -> &'static str;
    fn root(&self) -> &Path;
    fn create(&self, bundle: &Bundle, id: &str) -> minidocker::Result<()>;
    fn start(&self, id: &str) -> minidocker::Result<()>;
    fn state(&self, id: &str) -> minidocker::Result<Value>;
    fn delete(&self, id: &str) -> minidocker::Result<()>;

    /// Wait (at most 10 s) until the container's process `pid` has ended.
    fn wait_stopped(&self, id: &str, pid: i32) -> minidocker::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            minidocker::interrupt::check()?;
            let state = self.state(id)?;
            if state["status"] == "stopped" {
                return Ok(state);
            }
            if Instant::now() > deadline {
                bail!("{}: container {id} (PID {pid}) did not stop within 10 s", self.name());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Debian's runc, with a state directory of our own (`--root`). Its containers are deleted and
/// its directory removed when dropped.
pub struct Runc {
    root: PathBuf,
}

impl Runc {
    pub fn new(name: &str) -> Runc {
        Runc { root: std::env::temp_dir().join(format!("minidocker-{name}")) }
    }

    fn runc(&self) -> Command {
        let mut cmd = Command::new("runc");
        cmd.arg("--root").arg(&self.root);
        cmd
    }
}

impl Oci for Runc {
    fn name(&self) -> &'static str {
        "runc"
    }
    fn root(&self) -> &Path {
        &self.root
    }
    fn create(&self, bundle: &Bundle, id: &str) -> minidocker::Result<()> {
        // The init keeps the standard streams it is given: the terminal's, not a pipe this
        // process would wait on.
        let status = self
            .runc()
            .args(["create", "--bundle"])
            .arg(&bundle.dir)
            .arg(id)
            .stdin(Stdio::null())
            .status()
            .context("running runc")?;
        anyhow::ensure!(status.success(), "runc create {id} failed ({status})");
        Ok(())
    }
    fn start(&self, id: &str) -> minidocker::Result<()> {
        quiet(self.runc().args(["start", id])).map(drop)
    }
    fn state(&self, id: &str) -> minidocker::Result<Value> {
        Ok(serde_json::from_str(&quiet(self.runc().args(["state", id]))?)?)
    }
    fn delete(&self, id: &str) -> minidocker::Result<()> {
        quiet(self.runc().args(["delete", id])).map(drop)
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        for e in fs::read_dir(&self.root).into_iter().flatten().flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = quiet(self.runc().args(["delete", "--force", &id]));
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// This library's runtime, in this process, with exercise 09's rules: its container's init is
/// our child, reaped here. Its containers are deleted and its directory removed when dropped.
pub struct Ours {
    pub rt: Runtime,
}

impl Ours {
    pub fn new(name: &str, rules: Rules) -> Ours {
        Ours {
            rt: Runtime { root: std::env::temp_dir().join(format!("minidocker-{name}")), rules },
        }
    }
}

impl Oci for Ours {
    fn name(&self) -> &'static str {
        "ours (src/oci, the code of minidocker-runc)"
    }
    fn root(&self) -> &Path {
        &self.rt.root
    }
    fn create(&self, bundle: &Bundle, id: &str) -> minidocker::Result<()> {
        let o = CreateOptions { bundle: bundle.dir.clone(), ..Default::default() };
        self.rt.create(id, &o).map(drop)
    }
    fn start(&self, id: &str) -> minidocker::Result<()> {
        self.rt.start(id)
    }
    fn state(&self, id: &str) -> minidocker::Result<Value> {
        Ok(serde_json::to_value(self.rt.state(id)?)?)
    }
    fn delete(&self, id: &str) -> minidocker::Result<()> {
        let pid = self.rt.load(id)?.pid;
        self.rt.delete(id, true)?;
        // Our child: reaped here, as a shim reaps the init it created.
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        Ok(())
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        for e in fs::read_dir(&self.rt.root).into_iter().flatten().flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = self.delete(&id);
        }
        let _ = fs::remove_dir_all(&self.rt.root);
    }
}
