//! The builder, with the classic builder's semantics: each instruction makes a new image
//! from the one before — a new layer when it changes files (RUN, COPY, ADD), only a new
//! configuration and an `empty_layer` history entry otherwise (ENV, CMD, EXPOSE…) — and a
//! step whose parent and instruction are unchanged is taken from the cache.

use super::cache::Cache;
use super::context::{self, BuildContext};
use super::copy::{self, Attrs};
use super::mounts;
use super::run_flags;
use crate::container::spawn::Spec;
use crate::dockerfile::{self, heredoc, Dockerfile, Instruction};
use crate::image::oci::{self, Descriptor, History, ImageConfig};
use crate::image::pack::{self, Packed};
use crate::image::store::NewLayer;
use crate::image::{Digest, Image, Reference, Store};
use crate::rootfs::{InitFiles, Rootfs, View};
use crate::{interrupt, units};
use anyhow::{anyhow, bail, ensure, Context};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// `minidocker build`'s options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub context: PathBuf,
    /// `-f`: the Dockerfile; `CONTEXT/Dockerfile` when not given.
    pub dockerfile: Option<PathBuf>,
    pub tags: Vec<Reference>,
    pub no_cache: bool,
    /// `--build-arg NAME=value`.
    pub build_args: Vec<(String, String)>,
    /// The two decisions lesson 04's exercise asks for: the reference answers
    /// ([`super::RULES`], the default), or a student's.
    pub rules: Rules,
    /// Lesson 03's union mount and switch of root, for every `RUN`: the reference answers (the
    /// default), or a student's (`minidocker --mine build`).
    pub rootfs: crate::rootfs::Rules,
}

/// Exercise 04, which steps add a layer and what a cache key is made of: the reference
/// answer's ([`super::RULES`]) or a student's (`04-dockerfile-build --mine`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Does this instruction (`run`, `copy`, … lower-case) add a layer?
    pub makes_layer: fn(&str) -> bool,
    /// The build cache's key for a step: its parent image and its `created_by`.
    pub cache_key: fn(Option<&Digest>, &str) -> String,
}

impl Default for Rules {
    fn default() -> Rules {
        super::RULES
    }
}

/// What one step did, for the lesson to show.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub instruction: String,
    pub cached: bool,
    pub image: Digest,
    /// The layer the step made, if it changed files.
    pub layer: Option<LayerReport>,
}

#[derive(Debug, Clone)]
pub struct LayerReport {
    pub diff_id: Digest,
    /// Bytes of the uncompressed layer tarball.
    pub size: u64,
    pub files: Packed,
}

pub struct Report {
    pub image: Image,
    pub steps: Vec<StepReport>,
    pub context: BuildContext,
    pub dockerfile: Dockerfile,
}

/// The init layer's files describe one container; they never go into an image layer.
pub const NOT_COMMITTED: [&str; 3] = ["etc/hostname", "etc/hosts", "etc/resolv.conf"];

/// One build stage: the image as built so far.
struct Stage {
    name: Option<String>,
    config: ImageConfig,
    layers: Vec<Descriptor>,
    /// The current image (None while a `FROM scratch` stage has no step yet).
    id: Option<Digest>,
    /// Declared ARGs as `NAME=value`.
    args: Vec<String>,
    /// CMD came from the base image (an ENTRYPOINT here then resets it, as in Docker).
    cmd_inherited: bool,
}

struct Builder<'a> {
    store: &'a Store,
    /// The images this build uses and has made, kept from `rmi` and `system prune` while the
    /// store is not locked (see [`build`]).
    lease: crate::image::lease::Lease,
    opts: &'a Options,
    escape: char,
    work: crate::image::store::Scratch,
    context: PathBuf,
    cache: Cache,
    stages: Vec<Stage>,
    /// ARGs before the first FROM: usable in FROM lines only.
    global_args: Vec<String>,
    used_args: BTreeSet<String>,
    steps: Vec<StepReport>,
}

/// Build the Dockerfile in `opts`; prints the classic builder's output as it goes.
///
/// The build takes the store's lock itself, and only while it reads an image to hold it in
/// its lease or writes into the store (a step's layer and image, the tags) — never while a
/// RUN runs — so other builds, `tag`, `run` and `rmi` go on meanwhile. The caller must not
/// hold the lock.
pub fn build(store: &Store, opts: &Options) -> crate::Result<Report> {
    let path = opts.dockerfile.clone().unwrap_or_else(|| opts.context.join("Dockerfile"));
    let text = fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read the Dockerfile {}: {e}", path.display()))?;
    let name = path.file_name().map_or("Dockerfile".into(), |n| n.to_string_lossy().into_owned());
    let df = dockerfile::parse(&text, &name)?;
    df.check()?;
    for w in &df.warnings {
        eprintln!("[WARNING]: {w}");
    }
    let work = store.scratch()?;
    let ctx = context::snapshot(&opts.context, &work.path().join("context"))?;
    println!("Sending build context to minidocker  {}", units::docker_size(ctx.bytes));
    let mut b = Builder {
        store,
        lease: store.lease("a build")?,
        opts,
        escape: df.directives.escape,
        context: ctx.dir.clone(),
        work,
        cache: Cache::load(store),
        stages: Vec::new(),
        global_args: Vec::new(),
        used_args: BTreeSet::new(),
        steps: Vec::new(),
    };
    let total = df.instructions.len();
    for (i, ins) in df.instructions.iter().enumerate() {
        interrupt::check()?;
        println!("Step {}/{total} : {}", i + 1, crate::report::shorten(&ins.original, 1000));
        b.step(ins).map_err(|e| match e.downcast_ref::<interrupt::Interrupted>() {
            Some(_) => e,
            None => anyhow!("{name}:{}: {e:#}", ins.start_line),
        })?;
    }
    let stage = b.stages.last().ok_or_else(|| {
        anyhow!("{name}: no FROM instruction: a build starts from an image (or FROM scratch)")
    })?;
    let id = stage.id.clone().ok_or_else(|| {
        anyhow!("{name}: FROM scratch and nothing else: there is no image to build")
    })?;
    let image = store.resolve(id.as_str())?;
    println!("Successfully built {}", image.id.short());
    if !opts.tags.is_empty() {
        let _lock = store.lock()?;
        for tag in &opts.tags {
            store.tag(image.id.as_str(), tag)?;
            println!("Successfully tagged {tag}");
        }
    }
    let unused: Vec<&str> = opts
        .build_args
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !b.used_args.contains(*k))
        .collect();
    if !unused.is_empty() {
        println!("[Warning] One or more build-args [{}] were not consumed", unused.join(" "));
    }
    let image = store.resolve(image.id.as_str())?;
    Ok(Report { image, steps: b.steps, context: ctx, dockerfile: df })
}

impl Builder<'_> {
    fn step(&mut self, ins: &Instruction) -> crate::Result<()> {
        match ins.keyword.as_str() {
            "from" => return self.from(ins),
            "arg" if self.stages.is_empty() => {
                let args = self.declare_args(ins, &self.global_args.clone())?;
                self.global_args.extend(args);
                return Ok(());
            }
            _ => {}
        }
        ensure!(
            !self.stages.is_empty(),
            "{} before FROM: a build starts from an image (FROM IMAGE or FROM scratch)",
            ins.keyword.to_uppercase()
        );
        match ins.keyword.as_str() {
            "run" => self.run(ins),
            "copy" | "add" => self.copy(ins),
            _ => self.config_step(ins),
        }
    }

    fn stage(&mut self) -> &mut Stage {
        self.stages.last_mut().expect("a stage exists after FROM")
    }

    /// The variables an instruction's arguments may use: declared ARGs, then ENV (which wins).
    fn env(&self) -> Vec<String> {
        let st = self.stages.last().expect("a stage exists after FROM");
        let mut env = st.args.clone();
        env.extend(st.config.config.env.clone().unwrap_or_default());
        env
    }

    fn expand(&self, word: &str) -> crate::Result<String> {
        let env = self.env();
        let lookup = dockerfile::lookup_in(&env);
        dockerfile::expand(word, &lookup, self.escape)
    }

    /// ARG NAME[=default]: the value is the --build-arg, else the default.
    fn declare_args(&mut self, ins: &Instruction, scope: &[String]) -> crate::Result<Vec<String>> {
        let mut out = Vec::new();
        for a in &ins.args {
            let (name, default) =
                a.split_once('=').map_or((a.as_str(), None), |(n, d)| (n, Some(d)));
            let given =
                self.opts.build_args.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            if given.is_some() {
                self.used_args.insert(name.to_string());
            }
            let value = match (given, default) {
                (Some(v), _) => Some(v),
                (None, Some(d)) => {
                    let lookup = dockerfile::lookup_in(scope);
                    Some(dockerfile::expand(d, &lookup, self.escape)?)
                }
                // FIX: `ARG NAME` without a value inside a stage takes the default of the
                // global `ARG NAME=…` before the first FROM, as Docker documents.
                (None, None) => self
                    .global_args
                    .iter()
                    .find(|a| a.split('=').next() == Some(name))
                    .map(|a| a[name.len() + 1..].to_string()),
            };
            if let Some(v) = value {
                out.push(format!("{name}={v}"));
            }
        }
        Ok(out)
    }

    fn from(&mut self, ins: &Instruction) -> crate::Result<()> {
        let base = {
            let lookup = dockerfile::lookup_in(&self.global_args);
            dockerfile::expand(&ins.args[0], &lookup, self.escape)?
        };
        let name = ins.args.get(2).map(|n| n.to_lowercase());
        let platform = oci::host_platform();
        let stage = if base == "scratch" {
            let config = ImageConfig {
                architecture: platform.architecture,
                os: platform.os,
                rootfs: oci::RootFs { kind: "layers".into(), diff_ids: Vec::new() },
                ..Default::default()
            };
            Stage {
                name,
                config,
                layers: Vec::new(),
                id: None,
                args: Vec::new(),
                cmd_inherited: false,
            }
        } else if let Some(prev) =
            self.stages.iter().find(|s| s.name.as_deref() == Some(base.to_lowercase().as_str()))
        {
            Stage {
                name,
                config: prev.config.clone(),
                layers: prev.layers.clone(),
                id: prev.id.clone(),
                args: Vec::new(),
                cmd_inherited: true,
            }
        } else {
            let img = self.hold(&base).map_err(|_| {
                anyhow!("base image {base} is not in the store: import it (scripts/base-images) or pull it (minidocker pull {base})")
            })?;
            Stage {
                name,
                config: img.config,
                layers: img.manifest.layers,
                id: Some(img.id),
                args: Vec::new(),
                cmd_inherited: true,
            }
        };
        if let Some(id) = &stage.id {
            println!(" ---> {}", id.short());
        }
        let triggers: Vec<String> = stage
            .config
            .config
            .extra
            .get("OnBuild")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        self.stages.push(stage);
        if !triggers.is_empty() {
            // ONBUILD: the base image's triggers run now, as if written right after FROM.
            println!(
                "# Executing {} build trigger{}",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            );
            self.stage().config.config.extra.remove("OnBuild");
            for t in triggers {
                let df = dockerfile::parse(&t, "ONBUILD trigger")?;
                df.check()?;
                for trig in &df.instructions {
                    self.step(trig)?;
                }
            }
        }
        Ok(())
    }

    /// Find an image and hold it in the build's lease, under the store's lock.
    fn hold(&self, what: &str) -> crate::Result<Image> {
        let _lock = self.store.lock()?;
        let img = self.store.resolve(what)?;
        self.lease.hold(&img.id)?;
        Ok(img)
    }

    /// Take the step from the cache, if it is there: the image it made becomes the current one.
    fn cached(&mut self, key: &str, ins: &Instruction) -> bool {
        if self.opts.no_cache {
            return false;
        }
        let Some(img) = self.cache.get(self.store, key) else { return false };
        // Held, or an `rmi` could take it before the next step builds on it.
        let Ok(img) = self.hold(img.id.as_str()) else { return false };
        println!(" ---> Using cache\n ---> {}", img.id.short());
        let st = self.stage();
        st.config = img.config.clone();
        st.layers = img.manifest.layers.clone();
        st.id = Some(img.id.clone());
        self.steps.push(StepReport {
            instruction: ins.original.clone(),
            cached: true,
            image: img.id,
            layer: None,
        });
        true
    }

    /// Record the step: a history entry, the layer if any, a new image in the store.
    fn commit(
        &mut self,
        key: String,
        ins: &Instruction,
        created_by: String,
        layer: Option<(NewLayer, Packed)>,
    ) -> crate::Result<()> {
        // A step that changed files but "makes no layer" loses its changes: what the
        // exercise's `makes_layer` decides is what the image gets.
        let layer = layer.filter(|_| (self.opts.rules.makes_layer)(&ins.keyword));
        // The store's lock from the moment the layer is in the store until an image (held in
        // our lease) uses it: no `rmi` comes in between to collect it as garbage.
        let _lock = self.store.lock()?;
        let layer = match layer {
            Some((new, files)) => {
                let (desc, unpacked) = self.store.keep_prepared(new)?;
                let size = unpacked.tar_size;
                Some((desc, LayerReport { diff_id: unpacked.diff_id, size, files }))
            }
            None => None,
        };
        let now = units::rfc3339_now();
        let st = self.stages.last_mut().expect("a stage exists after FROM");
        st.config.created = Some(now.clone());
        st.config.history.push(History {
            created: Some(now),
            created_by: Some(created_by),
            empty_layer: layer.is_none(),
            ..Default::default()
        });
        if let Some((desc, report)) = &layer {
            st.layers.push(desc.clone());
            st.config.rootfs.diff_ids.push(report.diff_id.clone());
        }
        let img = self.store.put_image(&st.config, st.layers.clone(), None)?;
        self.lease.hold(&img.id)?;
        st.id = Some(img.id.clone());
        self.cache.put(key, &img.id)?;
        println!(" ---> {}", img.id.short());
        self.steps.push(StepReport {
            instruction: ins.original.clone(),
            cached: false,
            image: img.id,
            layer: layer.map(|l| l.1),
        });
        Ok(())
    }

    /// ENV, LABEL, CMD, EXPOSE…: a new configuration, no layer.
    fn config_step(&mut self, ins: &Instruction) -> crate::Result<()> {
        let mut config = self.stage().config.clone();
        let c = &mut config.config;
        let kw = ins.keyword.as_str();
        let shown = match kw {
            "env" => {
                let mut env = c.env.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for kv in ins.key_values() {
                    let value = self.expand(kv.value)?;
                    let key = self.expand(kv.key)?;
                    env.retain(|e| e.split('=').next() != Some(key.as_str()));
                    env.push(format!("{key}={value}"));
                    shown.push(format!("{key}={value}"));
                }
                c.env = Some(env);
                shown.join(" ")
            }
            "label" => {
                let mut labels = c.labels.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for kv in ins.key_values() {
                    let (k, v) = (self.expand(kv.key)?, self.expand(kv.value)?);
                    shown.push(format!("{k}={v}"));
                    labels.insert(k, v);
                }
                c.labels = Some(labels);
                shown.join(" ")
            }
            "arg" => {
                let scope = self.env();
                let args = self.declare_args(ins, &scope)?;
                let st = self.stage();
                for a in &args {
                    let name = a.split('=').next().unwrap_or_default().to_string();
                    st.args.retain(|e| e.split('=').next() != Some(name.as_str()));
                }
                st.args.extend(args);
                ins.args.join(" ")
            }
            "expose" => {
                let mut ports = c.exposed_ports.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for a in &ins.args {
                    let p = self.expand(a)?;
                    let port = if p.contains('/') { p.to_lowercase() } else { format!("{p}/tcp") };
                    let (num, proto) = port.split_once('/').unwrap_or_default();
                    ensure!(
                        num.split('-').all(|n| n.parse::<u16>().is_ok())
                            && ["tcp", "udp", "sctp"].contains(&proto),
                        "invalid port {p:?} for EXPOSE (PORT or PORT/tcp|udp)"
                    );
                    ports.insert(port.clone(), serde_json::json!({}));
                    shown.push(port);
                }
                c.exposed_ports = Some(ports);
                shown.join(" ")
            }
            "cmd" | "entrypoint" => {
                let argv = self.command(ins, &config, ins.args.join(" "));
                let c = &mut config.config;
                let shown = format!(
                    "[{}]",
                    argv.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" ")
                );
                if kw == "cmd" {
                    c.cmd = Some(argv);
                    self.stage().cmd_inherited = false;
                } else {
                    c.entrypoint = Some(argv);
                    if self.stage().cmd_inherited {
                        c.cmd = None;
                    }
                }
                shown
            }
            "shell" => {
                c.extra.insert("Shell".into(), serde_json::json!(ins.args));
                format!("{:?}", ins.args)
            }
            "workdir" => {
                let dir = self.expand(&ins.args[0])?;
                let base = c.working_dir.clone().unwrap_or_else(|| "/".into());
                let joined = if dir.starts_with('/') {
                    PathBuf::from(&dir)
                } else {
                    Path::new(&base).join(&dir)
                };
                let cleaned = crate::files::clean_abs(&joined);
                c.working_dir = Some(cleaned.clone());
                cleaned
            }
            "user" => {
                let u = self.expand(&ins.args[0])?;
                c.user = Some(u.clone());
                u
            }
            "volume" => {
                let mut vols = c.volumes.clone().unwrap_or_default();
                for a in &ins.args {
                    vols.insert(self.expand(a)?, serde_json::json!({}));
                }
                c.volumes = Some(vols);
                ins.args.join(" ")
            }
            "stopsignal" => {
                let s = self.expand(&ins.args[0])?;
                c.stop_signal = Some(s.clone());
                s
            }
            "maintainer" => {
                config.author = Some(ins.args[0].clone());
                ins.args[0].clone()
            }
            "onbuild" => {
                let trigger = ins.onbuild.as_ref().context("ONBUILD needs an instruction")?;
                // A trigger's here-documents are stored with it, to be read again when it runs.
                let text = heredoc::with_bodies(&trigger.original, &ins.heredocs);
                let mut list: Vec<String> = c
                    .extra
                    .get("OnBuild")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                list.push(text.clone());
                c.extra.insert("OnBuild".into(), serde_json::json!(list));
                text
            }
            "healthcheck" => {
                let test: Vec<String> = if ins.args[0].eq_ignore_ascii_case("none") {
                    vec!["NONE".into()]
                } else if ins.json {
                    std::iter::once("CMD".to_string())
                        .chain(ins.args[1..].iter().cloned())
                        .collect()
                } else {
                    vec!["CMD-SHELL".into(), ins.args[1..].join(" ")]
                };
                let mut hc = serde_json::json!({ "Test": test });
                for (flag, key) in [
                    ("interval", "Interval"),
                    ("timeout", "Timeout"),
                    ("start-period", "StartPeriod"),
                ] {
                    if let Some(v) = ins.flag(flag) {
                        hc[key] = serde_json::json!(parse_duration(v).with_context(|| format!(
                            "--{flag}={v} is not a duration like 30s or 1m30s"
                        ))?);
                    }
                }
                if let Some(r) = ins.flag("retries") {
                    hc["Retries"] = serde_json::json!(r
                        .parse::<u32>()
                        .with_context(|| format!("--retries={r} is not a number"))?);
                }
                c.extra.insert("Healthcheck".into(), hc);
                ins.args.join(" ")
            }
            other => bail!("unknown instruction {}", other.to_uppercase()),
        };
        let created_by = format!("/bin/sh -c #(nop)  {} {shown}", kw.to_uppercase());
        let key = (self.opts.rules.cache_key)(self.stage().id.as_ref(), &created_by);
        if self.cached(&key, ins) {
            return Ok(());
        }
        self.stage().config = config;
        // An instruction that "makes a layer" gets one even without files to put in it.
        let layer = if (self.opts.rules.makes_layer)(kw) {
            Some(self.layer_from(&self.empty_dir()?, &[])?)
        } else {
            None
        };
        self.commit(key, ins, created_by, layer)
    }

    /// CMD, ENTRYPOINT, RUN: the argv — as written (exec form) or `text` through the SHELL.
    fn command(&self, ins: &Instruction, config: &ImageConfig, text: String) -> Vec<String> {
        if ins.json {
            return ins.args.clone();
        }
        let shell: Vec<String> = config
            .config
            .extra
            .get("Shell")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        shell.into_iter().chain(std::iter::once(text)).collect()
    }

    /// RUN: a container from the image so far; what it changes becomes the step's layer.
    fn run(&mut self, ins: &Instruction) -> crate::Result<()> {
        let config = self.stage().config.clone();
        let workdir = config
            .config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into());
        let flags = run_flags::parse(&ins.flags, &|value| self.expand(value), &workdir)?;
        let (text, scripts) = run_heredocs(ins)?;
        let argv = self.command(ins, &config, text);
        // Build args reach RUN as environment variables, and — as in Docker — are recorded.
        let image_env = config.config.env.clone().unwrap_or_default();
        let args: Vec<String> = self
            .stage()
            .args
            .iter()
            .filter(|a| !image_env.iter().any(|e| e.split('=').next() == a.split('=').next()))
            .cloned()
            .collect();
        let created_by = if args.is_empty() {
            argv.join(" ")
        } else {
            format!("|{} {} {}", args.len(), args.join(" "), argv.join(" "))
        };
        // What the step depends on beyond its command line goes into the key after NULs, which
        // no command line can hold (so no other RUN has the same key): a script run from
        // /dev/pipes, the flags, and the content of what bind mounts show.
        ensure!(
            !created_by.contains('\0'),
            "RUN holds a NUL character, which no command line can: remove it"
        );
        let views = self.work.path().join(format!("run-{}", self.steps.len()));
        let mut mounted =
            mounts::prepare(self.store, &self.context, &flags.mounts, &views, &|from| {
                self.source_layers(from)
            })?;
        let extra = scripts
            .iter()
            .map(|(_, script)| script.clone())
            .chain(ins.flags.iter().cloned())
            .chain(mounted.hashes.iter().map(|h| h.to_string()));
        let key_text = extra.fold(created_by.clone(), |key, part| format!("{key}\0{part}"));
        let key = (self.opts.rules.cache_key)(self.stage().id.as_ref(), &key_text);
        if self.cached(&key, ins) {
            return Ok(());
        }
        mounted.make_copies()?;
        let id = crate::files::new_id()?;
        let hostname = &id[..12];
        let dir = self.store.scratch()?;
        let mut fs_ = Rootfs::create(
            self.store,
            &config.rootfs.diff_ids,
            dir.path(),
            &InitFiles::for_host(hostname, None),
        )?;
        fs_.mount(&self.opts.rootfs)?;
        let stubs = mounts::stubs(&fs_.merged(), &mounted.binds)?;
        println!(" ---> Running in {hostname}");
        let mut env = crate::container::spawn::environment(&image_env, hostname);
        env.extend(args);
        let spec = Spec {
            hostname,
            argv: &argv,
            env: &env,
            workdir: config.config.working_dir.as_deref(),
            user: config.config.user.as_deref(),
            host_network: !flags.no_network,
            dev_scripts: &scripts,
            binds: &mounted.binds,
        };
        let exit = crate::container::spawn::run(&fs_, &spec)?;
        // One line, also for a here-document's script (its newlines shown as \n).
        ensure!(
            exit.success(),
            "The command '{}' returned a non-zero code: {}",
            crate::report::shorten(&argv.join(" ").trim_end().replace('\n', "\\n"), 200),
            exit.code()
        );
        let upper = fs_.base.join(&fs_.layers.upper);
        mounts::remove_stubs(&upper, &stubs)?;
        let layer = self.layer_from(&upper, &NOT_COMMITTED)?;
        drop(fs_);
        drop(dir);
        println!(" ---> Removed intermediate container {hostname}");
        // The history records the command as it ran, build args first (`|1 K=v /bin/sh -c …`).
        self.commit(key, ins, created_by, Some(layer))
    }

    /// An empty directory in the build's work dir (an empty layer's content).
    fn empty_dir(&self) -> crate::Result<PathBuf> {
        let d = self.work.path().join("empty");
        fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Pack a directory into a layer, made aside in `tmp/` (no lock): [`Builder::commit`]
    /// moves it into the store.
    fn layer_from(&self, dir: &Path, exclude: &[&str]) -> crate::Result<(NewLayer, Packed)> {
        let tar_path = self.work.path().join("layer.tar");
        let files = pack::pack(
            dir,
            exclude,
            crate::commit::RULES.pack_rw_layer,
            fs::File::create(&tar_path)?,
        )?;
        let tar = fs::File::open(&tar_path)?;
        let bar = crate::progress::bytes(Some(tar.metadata()?.len()), "Committing");
        let new = self.store.prepare_layer(bar.wrap_read(tar))?;
        bar.finish_and_clear();
        fs::remove_file(&tar_path)?;
        Ok((new, files))
    }

    /// ADD and COPY: files from the context (or another stage, or a URL for ADD) staged at
    /// their destination, then packed into the step's layer.
    fn copy(&mut self, ins: &Instruction) -> crate::Result<()> {
        let kw = ins.keyword.to_uppercase();
        for f in &ins.flags {
            let name = f.trim_start_matches('-').split('=').next().unwrap_or_default();
            ensure!(
                ["from", "chown", "chmod", "link"].contains(&name)
                    && (name != "from" || kw == "COPY"),
                "{kw} failed: unknown flag {f}"
            );
        }
        let (dest_arg, source_args) = ins.args.split_last().context("no destination")?;
        let dest_word = self.expand(dest_arg)?;
        let config = self.stage().config.clone();
        let workdir = config.config.working_dir.clone().unwrap_or_else(|| "/".into());
        let dest_is_dir_syntax =
            dest_word.ends_with('/') || dest_word == "." || dest_word.ends_with("/.");
        let dest = crate::files::clean_abs(&Path::new(&workdir).join(&dest_word));

        // Where the sources come from: the context, an earlier stage, or an image. The views
        // are mounted in the build's work dir, unmounted when their guards drop, and the work
        // dir goes at the end of the build.
        let views = self.work.path().join(format!("view-{}", self.steps.len()));
        let from_view;
        let (root, what) = match ins.flag("from") {
            Some(from) => {
                let diff_ids = self.source_layers(from)?;
                from_view = View::mount(self.store, &diff_ids, &views.join("from"))?;
                (from_view.path().to_path_buf(), format!("image of --from={from}"))
            }
            None => (self.context.clone(), "build context".to_string()),
        };
        let downloads = self.work.path().join(format!("downloads-{}", self.steps.len()));
        let mut heredocs = ins.heredocs.iter();
        let mut sources: Vec<(PathBuf, bool)> = Vec::new(); // (absolute path, may be extracted)
        for (i, arg) in source_args.iter().enumerate() {
            if let Some(doc) = heredoc::opener(arg).and_then(|_| heredocs.next()) {
                let file = self
                    .work
                    .path()
                    .join(format!("heredocs-{}/{i}", self.steps.len()))
                    .join(doc.file_name()?);
                sources.push((self.write_heredoc(doc, &file)?, false));
                continue;
            }
            let w = self.expand(arg)?;
            if kw == "ADD" && (w.starts_with("http://") || w.starts_with("https://")) {
                sources.push((download(&w, &downloads)?, false));
                continue;
            }
            for rel in copy::sources(&root, &w, &what).map_err(|e| anyhow!("{kw} failed: {e:#}"))? {
                sources.push((root.join(rel), kw == "ADD"));
            }
        }
        ensure!(sources.len() == 1 || dest_is_dir_syntax, "When using {kw} with more than one source file, the destination must be a directory and end with a /");

        // The image so far, read-only: is the destination a directory there, who is --chown?
        let view = View::mount(self.store, &config.rootfs.diff_ids, &views.join("image"))?;
        let dest_is_dir =
            dest_is_dir_syntax || view.path().join(dest.trim_start_matches('/')).is_dir();
        let mut attrs = Attrs::default();
        if let Some(owner) = ins.flag("chown") {
            (attrs.uid, attrs.gid) = resolve_owner(view.path(), &self.expand(owner)?)?;
        }
        if let Some(mode) = ins.flag("chmod") {
            attrs.chmod = Some(
                u32::from_str_radix(mode, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .with_context(|| format!("invalid --chmod={mode}: an octal mode like 755"))?,
            );
        }
        // FIX: the view stays mounted until the files are staged (see `keep_image_dirs` below).

        let hash = copy::content_hash(&sources.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>())?;
        let kind = if sources.len() > 1 {
            "multi"
        } else if sources[0].0.is_dir() {
            "dir"
        } else {
            "file"
        };
        // FIX: the destination as Docker shows it, trailing `/` kept: `COPY f /x` (a file /x)
        // and `COPY f /x/` (/x/f) are different steps, and were one cache key.
        let shown_dest =
            if dest_is_dir_syntax && dest != "/" { format!("{dest}/") } else { dest.clone() };
        let created_by = format!(
            "/bin/sh -c #(nop) {kw} {}{kind}:{} in {shown_dest} ",
            ins.flags.iter().map(|f| format!("{f} ")).collect::<String>(),
            hash.hex()
        );
        let key = (self.opts.rules.cache_key)(self.stage().id.as_ref(), &created_by);
        if self.cached(&key, ins) {
            return Ok(());
        }
        let staged = self.work.path().join(format!("stage-{}", self.steps.len()));
        fs::create_dir_all(&staged)?;
        for (src, may_extract) in &sources {
            // FIX: an archive that ADD extracts goes *into* the destination (`ADD app.tar /srv/`
            // gives /srv/…, as in Docker), not into a directory named after the archive.
            let extracts =
                *may_extract && fs::symlink_metadata(src)?.is_file() && copy::is_archive(src)?;
            let target = if src.is_dir() || extracts || !dest_is_dir {
                PathBuf::from(&dest)
            } else {
                Path::new(&dest).join(src.file_name().unwrap_or_default())
            };
            copy::stage(src, &staged, &target, attrs, *may_extract)?;
            // FIX: the directories on the way that the image already has keep its owner and
            // mode: `COPY f /tmp/` left /tmp 0755 root instead of 1777, and --chown gave
            // existing parents to the new owner. Docker makes and chowns only missing ones.
            copy::keep_image_dirs(&staged, view.path(), &target)?;
        }
        drop(view);
        let layer = self.layer_from(&staged, &[])?;
        fs::remove_dir_all(&staged)?;
        self.commit(key, ins, created_by, Some(layer))
    }

    /// A here-document of COPY or ADD as the file it becomes (mode 0644, as in BuildKit), its
    /// variables expanded unless its delimiter was quoted.
    fn write_heredoc(&self, doc: &heredoc::Heredoc, file: &Path) -> crate::Result<PathBuf> {
        let text = match doc.expand {
            true => dockerfile::expand_heredoc(&doc.content, &dockerfile::lookup_in(&self.env()))
                .map_err(|e| anyhow!("here-document <<{0}: {e}; to take its body as written, quote the delimiter: <<'{0}'", doc.name))?,
            false => doc.content.clone(),
        };
        fs::create_dir_all(file.parent().expect("a file in the work dir"))?;
        fs::write(file, text)?;
        fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        Ok(file.to_path_buf())
    }

    /// `--from=`: a stage by name or number, else an image in the store.
    fn source_layers(&self, from: &str) -> crate::Result<Vec<Digest>> {
        let stage = match from.parse::<usize>() {
            Ok(i) => self.stages.get(i),
            Err(_) => {
                self.stages.iter().find(|s| s.name.as_deref() == Some(from.to_lowercase().as_str()))
            }
        };
        if let Some(s) = stage {
            return Ok(s.config.rootfs.diff_ids.clone());
        }
        let img = self
            .hold(from)
            .map_err(|_| anyhow!("COPY --from={from}: no stage and no image of that name"))?;
        Ok(img.config.rootfs.diff_ids)
    }
}

// ANCHOR: run_heredocs
/// RUN's shell text with its here-documents, as BuildKit runs them; with the scripts to put
/// in the container's /dev, as (path below /dev, text).
///
/// - `RUN <<EOF` alone: the body is the script. It starts with `#!`: it is written to
///   /dev/pipes/EOF and run from there, by the interpreter it names. Otherwise the shell runs
///   it (as `sh -c BODY`), so this works with any shell, even one without here-documents.
/// - Anything else (`RUN python3 <<EOF > out`, `RUN <<A cat - <<B`): the command line with
///   the bodies after it, each ended by its delimiter, is given to the shell, which reads
///   them as the here-documents they are.
fn run_heredocs(ins: &Instruction) -> crate::Result<(String, Vec<(String, String)>)> {
    let line = ins.args.join(" ");
    Ok(match &ins.heredocs[..] {
        [doc] if heredoc::is_alone(&line) => match doc.content.starts_with("#!") {
            true => {
                let name = doc.file_name()?;
                (format!("/dev/pipes/{name}"), vec![(format!("pipes/{name}"), doc.content.clone())])
            }
            false => (doc.content.clone(), Vec::new()),
        },
        docs => (heredoc::with_bodies(&line, docs), Vec::new()),
    })
}
// ANCHOR_END: run_heredocs

/// `user`, `uid`, `user:group`, `uid:gid`, names looked up in the image's own files.
fn resolve_owner(root: &Path, spec: &str) -> crate::Result<(u32, u32)> {
    let lookup = |file: &str, name: &str, field: usize| -> Option<u32> {
        let text = fs::read_to_string(root.join(file)).ok()?;
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(field)?.parse().ok())
    };
    let (u, g) = spec.split_once(':').map_or((spec, None), |(u, g)| (u, Some(g)));
    let uid = u
        .parse()
        .ok()
        .or_else(|| lookup("etc/passwd", u, 2))
        .with_context(|| format!("--chown={spec}: no user {u} in the image's /etc/passwd"))?;
    let gid =
        match g {
            None => u.parse().ok().or_else(|| lookup("etc/passwd", u, 3)).unwrap_or(uid),
            Some(g) => g.parse().ok().or_else(|| lookup("etc/group", g, 2)).with_context(|| {
                format!("--chown={spec}: no group {g} in the image's /etc/group")
            })?,
        };
    Ok((uid, gid))
}

/// The largest file `ADD <url>` downloads (a server sending without end fills no disk).
const ADD_LIMIT: u64 = 4 << 30;

/// ADD's remote sources: downloaded into the build's work dir, named after the URL's path.
fn download(url: &str, dir: &Path) -> crate::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("download");
    let path = dir.join(name);
    crate::registry::client::download(url, &path, ADD_LIMIT).context("ADD failed")?;
    // Docker gives downloaded files mode 0600.
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(path)
}

/// `30s`, `1m30s`, `500ms` → nanoseconds.
fn parse_duration(s: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            unit.push(chars.next()?);
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += n * match unit.as_str() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
    }
    (num.is_empty() && total > 0.0).then_some(total as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("30s"), Some(30_000_000_000));
        assert_eq!(super::parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(super::parse_duration("500ms"), Some(500_000_000));
        assert_eq!(super::parse_duration("30"), None);
    }
}
