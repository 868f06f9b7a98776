//! Lesson 07 — `docker commit`: a running container's read-write layer becomes an image layer;
//! the init layer's files stay behind.
//!
//! The mechanism is in `src/commit.rs` (with `src/image/pack.rs`, which writes the tarball, and
//! exercise 07, which walks the read-write layer and turns overlay's whiteouts and opaque
//! directories into OCI's); this file only narrates it. The lab sheet is `README.md` here.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::commit::{self, solution, Options};
use minidocker::container::config::{self, Overrides};
use minidocker::container::{run as lifecycle, Container};
use minidocker::image::whiteout::OPAQUE_MARKER;
use minidocker::image::{reference, Reference, Store};
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::{report, units};
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Runs a container of an image (default: busybox) in the background; its command creates
/// /test.txt, deletes /etc/group, replaces /usr/sbin by a new directory and adds a line to
/// /etc/hosts, then sleeps. Shows its read-write layer from the host — the new file, the
/// whiteout, the opaque directory, the /etc/hosts copied up from the init layer — commits the
/// running container, lists the new layer's tarball (the .wh. entries) and what was
/// left out, shows the new image's history and configuration, and runs a container of it: the
/// file is there, the deleted one gone, and /etc/hosts and /etc/hostname are the new container's
/// own. The containers and the image are removed at the end unless -t names the image to keep.
#[derive(Parser)]
struct Args {
    /// The image to start from (see `minidocker images`)
    #[arg(long = "image", value_name = "REF", default_value = "busybox")]
    image_ref: String,
    /// Keep the committed image under this name (try mybox:v1)
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]", value_parser = reference::parse_tagged)]
    keep: Option<Reference>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str =
    "containers need namespaces, overlay mounts and cgroups, which only root may create";

/// What the first container does to its files, then it waits to be committed.
const CHANGES: [&str; 4] = [
    "echo 'hello from the container' > /test.txt",
    "rm /etc/group",
    "rm -r /usr/sbin && mkdir /usr/sbin && echo mine > /usr/sbin/only",
    "echo '10.1.2.3 db' >> /etc/hosts",
];
/// What the container of the new image looks at.
/// (`/proc/1/environ` is the environment execve gave the container's first process, duplicates and
/// all; a shell's `env` would show only the last of two.)
const LOOK: &str = "cat /test.txt; ls /etc/group 2>&1; echo \"/usr/sbin: $(ls /usr/sbin)\"; grep db /etc/hosts || echo 'no db line in /etc/hosts'; echo \"/etc/hostname: $(cat /etc/hostname)\"; tr '\\0' '\\n' < /proc/1/environ | grep ^HOSTNAME=";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let Args { image_ref, keep, .. } = args;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("The image, and a container of it running in the background")?;
    let store = Store::open_default()?;
    let image = store
        .resolve(&image_ref)
        .map_err(|e| e.context("scripts/base-images imports busybox and python:3.11-slim"))?;
    report::evidence(
        "image",
        &format!(
            "{image_ref}, ID {}, {} layer(s), {} history entries",
            image.id.short(),
            image.diff_ids().len(),
            image.config.history.len()
        ),
    );
    let mut cleanup = Cleanup { store: &store, containers: Vec::new(), image: None };
    let script = format!("{} && echo ready && exec sleep 3600", CHANGES.join(" && "));
    let first = start(&store, &mut cleanup, &image_ref, vec!["sh".into(), "-c".into(), script])?;
    lifecycle::wait_for_log_line(&first, "ready")?;
    let first = Container::load(&first.dir)?;
    report::evidence(
        "container",
        &format!("{} ({}), {:?}", first.short_id(), first.config.name, first.state.status),
    );
    let nspid = fs::read_to_string(format!("/proc/{}/status", first.state.pid))?
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" → "))
        .unwrap_or_default();
    report::evidence(
        "its process",
        &format!(
            "PID {} on the host (NSpid: {nspid}, the last is its PID inside)",
            first.state.pid
        ),
    );
    report::evidence("its command", &first.config.argv().join(" "));
    report::say("Its command made four changes before it went to sleep (lesson 06's exec could make them from outside):");
    for c in CHANGES {
        report::say(&format!("  {c}"));
    }

    lab.step("Its read-write layer, seen from the host")?;
    let root_line = fs::read_to_string(format!("/proc/{}/mountinfo", first.state.pid))?
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .map(str::to_owned);
    report::evidence(
        "its / (in /proc/PID/mountinfo)",
        &root_line.map_or("?".into(), |l| l.split(" - ").nth(1).unwrap_or_default().to_string()),
    );
    report::say("The overlay is mounted only in the container's mount namespace. Its upperdir, though, is a plain");
    report::say(
        "directory on the host's disk: commit reads it from there, while the container runs.",
    );
    let fs_ = lifecycle::rootfs_of(&store, &first)?;
    let (upper, init) = (fs_.base.join(&fs_.layers.upper), fs_.base.join(&fs_.layers.init));
    report::evidence("upperdir", &upper.display().to_string());
    for p in commit::upper_paths(&upper)? {
        report::evidence(
            &format!("  {}", p.display()),
            &commit::describe_upper_entry(&upper.join(&p)),
        );
    }
    let copied = fs::read_to_string(upper.join("etc/hosts")).unwrap_or_default();
    let from_init = fs::read_to_string(init.join("etc/hosts")).unwrap_or_default();
    if !from_init.is_empty() && copied.starts_with(&from_init) {
        report::say(&format!("etc/hosts was copied up from the init layer: its {} line(s), then the container's `10.1.2.3 db`.", from_init.lines().count()));
    }
    report::evidence(
        "init/etc/hostname",
        &format!(
            "{} — this container's name",
            fs::read_to_string(init.join("etc/hostname")).unwrap_or_default().trim()
        ),
    );

    lab.step(
        "Commit it, while it runs (frozen for the moment its files are read, as Docker does)",
    )?;
    let tag = keep
        .clone()
        .unwrap_or(reference::parse_tagged(&format!("lesson07-{}:latest", std::process::id()))?);
    cleanup.image = keep.is_none().then(|| tag.clone());
    // ANCHOR: commit
    let opts = Options {
        message: Some("add /test.txt".into()),
        author: Some(lab.lesson.name.into()),
        rules: *rules,
        ..Options::default()
    };
    let started = Instant::now();
    let done = {
        let _lock = store.lock()?;
        commit::commit(&store, &first, Some(&tag), &opts)?
    };
    // ANCHOR_END: commit
    report::evidence("minidocker commit prints", done.image.id.as_str());
    report::evidence("named", &format!("{tag}, in {} ms", started.elapsed().as_millis()));
    report::evidence("still running", &format!("{}", Container::load(&first.dir)?.running()));

    lab.step("The new layer's tarball — and what stayed behind")?;
    match &done.layer {
        Some(layer) => {
            report::evidence(
                "layer",
                &format!(
                    "diff_id {}, {} uncompressed, blob {}",
                    &layer.diff_id.hex()[..12],
                    units::human(layer.size),
                    &layer.desc.digest.hex()[..12]
                ),
            );
            for e in commit::layer_entries(&store, &layer.desc)? {
                let what = match () {
                    _ if e.path.ends_with(OPAQUE_MARKER) => {
                        "  ← opaque: hides what the image has in this directory"
                    }
                    _ if e.is_whiteout() => "  ← a whiteout: the 0:0 device, as OCI writes it",
                    _ => "",
                };
                report::evidence("  tar", &format!("{}{what}", e.ls()));
            }
        }
        None => report::note("the commit made no layer: the walk packed nothing (exercise 07's pack_rw_layer, with --mine)"),
    }
    for l in &done.left_out {
        let content = fs::read_to_string(upper.join(&l.path)).unwrap_or_default();
        report::evidence("left out", &format!("{} — {}", l.path, l.why));
        report::evidence("  its content", &content.trim_end().replace('\n', " | "));
    }

    lab.step(
        "The new image: one more layer, one more history entry, the container's configuration",
    )?;
    let img = &done.image;
    report::evidence(
        "layers",
        &format!(
            "{} → {} (the image's layers are shared, not copied)",
            image.diff_ids().len(),
            img.diff_ids().len()
        ),
    );
    for h in img.config.history.iter().rev().take(2) {
        let layer = if h.empty_layer { "(no layer)" } else { "(layer)" };
        let comment = h.comment.as_deref().map_or(String::new(), |c| format!(" — comment {c:?}"));
        report::evidence(
            &format!("history {layer}"),
            &format!("{}{comment}", h.created_by.as_deref().unwrap_or_default()),
        );
    }
    let rc = &img.config.config;
    report::evidence("Cmd", &format!("{:?}", rc.cmd.clone().unwrap_or_default()));
    report::evidence("Env", &format!("{:?}", rc.env.clone().unwrap_or_default()));
    report::say("Cmd is the command the container ran, as in Docker; `minidocker commit -c 'CMD [\"sh\"]'` sets another.");

    lab.step("A container of the new image")?;
    let second = start(
        &store,
        &mut cleanup,
        tag.to_string().as_str(),
        vec!["sh".into(), "-c".into(), LOOK.into()],
    )?;
    let second = Container::load(&second.dir)?;
    lifecycle::wait_gone(&second, Duration::from_secs(10));
    report::evidence("its hostname", second.short_id());
    for line in fs::read_to_string(second.log_path()).unwrap_or_default().lines() {
        report::evidence("  output", line);
    }
    report::say("/test.txt came with the image; /etc/group stays deleted; /usr/sbin holds only the new file.");
    report::say(&format!(
        "The `db` line stayed behind, and /etc/hostname names this container, not {}:",
        first.short_id()
    ));
    report::say(
        "its init layer sits above the image's layers, with its own /etc/hosts and /etc/hostname.",
    );

    lab.step("Clean up")?;
    cleanup.finish()?;
    if let Some(k) = &keep {
        report::note(&format!(
            "kept {k}: try `minidocker history {k}`, then tag and push it (README)"
        ));
    }
    Ok(0)
}

/// Create and start a detached container of `image` running `cmd`, with no network.
fn start(
    store: &Store,
    cleanup: &mut Cleanup,
    image: &str,
    cmd: Vec<String>,
) -> minidocker::Result<Container> {
    let img = store.resolve(image)?;
    let overrides = Overrides {
        name: format!("lesson07-{}-{}", std::process::id(), cleanup.containers.len() + 1),
        // `cmd` itself, whatever ENTRYPOINT the image has.
        entrypoint: Some(String::new()),
        cmd,
        network: "none".into(),
        detach: true,
        ..Default::default()
    };
    let config = config::from_image(image, &img, overrides)?;
    let c = lifecycle::create(store, config)?;
    cleanup.containers.push(c.dir.clone());
    lifecycle::start(store, &c)?;
    Container::load(&c.dir)
}

/// The lesson's containers and image, removed at the end — or when it fails or is interrupted.
struct Cleanup<'a> {
    store: &'a Store,
    containers: Vec<PathBuf>,
    image: Option<Reference>,
}

impl Cleanup<'_> {
    fn finish(&mut self) -> minidocker::Result<()> {
        for dir in self.containers.drain(..) {
            let Ok(c) = Container::load(&dir) else { continue };
            lifecycle::remove(&c, true)?;
            report::cleanup(&format!(
                "removed container {} (its process killed, its layers and directory deleted)",
                c.short_id()
            ));
        }
        if let Some(tag) = self.image.take() {
            let _lock = self.store.lock()?;
            let removed = self.store.remove(&tag.to_string(), false, &[])?;
            report::cleanup(&format!(
                "removed image {tag}: {} layer(s) no other image uses",
                removed.layers.len()
            ));
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
