//! The lesson's last step: a private dockerd (scripts/test-dockerd: its own data-root,
//! exec-root, socket and pidfile, in its own mount and network namespaces, no iptables rule)
//! with our runtime added as `mini`, and what the shim asks of it.

use super::{quiet, Bundle};
use anyhow::{bail, Context};
use minidocker::cgroups::{self, Layout};
use minidocker::report;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const HOW_TO_INSTALL: &str = "Docker is not installed: `sudo apt-get install docker.io` \
                                  (scripts/setup --test installs it); this part is left out";

const TEST_DOCKERD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-dockerd");

/// Whether dockerd and what scripts/test-dockerd needs are installed.
pub fn installed() -> bool {
    ["dockerd", "containerd", "runc", "unshare", "ip"].iter().all(|t| super::need(t).is_ok())
}

/// The Docker CLI of the docker.io package, the daemon's own version.
fn docker_cli() -> &'static str {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

/// A private dockerd; stopped, its cgroup and directory removed when dropped.
struct Dockerd {
    dir: PathBuf,
    cgroup: String,
    child: Child,
}

impl Dockerd {
    fn start(name: &str, extra: &[&str]) -> minidocker::Result<Dockerd> {
        let dir = std::env::temp_dir().join(format!("minidocker-{name}-dockerd"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let cgroup = format!("minidocker-{name}-dockerd");
        let log = fs::File::create(dir.join("dockerd.log"))?;
        let child = Command::new("bash")
            .arg(TEST_DOCKERD)
            .arg(&dir)
            .arg(format!("/{cgroup}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("running scripts/test-dockerd")?;
        let d = Dockerd { dir, cgroup, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while d.docker(&["version", "--format", "{{.Server.Version}}"]).is_err() {
            minidocker::interrupt::check()?;
            if Instant::now() > deadline {
                let log = fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default();
                bail!("the private dockerd did not answer within 60 s: {}", last_line(&log));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(d)
    }

    fn docker(&self, args: &[&str]) -> minidocker::Result<String> {
        minidocker::interrupt::check()?;
        let host = format!("unix://{}/docker.sock", self.dir.display());
        quiet(Command::new(docker_cli()).arg("-H").arg(host).args(args))
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // The script exec'd into dockerd: this PID is the daemon. Its mounts are in its own
        // mount namespace, gone with it.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(layout) = Layout::detect() {
            for mount in layout.mountpoints() {
                let _ = cgroups::remove_tree(&mount.join(&self.cgroup));
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(empty log)").trim()
}

/// Start a private dockerd with `--add-runtime mini=<a wrapper of minidocker-runc>`, run a
/// container with `--runtime mini`, and show what the shim asked of our runtime.
pub fn show(bundle: &Bundle, name: &str) -> minidocker::Result<()> {
    let ours = std::env::current_exe()?.with_file_name("minidocker-runc");
    if !ours.is_file() {
        report::note(&format!(
            "{} is not built: `cargo build --bin minidocker-runc`; this part is left out",
            ours.display()
        ));
        return Ok(());
    }
    // The wrapper: each command line as the shim gives it, and the bundle's config.json as
    // Docker wrote it, kept before the container (and its bundle) are gone.
    let calls = std::env::temp_dir().join(format!("minidocker-{name}-calls"));
    let _ = fs::remove_dir_all(&calls);
    fs::create_dir_all(&calls)?;
    let wrapper = calls.join("mini");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {dir}/calls.log\nprev=\nfor a in \"$@\"; do \
         [ \"$prev\" = --bundle ] && cp \"$a/config.json\" {dir}/config.json; prev=$a; done\n\
         exec {ours} \"$@\"\n",
        dir = calls.display(),
        ours = ours.display()
    );
    fs::write(&wrapper, script)?;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))?;
    let _calls = Remove(calls.clone());
    let runtime = format!("mini={}", wrapper.display());
    report::say(
        "scripts/test-dockerd: its own data-root, exec-root, socket, pidfile and namespaces.",
    );
    let d = Dockerd::start(name, &["--add-runtime", &runtime])?;
    report::evidence("dockerd", &format!("{} --add-runtime {runtime}", d.dir.display()));
    let tar = bundle.dir.join("image.tar");
    quiet(Command::new("tar").arg("-cf").arg(&tar).arg("-C").arg(bundle.rootfs()).arg("."))?;
    d.docker(&["import", &tar.to_string_lossy(), "lesson09:busybox"])?;
    fs::remove_file(&tar)?;
    let out = d.docker(&[
        "run",
        "--rm",
        "--runtime",
        "mini",
        "--network",
        "none",
        "lesson09:busybox",
        "echo",
        "hello from docker run --runtime mini",
    ])?;
    report::evidence("docker run --rm --runtime mini ... echo", out.trim_end());

    report::say("What containerd's shim ran, in order (our runtime's argv after its name):");
    let log = fs::read_to_string(calls.join("calls.log")).unwrap_or_default();
    // The container's ID ends every call; its bundle is containerd's task directory.
    let id = log.lines().next().and_then(|l| l.split(' ').next_back()).unwrap_or("ID");
    let task = format!(
        "{}/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/{id}",
        d.dir.display()
    );
    let short = |l: &str| shorten_paths(&l.replace(&task, "$BUNDLE"), &d.dir).replace(id, "$ID");
    for line in log.lines() {
        println!("    minidocker-runc {}", short(line));
    }
    report::evidence(
        "  where",
        &format!("$ID = {id}, $BUNDLE = {}", shorten_paths(&task, &d.dir).replace(id, "$ID")),
    );
    let config: Value = serde_json::from_str(
        &fs::read_to_string(calls.join("config.json")).context("the shim never called create")?,
    )?;
    report::say("The bundle's config.json, as Docker wrote it (the parts a runtime acts on):");
    report::evidence("  process.args", &config["process"]["args"].to_string());
    let mounts: Vec<&str> = config["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["destination"].as_str())
        .collect();
    report::evidence("  mounts", &mounts.join(" "));
    report::evidence("  root.path", &short(config["root"]["path"].as_str().unwrap_or("")));
    report::evidence(
        "  linux.cgroupsPath",
        &short(config["linux"]["cgroupsPath"].as_str().unwrap_or("")),
    );
    let ns: Vec<String> = config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["type"].as_str().unwrap_or("").to_string())
        .collect();
    report::evidence("  linux.namespaces", &ns.join(" "));
    let hooks = config["hooks"].as_object().cloned().unwrap_or_default();
    if hooks.is_empty() {
        report::evidence("  hooks", "(none)");
    }
    for (when, list) in hooks {
        for h in list.as_array().into_iter().flatten() {
            let args: Vec<&str> =
                h["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            let path = h["path"].as_str().unwrap_or("");
            let what = format!("{path} (argv: {})", short(&args.join(" ")));
            report::evidence(&format!("  hooks.{when}"), &what);
        }
    }
    report::say(
        "The prestart hook is libnetwork's: between create and start dockerd's own binary runs in",
    );
    report::say(
        "the created container's network namespace and sets it up — the reason for the split.",
    );
    drop(d);
    report::cleanup("the private dockerd, its directory and cgroup");
    Ok(())
}

/// The private daemon's long directory as `$DOCKERD`.
fn shorten_paths(line: &str, dir: &Path) -> String {
    line.replace(&*dir.to_string_lossy(), "$DOCKERD")
}

/// A directory removed when dropped.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
