//! Lesson 03 — a container's root filesystem: image layers, the init layer and the
//! read-write layer, union-mounted; copy-on-write and whiteouts shown with inode numbers.
//!
//! The mechanism is in `src/image/` (the store, unpacked layers) and `src/rootfs/` (overlay,
//! init layer, pivot_root); this file only narrates it. The lab sheet is `README.md` here.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::container::spawn::{self, Spec};
use minidocker::image::Store;
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::report;
use minidocker::rootfs::{self, overlay, solution, InitFiles, Origin, Rootfs, Rules};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;

/// Takes an image from the store, writes an init layer (/etc/hostname, /etc/hosts,
/// /etc/resolv.conf), stacks both under a fresh read-write layer with overlayfs — what AUFS did
/// with branches — and pivot_roots a container into the merged tree. Without CMD it shows
/// copy-on-write with evidence: where a file comes from and its inode before and after a write
/// (copy-up), and the whiteout a delete leaves in the read-write layer. With CMD it runs CMD in
/// there instead. Everything is unmounted and removed at the end.
#[derive(Parser)]
struct Args {
    /// The image to use (see `minidocker images`)
    #[arg(long = "image", value_name = "REF", default_value = "busybox")]
    image_ref: String,
    /// The command to run in the container, with its arguments (put `--` before it)
    #[arg(value_name = "CMD", trailing_var_arg = true)]
    cmd: Vec<String>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str = "union mounts, pivot_root and new namespaces are root-only";

/// What the demonstration does inside the container.
const WRITE: &str = "/etc/passwd";
const DELETE: &str = "/etc/group";
const SCRIPT: &str = "echo 'student:x:1000:1000::/home/student:/bin/sh' >> /etc/passwd && rm /etc/group && echo hello > /hello.txt";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let (image_ref, cmd) = (args.image_ref, args.cmd);
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("The image: read-only layers, each unpacked once")?;
    let store = Store::open_default()?;
    let image = store
        .resolve(&image_ref)
        .map_err(|e| e.context("scripts/base-images imports busybox and python:3.11-slim"))?;
    report::evidence(
        "image",
        &format!("{image_ref} (ID {}) in {}", image.id.short(), store.root().display()),
    );
    for (i, d) in image.diff_ids().iter().enumerate() {
        let meta = store.layer_meta(d)?;
        report::evidence(
            &format!("layer {}", i + 1),
            &format!(
                "{} — {} entries, {}",
                store.layer_dir(d).display(),
                meta.entries,
                minidocker::units::human(meta.size)
            ),
        );
    }

    lab.step("AUFS stacked branches; this kernel has overlayfs")?;
    let filesystems = fs::read_to_string("/proc/filesystems")?;
    let has = |fs: &str| filesystems.lines().any(|l| l.split_whitespace().last() == Some(fs));
    report::evidence(
        "aufs in /proc/filesystems",
        if has("aufs") { "yes" } else { "no (AUFS never entered mainline Linux)" },
    );
    report::evidence(
        "overlay in /proc/filesystems",
        if has("overlay") { "yes" } else { "not yet (mounting it loads the module)" },
    );
    report::say("AUFS: mount -t aufs -o br=RW=rw:INIT=ro+wh:LAYER=ro+wh none MERGED");
    report::say("overlay: lowerdir=INIT:LAYER (read-only, top first), upperdir=RW, workdir=WORK");

    lab.step("A mount namespace of our own")?;
    rootfs::private_mount_namespace()?;
    report::say("From here on, what this process mounts is invisible to the host, and it all goes when the process does.");

    lab.step("The init layer: what makes this container itself")?;
    let id = minidocker::files::new_id()?;
    let hostname = &id[..12];
    let scratch = store.scratch()?;
    report::evidence("created", &scratch.path().display().to_string());
    let init = InitFiles::for_host(hostname, None);
    let mut fs_ = Rootfs::create(&store, image.diff_ids(), scratch.path(), &init)?;
    for (path, content) in init.files() {
        report::evidence(&format!("init/{path}"), &content.trim_end().replace('\n', " | "));
    }

    lab.step("Union-mount the layers")?;
    fs_.mount(rules)?;
    overlay::describe(&fs_.layers);
    report::evidence(
        "mountinfo",
        &overlay::mountinfo_line(&fs_.merged()).unwrap_or_else(|| "(not found)".into()),
    );
    let env = spawn::environment(image.config.config.env.as_deref().unwrap_or_default(), hostname);
    let run_in = |argv: &[String]| {
        spawn::run(
            &fs_,
            &Spec {
                hostname,
                argv,
                env: &env,
                workdir: None,
                user: None,
                host_network: false,
                dev_scripts: &[],
                binds: &[],
            },
        )
    };

    if !cmd.is_empty() {
        lab.step(&format!("Run {:?} in the container (after pivot_root)", cmd.join(" ")))?;
        let exit = run_in(&cmd)?;
        report::evidence("command", &exit.to_string());
        lab.step("Clean up")?;
        drop(fs_);
        drop(scratch);
        report::cleanup("unmounted the overlay; removed the container's layers and directories");
        return Ok(exit.code());
    }

    lab.step(&format!("Before: where {WRITE} and {DELETE} come from"))?;
    for path in [WRITE, DELETE] {
        show_origin(&fs_, path, rules);
    }
    let lower = match fs_.origin(WRITE) {
        Origin::In(l) => fs_.in_layer(&l, WRITE),
        _ => anyhow::bail!(
            "image {image_ref} has no {WRITE}; this demonstration needs one (try --image busybox)"
        ),
    };
    let lower_before = fs::read(&lower)?;
    report::evidence(
        &format!("{WRITE} in the merged tree"),
        &overlay::identity(&fs_.merged().join(&WRITE[1..])),
    );

    lab.step("Inside the container: write, delete, create")?;
    report::say(&format!("sh -c \"{SCRIPT}\""));
    let exit = run_in(&["/bin/sh".into(), "-c".into(), SCRIPT.into()])?;
    report::evidence("container", &exit.to_string());
    anyhow::ensure!(
        exit.success(),
        "the commands in the container failed; the image needs /bin/sh, {WRITE} and {DELETE}"
    );

    lab.step(&format!("After the write: {WRITE} was copied up"))?;
    show_origin(&fs_, WRITE, rules);
    report::evidence(
        "image layer's copy",
        &format!(
            "{} — {}",
            overlay::identity(&lower),
            if fs::read(&lower)? == lower_before {
                "unchanged"
            } else {
                "CHANGED (this must not happen)"
            }
        ),
    );
    report::evidence(
        "upper layer's copy",
        &overlay::identity(&fs_.in_layer(&fs_.layers.upper, WRITE)),
    );
    report::evidence(
        &format!("{WRITE} in the merged tree"),
        &overlay::identity(&fs_.merged().join(&WRITE[1..])),
    );
    report::say("overlay copied the whole file up before the write: a new inode in the upper layer; the image's file is untouched.");
    report::say("The merged tree still shows the old inode number: with all layers on one filesystem overlay keeps st_ino stable across copy-up.");

    lab.step(&format!("After the delete: {DELETE} is whited out"))?;
    show_origin(&fs_, DELETE, rules);
    report::evidence(
        "upper layer",
        &describe_entry(&fs_.in_layer(&fs_.layers.upper, DELETE), rules),
    );
    report::say("The image's file is still there below; the 0:0 character device hides it.");
    show_origin(&fs_, "/hello.txt", rules);

    lab.step("Inside the container: its mount table")?;
    let exit = run_in(&["cat".into(), "/proc/self/mountinfo".into()])?;
    report::evidence("container", &exit.to_string());

    lab.step("Clean up")?;
    drop(fs_);
    drop(scratch);
    report::cleanup("unmounted the overlay; removed the container's layers and directories");
    Ok(0)
}

/// One line of evidence: which layer `path` comes from, and what is there.
fn show_origin(fs_: &Rootfs, path: &str, rules: &Rules) {
    let text = match fs_.origin(path) {
        Origin::In(l) => {
            format!("{} — {}", layer_name(fs_, &l), describe_entry(&fs_.in_layer(&l, path), rules))
        }
        Origin::WhitedOut(l) => format!("deleted: a whiteout in {}", layer_name(fs_, &l)),
        Origin::Nowhere => "in no layer".into(),
    };
    report::evidence(path, &text);
}

fn layer_name(fs_: &Rootfs, layer: &Path) -> String {
    if layer == fs_.layers.upper {
        "the read-write layer".into()
    } else if layer == fs_.layers.init {
        "the init layer".into()
    } else {
        let n = fs_.layers.image.iter().position(|l| l == layer).map_or(0, |i| i + 1);
        format!("image layer {n}")
    }
}

/// `regular file, inode 1234` or `character device 0:0 — a whiteout`.
fn describe_entry(p: &Path, rules: &Rules) -> String {
    let Ok(m) = fs::symlink_metadata(p) else { return "absent".into() };
    if (rules.is_whiteout)(&m) {
        return format!("character device 0:0, inode {} — a whiteout", m.ino());
    }
    let kind = match m.mode() & libc::S_IFMT {
        libc::S_IFREG => "regular file",
        libc::S_IFDIR => "directory",
        libc::S_IFLNK => "symlink",
        libc::S_IFCHR => "character device",
        _ => "special file",
    };
    format!("{kind}, inode {}, {} bytes", m.ino(), m.size())
}
