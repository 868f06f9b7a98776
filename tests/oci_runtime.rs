//! `minidocker-runc` as an OCI runtime: the same bundles run by Debian's runc and by ours
//! agree (exit codes, `state`, capabilities, no_new_privs, seccomp, mounts); bad bundles fail
//! with one line and leave nothing; a private containerd drives ours through its shim
//! (`ctr run --runc-binary`): exit codes, `task exec`, `ps`, `pause`/`resume`, `kill`.
//!
//! Debian packages: runc, containerd (scripts/common.sh's TEST_PACKAGES).

mod common;

use common::{have_root, run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const OURS: &str = env!("CARGO_BIN_EXE_minidocker-runc");

/// What the container's first process prints: the status lines, its mounts, what seccomp
/// says to a `mkdir`, its hostname; then it exits 3.
const PROBE: &str =
    "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; cat /proc/self/mounts; \
                     mkdir /probe 2>&1; hostname; exit 3";

/// A bundle of this test's own: busybox's rootfs and `runc spec`'s config, edited. Removed
/// when dropped.
struct Bundle {
    dir: PathBuf,
}

impl Bundle {
    fn new(name: &str, edit: impl FnOnce(&mut Value)) -> Bundle {
        let dir = std::env::temp_dir().join(format!("mdt-oci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        let tar = common::busybox_tarball();
        let (code, _, err) =
            run(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(dir.join("rootfs")));
        assert_eq!(code, 0, "unpacking busybox: {err}");
        let (code, _, err) = run(Command::new("runc").arg("spec").current_dir(&dir));
        assert_eq!(code, 0, "runc spec: {err}");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        config["process"]["terminal"] = json!(false);
        edit(&mut config);
        let bundle = Bundle { dir };
        bundle.write(&config);
        bundle
    }

    fn write(&self, config: &Value) {
        std::fs::write(self.dir.join("config.json"), config.to_string()).unwrap();
    }

    fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A runtime (`runc` or ours) with a state directory of its own, removed when dropped.
struct Runtime {
    bin: &'static str,
    root: PathBuf,
}

impl Runtime {
    fn new(bin: &'static str, test: &str) -> Runtime {
        let name = Path::new(bin).file_name().unwrap().to_string_lossy().into_owned();
        let root =
            std::env::temp_dir().join(format!("mdt-oci-{test}-{name}-{}", std::process::id()));
        Runtime { bin, root }
    }

    fn cmd(&self, args: &[&str]) -> (i32, String, String) {
        run(Command::new(self.bin).arg("--root").arg(&self.root).args(args))
    }

    /// `create`: its container's process keeps the standard streams it is given, so they are
    /// files here, not pipes a reader would wait on forever.
    fn create(&self, args: &[&str]) -> (i32, String) {
        std::fs::create_dir_all(&self.root).unwrap();
        let err_path = self.root.join("create.err");
        let err = std::fs::File::create(&err_path).unwrap();
        let status = Command::new(self.bin)
            .arg("--root")
            .arg(&self.root)
            .arg("create")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .status()
            .unwrap();
        (status.code().unwrap_or(-1), std::fs::read_to_string(err_path).unwrap())
    }

    fn state(&self, id: &str) -> Value {
        let (code, out, err) = self.cmd(&["state", id]);
        assert_eq!(code, 0, "{} state: {err}", self.bin);
        serde_json::from_str(&out).unwrap()
    }

    /// Wait (at most 10 s) until `id`'s status is `want`.
    fn wait_status(&self, id: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.state(id);
            if s["status"] == want {
                return s;
            }
            assert!(Instant::now() < deadline, "{}: {id} never became {want}: {s}", self.bin);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What may differ between the runtimes' mount tables: minidocker's masks are size=0 tmpfs.
fn normalized(out: &str) -> String {
    out.replace(",size=0k", "")
}

fn seccomp_refusing_mkdir(config: &mut Value) {
    config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
}

#[test]
fn runc_and_ours_agree_on_the_same_bundle() {
    if !have_root("runc_and_ours_agree_on_the_same_bundle") {
        return;
    }
    // Both ways of ordering no_new_privs and the seccomp filter: without it, the filter goes
    // in while the process still has CAP_SYS_ADMIN.
    for nnp in [true, false] {
        let bundle = Bundle::new(&format!("agree-{nnp}"), |c| {
            c["process"]["args"] = json!(["sh", "-c", PROBE]);
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["hostname"] = json!("probe");
            seccomp_refusing_mkdir(c);
        });
        let mut outputs = Vec::new();
        for bin in ["runc", OURS] {
            let rt = Runtime::new(bin, "agree");
            let id = format!("probe-{}", std::process::id());
            let (code, out, err) = rt.cmd(&["run", "--bundle", bundle.path(), &id]);
            assert_eq!(code, 3, "{bin} run: the probe exits 3: {out}{err}");
            assert!(out.contains("Operation not permitted"), "{bin}: seccomp refuses mkdir: {out}");
            assert!(out.contains(&format!("NoNewPrivs:\t{}", nnp as u8)), "{bin}: {out}");
            assert!(out.contains("Seccomp:\t2"), "{bin}: a filter is on: {out}");
            outputs.push(normalized(&out));
            // `run` deleted it.
            let (code, _, _) = rt.cmd(&["state", &id]);
            assert_ne!(code, 0, "{bin}: the container is gone after run");
        }
        assert_eq!(outputs[0], outputs[1], "runc (left) and ours (right) differ, nnp={nnp}");
    }
}

#[test]
fn create_start_kill_delete_and_exec_as_runc_does() {
    if !have_root("create_start_kill_delete_and_exec_as_runc_does") {
        return;
    }
    let bundle = Bundle::new("life", |c| c["process"]["args"] = json!(["sleep", "60"]));
    let process = bundle.dir.join("exec.json");
    let exec = json!({"args": ["sh", "-c", "echo exec in $(hostname); exit 5"],
        "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
    std::fs::write(&process, exec.to_string()).unwrap();
    let id = format!("life-{}", std::process::id());
    let mut seen = Vec::new();
    for bin in ["runc", OURS] {
        let rt = Runtime::new(bin, &id);
        let pid_file = bundle.dir.join(format!("{}.pid", seen.len()));
        let (code, err) =
            rt.create(&["--bundle", bundle.path(), "--pid-file", pid_file.to_str().unwrap(), &id]);
        assert_eq!(code, 0, "{bin} create: {err}");
        let created = rt.state(&id);
        assert_eq!(created["status"], "created", "{bin}: {created}");
        let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        assert_eq!(created["pid"], pid, "{bin}: the pid file has the init's PID");
        // Waiting at the exec FIFO: not yet the command.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_ne!(comm.trim(), "sleep", "{bin}: create must not run the command yet");
        let (code, _, err) = rt.cmd(&["start", &id]);
        assert_eq!(code, 0, "{bin} start: {err}");
        rt.wait_status(&id, "running");
        let (code, out, err) = rt.cmd(&["exec", "--process", process.to_str().unwrap(), &id]);
        assert_eq!((code, out.as_str()), (5, "exec in runc\n"), "{bin} exec: {err}");
        let (code, out, _) = rt.cmd(&["ps", "--format", "json", &id]);
        assert_eq!(code, 0);
        let pids: Vec<i64> = serde_json::from_str(&out).unwrap();
        assert_eq!(pids, [pid], "{bin} ps");
        let (code, _, _) = rt.cmd(&["delete", &id]);
        assert_ne!(code, 0, "{bin}: delete refuses a running container");
        let (code, _, err) = rt.cmd(&["kill", &id, "KILL"]);
        assert_eq!(code, 0, "{bin} kill: {err}");
        let stopped = rt.wait_status(&id, "stopped");
        let (code, _, err) = rt.cmd(&["delete", &id]);
        assert_eq!(code, 0, "{bin} delete: {err}");
        let (code, _, _) = rt.cmd(&["state", &id]);
        assert_ne!(code, 0, "{bin}: state of a deleted container fails");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        seen.push((keys(&created), keys(&stopped), stopped["pid"].clone()));
    }
    assert_eq!(seen[0], seen[1], "runc's state keys (left) and ours (right)");
}

#[test]
fn a_bad_bundle_fails_with_one_line_and_leaves_nothing() {
    if !have_root("a_bad_bundle_fails_with_one_line_and_leaves_nothing") {
        return;
    }
    let parent = format!("mdt-oci-bad-{}", std::process::id());
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit); 7] = [
        ("invalid JSON", &|_| {}),
        ("executable file not found", &|c| c["process"]["args"] = json!(["no-such-binary"])),
        ("unknown namespace type", &|c| {
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "time-travel"}))
        }),
        ("cgroupsPath", &|c| c["linux"]["cgroupsPath"] = json!("/cgroup.procs/nope")),
        // A sysctl of the host's kernel, not the container's.
        ("not namespaced", &|c| c["linux"]["sysctl"] = json!({"kernel.panic": "1"})),
        // A confinement that cannot be applied is refused, not ignored: SELinux always, an
        // AppArmor profile where AppArmor is off (here) or the profile does not exist.
        ("SELinux labels are not supported", &|c| {
            c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0")
        }),
        ("AppArmor", &|c| c["process"]["apparmorProfile"] = json!("minidocker-no-such-profile")),
    ];
    let rt = Runtime::new(OURS, "bad");
    for (n, (what, edit)) in cases.iter().enumerate() {
        let id = format!("bad{n}-{}", std::process::id());
        let bundle = Bundle::new(&format!("bad{n}"), |c| {
            c["process"]["args"] = json!(["sleep", "60"]);
            c["linux"]["cgroupsPath"] = json!(format!("/{parent}/{id}"));
            edit(c);
        });
        if n == 0 {
            std::fs::write(bundle.dir.join("config.json"), "{\"ociVersion\": ").unwrap();
        }
        let log = bundle.dir.join("log.json");
        let (code, out, err) = rt.cmd(&[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "create",
            "--bundle",
            bundle.path(),
            &id,
        ]);
        assert_ne!(code, 0, "{what}: create must fail");
        assert_eq!(out, "", "{what}: nothing on stdout");
        assert_eq!(err.lines().count(), 1, "{what}: one line on stderr: {err}");
        let line = err.trim().strip_prefix("minidocker-runc: ").expect("the program's name");
        let last: Value =
            serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap())
                .unwrap();
        assert_eq!(last["level"], "error");
        assert_eq!(
            last["msg"], line,
            "{what}: the log's last entry is the error, as the shim reads it"
        );
        let lower = line.to_lowercase();
        assert!(
            lower.contains(&what.to_lowercase()) || (n == 0 && lower.contains("not a valid")),
            "{what}: {line}"
        );
        // Nothing left: state directory, cgroup, mount, process.
        assert!(!rt.root.join(&id).exists(), "{what}: the state directory is left");
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let dir = h.path().join(&parent).join(&id);
            assert!(!dir.exists(), "{what}: {} is left", dir.display());
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(bundle.path()), "{what}: a mount is left: {mounts}");
        for p in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&cmdline).contains(&id),
                "{what}: process {:?} is left",
                p.file_name()
            );
        }
    }
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(h.path().join(&parent));
    }
}

/// A containerd of this test's own: its root, state, socket, config and network namespace;
/// killed, unmounted and removed when dropped.
struct Containerd {
    dir: PathBuf,
    child: std::process::Child,
    namespace: String,
}

impl Containerd {
    fn start(test: &str) -> Containerd {
        let dir = std::env::temp_dir().join(format!("mdt-ctd-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let config = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/sock\"\n[ttrpc]\n  address = \"{d}/sock.ttrpc\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["--net", "--", "containerd", "--config"])
            .arg(dir.join("config.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting containerd (apt-get install containerd)");
        let ctd = Containerd { dir, child, namespace: format!("mdt{}", std::process::id()) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while run(&mut ctd.ctr(&["version"])).0 != 0 {
            assert!(Instant::now() < deadline, "containerd did not start: {}", ctd.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        ctd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address").arg(self.dir.join("sock")).args(["-n", &self.namespace]).args(args);
        c
    }

    /// `ctr run` with our runtime and its state under our directory.
    fn run_args(&self) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            OURS.into(),
            "--runc-root".into(),
            self.dir.join("runc").display().to_string(),
            "--env".into(),
            "PATH=/bin".into(),
        ]
    }

    fn task_status(&self, id: &str) -> String {
        let (_, out, _) = run(&mut self.ctr(&["task", "ls"]));
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its shims, and whatever they still run.
        for p in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline)
                .contains(&format!("-namespace\0{}", self.namespace))
            {
                if let Ok(pid) = p.file_name().to_string_lossy().parse() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        common::dockerd::unmount_all_under(&self.dir);
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let _ = std::fs::remove_dir(h.path().join(&self.namespace));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn containerd_drives_our_runtime() {
    if !have_root("containerd_drives_our_runtime") {
        return;
    }
    let bundle = Bundle::new("ctd", |_| {});
    let rootfs = bundle.dir.join("rootfs");
    let rootfs = rootfs.to_str().unwrap();
    let ctd = Containerd::start("drive");
    let ours = ctd.run_args();
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();

    // The exit code comes back through the shim.
    let mut args = vec!["run", "--rm"];
    args.extend(&ours);
    args.extend(["--rootfs", rootfs, "once", "sh", "-c", "echo hello; exit 7"]);
    let (code, out, err) = run(&mut ctd.ctr(&args));
    assert_eq!((code, out.as_str()), (7, "hello\n"), "ctr run: {err}\n{}", ctd.log());

    // A bad command: the shim shows our error, read from our JSON log.
    let mut args = vec!["run", "--rm"];
    args.extend(&ours);
    args.extend(["--rootfs", rootfs, "bad", "no-such-binary"]);
    let (code, _, err) = run(&mut ctd.ctr(&args));
    assert_ne!(code, 0);
    assert!(err.contains("exec: \"no-such-binary\": executable file not found in $PATH"), "{err}");

    let mut args = vec!["run", "-d"];
    args.extend(&ours);
    args.extend(["--rootfs", rootfs, "long", "sleep", "60"]);
    let (code, _, err) = run(&mut ctd.ctr(&args));
    assert_eq!(code, 0, "ctr run -d: {err}");
    assert_eq!(ctd.task_status("long"), "RUNNING");
    let (code, out, err) = run(&mut ctd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "long",
        "sh",
        "-c",
        "echo in; exit 4",
    ]));
    assert_eq!((code, out.as_str()), (4, "in\n"), "ctr task exec: {err}");
    let (code, out, err) = run(&mut ctd.ctr(&["task", "ps", "long"]));
    assert_eq!(code, 0, "ctr task ps: {err}");
    assert_eq!(out.lines().count(), 2, "one process, the init: {out}");
    for (cmd, want) in [("pause", "PAUSED"), ("resume", "RUNNING")] {
        let (code, _, err) = run(&mut ctd.ctr(&["task", cmd, "long"]));
        assert_eq!(code, 0, "ctr task {cmd}: {err}");
        assert_eq!(ctd.task_status("long"), want, "after {cmd}");
    }
    let (code, _, err) = run(&mut ctd.ctr(&["task", "kill", "-s", "SIGKILL", "long"]));
    assert_eq!(code, 0, "ctr task kill: {err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctd.task_status("long") != "STOPPED" {
        assert!(Instant::now() < deadline, "the task never stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, _, err) = run(&mut ctd.ctr(&["task", "delete", "long"]));
    assert_eq!(code, 0, "ctr task delete: {err}");
    let (code, _, err) = run(&mut ctd.ctr(&["container", "delete", "long"]));
    assert_eq!(code, 0, "ctr container delete: {err}");
    // Our state directory is empty again, and the containers' cgroups are gone.
    let left: Vec<_> = std::fs::read_dir(ctd.dir.join("runc").join(&ctd.namespace))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left: {left:?}");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for id in ["once", "bad", "long"] {
            let dir = h.path().join(&ctd.namespace).join(id);
            assert!(!dir.exists(), "{} is left", dir.display());
        }
    }
}

#[test]
fn docker_runs_containers_with_our_runtime() {
    let test = "docker_runs_containers_with_our_runtime";
    if !have_root(test) || !common::dockerd::available(test) {
        return;
    }
    let runtime = format!("mini={OURS}");
    let d = common::dockerd::Dockerd::start_with("oci", &["--add-runtime", &runtime]);
    d.docker_ok(&["import", &common::busybox_tarball().to_string_lossy(), "busybox:latest"]);
    // The same steps with runc and with ours: the same answers.
    let mut answers = Vec::new();
    for rt in ["runc", "mini"] {
        let name = format!("c-{rt}");
        let (code, out, err) = d.docker(&[
            "run",
            "--rm",
            "--runtime",
            rt,
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "echo hi; exit 6",
        ]);
        assert_eq!((code, out.as_str()), (6, "hi\n"), "{rt}: docker run: {err}");
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--runtime",
            rt,
            "--network",
            "none",
            "-m",
            "64m",
            "--cpu-shares",
            "512",
            "--device",
            "/dev/kmsg",
            "busybox",
            "sleep",
            "60",
        ]);
        let limit = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
                     2>/dev/null; exit 3";
        let (code, out, err) = d.docker(&["exec", &name, "sh", "-c", limit]);
        assert_eq!((code, out.trim()), (3, "67108864"), "{rt}: docker exec sees -m: {err}");
        // What the two runtimes must agree on: swap (Docker's default, twice -m), CPU shares,
        // a --device node, the capabilities.
        let probe = "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes \
                     /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu.weight 2>/dev/null; \
                     ls -l /dev/kmsg | cut -c1-10,35-42; grep Cap /proc/self/status";
        let probed = d.docker_ok(&["exec", &name, "sh", "-c", probe]);
        d.docker_ok(&["update", "-m", "128m", "--memory-swap", "128m", &name]);
        let (_, out, err) = d.docker(&["exec", &name, "sh", "-c", limit]);
        assert_eq!(out.trim(), "134217728", "{rt}: docker update -m: {err}");
        let top = d.docker_ok(&["top", &name]);
        assert!(top.lines().any(|l| l.ends_with("sleep 60")), "{rt}: docker top: {top}");
        let stats = d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", &name]);
        assert!(stats.trim().ends_with("/ 128MiB"), "{rt}: docker stats: {stats}");
        d.docker_ok(&["stop", "-t", "1", &name]);
        let status = d.docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
        d.docker_ok(&["rm", &name]);
        answers.push(format!("{probed}exit {}", status.trim()));
    }
    assert_eq!(answers[0], answers[1], "runc (left) and ours (right)");
    let ours = &answers[1];
    assert!(ours.starts_with("134217728\n512\ncrw"), "swap, shares, --device: {ours}");
    d.finish();
}

#[test]
fn the_flask_app_runs_under_docker_with_our_runtime() {
    let test = "the_flask_app_runs_under_docker_with_our_runtime";
    if !have_root(test) || !common::dockerd::available(test) {
        return;
    }
    let runtime = format!("mini={OURS}");
    let d = common::dockerd::Dockerd::start_with("flask", &["--add-runtime", &runtime]);
    let python = common::base_tarball("python");
    d.docker_ok(&["import", &python.to_string_lossy(), "python:3.11-slim"]);
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld");
    d.docker_ok(&["build", "-q", "-t", "helloworld", assets]);
    // Docker's own networking: a bridge network (in the daemon's network namespace) and the
    // port published by Docker; our runtime runs libnetwork's prestart hook.
    let octet = std::env::var("MINIDOCKER_TEST_OCTET").unwrap_or_else(|_| "198".into());
    d.docker_ok(&["network", "create", "--subnet", &format!("10.{octet}.250.0/24"), "flask"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hello",
        "--runtime",
        "mini",
        "--network",
        "flask",
        "-p",
        "4000:80",
        "helloworld",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (code, out, _) =
            run(d.in_net(Command::new("curl").args(["-s", "http://127.0.0.1:4000/"])));
        if code == 0 && !out.is_empty() {
            break out;
        }
        assert!(Instant::now() < deadline, "the app never answered: {}", d.log_tail());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.contains("Hello World!"), "{page}");
    let hostname = d.docker_ok(&["inspect", "--format", "{{.Config.Hostname}}", "hello"]);
    assert!(page.contains(hostname.trim()), "the page names the container's hostname: {page}");
    d.docker_ok(&["rm", "-f", "hello"]);
    d.docker_ok(&["network", "rm", "flask"]);
    d.finish();
}

#[test]
fn hooks_get_the_state_and_a_slow_one_is_cut_off() {
    if !have_root("hooks_get_the_state_and_a_slow_one_is_cut_off") {
        return;
    }
    let rt = Runtime::new(OURS, "hooks");
    let id = format!("hooks-{}", std::process::id());
    let out = std::env::temp_dir().join(format!("mdt-oci-hooks-out-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let hook = |name: &str| {
        let file = out.join(name);
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", file.display())]})
    };
    let bundle = Bundle::new("hooks", |c| {
        c["process"]["args"] = json!(["true"]);
        c["hooks"] = json!({
            "createRuntime": [hook("createRuntime")],
            "prestart": [hook("prestart")],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")],
        });
    });
    let (code, out_, err) = rt.cmd(&["run", "--bundle", bundle.path(), &id]);
    assert_eq!(code, 0, "{out_}{err}");
    for (name, status) in [
        ("createRuntime", "creating"),
        ("prestart", "creating"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_default();
        let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(state["id"], id.as_str(), "{name} hook's stdin: {text:?}");
        assert_eq!(state["status"], status, "{name} hook's stdin: {text:?}");
        assert!(state["pid"].as_i64().unwrap_or(0) > 0, "{name}: {text}");
    }

    // A prestart hook that outlives its timeout fails the create, and nothing is left.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.dir.join("config.json")).unwrap())
            .unwrap();
    config["process"]["args"] = json!(["sleep", "60"]);
    config["hooks"] =
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    bundle.write(&config);
    let started = Instant::now();
    let (code, err) = rt.create(&["--bundle", bundle.path(), &id]);
    assert_ne!(code, 0);
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout was not honoured");
    assert!(err.contains("timed out after 1 s") && err.lines().count() == 1, "{err}");
    assert!(!rt.root.join(&id).exists(), "the state directory is left");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(!h.path().join(&id).exists(), "its cgroup is left in {}", h.path().display());
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Podman with all its state under `dir` (storage, run files, network configs, events), its
/// containers under a cgroup of the test's own; removed when dropped.
struct Podman {
    dir: PathBuf,
    cgroup: String,
}

impl Podman {
    fn new(test: &str) -> Podman {
        let dir = std::env::temp_dir().join(format!("mdt-podman-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("net")).unwrap();
        Podman { dir, cgroup: format!("mdt-podman-{test}-{}", std::process::id()) }
    }

    fn cmd(&self, args: &[&str]) -> (i32, String, String) {
        let d = |sub: &str| self.dir.join(sub).display().to_string();
        let mut c = Command::new("podman");
        c.args(["--root", &d("storage"), "--runroot", &d("run"), "--tmpdir", &d("tmp")])
            .args(["--network-config-dir", &d("net"), "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--storage-driver", "overlay"])
            .args(["--runtime", OURS])
            .args(args);
        run(&mut c)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.cmd(args);
        assert_eq!(code, 0, "podman {args:?}: {err}");
        out
    }

    /// `run` with this test's cgroup parent, no network, and limits within what this host
    /// lets a root without CAP_SYS_RESOURCE set (Podman's default nofile is 1048576).
    fn run_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["run", "--network", "none", "--cgroup-parent", &self.cgroup];
        args.extend(["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"]);
        args.extend(extra);
        args
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-a", "-f"]);
        let _ = self.cmd(&["rmi", "-a", "-f"]);
        common::dockerd::unmount_all_under(&self.dir);
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            // Podman's own group for its conmon processes, then the parent.
            let _ = std::fs::remove_dir(h.path().join(&self.cgroup).join("conmon"));
            let _ = std::fs::remove_dir(h.path().join(&self.cgroup));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn podman_runs_execs_and_stops_with_our_runtime() {
    let test = "podman_runs_execs_and_stops_with_our_runtime";
    if !have_root(test) {
        return;
    }
    let p = Podman::new("drive");
    p.ok(&["import", &common::busybox_tarball().to_string_lossy(), "localhost/busybox"]);
    let (code, out, err) =
        p.cmd(&p.run_args(&["--rm", "localhost/busybox", "sh", "-c", "echo hi; exit 6"]));
    assert_eq!((code, out.as_str()), (6, "hi\n"), "podman run: {err}");
    p.ok(&p.run_args(&["-d", "--name", "long", "localhost/busybox", "sleep", "60"]));
    let (code, out, err) = p.cmd(&["exec", "long", "sh", "-c", "echo in; exit 4"]);
    assert_eq!((code, out.as_str()), (4, "in\n"), "podman exec: {err}");
    p.ok(&["stop", "-t", "1", "long"]);
    let status = p.ok(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "long"]);
    assert_eq!(status.trim(), "exited 137", "sleep ignores SIGTERM as PID 1: podman stop kills it");
    p.ok(&["rm", "long"]);
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let parent = h.path().join(&p.cgroup);
        let left: Vec<_> = std::fs::read_dir(&parent)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir() && e.file_name() != "conmon")
                    .map(|e| e.file_name())
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "containers' cgroups left in {}: {left:?}", parent.display());
    }
}

#[test]
fn a_foreground_run_passes_sigterm_on_as_runc_does() {
    if !have_root("a_foreground_run_passes_sigterm_on_as_runc_does") {
        return;
    }
    let script = "trap 'echo got TERM; exit 9' TERM; touch /tmp/ready; while :; do sleep 0.1; done";
    let bundle = Bundle::new("sigterm", |c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["root"]["readonly"] = json!(false);
    });
    let ready = bundle.dir.join("rootfs/tmp/ready");
    for bin in ["runc", OURS] {
        let _ = std::fs::remove_file(&ready);
        let rt = Runtime::new(bin, "sigterm");
        let id = format!("sigterm-{}", std::process::id());
        let mut child = Command::new(bin)
            .arg("--root")
            .arg(&rt.root)
            .args(["run", "--bundle", bundle.path(), &id])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = rt.cmd(&["delete", "--force", &id]);
                panic!("{bin}: the container never started");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(9), "{bin}: the container's exit code");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "got TERM\n", "{bin}");
        let (code, _, _) = rt.cmd(&["state", &id]);
        assert_ne!(code, 0, "{bin}: run deleted the container");
    }
}
