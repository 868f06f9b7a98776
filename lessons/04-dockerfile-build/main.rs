//! Lesson 04 — a Dockerfile becomes an image: one image per instruction, a layer where files
//! change, and a build cache.
//!
//! The mechanism is in `src/dockerfile/` (the parser) and `src/builder/` (the builder); this
//! file only narrates it. The lab sheet is `README.md` next to this file.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::builder::{self, solution, Options};
use minidocker::image::{reference, Reference, Store};
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::{dockerfile, report, rootfs, units};
use std::path::PathBuf;
use std::process::ExitCode;

/// Parses a Dockerfile (default: assets/helloworld, the article's Flask app) and shows its syntax
/// tree, builds it the way Docker's classic builder does — every instruction a new image,
/// RUN/ADD/COPY a new layer, the rest only configuration — shows each step's layer (size, files
/// changed), builds again to show every step come from the cache, and ends with the image's
/// layer stack. The images it built are removed at the end unless -t names one to keep.
#[derive(Parser)]
struct Args {
    /// Print the parsed Dockerfile (its syntax tree) and stop
    #[arg(long)]
    parse_only: bool,
    /// The Dockerfile (default: CONTEXT/Dockerfile)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Keep the built image under this name
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]", value_parser = reference::parse_tagged)]
    keep: Option<Reference>,
    /// The build context (default: assets/helloworld)
    #[arg(value_name = "CONTEXT")]
    context: Option<PathBuf>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str = "RUN steps run in containers: namespaces and overlay mounts are root-only";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let Args { parse_only, file, keep, context, .. } = args;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    let context = context.unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/helloworld"))
    });
    let path = file.clone().unwrap_or_else(|| context.join("Dockerfile"));

    lab.step(&format!("Parse {}: the syntax tree", path.display()))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let df = dockerfile::parse(&text, &path.file_name().unwrap_or_default().to_string_lossy())?;
    for ins in &df.instructions {
        let lines = if ins.start_line == ins.end_line {
            format!("line {}", ins.start_line)
        } else {
            format!("lines {}-{}", ins.start_line, ins.end_line)
        };
        report::evidence(&lines, dockerfile::dump_instruction(ins).trim_end());
    }
    report::say("Comments and line continuations are gone; each instruction is a keyword, its flags and its arguments.");
    if parse_only {
        return Ok(0);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("The base image")?;
    // (The build takes the store's lock itself, while it writes into the store.)
    let store = Store::open_default()?;
    if let Some(from) = df
        .instructions
        .iter()
        .find(|i| i.keyword == "from")
        .and_then(|i| i.args.first())
        .filter(|b| *b != "scratch")
    {
        let base = store
            .resolve(from)
            .map_err(|e| e.context("scripts/base-images imports busybox and python:3.11-slim"))?;
        report::evidence(
            from,
            &format!("ID {}, {} layer(s)", base.id.short(), base.diff_ids().len()),
        );
    }
    rootfs::private_mount_namespace()?;
    let tag = keep
        .clone()
        .unwrap_or(reference::parse_tagged(&format!("lesson04-{}:latest", std::process::id()))?);
    // ANCHOR: build
    let opts = Options {
        context,
        dockerfile: file,
        tags: vec![tag.clone()],
        no_cache: false,
        build_args: Vec::new(),
        rules: *rules,
        ..Options::default()
    };

    lab.step("Build (--no-cache, so every step really runs): every instruction makes an image")?;
    let first = builder::build(&store, &Options { no_cache: true, ..opts.clone() })?;
    // ANCHOR_END: build

    lab.step("What each step added")?;
    for s in &first.steps {
        let what = match &s.layer {
            None => "configuration only: no layer, an empty_layer entry in the history".to_string(),
            Some(l) => {
                let mut files: Vec<&str> =
                    l.files.changed.iter().map(String::as_str).take(6).collect();
                if l.files.changed.len() > 6 {
                    files.push("…");
                }
                format!(
                    "layer {} of {} — {}",
                    &l.diff_id.hex()[..12],
                    units::human(l.size),
                    files.join(" ")
                )
            }
        };
        let ins: String = s.instruction.chars().take(28).collect();
        report::evidence(&format!("{ins:<28}"), &what);
    }

    lab.step("Build again: nothing changed, so nothing runs")?;
    let second = builder::build(&store, &opts)?;
    let hits = second.steps.iter().filter(|s| s.cached).count();
    report::evidence("steps from the cache", &format!("{hits} of {}", second.steps.len()));
    report::evidence(
        "image",
        &format!(
            "{} then {} — {}",
            first.image.id.short(),
            second.image.id.short(),
            if first.image.id == second.image.id {
                "the same image"
            } else {
                "DIFFERENT (the cache missed)"
            }
        ),
    );

    lab.step("The image: a stack of layers and a history")?;
    let img = &second.image;
    // ANCHOR: history
    let mut layers = img.diff_ids().iter();
    for h in &img.config.history {
        let by = h.created_by.clone().unwrap_or_default();
        let by: String = if by.chars().count() > 60 {
            by.chars().take(59).collect::<String>() + "…"
        } else {
            by
        };
        let layer = if h.empty_layer {
            "(no layer)".to_string()
        } else {
            layers.next().map_or("?".into(), |d| {
                format!(
                    "{} {}",
                    &d.hex()[..12],
                    units::human(store.layer_meta(d).map_or(0, |m| m.size))
                )
            })
        };
        report::evidence(&format!("{layer:>24}"), &by);
    }
    // ANCHOR_END: history
    report::evidence(
        "config",
        &format!(
            "Cmd {:?}, Env {:?}, WorkingDir {:?}",
            img.config.config.cmd.clone().unwrap_or_default(),
            img.config.config.env.clone().unwrap_or_default(),
            img.config.config.working_dir.clone().unwrap_or_default()
        ),
    );

    lab.step("Clean up")?;
    if keep.is_some() {
        report::note(&format!("kept as {tag}: try `minidocker history {tag}`"));
    } else {
        let _lock = store.lock()?;
        let removed = store.remove(&tag.to_string(), false, &[])?;
        report::cleanup(&format!(
            "removed {tag}: {} image(s) and {} layer(s) no other image uses",
            removed.images.len(),
            removed.layers.len()
        ));
    }
    Ok(0)
}
