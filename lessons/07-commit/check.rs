//! The automatic check of exercise 07: `07-commit --check`.
//!
//! In a store of its own it makes a one-layer image (no base image needed), lays out a
//! container of it, and makes the container's changes through a real overlay mount — so the
//! kernel does the copy-ups and leaves the whiteout. Then it commits with the exercise's rules
//! and checks the committed image: its layer tarball, its files (through a read-only mount
//! of its layers) and its configuration.

use minidocker::commit::{self, Options, Rules};
use minidocker::container::config::{self, Overrides};
use minidocker::container::run as lifecycle;
use minidocker::image::oci::{self, History, ImageConfig, RootFs, RunConfig};
use minidocker::image::{pack, reference, Store};
use minidocker::lesson::{CheckDir, Lab};
use minidocker::rootfs::{self, View};
use minidocker::{report, units};
use std::fs;

/// The image's own /etc/hosts: what every container of the committed image must still find
/// below its init layer.
const IMAGE_HOSTS: &str = "127.0.0.1\tthe-image's-own-hosts-file\n";

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    rootfs::private_mount_namespace()?;
    let dir = CheckDir::new("check07");
    let store = Store::open(&dir.0.join("store"))?;

    lab.step("An image of a few files, and a container of it")?;
    let files = dir.0.join("image");
    for (path, content) in [
        ("etc/hosts", IMAGE_HOSTS),
        ("etc/motd", "base\n"),
        ("old.txt", "old\n"),
        ("keep.txt", "keep\n"),
    ] {
        fs::create_dir_all(files.join(path).parent().unwrap())?;
        fs::write(files.join(path), content)?;
    }
    let tar = dir.0.join("layer.tar");
    pack::pack(&files, &[], fs::File::create(&tar)?)?;
    let (desc, unpacked) = store.add_layer(fs::File::open(&tar)?)?;
    let platform = oci::host_platform();
    let base_config = ImageConfig {
        created: Some(units::rfc3339_now()),
        architecture: platform.architecture,
        os: platform.os,
        config: RunConfig {
            env: Some(vec!["PATH=/bin".into()]),
            cmd: Some(vec!["/bin/app".into()]),
            ..Default::default()
        },
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![unpacked.diff_id] },
        history: vec![History { created_by: Some("check07 base".into()), ..Default::default() }],
        ..Default::default()
    };
    let base = store.put_image(
        &base_config,
        vec![desc],
        Some(&reference::parse_tagged("check07-base")?),
    )?;
    // As `minidocker run -e GREETING=hi -e HOSTNAME=web check07-base /bin/app --serve` makes it.
    let overrides = Overrides {
        name: "check07".into(),
        cmd: vec!["/bin/app".into(), "--serve".into()],
        env: vec!["GREETING=hi".into(), "HOSTNAME=web".into()],
        network: "none".into(),
        ..Default::default()
    };
    let config = config::from_image("check07-base", &base, overrides)?;
    let (env, hostname) = (config.env.clone(), config.hostname.clone());
    let c = lifecycle::create(&store, config)?;
    report::evidence("container env", &format!("{env:?}"));

    lab.step("The container changes files (through a real overlay mount)")?;
    {
        let mut fs_ = lifecycle::rootfs_of(&store, &c)?;
        fs_.mount(&rootfs::RULES)?;
        let m = fs_.merged();
        fs::write(m.join("new.txt"), "new\n")?;
        fs::remove_file(m.join("old.txt"))?;
        append(&m.join("etc/motd"), "changed in the container\n")?;
        append(&m.join("etc/hosts"), "10.1.2.3\tdb\n")?;
        fs::write(m.join("etc/hostname"), "renamed\n")?;
        fs::write(m.join("etc/added.conf"), "added\n")?;
    } // unmounted here
    let upper = c.dir.join("rootfs/upper");
    for p in commit::upper_paths(&upper)? {
        report::evidence(
            &format!("upper/{}", p.display()),
            &commit::describe_upper_entry(&upper.join(&p)),
        );
    }

    lab.step("Commit it with your rules")?;
    let tag = reference::parse_tagged("check07:latest")?;
    let opts = Options { message: Some("checked".into()), rules: *rules, ..Default::default() };
    let done = commit::commit(&store, &c, Some(&tag), &opts)?;
    let entries = match &done.layer {
        Some(l) => commit::layer_entries(&store, &l.desc)?,
        None => Vec::new(),
    };
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    report::evidence("the layer", &paths.join(" "));
    let has = |p: &str| paths.contains(&p);
    lab.expect(
        has("new.txt") && has(".wh.old.txt"),
        "the new file and the whiteout of the deleted one are in the layer",
    );
    lab.expect(
        has("etc/motd") && has("etc/added.conf"),
        "what the container changed or added in /etc is in the layer (etc/motd, etc/added.conf)",
    );
    lab.expect(
        !has("etc/hosts") && !has("etc/hostname"),
        format!(
            "the init layer's files are not (etc/hosts: {}, etc/hostname: {})",
            yes(has("etc/hosts")),
            yes(has("etc/hostname"))
        ),
    );
    let left: Vec<&str> = done.left_out.iter().map(|l| l.path.as_str()).collect();
    lab.expect(
        left == ["etc/hostname", "etc/hosts"],
        format!("exactly etc/hostname and etc/hosts are reported left out ({left:?})"),
    );

    lab.step("The committed image's files, through a read-only mount of its layers")?;
    {
        let view = View::mount(&store, done.image.diff_ids(), &store.root().join("view"))?;
        let read = |p: &str| {
            fs::read_to_string(view.path().join(p)).unwrap_or_else(|_| "(missing)".into())
        };
        lab.expect(
            read("new.txt") == "new\n"
                && !view.path().join("old.txt").exists()
                && read("keep.txt") == "keep\n",
            "new.txt is there, old.txt is gone, keep.txt is untouched",
        );
        lab.expect(
            read("etc/hosts") == IMAGE_HOSTS,
            format!("the image's /etc/hosts is still its own ({:?})", read("etc/hosts")),
        );
        lab.expect(
            !view.path().join("etc/hostname").exists(),
            "the image has no /etc/hostname (each container gets its own)",
        );
    }

    lab.step("The committed image's configuration")?;
    let rc = &done.image.config.config;
    let image_env = rc.env.clone().unwrap_or_default();
    report::evidence("Env", &format!("{image_env:?}"));
    let in_env = |e: &str| image_env.iter().any(|x| x == e);
    lab.expect(
        in_env("PATH=/bin") && in_env("GREETING=hi"),
        "the image's variables and the -e ones are kept",
    );
    lab.expect(
        !in_env(&format!("HOSTNAME={hostname}")),
        "HOSTNAME=<the old container's name> is not in the image",
    );
    lab.expect(in_env("HOSTNAME=web"), "the HOSTNAME the user set with -e is kept");
    lab.expect(!in_env("HOME=/root"), "the runtime's default HOME=/root is not in the image");
    let history = &done.image.config.history;
    lab.expect(
        history.len() == base.config.history.len() + 1
            && history.last().and_then(|h| h.comment.as_deref()) == Some("checked"),
        "the history has one more entry, with the commit message",
    );
    lab.expect(
        rc.cmd.as_deref() == Some(&["/bin/app".to_string(), "--serve".to_string()][..]),
        format!("Cmd is the container's command ({:?})", rc.cmd),
    );
    lifecycle::remove(&c, false)?;
    Ok(lab.check_outcome())
}

fn append(path: &std::path::Path, text: &str) -> minidocker::Result<()> {
    use std::io::Write;
    fs::OpenOptions::new().append(true).open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "in the layer"
    } else {
        "left out"
    }
}
