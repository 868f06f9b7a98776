//! A hostile registry of our own on 127.0.0.1, and a second port playing a foreign host:
//! credentials go only to the scheme, host and port that asked for them (across blob
//! redirects, upload locations and token realms), a redirect within the registry keeps them,
//! only http(s) locations are followed, and nothing a server says reaches the terminal with
//! its control characters.

mod common;

use common::{run, TestRoot};
use minidocker::image::{oci, Digest};
use minidocker::registry::auth::{self, Credentials};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A request as the servers below saw it.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    authorization: Option<String>,
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn resp(status: u16, body: impl Into<Vec<u8>>) -> Resp {
    Resp { status, headers: Vec::new(), body: body.into() }
}

impl Resp {
    fn header(mut self, k: &str, v: &str) -> Resp {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// An HTTP/1.1 server on 127.0.0.1 (one request per connection, a thread each) that records
/// every request. It lives as long as the test process.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    fn start(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (handler, log) = (Arc::new(handler), seen.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (handler, log) = (handler.clone(), log.clone());
                std::thread::spawn(move || serve(conn, &*handler, &log));
            }
        });
        Server { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests that carried an `Authorization`.
    fn with_credentials(&self) -> Vec<Req> {
        self.requests().into_iter().filter(|r| r.authorization.is_some()).collect()
    }
}

fn serve(conn: TcpStream, handler: &dyn Fn(&Req) -> Resp, log: &Mutex<Vec<Req>>) {
    let Ok(clone) = conn.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (mut len, mut authorization) = (0usize, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((&h, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let _ = std::io::copy(&mut (&mut reader).take(len as u64), &mut std::io::sink());
    let path = target.split('?').next().unwrap_or("").to_string();
    let req = Req { method: method.clone(), path, authorization };
    log.lock().unwrap().push(req.clone());
    let r = handler(&req);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut w = conn;
    let _ = w.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = w.write_all(&r.body);
    }
    let _ = w.flush();
}

/// A one-layer image (a plain tar with `/hello.txt`): manifest, config and layer.
struct Image {
    manifest: Vec<u8>,
    config: (Digest, Vec<u8>),
    layer: (Digest, Vec<u8>),
}

fn image() -> Image {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    tar.append_data(&mut h, "hello.txt", &b"hi\n"[..]).unwrap();
    let layer = tar.into_inner().unwrap();
    let ld = Digest::of(&layer);
    let arch = oci::host_platform().architecture;
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [ld.as_str()]},
        "config": {"Cmd": ["/bin/sh"]}
    })
    .to_string()
    .into_bytes();
    let cd = Digest::of(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": oci::MANIFEST,
        "config": {"mediaType": oci::CONFIG, "digest": cd.as_str(), "size": config.len()},
        "layers": [{"mediaType": oci::LAYER_TAR, "digest": ld.as_str(), "size": layer.len()}]
    })
    .to_string()
    .into_bytes();
    Image { manifest, config: (cd, config), layer: (ld, layer) }
}

const ALICE: &str = "alice:s3cret";

fn is_alice(r: &Req) -> bool {
    use base64::Engine as _;
    let want = base64::engine::general_purpose::STANDARD.encode(ALICE);
    r.authorization.as_deref() == Some(&format!("Basic {want}"))
}

/// A registry behind Basic authentication (alice) serving `image()` as `h/img:v1`; its
/// layer answers with `layer_at` (a redirect, usually).
fn registry(layer_at: impl Fn() -> Resp + Send + Sync + 'static) -> Server {
    let img = image();
    Server::start(move |r| {
        let denied = || {
            resp(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
                .header("WWW-Authenticate", r#"Basic realm="registry""#)
        };
        if !is_alice(r) {
            return denied();
        }
        let blob = |d: &Digest| format!("/v2/h/img/blobs/{d}");
        match r.path.as_str() {
            "/v2/" => resp(200, "{}"),
            "/v2/h/img/manifests/v1" => {
                resp(200, img.manifest.clone()).header("Content-Type", oci::MANIFEST)
            }
            p if p == blob(&img.config.0) => resp(200, img.config.1.clone()),
            p if p == blob(&img.layer.0) => layer_at(),
            p if p == format!("/cdn/{}", img.layer.0.hex()) => resp(200, img.layer.1.clone()),
            _ => resp(404, r#"{"errors":[{"code":"NOT_FOUND"}]}"#),
        }
    })
}

/// A root where alice is logged in to each of `servers`.
fn root_logged_in(test: &str, servers: &[&Server]) -> TestRoot {
    let root = TestRoot::new(test);
    let (user, password) = ALICE.split_once(':').unwrap();
    let creds = Credentials { username: user.into(), password: password.into() };
    for s in servers {
        auth::store_in(&root.path.join("auth.json"), &format!("127.0.0.1:{}", s.port), &creds)
            .unwrap();
    }
    root
}

fn md(root: &TestRoot, args: &[&str]) -> (i32, String, String) {
    run(root.minidocker().args(args))
}

/// No escape, bell or carriage return of a server's reaches the terminal.
fn assert_no_control(stderr: &str) {
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "control characters reached the terminal: {stderr:?}"
    );
}

#[test]
fn credentials_never_reach_a_foreign_host() {
    if !common::have_root("credentials_never_reach_a_foreign_host") {
        return;
    }
    // The foreign host asks for a token from a "token server" of its own, with an error
    // message that would clear the screen and forge a line.
    let realm = Arc::new(Mutex::new(String::new()));
    let challenge = realm.clone();
    let foreign = Server::start(move |r| {
        if r.path == "/token" {
            return resp(200, r#"{"token":"t"}"#);
        }
        let body =
            r#"{"errors":[{"code":"DENIED","message":"\u001b[2J\u001b]0;owned\u0007\rforged"}]}"#;
        resp(401, body).header("WWW-Authenticate", &challenge.lock().unwrap())
    });
    *realm.lock().unwrap() = format!(r#"Bearer realm="{}",service="evil""#, foreign.url("/token"));
    // The registry sends the layer to the foreign host, which challenges with its own realm.
    let cdn = foreign.url("/cdn/layer");
    let registry = registry(move || resp(307, "").header("Location", &cdn));
    let root = root_logged_in("hostile-foreign", &[&registry]);
    let name = format!("127.0.0.1:{}/h/img:v1", registry.port);
    let (code, _, err) = md(&root, &["pull", &name]);
    assert_ne!(code, 0, "the foreign host served nothing: {err}");
    assert!(err.lines().count() == 1, "one line: {err}");
    assert!(err.contains("credentials are only sent to 127.0.0.1:"), "{err}");
    assert_no_control(&err);
    assert!(foreign.requests().iter().any(|r| r.path == "/cdn/layer"), "{:?}", foreign.requests());
    assert_eq!(foreign.with_credentials().len(), 0, "credentials sent to the foreign host");
    assert!(registry.with_credentials().len() >= 3, "the registry itself got them");
}

#[test]
fn a_redirect_within_the_registry_keeps_the_credentials() {
    if !common::have_root("a_redirect_within_the_registry_keeps_the_credentials") {
        return;
    }
    let img = image();
    let registry =
        registry(move || resp(307, "").header("Location", &format!("/cdn/{}", img.layer.0.hex())));
    let root = root_logged_in("hostile-samehost", &[&registry]);
    let name = format!("127.0.0.1:{}/h/img:v1", registry.port);
    let (code, out, err) = md(&root, &["pull", &name]);
    assert_eq!(code, 0, "{out}{err}");
    let cdn: Vec<Req> =
        registry.requests().into_iter().filter(|r| r.path.starts_with("/cdn/")).collect();
    assert!(!cdn.is_empty() && cdn.iter().all(is_alice), "{cdn:?}");
}

#[test]
fn file_locations_are_refused() {
    if !common::have_root("file_locations_are_refused") {
        return;
    }
    let registry = registry(|| resp(302, "").header("Location", "file:///etc/passwd"));
    let root = root_logged_in("hostile-file", &[&registry]);
    let name = format!("127.0.0.1:{}/h/img:v1", registry.port);
    let (code, _, err) = md(&root, &["pull", &name]);
    assert_ne!(code, 0);
    assert!(err.contains("file:///etc/passwd") && err.contains("only http and https"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn uploads_to_another_host_carry_no_credentials() {
    if !common::have_root("uploads_to_another_host_carry_no_credentials") {
        return;
    }
    // First an image in the store, pulled from a registry of ours.
    let img = image();
    let source = registry(move || resp(200, img.layer.1.clone()));
    // The upload host: takes any PUT.
    let foreign = Server::start(|r| match r.method.as_str() {
        "PUT" => resp(201, ""),
        _ => resp(404, ""),
    });
    // A registry whose uploads go to the foreign host, or to `file:` (the second round).
    let upload_at = Arc::new(Mutex::new(foreign.url("/upload/1")));
    let at = upload_at.clone();
    let target = Server::start(move |r| {
        if !is_alice(r) {
            return resp(401, "").header("WWW-Authenticate", r#"Basic realm="registry""#);
        }
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/v2/") => resp(200, "{}"),
            ("HEAD", _) => resp(404, ""),
            ("POST", "/v2/h/img/blobs/uploads/") => {
                resp(202, "").header("Location", &at.lock().unwrap())
            }
            ("PUT", "/v2/h/img/manifests/v1") => resp(201, ""),
            _ => resp(404, ""),
        }
    });
    let root = root_logged_in("hostile-upload", &[&source, &target]);
    let (from, to) = (
        format!("127.0.0.1:{}/h/img:v1", source.port),
        format!("127.0.0.1:{}/h/img:v1", target.port),
    );
    let (code, _, err) = md(&root, &["pull", &from]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(&root, &["tag", &from, &to]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = md(&root, &["push", &to]);
    assert_eq!(code, 0, "{out}{err}");
    let puts: Vec<Req> = foreign.requests().into_iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 2, "the layer and the config went to the upload host: {puts:?}");
    assert_eq!(foreign.with_credentials().len(), 0, "credentials sent to the upload host");

    *upload_at.lock().unwrap() = "file:///tmp/upload".into();
    let (code, _, err) = md(&root, &["push", &to]);
    assert_ne!(code, 0);
    assert!(err.contains("file:///tmp/upload") && err.contains("only http and https"), "{err}");
}

#[test]
fn a_long_platform_list_is_brief_and_clean() {
    if !common::have_root("a_long_platform_list_is_brief_and_clean") {
        return;
    }
    let entries: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            serde_json::json!({
                "mediaType": oci::MANIFEST,
                "digest": Digest::of(format!("{i}").as_bytes()).as_str(),
                "size": 10,
                "platform": {"os": "plan9\u{1b}[2J", "architecture": format!("mips{i}")}
            })
        })
        .collect();
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": oci::INDEX, "manifests": entries})
            .to_string();
    let server = Server::start(move |r| match r.path.as_str() {
        "/v2/" => resp(200, "{}"),
        "/v2/h/img/manifests/v1" => resp(200, index.clone()).header("Content-Type", oci::INDEX),
        _ => resp(404, ""),
    });
    let root = TestRoot::new("hostile-platforms");
    let (code, _, err) = md(&root, &["pull", &format!("127.0.0.1:{}/h/img:v1", server.port)]);
    assert_ne!(code, 0);
    assert!(err.contains("no matching manifest") && err.contains("300 platforms"), "{err}");
    assert!(err.len() < 500, "{} bytes: {err}", err.len());
    assert_no_control(&err);
}

#[test]
fn an_interrupted_add_download_says_so() {
    if !common::have_root("an_interrupted_add_download_says_so") {
        return;
    }
    // A server that promises a megabyte, sends ten bytes and goes silent.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n0123456789");
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    });
    let root = TestRoot::with_busybox("hostile-add");
    let ctx = root.path.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox\nADD http://127.0.0.1:{port}/big.bin /big.bin\n"),
    )
    .unwrap();
    let child = root
        .minidocker()
        .args(["build", "-t", "add", ctx.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let sent = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(sent.elapsed().as_secs() < 5, "Ctrl-C took {:?} to stop the build", sent.elapsed());
    assert!(err.contains("interrupted by SIGINT") && err.contains("big.bin"), "{err}");
    assert!(!err.contains("Interrupted system call"), "{err}");
}

#[test]
fn on_a_terminal_the_error_is_not_glued_to_the_progress_line() {
    if !common::have_root("on_a_terminal_the_error_is_not_glued_to_the_progress_line") {
        return;
    }
    // The layer fails after a moment, while its bar is on screen.
    let registry = registry(|| {
        std::thread::sleep(std::time::Duration::from_millis(700));
        resp(500, r#"{"errors":[{"code":"UNKNOWN","message":"the disk is on fire"}]}"#)
    });
    let root = root_logged_in("hostile-tty", &[&registry]);
    let pull = root.minidocker();
    let mut script = std::process::Command::new("script");
    for (k, v) in pull.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    let line =
        format!("{} pull 127.0.0.1:{}/h/img:v1", env!("CARGO_BIN_EXE_minidocker"), registry.port);
    // `script` runs the pull on a pseudo-terminal and copies what it draws.
    let (_, screen, _) = run(script.args(["-qec", &line, "/dev/null"]));
    let at = screen.find("minidocker: error:").unwrap_or_else(|| panic!("{screen:?}"));
    assert!(screen[..at].ends_with('\n'), "the error is glued to a line: {:?}", &screen[..at]);
    assert!(screen.contains("the disk is on fire"), "{screen:?}");
}

#[test]
fn add_downloads_have_a_size_limit_and_no_file_schemes() {
    // The library call `ADD <url>` makes, with a small limit: a body beyond it is refused
    // and the partial file removed.
    let server = Server::start(|_| resp(200, vec![b'x'; 300_000]));
    let dir = std::env::temp_dir().join(format!("minidocker-add-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let to = dir.join("big");
    let download = minidocker::registry::client::download;
    let e = format!("{:#}", download(&server.url("/big"), &to, 100_000).unwrap_err());
    assert!(e.contains("larger than") && !to.exists(), "{e}");
    assert_eq!(download(&server.url("/big"), &to, 300_000).unwrap(), 300_000);
    assert_eq!(std::fs::metadata(&to).unwrap().len(), 300_000);
    let e = format!("{:#}", download("file:///etc/passwd", &dir.join("p"), 100).unwrap_err());
    assert!(e.contains("not an http(s) URL"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
