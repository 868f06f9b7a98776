//! Shared by the integration tests: root detection, running a binary, leak checks.
#![allow(dead_code)]

use std::process::{Command, Output};

pub mod dockerd;

/// Root tests run as root. Without root they skip loudly — except in CI (`CI=true`), where a
/// skip would hide that they never ran, so it is a failure.
pub fn have_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{test}: needs root, and CI=true forbids skipping it");
    eprintln!("SKIPPED {test}: needs root (run the suite with scripts/test, which uses sudo)");
    false
}

/// A command for one of the workshop's binaries, with colours off so output is plain text.
pub fn bin(path: &str) -> Command {
    let mut c = Command::new(path);
    // Never the host's real store: a test that needs one makes its own (TestRoot), and one
    // that forgot fails loudly on this path (nothing can be created under /proc) instead of
    // touching /var/lib/minidocker.
    c.env("NO_COLOR", "1").env("MINIDOCKER_ROOT", "/proc/tests-use-their-own-MINIDOCKER_ROOT");
    // Nor the host's default bridge: an invalid name, so a test that forgot fails loudly.
    c.env("MINIDOCKER_BRIDGE", "tests/use/their/own/bridge");
    c
}

/// The binary of lesson `key` (its number, `"01"`, or its name) from the library's list of
/// lessons: cargo builds every binary of the package, next to one another, for the tests.
pub fn lesson_bin(key: &str) -> String {
    let lesson = minidocker::lessons::find(key).unwrap_or_else(|| panic!("no lesson {key}"));
    let workshop = std::path::Path::new(env!("CARGO_BIN_EXE_workshop"));
    workshop.with_file_name(lesson.name).to_string_lossy().into_owned()
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("running the binary");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Every path a run reported under "created: …" — used to check it was removed again.
pub fn created_paths(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.trim().strip_prefix("created: ").map(str::to_owned)).collect()
}

pub fn assert_all_gone(paths: &[String]) {
    assert!(!paths.is_empty(), "the run reported nothing it created");
    for p in paths {
        assert!(!std::path::Path::new(p).exists(), "{p} was left behind");
    }
}

/// `minidocker ARGS…` in `root`: (exit code, stdout, stderr).
pub fn md(root: &TestRoot, args: &[&str]) -> (i32, String, String) {
    run(root.minidocker().args(args))
}

/// Wait (at most 10 s) until container `name` of `root` has printed the line `line`.
pub fn wait_for_log(root: &TestRoot, name: &str, line: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, logs, _) = md(root, &["logs", name]);
        if logs.lines().any(|l| l == line) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{name} never printed {line:?}: {logs}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A `MINIDOCKER_ROOT` of a test's own (and, with [`TestRoot::with_net`], a bridge and subnet of
/// its own), removed when dropped.
pub struct TestRoot {
    pub path: std::path::PathBuf,
    /// (bridge, subnet) for bridge networking.
    pub net: Option<(String, String)>,
}

impl TestRoot {
    pub fn new(test: &str) -> TestRoot {
        let path =
            std::env::temp_dir().join(format!("minidocker-test-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TestRoot { path, net: None }
    }

    /// Use a bridge and a /24 of this test's own: `n` must differ between tests.
    ///
    /// The subnets are `10.198.n.0/24`; `MINIDOCKER_TEST_OCTET` moves them to `10.X.n.0/24`,
    /// so two checkouts can run their suites side by side without sharing an address.
    pub fn with_net(mut self, n: u8) -> TestRoot {
        let octet: u8 =
            std::env::var("MINIDOCKER_TEST_OCTET").ok().and_then(|v| v.parse().ok()).unwrap_or(198);
        let bridge = format!("mdt{}x{n}", std::process::id() % 10000);
        self.net = Some((bridge, format!("10.{octet}.{n}.0/24")));
        self
    }

    /// The network configuration this root's containers use.
    pub fn net_config(&self) -> minidocker::network::Config {
        let (b, s) = self.net.as_ref().expect("with_net first");
        minidocker::network::Config::new(b, s).unwrap()
    }

    /// A root with the busybox image imported as `busybox:latest`.
    pub fn with_busybox(test: &str) -> TestRoot {
        let root = TestRoot::new(test);
        root.import("busybox", "busybox");
        root
    }

    /// Import a base image built by scripts/base-rootfs (`busybox` or `python`) as `name`.
    pub fn import(&self, which: &str, name: &str) {
        let (code, _, err) =
            run(self.minidocker().arg("import").arg(base_tarball(which)).arg(name));
        assert_eq!(code, 0, "importing {which}: {err}");
    }

    /// One of the workshop's binaries, using this root.
    pub fn cmd(&self, path: &str) -> Command {
        let mut c = bin(path);
        c.env("MINIDOCKER_ROOT", &self.path);
        if let Some((bridge, subnet)) = &self.net {
            c.env("MINIDOCKER_BRIDGE", bridge).env("MINIDOCKER_SUBNET", subnet);
        }
        c
    }

    pub fn minidocker(&self) -> Command {
        self.cmd(env!("CARGO_BIN_EXE_minidocker"))
    }

    /// Mount points under this root in the host's mount table (must be none).
    pub fn host_mounts(&self) -> Vec<String> {
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let me = self.path.to_string_lossy().into_owned();
        table.lines().filter(|l| l.contains(&me)).map(str::to_owned).collect()
    }

    /// The IDs of the containers in this root.
    pub fn container_ids(&self) -> Vec<String> {
        std::fs::read_dir(self.path.join("containers"))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    /// Entries left in the store's `tmp/` (must be none after any command).
    pub fn scratch_left(&self) -> Vec<String> {
        std::fs::read_dir(self.path.join("tmp"))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        // Containers first (their monitors hold veths and rules), then the bridge.
        let ids = self.container_ids();
        if !ids.is_empty() {
            let _ = run(self.minidocker().args(["rm", "-f"]).args(ids));
        }
        if self.net.is_some() {
            let _ = minidocker::network::destroy_bridge(&self.net_config(), &self.path);
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The busybox rootfs tarball, built once and cached by scripts/base-rootfs.
pub fn busybox_tarball() -> std::path::PathBuf {
    base_tarball("busybox")
}

/// A base image's rootfs tarball (`busybox`, or `python`: debootstrap, a minute the first
/// time), built once and cached by scripts/base-rootfs.
pub fn base_tarball(which: &str) -> std::path::PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/base-rootfs");
    let out =
        Command::new("bash").arg(script).arg(which).output().expect("running scripts/base-rootfs");
    assert!(
        out.status.success(),
        "scripts/base-rootfs {which} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::path::PathBuf::from(stdout.lines().last().expect("the tarball's path").trim())
}

/// A TCP port nobody listens on, and one this test process has not handed out before.
///
/// Asking the kernel for port 0 and closing the socket is racy in a parallel test run: the
/// kernel may hand the same port out again a moment later, to another test's `bind(0)` or as
/// the local port of an outgoing connection (every `curl` the tests run makes one), and the
/// port is then "in use by another program". So ports come from below the ephemeral range
/// (`net.ipv4.ip_local_port_range`, 32768 and up by default), each one at most once per
/// process, starting at an offset of the process id so test binaries run side by side by
/// hand rarely meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20000;
    const SPAN: u16 = 12000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let port = FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let free = ["127.0.0.1", "0.0.0.0"]
            .iter()
            .all(|ip| std::net::TcpListener::bind((*ip, port)).is_ok());
        if free {
            return port;
        }
    }
    panic!("no free TCP port in {FIRST}..{}", FIRST + SPAN);
}
