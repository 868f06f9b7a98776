//! `pull`, `push`, `login` against registries on 127.0.0.1: the reference distribution server
//! (Debian's `docker-registry`) without auth, behind an htpasswd file, and behind a token
//! server written here (the Bearer flow Docker Hub uses, with a real JWT the registry
//! verifies); a fake registry that sends tampered or truncated blobs; and skopeo.
//!
//! Every test has its own registry on its own port, its own storage and its own
//! MINIDOCKER_ROOT, so they run in parallel. scripts/test installs docker-registry,
//! apache2-utils (htpasswd), openssl and skopeo.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{have_root, run, TestRoot};
use minidocker::image::{oci, Digest, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The lesson's binary, found through the library's list of lessons.
static LESSON03: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| common::lesson_bin("03"));

/// Run a host tool; its failure fails the test with its stderr.
fn tool(args: &[&str]) -> Vec<u8> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{} is needed (scripts/test installs it): {e}", args[0]));
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn wait_for_port(port: u16, child: &mut Child, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            eprintln!(
                "docker-registry exited: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The reference registry (`/usr/bin/docker-registry`) on 127.0.0.1, with its own storage;
/// `auth` is the `auth:` section of its config (empty: none). Killed when dropped.
struct Registry {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Registry {
    fn start(test: &str, auth: &str) -> Registry {
        let dir =
            std::env::temp_dir().join(format!("minidocker-registry-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Registry::start_in(dir, auth)
    }

    fn start_in(dir: PathBuf, auth: &str) -> Registry {
        // A port taken between our probe and the registry's bind: try another.
        for _ in 0..5 {
            let port = common::free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                dir.join("storage").display()
            );
            std::fs::write(dir.join("config.yml"), config).unwrap();
            let log = dir.join("registry.log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(dir.join("config.yml"))
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(dir.join("registry.err")).unwrap())
                .spawn()
                .expect("docker-registry is needed (Debian package docker-registry; scripts/test installs it)");
            if wait_for_port(port, &mut child, &dir.join("registry.err")) {
                return Registry { child, dir, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(dir.join("registry.err")).unwrap_or_default()
        );
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A command's outcome, with the assertion messages it needs.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

fn md(root: &TestRoot, args: &[&str]) -> Ran {
    let (code, out, err) = run(root.minidocker().args(args));
    Ran { code, out, err }
}

fn ok(root: &TestRoot, args: &[&str]) -> String {
    let r = md(root, args);
    assert_eq!(r.code, 0, "minidocker {args:?} failed:\n{}\n{}", r.out, r.err);
    r.out
}

/// A command that must fail with exactly one line on stderr; that line.
fn fails(root: &TestRoot, args: &[&str]) -> String {
    let r = md(root, args);
    assert_eq!(r.code, 1, "minidocker {args:?} should fail:\n{}\n{}", r.out, r.err);
    let lines: Vec<&str> = r.err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line says what failed, got:\n{}", r.err);
    eprintln!("minidocker {args:?} failed as it should: {}", lines[0]);
    lines[0].to_string()
}

fn login(root: &TestRoot, host: &str, user: &str, password: &str) -> Ran {
    let mut child = root
        .minidocker()
        .args(["login", "-u", user, "--password-stdin", host])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn runs_in_lesson03(root: &TestRoot, image: &str) {
    let (code, out, err) =
        run(root.cmd(&LESSON03).args(["--image", image, "--", "/bin/sh", "-c", "echo ok"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.lines().any(|l| l.trim() == "ok"), "the container should print ok:\n{out}");
}

/// The store holds nothing: no blob, no layer, no image, nothing in tmp/.
fn assert_store_empty(root: &TestRoot, what: &str) {
    let count = |p: &str| std::fs::read_dir(root.path.join(p)).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count("images/blobs/sha256"), 0, "{what}: a blob was left in the store");
    assert_eq!(count("layers"), 0, "{what}: a layer was left in the store");
    assert!(root.scratch_left().is_empty(), "{what}: tmp/ has {:?}", root.scratch_left());
    assert!(
        Store::open(&root.path).unwrap().list().unwrap().is_empty(),
        "{what}: an image was named"
    );
}

// ---- an open registry -------------------------------------------------------------------------

#[test]
fn push_then_pull_and_run() {
    if !have_root("push_then_pull_and_run") {
        return;
    }
    let reg = Registry::start("push-pull", "");
    let host = reg.host();
    let a = TestRoot::with_busybox("reg-push");
    let name = format!("{host}/x/busybox:v1");
    ok(&a, &["tag", "busybox", &name]);
    let out = ok(&a, &["push", &name]);
    let ours = Store::open(&a.path).unwrap().resolve("busybox").unwrap();
    assert!(out.contains(&format!("The push refers to repository [{host}/x/busybox]")), "{out}");
    assert!(out.contains(&format!("{}: Pushed", ours.manifest.layers[0].digest.short())), "{out}");
    assert!(
        out.contains(&format!(
            "v1: digest: {} size: {}",
            ours.manifest_desc.digest, ours.manifest_desc.size
        )),
        "{out}"
    );
    let out = ok(&a, &["push", &name]);
    assert!(
        out.contains(": Layer already exists") && !out.contains("Pushed"),
        "a second push sends nothing:\n{out}"
    );
    // Another repository of the same registry: the layer is mounted, not sent again.
    ok(&a, &["tag", "busybox", &format!("{host}/z/copy:v1")]);
    let out = ok(&a, &["push", &format!("{host}/z/copy:v1")]);
    assert!(out.contains(": Mounted from x/busybox"), "{out}");

    let b = TestRoot::new("reg-pull");
    let t = Instant::now();
    let out = ok(&b, &["pull", &name]);
    eprintln!("pull of busybox from the local registry: {:?}", t.elapsed());
    assert!(out.contains("v1: Pulling from x/busybox"), "{out}");
    assert!(
        out.contains(&format!("{}: Pull complete", ours.manifest.layers[0].digest.short())),
        "{out}"
    );
    assert!(out.contains(&format!("Digest: {}", ours.manifest_desc.digest)), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}")), "{out}");
    assert!(out.trim_end().ends_with(&name), "the full name last:\n{out}");
    let pulled = Store::open(&b.path).unwrap().resolve(&name).unwrap();
    assert_eq!(
        (&pulled.id, &pulled.manifest_desc.digest),
        (&ours.id, &ours.manifest_desc.digest),
        "the same image, byte for byte"
    );
    assert!(b.scratch_left().is_empty());
    runs_in_lesson03(&b, &name);

    let out = ok(&b, &["pull", &name]);
    assert!(
        out.contains(": Already exists")
            && out.contains(&format!("Status: Image is up to date for {name}")),
        "{out}"
    );
    let out = ok(&b, &["pull", &format!("{host}/z/copy:v1")]);
    assert!(
        out.contains(": Already exists") && out.contains("Status: Downloaded newer image"),
        "{out}"
    );
    let by_digest = format!("{host}/x/busybox@{}", ours.manifest_desc.digest);
    let c = TestRoot::new("reg-pull-digest");
    let out = ok(&c, &["pull", &by_digest]);
    assert!(
        out.contains(&format!("{}: Pulling from x/busybox", ours.manifest_desc.digest)),
        "{out}"
    );
    runs_in_lesson03(&c, &by_digest);

    let line = fails(&c, &["pull", &format!("{host}/x/busybox:nope")]);
    assert!(line.contains("manifest unknown") && line.contains("x/busybox:nope"), "{line}");
    assert!(c.scratch_left().is_empty());
}

#[test]
fn an_image_index_gives_this_hosts_manifest() {
    if !have_root("an_image_index_gives_this_hosts_manifest") {
        return;
    }
    let reg = Registry::start("index", "");
    let host = reg.host();
    // Two different images in one repository (imported twice: two creation times, two configs).
    let a = TestRoot::with_busybox("reg-index-a");
    ok(&a, &["import", common::busybox_tarball().to_str().unwrap(), "other:latest"]);
    ok(&a, &["tag", "busybox", &format!("{host}/x/busybox:mine")]);
    ok(&a, &["tag", "other", &format!("{host}/x/busybox:theirs")]);
    ok(&a, &["push", &format!("{host}/x/busybox:mine")]);
    ok(&a, &["push", &format!("{host}/x/busybox:theirs")]);
    let store = Store::open(&a.path).unwrap();
    let (mine, theirs) = (store.resolve("busybox").unwrap(), store.resolve("other").unwrap());
    assert_ne!(mine.id, theirs.id);

    // An index: this host's platform → mine, another → theirs, pushed as it is.
    let host_p = oci::host_platform();
    let other_arch = if host_p.architecture == "s390x" { "ppc64le" } else { "s390x" };
    let entry = |img: &minidocker::image::Image, arch: &str| serde_json::json!({"mediaType": oci::MANIFEST, "digest": img.manifest_desc.digest, "size": img.manifest_desc.size, "platform": {"architecture": arch, "os": "linux"}});
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": oci::INDEX, "manifests": [entry(&theirs, other_arch), entry(&mine, &host_p.architecture)]});
    let bytes = serde_json::to_vec(&index).unwrap();
    ureq::put(format!("http://{host}/v2/x/busybox/manifests/multi"))
        .header("Content-Type", oci::INDEX)
        .send(&bytes[..])
        .expect("the registry takes the index");

    let b = TestRoot::new("reg-index-b");
    let multi = format!("{host}/x/busybox:multi");
    let out = ok(&b, &["pull", &multi]);
    assert!(
        out.contains(&format!("Digest: {}", Digest::of(&bytes))),
        "Docker shows the index's digest:\n{out}"
    );
    let pulled = Store::open(&b.path).unwrap().resolve(&multi).unwrap();
    assert_eq!(pulled.id, mine.id, "this host's manifest was chosen");
    runs_in_lesson03(&b, &multi);

    let line = fails(&b, &["pull", "--platform", "linux/mips64le", &multi]);
    assert!(
        line.contains("no matching manifest for linux/mips64le") && line.contains(other_arch),
        "{line}"
    );
    let r = md(&b, &["pull", "--platform", &format!("linux/{other_arch}"), &multi]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.err.contains("WARNING: The requested image's platform"),
        "a foreign image is pulled with a warning:\n{}",
        r.err
    );
    assert_eq!(
        Store::open(&b.path).unwrap().resolve(&multi).unwrap().id,
        theirs.id,
        "--platform chooses the other entry"
    );
}

// ---- htpasswd (Basic) ---------------------------------------------------------------------------

#[test]
fn htpasswd_login_then_push() {
    if !have_root("htpasswd_login_then_push") {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("minidocker-registry-htpasswd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let line = tool(&["htpasswd", "-Bbn", "alice", "s3cret"]);
    std::fs::write(dir.join("htpasswd"), line).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: minidocker-test\n    path: {}\n",
        dir.join("htpasswd").display()
    );
    let reg = Registry::start_in(dir, &auth);
    let host = reg.host();
    let name = format!("{host}/team/busybox:v1");
    let a = TestRoot::with_busybox("reg-basic-a");
    ok(&a, &["tag", "busybox", &name]);

    let line = fails(&a, &["push", &name]);
    assert!(
        line.contains("authentication required")
            && line.contains(&format!("minidocker login {host}")),
        "{line}"
    );
    let r = login(&a, &host, "alice", "wrong");
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.err.contains("incorrect username or password"), "{}", r.err);
    assert!(!a.path.join("auth.json").exists(), "refused credentials are not stored");

    let r = login(&a, &host, "alice", "s3cret");
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("Login Succeeded"), "{}", r.out);
    let file = a.path.join("auth.json");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600,
        "the credentials file is 0600"
    );
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        stored["auths"][&host]["auth"].as_str(),
        Some(STANDARD.encode("alice:s3cret").as_str()),
        "Docker's config.json format"
    );
    let out = ok(&a, &["push", &name]);
    assert!(out.contains(": Pushed"), "{out}");

    let b = TestRoot::new("reg-basic-b");
    let line = fails(&b, &["pull", &name]);
    assert!(line.contains("authentication required"), "{line}");
    assert_store_empty(&b, "a refused pull");
    assert_eq!(login(&b, &host, "alice", "s3cret").code, 0);
    ok(&b, &["pull", &name]);
    runs_in_lesson03(&b, &name);

    let out = ok(&a, &["logout", &host]);
    assert!(out.contains(&format!("Removing login credentials for {host}")), "{out}");
    assert!(ok(&a, &["logout", &host]).contains("Not logged in"));
    fails(&a, &["push", &name]);
}

// ---- a token server (Bearer), in front of the real registry ----------------------------------

/// A request as the mini servers below see it.
struct Req {
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many bytes of the body, then hang up (Content-Length says all of it).
    cut: Option<usize>,
}

impl Resp {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Resp {
        Resp { status, headers: Vec::new(), body: body.into(), cut: None }
    }
    fn header(mut self, k: &str, v: &str) -> Resp {
        self.headers.push((k.into(), v.into()));
        self
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// An HTTP/1.1 server on 127.0.0.1, one request per connection, a thread each; stopped when
/// dropped.
struct MiniServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl MiniServer {
    fn start(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> MiniServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let _ = serve_one(conn, &*handler);
                });
            }
        });
        MiniServer { port, stop }
    }
}

impl Drop for MiniServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one(conn: TcpStream, handler: &dyn Fn(&Req) -> Resp) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) =
        (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k), percent_decode(v))
    });
    let req = Req { path: path.to_string(), query: query.collect(), headers };
    let resp = handler(&req);
    let mut w = conn;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = resp.cut.unwrap_or(resp.body.len());
        w.write_all(&resp.body[..n])?;
    }
    w.flush()?;
    let _ = w.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// A token server as Docker Hub's auth.docker.io: `GET /token?service=…&scope=…[&account=…]`,
/// anonymous (pull only) or with alice's Basic credentials (all asked for); the token is a
/// JWT (RS256, its certificate in `x5c`) the registry checks against the certificate it trusts.
struct TokenServer {
    server: MiniServer,
    cert: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
}

const ISSUER: &str = "minidocker-test-issuer";
const SERVICE: &str = "minidocker-test-registry";

impl TokenServer {
    fn start(dir: &Path) -> TokenServer {
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let (key_s, cert_s) =
            (key.to_str().unwrap().to_string(), cert.to_str().unwrap().to_string());
        tool(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key_s,
            "-out",
            &cert_s,
            "-days",
            "2",
            "-subj",
            &format!("/CN={ISSUER}"),
        ]);
        let der = tool(&["openssl", "x509", "-in", &cert_s, "-outform", "DER"]);
        let x5c = STANDARD.encode(der);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let server = MiniServer::start(move |req| {
            let user = match req.header("authorization").and_then(|a| a.strip_prefix("Basic ")) {
                None => None,
                Some(b)
                    if STANDARD.decode(b).ok().as_deref() == Some(b"alice:s3cret".as_slice()) =>
                {
                    Some("alice")
                }
                Some(_) => {
                    log.lock().unwrap().push("refused".to_string());
                    return Resp::new(401, r#"{"details":"incorrect username or password"}"#);
                }
            };
            let get = |k: &str| {
                req.query.iter().filter(|(q, _)| q == k).map(|(_, v)| v.clone()).collect::<Vec<_>>()
            };
            let mut access = Vec::new();
            for scope in get("scope") {
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                let granted: Vec<&str> =
                    actions.split(',').filter(|a| user.is_some() || *a == "pull").collect();
                access.push(serde_json::json!({"type": kind, "name": name, "actions": granted}));
            }
            log.lock().unwrap().push(format!(
                "{} service={} scope={} account={}",
                user.unwrap_or("anonymous"),
                get("service").join(","),
                get("scope").join(" "),
                get("account").join(",")
            ));
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
            let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
            let claims = serde_json::json!({"iss": ISSUER, "sub": user.unwrap_or(""), "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", access.len()), "access": access});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut sign = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign", &key_s])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            sign.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            let sig = sign.wait_with_output().unwrap().stdout;
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
            Resp::new(200, serde_json::json!({"token": token, "expires_in": 300}).to_string())
                .header("Content-Type", "application/json")
        });
        TokenServer { server, cert, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

#[test]
fn bearer_tokens_from_a_token_server() {
    if !have_root("bearer_tokens_from_a_token_server") {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("minidocker-registry-token-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = TokenServer::start(&dir);
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        tokens.server.port,
        tokens.cert.display()
    );
    let reg = Registry::start_in(dir, &auth);
    let host = reg.host();
    let name = format!("{host}/t/busybox:v1");
    let a = TestRoot::with_busybox("reg-token-a");
    ok(&a, &["tag", "busybox", &name]);

    // Anonymous: the token grants pull only, so the push is refused.
    let line = fails(&a, &["push", &name]);
    assert!(
        line.contains("unauthorized") && line.contains(&format!("minidocker login {host}")),
        "{line}"
    );
    assert!(
        tokens.requests().iter().any(|r| r.starts_with("anonymous")
            && r.contains(&format!("service={SERVICE}"))
            && r.contains("scope=repository:t/busybox:pull,push")),
        "{:?}",
        tokens.requests()
    );

    let r = login(&a, &host, "alice", "nope");
    assert_eq!(r.code, 1);
    assert!(r.err.contains("incorrect username or password"), "{}", r.err);
    let r = login(&a, &host, "alice", "s3cret");
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        tokens.requests().iter().any(|q| q.starts_with("alice") && q.contains("account=alice")),
        "login asks for a token with the credentials: {:?}",
        tokens.requests()
    );
    let out = ok(&a, &["push", &name]);
    assert!(out.contains(": Pushed") && out.contains("v1: digest: sha256:"), "{out}");

    // Pulling anonymously is allowed by this token server.
    let b = TestRoot::new("reg-token-b");
    let out = ok(&b, &["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    runs_in_lesson03(&b, &name);
    // A wrong stored password: the token server refuses, in one line.
    std::fs::write(
        b.path.join("auth.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, STANDARD.encode("alice:stale")),
    )
    .unwrap();
    let line = fails(&b, &["pull", &name]);
    assert!(line.contains("incorrect username or password"), "{line}");
}

// ---- many layers; a registry that lies ------------------------------------------------------

/// `layered:latest` in `root` (which has busybox): busybox's layer and `extra` more, each
/// adding `/layerN.txt`.
fn layered_image(root: &TestRoot, extra: usize) -> minidocker::image::Image {
    let store = Store::open(&root.path).unwrap();
    let _lock = store.lock().unwrap();
    let base = store.resolve("busybox").unwrap();
    let (mut layers, mut config) = (base.manifest.layers.clone(), base.config.clone());
    for i in 0..extra {
        // Incompressible enough that a layer takes a moment: 256 KiB of a simple LCG.
        let mut x = 0x2545_f491_4f6c_dd1du64 ^ i as u64;
        let data: Vec<u8> = (0..256 << 10)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, format!("layer{i}.bin"), &data[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        let text = format!("layer {i}\n");
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, format!("layer{i}.txt"), text.as_bytes()).unwrap();
        let (desc, unpacked) = store.add_layer(&b.into_inner().unwrap()[..]).unwrap();
        layers.push(desc);
        config.rootfs.diff_ids.push(unpacked.diff_id);
    }
    let name = minidocker::image::Reference::parse("layered:latest").unwrap();
    store.put_image(&config, layers, Some(&name)).unwrap()
}

#[test]
fn many_layers_go_three_at_a_time() {
    if !have_root("many_layers_go_three_at_a_time") {
        return;
    }
    let reg = Registry::start("layers", "");
    let host = reg.host();
    let a = TestRoot::with_busybox("reg-layers-a");
    let img = layered_image(&a, 5);
    let name = format!("{host}/p/layered:v1");
    ok(&a, &["tag", "layered", &name]);
    let out = ok(&a, &["push", &name]);
    assert_eq!(out.matches(": Pushed").count(), 6, "{out}");

    // The base layer is there already (busybox, imported from the same tarball).
    let b = TestRoot::with_busybox("reg-layers-b");
    let out = ok(&b, &["pull", &name]);
    assert_eq!(out.matches(": Already exists").count(), 1, "{out}");
    assert_eq!(out.matches(": Pull complete").count(), 5, "{out}");
    let script = "cat /layer0.txt /layer4.txt";
    let (code, out, err) =
        run(b.cmd(&LESSON03).args(["--image", &name, "--", "/bin/sh", "-c", script]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("layer 0") && out.contains("layer 4"),
        "every layer is in the rootfs:\n{out}"
    );

    // How many downloads at once: a slow fake registry counts them.
    let fake = fake_registry(&a, &img, Lie::None, Duration::from_millis(400));
    let c = TestRoot::new("reg-layers-c");
    ok(&c, &["pull", &format!("127.0.0.1:{}/f/busybox:v1", fake.port)]);
    let most = fake.most_at_once.load(Ordering::SeqCst);
    eprintln!("layers downloading at once: at most {most}");
    assert!(
        (2..=3).contains(&most),
        "layers download in parallel, at most three at a time: {most} at once"
    );
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    None,
    TamperedLayer,
    TamperedConfig,
    TruncatedLayer,
    ShortLayer,
    ServerError,
}

struct Fake {
    server: MiniServer,
    port: u16,
    most_at_once: Arc<std::sync::atomic::AtomicUsize>,
}

/// A fake registry serving `img` of `root` as `f/busybox:v1`, its layers through a redirect
/// to `/cdn/…` (as registries backed by object storage do), each taking `delay`; it lies about
/// the config or the top layer as told.
fn fake_registry(
    root: &TestRoot,
    img: &minidocker::image::Image,
    lie: Lie,
    delay: Duration,
) -> Fake {
    use std::sync::atomic::AtomicUsize;
    let store = Store::open(&root.path).unwrap();
    let manifest = store.read_blob(&img.manifest_desc.digest).unwrap();
    let config = (img.id.clone(), store.read_blob(&img.id).unwrap());
    let layers: Vec<(Digest, Vec<u8>)> = img
        .manifest
        .layers
        .iter()
        .map(|l| (l.digest.clone(), store.read_blob(&l.digest).unwrap()))
        .collect();
    let liar = layers.last().unwrap().0.clone();
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let most_at_once = most.clone();
    let server = MiniServer::start(move |req| {
        let flip = |b: &[u8]| {
            let mut v = b.to_vec();
            let i = v.len() / 2;
            v[i] ^= 0x55;
            v
        };
        let path = req.path.as_str();
        if path == "/v2/" {
            return Resp::new(200, "{}");
        }
        if path == "/v2/f/busybox/manifests/v1" {
            return Resp::new(200, manifest.clone()).header("Content-Type", oci::MANIFEST);
        }
        if path == format!("/v2/f/busybox/blobs/{}", config.0) {
            return Resp::new(
                200,
                if lie == Lie::TamperedConfig { flip(&config.1) } else { config.1.clone() },
            );
        }
        for (d, bytes) in &layers {
            if path == format!("/v2/f/busybox/blobs/{d}") {
                return match lie {
                    Lie::ServerError if *d == liar => Resp::new(
                        500,
                        r#"{"errors":[{"code":"UNKNOWN","message":"the disk is on fire"}]}"#,
                    ),
                    _ => Resp::new(307, "").header("Location", &format!("/cdn/{}", d.hex())),
                };
            }
            if path == format!("/cdn/{}", d.hex()) {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                // The liar answers last, after the honest layers are in the store.
                std::thread::sleep(if *d == liar && lie != Lie::None { delay * 4 } else { delay });
                now.fetch_sub(1, Ordering::SeqCst);
                if *d != liar {
                    return Resp::new(200, bytes.clone());
                }
                return match lie {
                    Lie::TamperedLayer => Resp::new(200, flip(bytes)),
                    Lie::TruncatedLayer => {
                        Resp { cut: Some(bytes.len() / 2), ..Resp::new(200, bytes.clone()) }
                    }
                    Lie::ShortLayer => Resp::new(200, bytes[..bytes.len() / 2].to_vec()),
                    _ => Resp::new(200, bytes.clone()),
                };
            }
        }
        Resp::new(404, r#"{"errors":[{"code":"NOT_FOUND","message":"no such thing"}]}"#)
    });
    let port = server.port;
    Fake { server, port, most_at_once }
}

#[test]
fn a_lying_registry_leaves_nothing_behind() {
    if !have_root("a_lying_registry_leaves_nothing_behind") {
        return;
    }
    // Three layers: the two honest ones are downloaded and unpacked before the lie about the
    // top one is found (it is slower), and must be removed again too.
    let src = TestRoot::with_busybox("reg-fake-src");
    let img = layered_image(&src, 2);
    let top = img.manifest.layers.last().unwrap().digest.clone();
    for (lie, says) in [
        (Lie::TamperedLayer, "does not match its digest"),
        (Lie::TamperedConfig, "does not match its digest"),
        (Lie::TruncatedLayer, top.short()),
        (Lie::ShortLayer, "where the manifest says"),
        (Lie::ServerError, "the disk is on fire"),
    ] {
        let fake = fake_registry(&src, &img, lie, Duration::from_millis(50));
        let root = TestRoot::new(&format!("reg-fake-{lie:?}"));
        let line = fails(&root, &["pull", &format!("127.0.0.1:{}/f/busybox:v1", fake.port)]);
        assert!(line.contains(says), "{lie:?}: {line}");
        assert_store_empty(&root, &format!("{lie:?}"));
    }

    // The honest fake: the same pull works, the layers fetched through the redirect.
    let fake = fake_registry(&src, &img, Lie::None, Duration::ZERO);
    let root = TestRoot::new("reg-fake-honest");
    let name = format!("127.0.0.1:{}/f/busybox:v1", fake.port);
    let out = ok(&root, &["pull", &name]);
    assert!(out.contains(&format!("{}: Pull complete", top.short())), "{out}");
    assert_eq!(Store::open(&root.path).unwrap().resolve(&name).unwrap().id, img.id);
    assert!(root.scratch_left().is_empty());
    drop(fake.server);
}

// ---- skopeo -----------------------------------------------------------------------------------

#[test]
fn skopeo_pushes_what_we_pull_and_reads_what_we_push() {
    if !have_root("skopeo_pushes_what_we_pull_and_reads_what_we_push") {
        return;
    }
    let reg = Registry::start("skopeo", "");
    let host = reg.host();
    let a = TestRoot::with_busybox("reg-skopeo-a");
    let layout = a.path.join("images");
    tool(&[
        "skopeo",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:busybox:latest", layout.display()),
        &format!("docker://{host}/y/busybox:v1"),
    ]);
    let b = TestRoot::new("reg-skopeo-b");
    let name = format!("{host}/y/busybox:v1");
    let out = ok(&b, &["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    runs_in_lesson03(&b, &name);

    let ours = format!("{host}/m/busybox:v2");
    ok(&a, &["tag", "busybox", &ours]);
    ok(&a, &["push", &ours]);
    let img = Store::open(&a.path).unwrap().resolve(&ours).unwrap();
    let inspect = String::from_utf8(tool(&[
        "skopeo",
        "inspect",
        "--tls-verify=false",
        &format!("docker://{ours}"),
    ]))
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(json["Digest"].as_str(), Some(img.manifest_desc.digest.as_str()), "{inspect}");
    assert_eq!(
        json["Layers"][0].as_str(),
        Some(img.manifest.layers[0].digest.as_str()),
        "{inspect}"
    );
    assert_eq!(json["Architecture"].as_str(), Some(img.config.architecture.as_str()));
}
