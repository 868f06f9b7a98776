//! Lesson 08 — a volume is a bind mount made at the right moment: in the container's mount
//! namespace, once its rootfs is ready and before `pivot_root`.
//!
//! The mechanism is in `src/volumes/` (`enter.rs`: between the rootfs made ready and the switch
//! of root, exercise 08's `mount_volumes`; `fill.rs`: copyData, exercise 08's
//! `fill_from_image`) and `src/container/run.rs` (the monitor and its child); this file only
//! narrates it. The lab sheet is `README.md` here.

mod check;
#[path = "exercise.rs"]
mod mine;

use anyhow::Context;
use clap::Parser;
use minidocker::commit::{self, Options};
use minidocker::container::config::{self, Overrides};
use minidocker::container::{run as lifecycle, Container};
use minidocker::image::{reference, Store};
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::report;
use minidocker::volumes::{self, solution, Rules};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Runs a container of an image (default: busybox) with -v /test; its command writes a file into
/// /test. Finds the anonymous volume (`volume ls`) and the file in its _data directory on the
/// host, compares the host's mount table with the container's (the bind mount is only in the
/// latter), shows with inode numbers that /test in the container and _data on the host are one
/// directory, and commits the container: the new image has an empty /test. Then it answers the
/// article's question 2 with evidence: from an image whose /test has files, a named and an
/// anonymous volume start with copies of them (copyData), a host directory bind-mounted on /test
/// hides them and gets nothing. Containers, volumes, images and directories it made are removed
/// at the end.
#[derive(Parser)]
struct Args {
    /// The image to use (it needs sh, ls, chown, sleep)
    #[arg(long = "image", value_name = "REF", default_value = "busybox")]
    image_ref: String,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str =
    "containers need namespaces, overlay and bind mounts and cgroups, which only root may create";

/// What the first container does: the article's `touch text.txt` in the volume.
const WRITE: &str = "echo 'written inside the container' > /test/text.txt";
/// What the copyData containers show of their /test: numeric owners, modes, names.
const LOOK: &str =
    "ls -lnA /test | grep -v '^total' || true; echo \"entries in /test: $(ls -A /test | wc -l)\"";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let image_ref = args.image_ref;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("A container with -v /test, whose command writes into /test")?;
    let store = Store::open_default()?;
    let image = store.resolve(&image_ref).map_err(|e| {
        e.context(
            "the lesson needs an image in the store: scripts/base-images busybox imports busybox",
        )
    })?;
    report::evidence("image", &format!("{image_ref}, ID {}", image.id.short()));
    let tag = std::process::id();
    let host_dir = std::env::temp_dir().join(format!("minidocker-lesson08-{tag}"));
    let mut cleanup = Cleanup {
        store: &store,
        containers: Vec::new(),
        images: Vec::new(),
        volumes: Vec::new(),
        dirs: vec![host_dir.clone()],
    };
    let spec = volumes::parse("/test")?;
    report::evidence("-v /test reads as", &format!("{spec:?}"));
    let script = format!("{WRITE} && echo ready && exec sleep 3600");
    let first = start(&mut cleanup, rules, &image_ref, &["/test"], &script)?;
    lifecycle::wait_for_log_line(&first, "ready")?;
    let first = Container::load(&first.dir)?;
    let anon = first.config.volumes.first().map(|m| m.volume.clone()).unwrap_or_default();
    report::evidence(
        "container",
        &format!(
            "{} ({}), PID {} on the host",
            first.short_id(),
            first.config.name,
            first.state.pid
        ),
    );
    report::evidence("its command", WRITE);

    lab.step("The volume on the host: `volume ls`, and the file in its _data")?;
    println!("  {:<10}VOLUME NAME", "DRIVER");
    for v in volumes::list(store.root())?.into_iter().filter(|v| v.name == anon) {
        println!(
            "  {:<10}{}  ← anonymous: 64 hex digits, made for this container",
            "local", v.name
        );
    }
    let data = volumes::data_dir(store.root(), &anon);
    report::evidence("its directory", &data.display().to_string());
    for e in fs::read_dir(&data)?.flatten() {
        let content = fs::read_to_string(e.path()).unwrap_or_default();
        report::evidence(&format!("  {}", e.file_name().to_string_lossy()), content.trim_end());
    }
    report::say("The container wrote /test/text.txt; the host reads it in the volume's _data. Nothing was copied:");
    report::say("/test in the container *is* that directory.");

    lab.step("Two mount tables: the host's has no /test, the container's has")?;
    let pid = first.state.pid;
    // ANCHOR: tables
    let host_table = fs::read_to_string("/proc/self/mountinfo")?;
    let on_host: Vec<&str> = host_table
        .lines()
        .filter(|l| {
            l.contains(&*data.to_string_lossy()) || l.contains(&*first.dir.to_string_lossy())
        })
        .collect();
    report::evidence(
        "host: grep the volume and the container in /proc/self/mountinfo",
        &format!("{} line(s)", on_host.len()),
    );
    let inside = fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    for l in inside.lines().filter(|l| l.split(' ').nth(4) == Some("/test")) {
        report::evidence(&format!("container: /proc/{pid}/mountinfo"), l);
    }
    // ANCHOR_END: tables
    report::say("Field 4 is the directory that was bind-mounted (as its filesystem knows it), field 5 the mount");
    report::say("point. The child made this mount in its own mount namespace, after /proc, /dev and /sys and");
    report::say(
        "before pivot_root — when it could still see both the host's _data and the merged tree:",
    );
    // The child's --explain lines went where its output goes: the container's log.
    let log = fs::read_to_string(first.log_path()).unwrap_or_default();
    let calls: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pivot_root(") || (l.contains("MS_BIND") && l.contains("_data")))
        .collect();
    if calls.is_empty() {
        report::say("run the lesson with --explain to see its mount(…/_data, /proc/self/fd/N, MS_BIND|MS_REC) — /test,");
        report::say("resolved inside the rootfs and held open, so no symlink swapped in can move it — and pivot_root.");
    }
    for l in calls {
        report::evidence("the child (its log)", l.trim());
    }

    lab.step("One inode, two paths: a bind mount changes the mount table, not the dentry")?;
    let in_container = PathBuf::from(format!("/proc/{pid}/root/test"));
    let fs_ = lifecycle::rootfs_of(&store, &first)?;
    let upper_test = fs_.base.join(&fs_.layers.upper).join("test");
    for (label, p) in [
        ("host: _data/text.txt", data.join("text.txt")),
        ("container: /test/text.txt", in_container.join("text.txt")),
        ("host: _data", data.clone()),
        ("container: /test", in_container.clone()),
        ("host: the rw layer's test/", upper_test.clone()),
    ] {
        report::evidence(label, &inode(&p));
    }
    report::say("The path /test leads to the volume's directory inode: the same device and inode number as _data.");
    report::say("The mount point the runtime made in the read-write layer is another inode, and empty. Neither its");
    report::say("dentry nor its inode changed: the mount table gained an entry for (this mount, this dentry), and a");
    report::say("path walk that reaches /test continues at the volume's root. Unmount, and /test is that empty directory again.");

    lab.step("Commit it: the volume's file is not in the image, its empty mount point is")?;
    let done = {
        let _lock = store.lock()?;
        commit::commit(
            &store,
            &first,
            None,
            &Options { message: Some("lesson 08".into()), ..Default::default() },
        )?
    };
    cleanup.images.push(done.image.id.to_string());
    if let Some(layer) = &done.layer {
        for e in commit::layer_entries(&store, &layer.desc)? {
            report::evidence("  tar", &e.ls());
        }
    }
    let second = run_to_end(&mut cleanup, rules, done.image.id.as_str(), &[], LOOK)?;
    for line in second.lines() {
        report::evidence("a container of the new image", line);
    }
    report::say("commit reads the read-write layer on the host, where /test is the empty mount point: the mount,");
    report::say("and text.txt with it, never existed there (volume_paths() in src/commit.rs would keep them out).");

    lab.step("copyData (question 2): an image whose /test has files")?;
    let with_test = format!("lesson08-{tag}-image:latest");
    let made = run_to_end(&mut cleanup, rules, &image_ref, &[], "mkdir -p /test && echo 'from the image' > /test/from-image.txt && chown -R 1000:1000 /test && chmod 640 /test/from-image.txt && echo made")?;
    anyhow::ensure!(made.contains("made"), "could not make the image's /test: {made}");
    let maker =
        Container::load(cleanup.containers.last().context("the container just made is gone")?)?;
    {
        let _lock = store.lock()?;
        commit::commit(
            &store,
            &maker,
            Some(&reference::parse_tagged(&with_test)?),
            &Options::default(),
        )?;
    }
    cleanup.images.push(with_test.clone());
    report::evidence(
        "image",
        &format!("{with_test}: busybox + /test/from-image.txt (owner 1000:1000, mode 0640)"),
    );
    let named = format!("lesson08-{tag}-data");
    cleanup.volumes.push(named.clone());
    let full = host_dir.join("full");
    let empty = host_dir.join("empty");
    fs::create_dir_all(&full)?;
    fs::create_dir_all(&empty)?;
    fs::write(full.join("host.txt"), "from the host\n")?;
    let reuse = format!(
        "rm /test/from-image.txt && echo 'a container was here' > /test/mine.txt && {LOOK}"
    );
    let cases = [
        (format!("{named}:/test"), "a named volume, new and empty", LOOK.to_string()),
        (
            format!("{named}:/test"),
            "the same volume again: this container deletes from-image.txt, adds mine.txt",
            reuse,
        ),
        (format!("{named}:/test"), "and again: is from-image.txt copied back?", LOOK.to_string()),
        ("/test".to_string(), "an anonymous volume", LOOK.to_string()),
        (format!("{}:/test", full.display()), "a host directory with host.txt", LOOK.to_string()),
        (format!("{}:/test", empty.display()), "an empty host directory", LOOK.to_string()),
    ];
    for (v, what, script) in &cases {
        report::say("");
        report::evidence(&format!("-v {v}"), what);
        let out = run_to_end(&mut cleanup, rules, &with_test, &[v.as_str()], script)?;
        for line in out.lines() {
            report::evidence("  in the container", line);
        }
        let c = Container::load(cleanup.containers.last().unwrap())?;
        let host_side = c.config.volumes[0].host_path(store.root());
        report::evidence(
            "  on the host",
            &format!("{}: {}", host_side.display(), listing(&host_side)),
        );
    }
    report::say("");
    report::say("The volumes start with copies of the image's files — same owner, same mode: Docker's copyData,");
    report::say("done only while a volume is empty: what a container did to it stays. The host directories get");
    report::say("nothing and show nothing of the image: the bind mount hides /test's files, nothing is copied out.");
    report::say("The article's premise holds for volumes only: with `-v /home:/test`, the image's files do not");
    report::say("appear in /home.");

    lab.step("Clean up")?;
    cleanup.finish()?;
    Ok(0)
}

/// `dev:inode` of a path, as stat(2) gives it, and what it is.
fn inode(p: &Path) -> String {
    match fs::symlink_metadata(p) {
        Ok(m) => {
            let entries = if m.is_dir() {
                format!(
                    ", a directory of {} entries",
                    fs::read_dir(p).map(|d| d.count()).unwrap_or(0)
                )
            } else {
                String::new()
            };
            format!(
                "device {}:{}, inode {}{entries}",
                libc::major(m.dev()),
                libc::minor(m.dev()),
                m.ino()
            )
        }
        Err(e) => format!("({e})"),
    }
}

/// `name (owner uid:gid, mode) …` of a directory's entries.
fn listing(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        return "empty".into();
    }
    names
        .iter()
        .map(|n| {
            let m = fs::symlink_metadata(dir.join(n));
            m.map_or(n.clone(), |m| {
                format!("{n} ({}:{}, {:04o})", m.uid(), m.gid(), m.mode() & 0o7777)
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Create and start a detached container of `image` with these `-v` (read, and filled, with
/// `rules`), running `sh -c script`, with no network.
fn start(
    cleanup: &mut Cleanup,
    rules: &Rules,
    image: &str,
    vols: &[&str],
    script: &str,
) -> minidocker::Result<Container> {
    let store = cleanup.store;
    let img = store.resolve(image)?;
    let texts: Vec<String> = vols.iter().map(|v| v.to_string()).collect();
    let overrides = Overrides {
        name: format!("lesson08-{}-{}", std::process::id(), cleanup.containers.len() + 1),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        network: "none".into(),
        detach: true,
        volumes: volumes::parse_all(&texts)?,
        ..Default::default()
    };
    let config = config::from_image(image, &img, overrides)?;
    let c = lifecycle::create(store, config)?;
    cleanup.containers.push(c.dir.clone());
    let container_rules =
        minidocker::container::Rules { volumes: *rules, ..minidocker::container::RULES };
    lifecycle::start_with(store, &c, &container_rules)?;
    Container::load(&c.dir)
}

/// [`start`], wait for the container to end, and return what its command printed (without
/// the child's `--explain` lines, which go to the same log).
fn run_to_end(
    cleanup: &mut Cleanup,
    rules: &Rules,
    image: &str,
    vols: &[&str],
    script: &str,
) -> minidocker::Result<String> {
    let c = start(cleanup, rules, image, vols, script)?;
    lifecycle::wait_gone(&c, Duration::from_secs(20));
    let log = fs::read_to_string(c.log_path()).unwrap_or_default();
    Ok(log
        .lines()
        .filter(|l| !l.trim_start().starts_with("syscall "))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// What the lesson made, removed at the end — or when it fails or is interrupted.
struct Cleanup<'a> {
    store: &'a Store,
    containers: Vec<PathBuf>,
    images: Vec<String>,
    volumes: Vec<String>,
    dirs: Vec<PathBuf>,
}

impl Cleanup<'_> {
    fn finish(&mut self) -> minidocker::Result<()> {
        for dir in self.containers.drain(..) {
            let Ok(c) = Container::load(&dir) else { continue };
            lifecycle::remove(&c, true)?;
            let anon = minidocker::container::volumes::remove_anonymous(self.store, &c.config)?;
            let with = if anon.is_empty() {
                String::new()
            } else {
                format!(" and its anonymous volume {}…", &anon[0][..12])
            };
            report::cleanup(&format!("removed container {}{with}", c.short_id()));
        }
        for name in self.volumes.drain(..) {
            if volumes::get(self.store.root(), &name).is_ok() {
                minidocker::container::volumes::remove(self.store, &name)?;
                report::cleanup(&format!("removed volume {name}"));
            }
        }
        while let Some(image) = self.images.pop() {
            let _lock = self.store.lock()?;
            if self.store.resolve(&image).is_ok() {
                self.store.remove(&image, true, &[])?;
                let shown =
                    image.strip_prefix("sha256:").map_or(image.clone(), |h| h[..12].to_string());
                report::cleanup(&format!("removed image {shown}"));
            }
        }
        for d in self.dirs.drain(..) {
            if d.exists() {
                fs::remove_dir_all(&d)?;
                report::cleanup(&format!("removed {}", d.display()));
            }
        }
        Ok(())
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("warning: cleaning up: {e:#}");
        }
    }
}
