//! `minidocker build` end to end, as a user sees it: the classic builder's output (`Step 3/7 :`,
//! ` ---> Using cache`, ` ---> <id>`, `Successfully built`), the image it makes (its files,
//! run with lesson 03; its config and history, from the store's files and `minidocker
//! history`), the cache, and the errors — one line each, with the Dockerfile's line — after
//! which, as after Ctrl-C, nothing is left behind.
//!
//! Each test has its own store (busybox imported) and its own context directory.

mod common;

use common::{have_root, run, TestRoot};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Lesson 03 runs a command in an image: how these tests look inside what a build made.
/// The lesson's binary, found through the library's list of lessons.
static RUNNER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("03"));

// ---- helpers ----------------------------------------------------------------------------

/// A build context of the test's own: `<tmp>/minidocker-buildctx-TEST-PID/ctx`, with room
/// beside it for files *outside* the context. Removed when dropped.
struct Ctx {
    top: PathBuf,
    dir: PathBuf,
}

impl Ctx {
    fn new(test: &str) -> Ctx {
        let top =
            std::env::temp_dir().join(format!("minidocker-buildctx-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        let dir = top.join("ctx");
        std::fs::create_dir_all(&dir).unwrap();
        Ctx { top, dir }
    }

    /// Write a file of the context (parents created).
    fn write(&self, rel: &str, content: &str) -> &Ctx {
        self.write_bytes(rel, content.as_bytes())
    }

    fn write_bytes(&self, rel: &str, content: &[u8]) -> &Ctx {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        self
    }

    fn dockerfile(&self, text: &str) -> &Ctx {
        self.write("Dockerfile", text)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

/// `minidocker build ARGS… CONTEXT`.
fn build(root: &TestRoot, ctx: &Ctx, args: &[&str]) -> (i32, String, String) {
    run(root.minidocker().arg("build").args(args).arg(&ctx.dir))
}

/// A build that must succeed; its stdout.
fn build_ok(root: &TestRoot, ctx: &Ctx, args: &[&str]) -> String {
    let (code, out, err) = build(root, ctx, args);
    assert_eq!(code, 0, "the build failed:\n{out}\n{err}");
    out
}

/// A build that must fail with exactly one line on stderr; that line (and stdout).
fn build_fails(root: &TestRoot, ctx: &Ctx, args: &[&str]) -> (String, String) {
    let (code, out, err) = build(root, ctx, args);
    assert_ne!(code, 0, "the build should have failed:\n{out}\n{err}");
    assert_eq!(err.lines().count(), 1, "one error line expected on stderr:\n{err}");
    assert!(!out.contains("Successfully built"), "{out}");
    (err.trim_end().to_string(), out)
}

/// The output of `script` run by /bin/sh in `image` (lesson 03), between markers so that the
/// lesson's own commentary is left out.
fn in_image(root: &TestRoot, image: &str, script: &str) -> String {
    let wrapped = format!("echo @@BEGIN@@; {script}; echo @@END@@");
    let (code, out, err) =
        run(root.cmd(&RUNNER).args(["--image", image, "--", "/bin/sh", "-c", &wrapped]));
    assert_eq!(code, 0, "running in {image}:\n{out}\n{err}");
    let begin =
        out.find("@@BEGIN@@\n").unwrap_or_else(|| panic!("no output from the container:\n{out}"))
            + "@@BEGIN@@\n".len();
    let end = out[begin..].find("@@END@@").expect("the end marker") + begin;
    out[begin..end].to_string()
}

/// One `Step N/M : …` block of the build output.
#[derive(Debug)]
struct Step {
    n: usize,
    total: usize,
    text: String,
    cached: bool,
    ran: bool,
    /// The last ` ---> <12 hex>` of the block: the image the step left.
    id: Option<String>,
}

fn is_short_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn steps(out: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Step ") {
            let (counts, text) = rest
                .split_once(" : ")
                .unwrap_or_else(|| panic!("a step line without ' : ': {line}"));
            let (n, total) = counts.split_once('/').unwrap();
            steps.push(Step {
                n: n.parse().unwrap(),
                total: total.parse().unwrap(),
                text: text.to_string(),
                cached: false,
                ran: false,
                id: None,
            });
            continue;
        }
        let Some(step) = steps.last_mut() else { continue };
        if line == " ---> Using cache" {
            step.cached = true;
        } else if let Some(id) = line.strip_prefix(" ---> Running in ") {
            assert!(is_short_id(id), "{line}");
            step.ran = true;
        } else if let Some(id) = line.strip_prefix(" ---> ").filter(|id| is_short_id(id)) {
            step.id = Some(id.to_string());
        }
    }
    for (i, s) in steps.iter().enumerate() {
        assert_eq!((s.n, s.total), (i + 1, steps.len()), "steps numbered 1..N of N:\n{out}");
    }
    steps
}

/// `Successfully built <id>`: the ID, checked to be 12 hex digits.
fn built_id(out: &str) -> String {
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("Successfully built "))
        .unwrap_or_else(|| panic!("no 'Successfully built':\n{out}"));
    assert!(is_short_id(id), "{id}");
    id.to_string()
}

/// The image config of `name` (e.g. `demo:1`), read from the store's own files.
fn config(root: &TestRoot, name: &str) -> serde_json::Value {
    let blob = |digest: &str| -> serde_json::Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(
            &std::fs::read(root.path.join("images/blobs/sha256").join(hex)).unwrap(),
        )
        .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path.join("images/index.json")).unwrap())
            .unwrap();
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in images/index.json: {index:#}"));
    let manifest = blob(desc["digest"].as_str().unwrap());
    blob(manifest["config"]["digest"].as_str().unwrap())
}

/// Is `name` a name in the store's index?
fn tagged(root: &TestRoot, name: &str) -> bool {
    let index = std::fs::read_to_string(root.path.join("images/index.json")).unwrap();
    index.contains(&format!("\"{name}\""))
}

/// `minidocker history --no-trunc IMAGE`, oldest first: (IMAGE, CREATED BY, SIZE) per row.
fn history(root: &TestRoot, image: &str) -> Vec<(String, String, String)> {
    let (code, out, err) = run(root.minidocker().args(["history", "--no-trunc", image]));
    assert_eq!(code, 0, "{out}\n{err}");
    let mut lines = out.lines();
    let head = lines.next().unwrap();
    let col = |name: &str| head.find(name).unwrap_or_else(|| panic!("no {name} column: {head}"));
    let (by, size, comment) = (col("CREATED BY"), col("SIZE"), col("COMMENT"));
    let mut rows: Vec<(String, String, String)> = lines
        .map(|l| {
            let chars: Vec<char> = l.chars().collect();
            let cut = |a: usize, b: usize| {
                chars[a.min(chars.len())..b.min(chars.len())]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string()
            };
            (cut(0, 12), cut(by, size), cut(size, comment))
        })
        .collect();
    rows.reverse();
    rows
}

fn assert_clean(root: &TestRoot) {
    assert_eq!(
        root.host_mounts(),
        Vec::<String>::new(),
        "mounts left under the root in the host's mount table"
    );
    assert_eq!(root.scratch_left(), Vec::<String>::new(), "scratch directories left in tmp/");
}

/// A ustar archive made by hand, so that it may hold what tools refuse to write (`../x`).
fn tar_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut h = [0u8; 512];
        let kind = if name.ends_with('/') { b'5' } else { b'0' };
        let size = if kind == b'5' { 0 } else { data.len() };
        let field = |h: &mut [u8; 512], at: usize, len: usize, s: &str| {
            h[at..at + s.len().min(len)].copy_from_slice(&s.as_bytes()[..s.len().min(len)])
        };
        field(&mut h, 0, 100, name);
        field(&mut h, 100, 8, if kind == b'5' { "0000755" } else { "0000644" });
        field(&mut h, 108, 8, "0000000");
        field(&mut h, 116, 8, "0000000");
        field(&mut h, 124, 12, &format!("{size:011o}"));
        field(&mut h, 136, 12, "14000000000");
        h[156] = kind;
        field(&mut h, 257, 8, "ustar\x0000");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        field(&mut h, 148, 8, &format!("{sum:06o}\0 "));
        out.extend_from_slice(&h);
        if kind == b'0' {
            out.extend_from_slice(data.as_bytes());
            out.resize(out.len().next_multiple_of(512), 0);
        }
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

// ---- a build and the image it makes ----------------------------------------------------

#[test]
fn a_small_dockerfile_builds_a_tagged_image_with_its_files_and_config() {
    if !have_root("a_small_dockerfile_builds_a_tagged_image_with_its_files_and_config") {
        return;
    }
    let root = TestRoot::with_busybox("build-small");
    let ctx = Ctx::new("small");
    ctx.write("hello.txt", "hello from the context\n").write("sub/f.conf", "conf\n").dockerfile(
        "FROM busybox
WORKDIR /app
COPY --chown=1000:1000 --chmod=640 hello.txt .
COPY sub/ rel/
ENV NAME=world
RUN echo $NAME > /x && pwd > where && echo made > made.txt
EXPOSE 8080
LABEL org.example.k=v
CMD [\"cat\", \"/x\"]
",
    );
    let out = build_ok(&root, &ctx, &["-t", "demo:1"]);

    // The classic builder's output: a step per instruction, an image after each.
    let s = steps(&out);
    assert_eq!(s.len(), 9, "{out}");
    assert_eq!(s[0].text, "FROM busybox");
    assert_eq!(s[2].text, "COPY --chown=1000:1000 --chmod=640 hello.txt .");
    assert_eq!(s[8].text, "CMD [\"cat\", \"/x\"]");
    assert!(
        s.iter().all(|s| !s.cached && s.id.is_some()),
        "every step leaves an image, none from the cache:\n{out}"
    );
    assert!(
        s[5].ran && out.contains(" ---> Removed intermediate container "),
        "RUN runs a container:\n{out}"
    );
    assert_eq!(s.iter().filter(|s| s.ran).count(), 1, "only RUN runs a container:\n{out}");
    let id = built_id(&out);
    assert_eq!(
        s[8].id.as_deref(),
        Some(id.as_str()),
        "the last step's image is the one built:\n{out}"
    );
    assert!(out.contains("\nSuccessfully tagged demo:1\n"), "{out}");
    assert!(out.starts_with("Sending build context to minidocker "), "{out}");

    // The config: in the store's index under its name, with what the instructions set.
    let cfg = config(&root, "demo:1");
    let c = &cfg["config"];
    assert!(c["Env"].as_array().unwrap().iter().any(|e| e == "NAME=world"), "{c:#}");
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(c["Cmd"], serde_json::json!(["cat", "/x"]));
    assert!(c["ExposedPorts"].get("8080/tcp").is_some(), "{c:#}");
    assert_eq!(c["Labels"]["org.example.k"], "v");
    assert_eq!(
        cfg["rootfs"]["diff_ids"].as_array().unwrap().len(),
        4,
        "busybox's layer + COPY, COPY, RUN: {cfg:#}"
    );

    // History: one row per instruction after FROM, over busybox's; 0B for configuration.
    let h = history(&root, "demo:1");
    assert_eq!(h.len(), 9, "{h:#?}");
    assert!(h[0].1.starts_with("minidocker import"), "{h:#?}");
    assert_eq!(h[8].0, id, "the newest row is the image built");
    for (row, (kw, makes_layer)) in h[1..].iter().zip([
        ("WORKDIR", false),
        ("COPY", true),
        ("COPY", true),
        ("ENV", false),
        ("RUN", true),
        ("EXPOSE", false),
        ("LABEL", false),
        ("CMD", false),
    ]) {
        let shown = if kw == "RUN" { "echo $NAME > /x".to_string() } else { "#(nop) ".to_string() };
        assert!(row.1.contains(&shown) && (kw == "RUN" || row.1.contains(kw)), "{kw}: {row:?}");
        assert!(is_short_id(&row.0), "each step's image is still in the store: {row:?}");
        if makes_layer {
            assert_ne!(row.2, "0B", "{kw} made a layer: {row:?}");
        } else {
            assert_eq!(row.2, "0B", "{kw} only changes the config: {row:?}");
        }
    }

    // The files: COPY's owner and mode, WORKDIR for RUN and a relative COPY, ENV in RUN.
    let files = in_image(&root, "demo:1", "stat -c '%u:%g %a %n' /app/hello.txt; cat /app/hello.txt /x /app/where /app/made.txt /app/rel/f.conf; stat -c '%u:%g %n' /app/rel/f.conf /x");
    assert_eq!(
        files,
        "1000:1000 640 /app/hello.txt\nhello from the context\nworld\n/app\nmade\nconf\n0:0 /app/rel/f.conf\n0:0 /x\n",
        "the image's files"
    );
    assert_clean(&root);
}

#[test]
fn user_applies_to_later_runs_and_to_the_image() {
    if !have_root("user_applies_to_later_runs_and_to_the_image") {
        return;
    }
    let root = TestRoot::with_busybox("build-user");
    let ctx = Ctx::new("user");
    ctx.dockerfile(
        "FROM busybox
RUN mkdir /data && chmod 777 /data
USER 1000:1000
RUN id -u > /data/uid && touch /data/by-1000
USER nobody
RUN id -un > /data/name
",
    );
    let out = build_ok(&root, &ctx, &["-t", "user"]);
    assert_eq!(steps(&out).len(), 6, "{out}");
    let files = in_image(
        &root,
        "user",
        "cat /data/uid /data/name; stat -c '%u:%g %n' /data/by-1000 /data/name",
    );
    assert_eq!(files, "1000\nnobody\n1000:1000 /data/by-1000\n65534:65534 /data/name\n");
    assert_eq!(config(&root, "user:latest")["config"]["User"], "nobody");
    assert_clean(&root);
}

// ---- the cache ------------------------------------------------------------------------

#[test]
fn the_cache_reuses_unchanged_steps_and_reruns_from_an_edited_file_on() {
    if !have_root("the_cache_reuses_unchanged_steps_and_reruns_from_an_edited_file_on") {
        return;
    }
    let root = TestRoot::with_busybox("build-cache");
    let ctx = Ctx::new("cache");
    ctx.write("one.txt", "one v1\n").write("two.txt", "two v1\n").dockerfile(
        "FROM busybox
ENV A=1
COPY one.txt /one.txt
RUN cat /one.txt > /copy-of-one
COPY two.txt /two.txt
LABEL x=y
",
    );
    let first = build_ok(&root, &ctx, &["-t", "c"]);
    let id1 = built_id(&first);
    assert!(!first.contains("Using cache"), "a first build has nothing cached:\n{first}");

    // Same context again: every step after FROM from the cache, the same image.
    let second = build_ok(&root, &ctx, &["-t", "c"]);
    let s = steps(&second);
    assert!(s[1..].iter().all(|s| s.cached && !s.ran), "every step cached:\n{second}");
    assert_eq!(second.matches(" ---> Using cache").count(), 5, "{second}");
    assert_eq!(built_id(&second), id1, "a cached build makes the same image");
    for (a, b) in steps(&first).iter().zip(&s) {
        assert_eq!(a.id, b.id, "each step gives the same image from the cache: {}", a.text);
    }

    // An edited file: its COPY and every later step run again; the steps before stay cached.
    ctx.write("one.txt", "one v2\n");
    let third = build_ok(&root, &ctx, &["-t", "c"]);
    let s = steps(&third);
    assert!(s[1].cached, "ENV comes before the edit:\n{third}");
    assert!(s[2..].iter().all(|s| !s.cached), "COPY one.txt and all after it run again:\n{third}");
    assert!(s[3].ran, "the RUN after it runs:\n{third}");
    let id3 = built_id(&third);
    assert_ne!(id3, id1);
    assert_eq!(
        in_image(&root, "c", "cat /one.txt /copy-of-one /two.txt"),
        "one v2\none v2\ntwo v1\n"
    );

    // An edit further down keeps everything above it.
    ctx.write("two.txt", "two v2\n");
    let fourth = build_ok(&root, &ctx, &["-t", "c"]);
    let cached: Vec<bool> = steps(&fourth).iter().map(|s| s.cached).collect();
    assert_eq!(cached, [false, true, true, true, false, false], "{fourth}");

    // --no-cache: everything runs, and the image is a new one.
    let fifth = build_ok(&root, &ctx, &["--no-cache", "-t", "c"]);
    assert!(!fifth.contains("Using cache"), "{fifth}");
    assert!(steps(&fifth)[3].ran, "{fifth}");
    assert_ne!(
        built_id(&fifth),
        built_id(&fourth),
        "a --no-cache build makes new images (new timestamps)"
    );
    assert_clean(&root);
}

#[test]
fn copy_to_a_file_and_to_a_directory_are_different_steps() {
    if !have_root("copy_to_a_file_and_to_a_directory_are_different_steps") {
        return;
    }
    let root = TestRoot::with_busybox("build-destslash");
    let ctx = Ctx::new("destslash");
    ctx.write("f.txt", "f\n").dockerfile("FROM busybox\nCOPY f.txt /x\n");
    build_ok(&root, &ctx, &["-t", "file"]);
    // Same source, same parent, but `/x/`: a directory. Not the step above from the cache.
    ctx.dockerfile("FROM busybox\nCOPY f.txt /x/\n");
    let out = build_ok(&root, &ctx, &["-t", "dir"]);
    assert!(!out.contains("Using cache"), "{out}");
    assert_eq!(in_image(&root, "file", "[ -f /x ] && cat /x"), "f\n");
    assert_eq!(in_image(&root, "dir", "cat /x/f.txt"), "f\n");
    assert_clean(&root);
}

#[test]
fn copy_keeps_the_owner_and_mode_of_directories_the_image_already_has() {
    if !have_root("copy_keeps_the_owner_and_mode_of_directories_the_image_already_has") {
        return;
    }
    let root = TestRoot::with_busybox("build-dirmeta");
    let ctx = Ctx::new("dirmeta");
    ctx.write("f.txt", "f\n").write("dir/g.txt", "g\n");
    for p in ["f.txt", "dir/g.txt"] {
        std::fs::set_permissions(
            ctx.dir.join(p),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
    }
    std::fs::set_permissions(
        ctx.dir.join("dir"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    ctx.dockerfile(
        "FROM busybox
RUN mkdir -p /srv/app && chmod 700 /srv && chown 5:5 /srv/app
COPY f.txt /tmp/
COPY --chown=1000:1000 f.txt /srv/app/new/
COPY dir/ /tmp/
",
    );
    build_ok(&root, &ctx, &["-t", "meta"]);
    // Only the directories COPY creates are new (and --chown's); the others stay the image's.
    let files = in_image(&root, "meta", "stat -c '%a %u:%g %n' /tmp /tmp/f.txt /tmp/g.txt /srv /srv/app /srv/app/new /srv/app/new/f.txt");
    assert_eq!(files, "1777 0:0 /tmp\n644 0:0 /tmp/f.txt\n644 0:0 /tmp/g.txt\n700 0:0 /srv\n755 5:5 /srv/app\n755 1000:1000 /srv/app/new\n644 1000:1000 /srv/app/new/f.txt\n");
    assert_clean(&root);
}

// ---- the context --------------------------------------------------------------------

#[test]
fn dockerignore_leaves_files_out_and_an_exception_brings_one_back() {
    if !have_root("dockerignore_leaves_files_out_and_an_exception_brings_one_back") {
        return;
    }
    let root = TestRoot::with_busybox("build-ignore");
    let ctx = Ctx::new("ignore");
    ctx.write("keep.txt", "k\n")
        .write("secret.txt", "s\n")
        .write("x.tmp", "t\n")
        .write("sub/y.tmp", "nested: '*.tmp' is for the top only\n")
        .write("logs/a.log", "a\n")
        .write("logs/keep.log", "kept\n")
        .write("build/out.o", "o\n")
        .write(
            ".dockerignore",
            "# what never reaches the builder\nsecret.txt\n*.tmp\nlogs\n!logs/keep.log\n/build/\n",
        )
        .dockerfile("FROM busybox\nCOPY . /ctx/\n");
    build_ok(&root, &ctx, &["-t", "ign"]);
    let files = in_image(&root, "ign", "cd /ctx && find . -type f | sort");
    assert_eq!(files, "./.dockerignore\n./Dockerfile\n./keep.txt\n./logs/keep.log\n./sub/y.tmp\n");

    // What is left out cannot bust the cache; what is kept can.
    ctx.write("secret.txt", "changed\n").write("logs/a.log", "changed\n");
    let out = build_ok(&root, &ctx, &["-t", "ign"]);
    assert!(steps(&out)[1].cached, "{out}");
    ctx.write("logs/keep.log", "changed\n");
    let out = build_ok(&root, &ctx, &["-t", "ign"]);
    assert!(!steps(&out)[1].cached, "{out}");

    // An excluded file is not in the context at all.
    ctx.dockerfile("FROM busybox\nCOPY secret.txt /s\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert!(
        err.contains("Dockerfile:2:") && err.contains("secret.txt") && err.contains("not found"),
        "{err}"
    );
    assert_clean(&root);
}

#[test]
fn copy_from_outside_the_context_is_refused() {
    if !have_root("copy_from_outside_the_context_is_refused") {
        return;
    }
    let root = TestRoot::with_busybox("build-outside");
    let ctx = Ctx::new("outside");
    std::fs::write(ctx.top.join("outside"), "outside the context\n").unwrap();
    ctx.write("sub/f", "f\n");
    for (line, copy) in
        [(3, "COPY ../outside /o"), (3, "COPY sub/../../outside /o"), (3, "ADD ../outside /o")]
    {
        ctx.dockerfile(&format!("FROM busybox\n# the next line leaves the context\n{copy}\n"));
        let (err, out) = build_fails(&root, &ctx, &["-t", "out"]);
        assert!(err.contains(&format!("Dockerfile:{line}:")), "{copy}: {err}");
        assert!(err.contains("outside the build context"), "{copy}: {err}");
        assert!(out.contains(&format!("Step 2/2 : {copy}")), "{out}");
        assert!(!tagged(&root, "out:latest"), "{copy}: nothing tagged");
    }
    assert_clean(&root);
}

#[test]
fn a_symlink_in_the_context_or_a_stage_cannot_reach_host_files() {
    if !have_root("a_symlink_in_the_context_or_a_stage_cannot_reach_host_files") {
        return;
    }
    let root = TestRoot::with_busybox("build-symlink");
    let ctx = Ctx::new("symlink");
    let secret_dir = ctx.top.join("host-secrets");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("secret"), "HOST SECRET\n").unwrap();
    ctx.write("real/f", "inside\n");
    std::os::unix::fs::symlink(&secret_dir, ctx.dir.join("hostlink")).unwrap();
    std::os::unix::fs::symlink("../host-secrets", ctx.dir.join("rellink")).unwrap();
    std::os::unix::fs::symlink("real", ctx.dir.join("inlink")).unwrap();

    // A link inside the context is followed inside it.
    ctx.dockerfile("FROM busybox\nCOPY inlink/f /f\n");
    build_ok(&root, &ctx, &["-t", "in"]);
    assert_eq!(in_image(&root, "in", "cat /f"), "inside\n");

    // Links that point out of it resolve as if the context were `/`: there is no such file.
    for copy in ["COPY hostlink/secret /s", "COPY rellink/secret /s", "COPY hostlink/sec* /s/"] {
        ctx.dockerfile(&format!("FROM busybox\n{copy}\n"));
        let (err, _) = build_fails(&root, &ctx, &["-t", "leak"]);
        assert!(err.contains("Dockerfile:2:") && err.contains("build context"), "{copy}: {err}");
        assert!(!tagged(&root, "leak:latest"), "{copy}: the host's file went into an image");
    }

    // The same for a stage whose files link to the host's.
    ctx.dockerfile(&format!(
        "FROM busybox AS s\nRUN ln -s {} /h\nFROM busybox\nCOPY --from=s /h/secret /s\n",
        secret_dir.display()
    ));
    let (err, _) = build_fails(&root, &ctx, &["-t", "leak"]);
    assert!(err.contains("Dockerfile:4:") && err.contains("not found"), "{err}");
    assert!(!tagged(&root, "leak:latest"));
    assert_clean(&root);
}

#[test]
fn a_symlink_staged_by_one_source_cannot_send_the_next_ones_to_the_host() {
    if !have_root("a_symlink_staged_by_one_source_cannot_send_the_next_ones_to_the_host") {
        return;
    }
    let root = TestRoot::with_busybox("build-staged-link");
    let ctx = Ctx::new("staged-link");
    let host = ctx.top.join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("untouched"), "host\n").unwrap();
    // `link` is copied first, as a symlink, to /dst itself; `dir`'s files and the archive's
    // are then copied into /dst — on the host, that would be into the host's directory. In
    // the stage the link resolves inside it, where it leads nowhere: the step is refused.
    std::os::unix::fs::symlink(&host, ctx.dir.join("link")).unwrap();
    ctx.write("dir/f", "from the context\n")
        .write_bytes("app.tar", &tar_of(&[("t", "from the tar\n")]));
    for add in ["COPY link dir /dst/", "ADD link app.tar /dst/"] {
        ctx.dockerfile(&format!("FROM busybox\n{add}\n"));
        let (err, _) = build_fails(&root, &ctx, &["-t", "staged"]);
        assert!(err.contains("Dockerfile:2:") && err.contains("symlink"), "{add}: {err}");
        let names: Vec<String> = std::fs::read_dir(&host)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["untouched"], "{add}: the build wrote into the host's directory");
        assert!(!tagged(&root, "staged:latest"), "{add}");
    }
    assert_clean(&root);
}

// ---- errors ---------------------------------------------------------------------------

#[test]
fn an_unknown_instruction_or_a_parse_error_is_one_line_with_file_and_line() {
    if !have_root("an_unknown_instruction_or_a_parse_error_is_one_line_with_file_and_line") {
        return;
    }
    let root = TestRoot::with_busybox("build-parse");
    let ctx = Ctx::new("parse");
    ctx.dockerfile("FROM busybox\nRUN echo ok > /ok\n\nFOO bar\n");
    let (err, out) = build_fails(&root, &ctx, &["-t", "p"]);
    assert!(
        err.contains("Dockerfile:4:") && err.contains("unknown instruction") && err.contains("FOO"),
        "{err}"
    );
    assert!(!out.contains("Step "), "nothing runs before the whole file parses:\n{out}");

    // Another file name, given with -f, is the one the message names.
    let other = ctx.dir.join("build.df");
    std::fs::write(&other, "FROM busybox\n# a comment\nENV\n").unwrap();
    let (code, out, err) = run(root.minidocker().arg("build").arg("-f").arg(&other).arg(&ctx.dir));
    assert_ne!(code, 0, "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("build.df:3:") && err.contains("ENV"), "{err}");

    // An instruction before FROM.
    ctx.dockerfile("# nothing to build on\nRUN true\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert!(err.contains("Dockerfile:2:") && err.contains("FROM"), "{err}");
    assert!(!tagged(&root, "p:latest"));
    assert_clean(&root);
}

#[test]
fn a_failing_run_stops_the_build_and_leaves_nothing_behind() {
    if !have_root("a_failing_run_stops_the_build_and_leaves_nothing_behind") {
        return;
    }
    let root = TestRoot::with_busybox("build-false");
    let ctx = Ctx::new("false");
    ctx.dockerfile("FROM busybox\nRUN echo before\n\nRUN false\nRUN echo after > /after\n");
    let (err, out) = build_fails(&root, &ctx, &["-t", "f"]);
    assert!(
        err.contains("Dockerfile:4: The command '/bin/sh -c false' returned a non-zero code: 1"),
        "{err}"
    );
    assert!(out.contains("Step 3/4 : RUN false") && !out.contains("Step 4/4"), "{out}");
    assert!(!tagged(&root, "f:latest"));
    assert_clean(&root);

    // The exit code is the command's.
    ctx.dockerfile("FROM busybox\nRUN exit 3\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert!(
        err.contains("Dockerfile:2: The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
        "{err}"
    );
    assert_clean(&root);
}

#[test]
fn here_documents_run_as_scripts_and_become_files_as_in_buildkit() {
    if !have_root("here_documents_run_as_scripts_and_become_files_as_in_buildkit") {
        return;
    }
    let root = TestRoot::with_busybox("build-heredoc");
    let ctx = Ctx::new("heredoc");
    let dockerfile = |awk_says: &str, raw: &str| {
        format!(
            r#"FROM busybox
ENV WHO=world
RUN <<EOF
set -e
# a comment line is part of the script
echo "hello $WHO" > /script-out
EOF
RUN <<AWK
#!/usr/bin/awk -f
BEGIN {{ print "{awk_says}" > "/awk-out" }}
AWK
RUN cat <<-ONE > /one && tr a-z A-Z <<'TWO' > /two
	indented $WHO
	ONE
$WHO stays
TWO
RUN <<EOF tr a-z A-Z > /upper
the body is the command's input
EOF
COPY <<greeting.txt <<'raw.txt' /etc/greetings/
hi "$WHO", '$WHO' \$WHO ${{WHO}}!
greeting.txt
{raw}
raw.txt
CMD ["true"]
"#
        )
    };
    ctx.dockerfile(&dockerfile("awk ran me", r"$WHO \$WHO"));
    let out = build_ok(&root, &ctx, &["-t", "docs"]);
    let shown: Vec<String> = steps(&out).into_iter().map(|s| s.text).collect();
    assert_eq!(
        shown[2..5],
        ["RUN <<EOF", "RUN <<AWK", "RUN cat <<-ONE > /one && tr a-z A-Z <<'TWO' > /two"],
        "{out}"
    );
    let files = "cat /script-out /awk-out /one /two /upper /etc/greetings/greeting.txt /etc/greetings/raw.txt; stat -c %a /etc/greetings/raw.txt";
    // COPY's body is expanded as BuildKit does: quotes kept, and no expansion inside '…'.
    let want = "hello world\nawk ran me\nindented world\n$WHO STAYS\nTHE BODY IS THE COMMAND'S INPUT\nhi \"world\", '$WHO' $WHO world!\n$WHO \\$WHO\n644\n";
    assert_eq!(in_image(&root, "docs", files), want);
    // The #! script ran from the container's own /dev, a tmpfs: it is in no layer.
    assert_eq!(
        in_image(&root, "docs", "ls /dev/pipes 2>&1 || true"),
        "ls: /dev/pipes: No such file or directory\n"
    );
    let created_by: Vec<String> = history(&root, "docs").into_iter().map(|h| h.1).collect();
    assert!(created_by.iter().any(|c| c.contains("/bin/sh -c /dev/pipes/AWK")), "{created_by:?}");
    assert!(
        created_by.iter().any(|c| c.contains(r"/bin/sh -c set -e\n# a comment line")),
        "one row per step: {created_by:?}"
    );

    // The bodies are part of the cache key: an edited script or file runs its step again.
    let again = build_ok(&root, &ctx, &["-t", "docs"]);
    assert!(steps(&again)[1..].iter().all(|s| s.cached), "{again}");
    ctx.dockerfile(&dockerfile("awk changed", r"$WHO \$WHO"));
    let cached: Vec<bool> =
        steps(&build_ok(&root, &ctx, &["-t", "docs"])).iter().map(|s| s.cached).collect();
    assert_eq!(cached, [false, true, true, false, false, false, false, false]);
    ctx.dockerfile(&dockerfile("awk changed", "other"));
    let cached: Vec<bool> =
        steps(&build_ok(&root, &ctx, &["-t", "docs"])).iter().map(|s| s.cached).collect();
    assert_eq!(cached, [false, true, true, true, true, true, false, false]);
    assert_eq!(
        in_image(&root, "docs", "cat /awk-out /etc/greetings/raw.txt"),
        "awk changed\nother\n"
    );

    // A RUN whose command line reads like another's script with its text is not that step.
    let script = "#!/bin/sh\necho script > /which\n";
    ctx.dockerfile(&format!("FROM busybox\nRUN <<AWK\n{script}AWK\n"));
    build_ok(&root, &ctx, &[]);
    ctx.dockerfile(&format!("FROM busybox\nRUN <<EOF\n/dev/pipes/AWK\n{script}EOF\n"));
    assert!(steps(&build_ok(&root, &ctx, &["-t", "lookalike"]))
        .iter()
        .all(|s| !s.cached || s.n == 1));

    // An ONBUILD trigger keeps its here-document, and runs it in the child's build.
    ctx.dockerfile("FROM busybox\nONBUILD RUN <<EOF\necho triggered > /trig\nEOF\n");
    build_ok(&root, &ctx, &["-t", "parent"]);
    ctx.dockerfile("FROM parent\n");
    build_ok(&root, &ctx, &["-t", "child"]);
    assert_eq!(in_image(&root, "child", "cat /trig"), "triggered\n");

    // Errors are one line, with the instruction's line.
    ctx.dockerfile("FROM busybox\nCOPY <<EOF /x\nit's\nEOF\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert_eq!(err, "minidocker: error: Dockerfile:2: here-document <<EOF: unexpected end of statement while looking for matching single-quote; to take its body as written, quote the delimiter: <<'EOF'");
    ctx.dockerfile("FROM busybox\nRUN <<EOF\necho one\nexit 3\nEOF\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert_eq!(
        err,
        r"minidocker: error: Dockerfile:2: The command '/bin/sh -c echo one\nexit 3' returned a non-zero code: 3"
    );
    ctx.dockerfile("FROM busybox\nCOPY <<EOF /x\nnever ended\n");
    let (err, out) = build_fails(&root, &ctx, &[]);
    assert_eq!(err, "minidocker: error: Dockerfile:2: here-document <<EOF is never ended: add a line `EOF` after its last line");
    assert!(!out.contains("Step"), "nothing runs before the whole file parses:\n{out}");
    ctx.dockerfile("FROM busybox\nCOPY <<a/b /x\nbody\na/b\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert_eq!(err, "minidocker: error: Dockerfile:2: here-document <<a/b: its name becomes a file name, so it cannot contain / or be . or ..");
    assert_clean(&root);
}

#[test]
fn steps_that_change_nothing_repeat_one_empty_layer_and_the_image_still_runs() {
    if !have_root("steps_that_change_nothing_repeat_one_empty_layer_and_the_image_still_runs") {
        return;
    }
    let root = TestRoot::with_busybox("build-emptylayers");
    let ctx = Ctx::new("emptylayers");
    ctx.dockerfile(
        "FROM busybox\nRUN true\nRUN echo a > /a\nRUN true\nRUN rm /a\nRUN echo ran > /ran\n",
    );
    build_ok(&root, &ctx, &["-t", "empties"]);
    let diff_ids: Vec<String> = config(&root, "empties:latest")["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        diff_ids[1], diff_ids[3],
        "both `RUN true` steps have the same (empty) layer: {diff_ids:?}"
    );
    // overlayfs refuses a directory twice in lowerdir; the image, and the RUN after, work.
    assert_eq!(
        in_image(&root, "empties:latest", "cat /ran; ls /a 2>&1 || true"),
        "ran\nls: /a: No such file or directory\n"
    );
    assert_clean(&root);
}

#[test]
fn run_mounts_and_network_work_as_in_buildkit_and_stay_out_of_the_image() {
    if !have_root("run_mounts_and_network_work_as_in_buildkit_and_stay_out_of_the_image") {
        return;
    }
    let root = TestRoot::with_busybox("build-runflags");
    let ctx = Ctx::new("runflags");
    ctx.write("src/data.txt", "from the context\n").dockerfile(
        r#"FROM busybox AS first
RUN echo staged > /staged && chown 5:6 /staged && chmod 4750 /staged
FROM busybox
ARG CACHE=/cache
RUN --mount=type=cache,target=$CACHE echo run >> /cache/log && wc -l < /cache/log > /runs-seen
RUN --mount=type=cache,target=/n/c --mount=type=tmpfs,target=/n,size=1m touch /n/c/x && ls /n/c > /nested
WORKDIR /w
RUN --mount=target=ctx,source=src cat /w/ctx/data.txt > /from-ctx && ! touch /w/ctx/new 2>/dev/null
RUN --mount=from=first,source=/staged,target=/staged,rw stat -c '%u:%g %a' /staged > /staged-attrs && echo changed > /staged
RUN --network=none ls /sys/class/net > /nets
"#,
    );
    build_ok(&root, &ctx, &["-t", "flags"]);
    // The cache's ARG, a relative target under WORKDIR, a cache inside a tmpfs listed after it,
    // a writable copy that keeps owners and modes, and no network but lo.
    let seen = "cat /runs-seen /nested /from-ctx /staged-attrs /nets";
    assert_eq!(in_image(&root, "flags", seen), "1\nx\nfrom the context\n5:6 4750\nlo\n");
    // Neither what the mounts held nor the mount points they needed is in a layer.
    let stubs = "for p in /cache /n /w/ctx /staged; do [ -e $p ] && echo $p left; done; ls -A /w";
    assert_eq!(in_image(&root, "flags", stubs), "", "WORKDIR's /w stays, empty");

    // The cache directory outlives the build; what a bind mount shows is in the step's key.
    let again = build_ok(&root, &ctx, &["--no-cache", "-t", "flags"]);
    assert!(!again.contains("Using cache"), "{again}");
    assert_eq!(in_image(&root, "flags", "cat /runs-seen"), "2\n");
    ctx.write("src/data.txt", "edited\n");
    let cached: Vec<bool> =
        steps(&build_ok(&root, &ctx, &["-t", "flags"])).iter().map(|s| s.cached).collect();
    assert_eq!(
        cached,
        [false, true, false, true, true, true, true, false, false, false],
        "the bind mount's step runs again, and those after it"
    );
    assert_eq!(in_image(&root, "flags", "cat /from-ctx"), "edited\n");

    // system prune takes the cache mounts, as Docker's takes its build cache.
    let (code, out, err) = run(root.minidocker().args(["system", "prune", "-f"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Deleted build cache objects:\n"), "{out}");
    build_ok(&root, &ctx, &["--no-cache", "-t", "flags"]);
    assert_eq!(in_image(&root, "flags", "cat /runs-seen"), "1\n");

    for (dockerfile, want) in [
        ("FROM busybox\nRUN --mount=type=secret,id=token true\n", "Dockerfile:2: RUN --mount=type=secret,id=token: type=secret needs build --secret, which minidocker does not have; copy what the step needs in a stage instead"),
        ("FROM busybox\nRUN --mount=source=nope,target=/x true\n", "Dockerfile:2: source=nope: not found in the build context (ENOENT: No such file or directory)"),
        ("FROM busybox\nRUN --privileged true\n", "Dockerfile:2: RUN failed: unknown flag --privileged (RUN takes --mount and --network)"),
        ("FROM busybox\nRUN --mount=type=tmpfs,target=/etc/passwd true\n", "Dockerfile:2: cannot mount on /etc/passwd: the image has a file there"),
        ("FROM busybox\nRUN --mount=from=nowhere,target=/x true\n", "Dockerfile:2: from=nowhere: no stage and no image of that name"),
    ] {
        ctx.dockerfile(dockerfile);
        let (err, _) = build_fails(&root, &ctx, &[]);
        assert_eq!(err, format!("minidocker: error: {want}"));
    }
    assert_clean(&root);
}

// ---- ADD and COPY ---------------------------------------------------------------------

#[test]
fn add_extracts_a_local_tar_and_copy_does_not() {
    if !have_root("add_extracts_a_local_tar_and_copy_does_not") {
        return;
    }
    let root = TestRoot::with_busybox("build-addtar");
    let ctx = Ctx::new("addtar");
    let tar = tar_of(&[("d/", ""), ("d/inner", "from the tar\n"), ("top", "top\n")]);
    ctx.write_bytes("app.tar", &tar).write_bytes("app.tgz", &gzip(&tar)).dockerfile(
        "FROM busybox
ADD app.tar /srv/
ADD app.tgz /gz
COPY app.tar /copied/
",
    );
    build_ok(&root, &ctx, &["-t", "add"]);
    let files = in_image(&root, "add", "find /srv /gz /copied | sort; cat /srv/d/inner /gz/top");
    assert_eq!(files, "/copied\n/copied/app.tar\n/gz\n/gz/d\n/gz/d/inner\n/gz/top\n/srv\n/srv/d\n/srv/d/inner\n/srv/top\nfrom the tar\ntop\n");
    assert_clean(&root);
}

#[test]
fn add_refuses_a_tar_that_climbs_out() {
    if !have_root("add_refuses_a_tar_that_climbs_out") {
        return;
    }
    let root = TestRoot::with_busybox("build-evil");
    let ctx = Ctx::new("evil");
    let evil = tar_of(&[
        ("ok", "ok\n"),
        ("../../../../../../../../tmp/minidocker-build-evil", "escaped\n"),
    ]);
    ctx.write_bytes("evil.tar", &evil).write_bytes("evil.tgz", &gzip(&evil));
    for file in ["evil.tar", "evil.tgz"] {
        ctx.dockerfile(&format!("FROM busybox\nADD {file} /x/\n"));
        let (err, _) = build_fails(&root, &ctx, &["-t", "evil"]);
        assert!(
            err.contains("Dockerfile:2:") && err.contains("..") && err.contains("refused"),
            "{file}: {err}"
        );
        assert!(!Path::new("/tmp/minidocker-build-evil").exists(), "the tar wrote outside");
        assert!(!tagged(&root, "evil:latest"));
    }
    assert_clean(&root);
}

#[test]
fn several_sources_need_a_directory_and_wildcards_expand() {
    if !have_root("several_sources_need_a_directory_and_wildcards_expand") {
        return;
    }
    let root = TestRoot::with_busybox("build-multi");
    let ctx = Ctx::new("multi");
    ctx.write("a.txt", "a\n")
        .write("b.txt", "b\n")
        .write("c.md", "c\n")
        .write("conf/x.conf", "x\n")
        .write("conf/y.ini", "y\n");
    let docker_error = "When using COPY with more than one source file, the destination must be a directory and end with a /";
    for copy in ["COPY a.txt b.txt /dst", "COPY *.txt /dst"] {
        ctx.dockerfile(&format!("FROM busybox\n{copy}\n"));
        let (err, _) = build_fails(&root, &ctx, &[]);
        assert!(err.contains("Dockerfile:2:") && err.contains(docker_error), "{copy}: {err}");
    }
    ctx.dockerfile(
        "FROM busybox
COPY a.txt c.md /two/
COPY *.txt /txt/
COPY conf/*.conf /etc/app/
COPY [\"b.txt\", \"/json/\"]
COPY ?.md /q/
",
    );
    build_ok(&root, &ctx, &["-t", "multi"]);
    let files = in_image(&root, "multi", "find /two /txt /etc/app /json /q -type f | sort");
    assert_eq!(
        files,
        "/etc/app/x.conf\n/json/b.txt\n/q/c.md\n/two/a.txt\n/two/c.md\n/txt/a.txt\n/txt/b.txt\n"
    );

    // A wildcard that matches nothing is an error, too.
    ctx.dockerfile("FROM busybox\nCOPY *.nothing /n/\n");
    let (err, _) = build_fails(&root, &ctx, &[]);
    assert!(err.contains("Dockerfile:2:") && err.contains("*.nothing"), "{err}");
    assert_clean(&root);
}

// ---- stages, arguments, triggers ------------------------------------------------------

#[test]
fn multi_stage_copies_from_an_earlier_stage_only_what_it_names() {
    if !have_root("multi_stage_copies_from_an_earlier_stage_only_what_it_names") {
        return;
    }
    let root = TestRoot::with_busybox("build-stages");
    let ctx = Ctx::new("stages");
    ctx.dockerfile(
        "FROM busybox AS build
RUN echo built in stage one > /x && echo junk > /junk
FROM busybox
COPY --from=build /x /y
COPY --from=0 /x /by-index
RUN cat /y
",
    );
    let out = build_ok(&root, &ctx, &["-t", "final"]);
    assert_eq!(steps(&out).len(), 6, "{out}");
    assert!(out.contains("built in stage one"), "RUN cat /y shows the copied file:\n{out}");
    let files =
        in_image(&root, "final", "cat /y /by-index; ls /junk /x 2>&1 | wc -l; ls / | grep -c junk");
    assert_eq!(files, "built in stage one\nbuilt in stage one\n2\n0\n");
    // Only the last stage's steps are the image's history.
    let h = history(&root, "final");
    assert_eq!(h.len(), 4, "busybox + COPY, COPY, RUN: {h:#?}");
    assert!(h[1].1.contains("COPY --from=build"), "{h:#?}");
    assert_clean(&root);
}

#[test]
fn build_args_reach_run_and_expansion_and_unused_ones_are_warned_about() {
    if !have_root("build_args_reach_run_and_expansion_and_unused_ones_are_warned_about") {
        return;
    }
    let root = TestRoot::with_busybox("build-args");
    let ctx = Ctx::new("args");
    ctx.dockerfile(
        "ARG BASE=busybox
FROM $BASE
ARG BASE
ARG GREETING=hello
ARG WHO
ENV FROMARG=${GREETING}-${WHO:-nobody}
RUN echo \"$GREETING $WHO\" > /run-env && echo $FROMARG > /expanded && echo $BASE > /base
",
    );
    let out = build_ok(
        &root,
        &ctx,
        &["-t", "args", "--build-arg", "WHO=world", "--build-arg", "UNUSED=1"],
    );
    assert!(out.contains("[Warning] One or more build-args [UNUSED] were not consumed"), "{out}");
    assert_eq!(
        in_image(&root, "args", "cat /run-env /expanded /base"),
        "hello world\nhello-world\nbusybox\n"
    );
    // ARG values reach RUN but do not stay in the image's environment.
    let env = config(&root, "args:latest")["config"]["Env"].to_string();
    assert!(
        env.contains("FROMARG=hello-world") && !env.contains("GREETING") && !env.contains("WHO="),
        "{env}"
    );

    // All consumed: no warning. A different value: the steps that use it run again.
    let out = build_ok(
        &root,
        &ctx,
        &["-t", "args", "--build-arg", "WHO=you", "--build-arg", "GREETING=hi"],
    );
    assert!(!out.contains("[Warning]"), "{out}");
    let s = steps(&out);
    assert!(s[5..].iter().all(|s| !s.cached), "{out}");
    assert!(s[6].ran, "{out}");
    assert_eq!(in_image(&root, "args", "cat /run-env /expanded"), "hi you\nhi-you\n");
    assert_clean(&root);
}

#[test]
fn an_onbuild_trigger_runs_when_the_image_is_used_as_a_base() {
    if !have_root("an_onbuild_trigger_runs_when_the_image_is_used_as_a_base") {
        return;
    }
    let root = TestRoot::with_busybox("build-onbuild");
    let ctx = Ctx::new("onbuild");
    ctx.write("app.txt", "the child's file\n").dockerfile(
        "FROM busybox\nONBUILD COPY app.txt /app.txt\nONBUILD RUN echo triggered > /trig\n",
    );
    let out = build_ok(&root, &ctx, &["-t", "base"]);
    assert!(
        !out.contains("Running in"),
        "a trigger does not run in the image that declares it:\n{out}"
    );
    let base = config(&root, "base:latest");
    assert_eq!(
        base["config"]["OnBuild"],
        serde_json::json!(["COPY app.txt /app.txt", "RUN echo triggered > /trig"]),
        "{base:#}"
    );

    ctx.dockerfile("FROM base\nRUN cat /trig /app.txt\n");
    let out = build_ok(&root, &ctx, &["-t", "child"]);
    assert!(out.contains("# Executing 2 build triggers"), "{out}");
    assert!(
        out.contains("triggered\nthe child's file\n"),
        "the triggers ran before the next step:\n{out}"
    );
    let child = config(&root, "child:latest");
    assert!(
        child["config"].get("OnBuild").is_none(),
        "triggers are not inherited by the child: {child:#}"
    );
    // The grandchild runs none.
    ctx.dockerfile("FROM child\nRUN echo grandchild\n");
    let out = build_ok(&root, &ctx, &["-t", "grandchild"]);
    assert!(!out.contains("build trigger"), "{out}");
    assert_clean(&root);
}

// ---- Ctrl-C ---------------------------------------------------------------------------

/// PIDs of processes whose command line contains `pattern`.
fn pgrep(pattern: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep").args(["-f", pattern]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

#[test]
fn ctrl_c_during_a_run_step_exits_130_and_leaves_nothing() {
    if !have_root("ctrl_c_during_a_run_step_exits_130_and_leaves_nothing") {
        return;
    }
    let root = TestRoot::with_busybox("build-int");
    let ctx = Ctx::new("int");
    // Two commands, so the shell stays and its command line names this test's build.
    let marker = format!("md-build-int-{}", std::process::id());
    ctx.dockerfile(&format!("FROM busybox\nRUN sleep 30; echo {marker}\n"));
    let mut child = root
        .minidocker()
        .arg("build")
        .arg("-t")
        .arg("int")
        .arg(&ctx.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with(" ---> Running in ") {
            break;
        }
    }
    // Wait for the step's shell and its sleep to be there.
    let mut shell = Vec::new();
    let mut sleeps = Vec::new();
    for _ in 0..100 {
        shell = pgrep(&marker);
        sleeps = shell
            .iter()
            .flat_map(|p| {
                let out = std::process::Command::new("pgrep").args(["-P", p]).output().unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        if !sleeps.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!sleeps.is_empty(), "the RUN step's sleep never started");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let start = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "the build did not stop at once");
    assert_eq!(status.code(), Some(130));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(!rest.iter().any(|l| l.starts_with("Successfully")), "{rest:?}");
    assert_clean(&root);
    assert!(!tagged(&root, "int:latest"));
    // The step's processes died with the build (the kernel may take a moment to reap them).
    let gone = |pids: &[String]| {
        pids.iter().all(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| s.contains(") Z "))
        })
    };
    for _ in 0..50 {
        if gone(&shell) && gone(&sleeps) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        gone(&shell) && gone(&sleeps),
        "the RUN step's processes outlived the build: {shell:?} {sleeps:?}"
    );
    assert_eq!(
        pgrep(&marker),
        Vec::<String>::new(),
        "a process with the step's command line is left"
    );
}
