//! The automatic check of exercise 04: `04-dockerfile-build --check`.
//!
//! It builds a small Dockerfile `FROM scratch` (so no base image is needed) in a store of its
//! own, with the exercise's rules: the layers must be where files change, a rebuild must come
//! from the cache, and after one file changes every later step must run again.

use minidocker::builder::{self, Options, Rules};
use minidocker::image::{reference, Store};
use minidocker::lesson::{CheckDir, Lab};
use minidocker::{report, rootfs};
use std::fs;

const DOCKERFILE: &str =
    "FROM scratch\nCOPY a.txt /a.txt\nENV GREETING=hello\nCOPY b.txt /b.txt\nLABEL lesson=04\n";

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    rootfs::private_mount_namespace()?;
    let dir = CheckDir::new("check04");
    let (context, root) = (dir.0.join("context"), dir.0.join("store"));
    fs::create_dir_all(&context)?;
    fs::write(context.join("Dockerfile"), DOCKERFILE)?;
    fs::write(context.join("a.txt"), "first\n")?;
    fs::write(context.join("b.txt"), "second\n")?;
    let store = Store::open(&root)?;
    let opts = Options {
        context: context.clone(),
        tags: vec![reference::parse_tagged("check04:latest")?],
        rules: *rules,
        ..Default::default()
    };

    lab.step("Build: FROM scratch, COPY, ENV, COPY, LABEL")?;
    let first = builder::build(&store, &opts)?;
    let flags: Vec<bool> = first.image.config.history.iter().map(|h| !h.empty_layer).collect();
    lab.expect(
        flags == [true, false, true, false],
        format!("COPY steps add a layer, ENV and LABEL do not (layer per step: {flags:?})"),
    );
    lab.expect(
        first.image.diff_ids().len() == 2,
        format!("the image has 2 layers (it has {})", first.image.diff_ids().len()),
    );

    lab.step("Build again, unchanged")?;
    let second = builder::build(&store, &opts)?;
    let hits = second.steps.iter().filter(|s| s.cached).count();
    lab.expect(
        hits == 4 && second.image.id == first.image.id,
        format!("all 4 steps come from the cache, same image ({hits} cached)"),
    );

    lab.step("Change a.txt (used by the first COPY) and build again")?;
    fs::write(context.join("a.txt"), "changed\n")?;
    let third = builder::build(&store, &opts)?;
    let cached: Vec<bool> = third.steps.iter().map(|s| s.cached).collect();
    lab.expect(
        cached == [false, false, false, false],
        format!("every step after the change runs again (cached per step: {cached:?})"),
    );
    lab.expect(third.image.id != first.image.id, "the result is a new image");
    Ok(lab.check_outcome())
}
