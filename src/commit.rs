//! `docker commit`: a container's read-write layer becomes an image layer.
//!
//! The new image is the container's image plus one layer — the read-write layer (可读写层),
//! packed by [`pack`] with exercise 07's walk ([`Rules`]; [`solution`] is the reference answer
//! the library uses, also for every build step's layer): overlay's whiteouts become `.wh.`
//! entries, opaque directories get `.wh..wh..opq` — and one history entry. Its configuration
//! is the image's, updated with what the container ran with (Cmd, Entrypoint, Env, WorkingDir,
//! User) and with the `-c` changes, Dockerfile instructions applied on top.
//!
//! Two things of a container never reach the image:
//! - the init layer's files (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`), even when
//!   the container wrote to them and overlay copied them up into the read-write layer
//!   ([`left_out`]);
//! - the variables the runtime put in the container's environment for it alone
//!   (`HOSTNAME`, `HOME`: [`image_env`]).
//!
//! The image's layers are not copied: the new image's manifest names the same blobs, and
//! its containers mount the same unpacked directories.
//!
//! Like [`build`](crate::builder::build), [`commit`] expects the caller to hold the store's
//! lock.

/// Exercise 07's reference answer, compiled as this module's own code.
#[path = "../solutions/07-commit/exercise.rs"]
pub mod solution;

/// The rules the library uses: the reference answer's.
pub use solution::RULES;

use crate::container::{run as lifecycle, Container, ContainerConfig};
use crate::dockerfile::{self, Instruction};
use crate::files::clean_abs;
use crate::image::oci::{self, Descriptor, History, RunConfig};
use crate::image::pack::{self, Packed};
use crate::image::{whiteout, Digest, Image, Reference, Store};
use crate::units;
use anyhow::{bail, ensure, Context};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Exercise 07, the read-write layer as an OCI layer: the reference answer's ([`RULES`]) or a
/// student's (`07-commit --mine`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Walk a directory of the read-write layer into the layer tarball, overlay's whiteouts
    /// and opaque directories translated to OCI's.
    pub pack_rw_layer: pack::Walk,
}

impl Default for Rules {
    fn default() -> Rules {
        RULES
    }
}

/// `minidocker commit`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--pause` (Docker's default, on): freeze a running container while its read-write
    /// layer is read.
    pub pause: bool,
    /// `-m`: the history entry's comment.
    pub message: Option<String>,
    /// `-a`: the image's (and the history entry's) author.
    pub author: Option<String>,
    /// `-c`: Dockerfile instructions applied to the configuration, in order.
    pub changes: Vec<String>,
    pub rules: Rules,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pause: true,
            message: None,
            author: None,
            changes: Vec::new(),
            rules: Rules::default(),
        }
    }
}

/// The instructions `-c` accepts: those that only change the configuration (Docker's list).
pub const CHANGES: [&str; 9] =
    ["cmd", "entrypoint", "env", "expose", "label", "onbuild", "user", "volume", "workdir"];

/// What a commit made, for the lesson and the tests to show.
#[derive(Debug, Clone)]
pub struct Committed {
    pub image: Image,
    /// The new layer; `None` when the container changed nothing that is committed (the
    /// history entry is then an `empty_layer` one, as in Docker).
    pub layer: Option<Layer>,
    /// The read-write layer's paths that are not in the new layer, and why.
    pub left_out: Vec<LeftOut>,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub desc: Descriptor,
    pub diff_id: Digest,
    /// Bytes of the uncompressed tarball.
    pub size: u64,
    pub files: Packed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// As in the read-write layer: `etc/hosts`.
    pub path: String,
    pub why: &'static str,
}

/// Check the `-c` changes and parse them, before anything is made.
pub fn parse_changes(changes: &[String]) -> crate::Result<Vec<Instruction>> {
    let mut out = Vec::new();
    for change in changes {
        let df = dockerfile::parse(change, "-c")
            .with_context(|| format!("invalid change {change:?}"))?;
        for ins in df.instructions {
            if !CHANGES.contains(&ins.keyword.as_str()) {
                let allowed: Vec<String> = CHANGES.iter().map(|c| c.to_uppercase()).collect();
                bail!(
                    "invalid change {change:?}: {} is not a change -c can make (only {})",
                    ins.keyword.to_uppercase(),
                    allowed.join(", ")
                );
            }
            out.push(ins);
        }
    }
    Ok(out)
}

/// Commit container `c` as a new image, named `name` if given. Works while it runs: the
/// read-write layer is a plain directory on the host, read from there.
pub fn commit(
    store: &Store,
    c: &Container,
    name: Option<&Reference>,
    opts: &Options,
) -> crate::Result<Committed> {
    let changes = parse_changes(&opts.changes)?;
    let image = base_image(store, &c.config)?;
    // As Docker does, a running container is frozen (the freezer cgroup) while its read-write
    // layer is read, unless `--pause=false`: otherwise a file it rewrites at this very moment
    // may be packed half-written, and one whose size changes between pack's stat and its read
    // breaks the tarball, which `add_layer` then refuses (see the error below).
    let frozen = match opts.pause && c.running() {
        // The marker file lets the next command thaw the container should we be killed now.
        true => Some(crate::cgroups::freezer::freeze_marked(
            &crate::cgroups::Layout::detect()?,
            &lifecycle::cgroup_name(&c.config.id),
            &c.freeze_marker(),
        )?),
        false => None,
    };
    let fs_ = lifecycle::rootfs_of(store, c)?;
    let upper = fs_.base.join(&fs_.layers.upper);
    let init = fs_.base.join(&fs_.layers.init);
    let left_out = left_out_paths(&upper, &init, &volume_paths(&c.config))?;

    let work = store.scratch()?;
    let tar_path = work.path().join("layer.tar");
    let exclude: Vec<&str> = left_out.iter().map(|l| l.path.as_str()).collect();
    let files =
        pack::pack(&upper, &exclude, opts.rules.pack_rw_layer, fs::File::create(&tar_path)?)
            .context("packing the read-write layer")?;
    // The layer is a file of its own now: the container may go on while it is compressed.
    drop(frozen);
    let layer = if files.changed.is_empty() && files.deleted.is_empty() {
        None
    } else {
        let tar = fs::File::open(&tar_path)?;
        let bar = crate::progress::bytes(Some(tar.metadata()?.len()), "Committing");
        let added = store.add_layer(bar.wrap_read(tar));
        bar.finish_and_clear();
        let (desc, unpacked) = added.context("reading the new layer back (if the container was writing a file just then, commit again without --pause=false, or stop it first)")?;
        Some(Layer { desc, diff_id: unpacked.diff_id, size: unpacked.tar_size, files })
    };
    drop(work);

    // ANCHOR: new_image
    let now = units::rfc3339_now();
    let mut config = image.config.clone();
    config.created = Some(now.clone());
    config.author = opts.author.clone();
    config.config = run_config(&image.config.config, &c.config);
    apply_changes(&mut config.config, &changes)?;
    config.history.push(History {
        created: Some(now),
        // What Docker records: the container's Cmd, joined.
        created_by: Some(c.config.cmd.join(" ")),
        author: opts.author.clone(),
        comment: opts.message.clone().filter(|m| !m.is_empty()),
        empty_layer: layer.is_none(),
    });
    let mut layers = image.manifest.layers.clone();
    if let Some(l) = &layer {
        config.rootfs.diff_ids.push(l.diff_id.clone());
        layers.push(l.desc.clone());
    }
    let image = store.put_image(&config, layers, name)?;
    // ANCHOR_END: new_image
    Ok(Committed { image, layer, left_out })
}

/// The container's image, which must still be in the store: the new image is built on it.
fn base_image(store: &Store, c: &ContainerConfig) -> crate::Result<Image> {
    let image = store.resolve(&c.image_id).with_context(|| {
        format!("the image of container {} ({}, {}) is no longer in the store, so nothing can be built on it", c.name, c.image_name, c.image_id)
    })?;
    ensure!(
        image.diff_ids() == c.diff_ids.as_slice(),
        "container {} was created from other layers than image {} has now",
        c.name,
        c.image_id
    );
    Ok(image)
}

/// VOLUMES — lesson 08's hook: the container's volume destinations, relative (`test`,
/// `var/lib/db`); everything *below* each of them is left out, the directory itself kept.
///
/// A volume is a bind mount made in the container's mount namespace: what the container
/// writes there goes to the volume's directory (or the host's), never to the read-write layer,
/// and the host — which reads `upper/` — does not even see the mount. Only the mount point,
/// the directory made so the mount has a target, is in `upper/`: it is committed, empty, as
/// Docker does. copyData copies the image's files into the volume, not into `upper/` either.
/// So this list changes nothing today; it is what keeps a volume's files out should anything
/// ever put them into the read-write layer.
fn volume_paths(c: &ContainerConfig) -> Vec<String> {
    crate::volumes::destinations(&c.volumes)
}

/// Is `path` of the container's read-write layer (relative, as it is found there: `etc/hosts`,
/// `tmp` for a directory) left out of the committed layer? `init` is the container's init layer
/// (lesson 03): the files that made this container itself. A write to one of them copies it up
/// into the read-write layer like any other file, but it still describes this one container —
/// its name, its addresses, its host's DNS servers — and not the image.
pub fn left_out(path: &str, init: &Path) -> bool {
    // ANCHOR: left_out
    // What the init layer holds as a *file* (or link) was copied up from there. Its
    // directories are another matter: `etc/` is in the init layer too, and leaving it out
    // would lose every change the container made under /etc.
    fs::symlink_metadata(init.join(path)).is_ok_and(|m| !m.is_dir())
    // ANCHOR_END: left_out
}

/// The environment the committed image keeps, from the container's `env`: exactly what its
/// process got — the image's variables, the `-e` flags, and what the runtime added for this
/// container (`HOSTNAME=<hostname>` always, `HOME=/root` when nothing else set HOME).
pub fn image_env(env: &[String], hostname: &str) -> Vec<String> {
    // ANCHOR: image_env
    // The runtime adds both again for every container of the new image. Kept, HOSTNAME would
    // name the old container in every new one (twice in `env`, the old name first); a
    // HOSTNAME the user set with -e has another value and stays.
    let ours = [format!("HOSTNAME={hostname}"), "HOME=/root".to_string()];
    env.iter().filter(|e| !ours.contains(e)).cloned().collect()
    // ANCHOR_END: image_env
}

/// Walk the read-write layer and collect what is left out of the commit: the init layer's
/// files ([`left_out`]), and whatever lies below a volume.
fn left_out_paths(upper: &Path, init: &Path, volumes: &[String]) -> crate::Result<Vec<LeftOut>> {
    fn walk(
        dir: &Path,
        rel: &str,
        init: &Path,
        volumes: &[String],
        out: &mut Vec<LeftOut>,
    ) -> crate::Result<()> {
        let mut names: Vec<String> = Vec::new();
        for e in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            names.push(e?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            if volumes.iter().any(|v| path.starts_with(&format!("{}/", v.trim_matches('/')))) {
                out.push(LeftOut {
                    path,
                    why: "inside a volume: the volume's, not the container's",
                });
                continue;
            }
            if left_out(&path, init) {
                out.push(LeftOut {
                    path,
                    why: "from the init layer: it describes this container, not the image",
                });
                continue;
            }
            let full = dir.join(&name);
            if fs::symlink_metadata(&full)?.is_dir() {
                walk(&full, &path, init, volumes, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(upper, "", init, volumes, &mut out)?;
    Ok(out)
}

/// The new image's run configuration: the image's, updated with what the container ran
/// with. Fields the container does not have (Volumes, Shell, Healthcheck, OnBuild…) stay.
fn run_config(image: &RunConfig, c: &ContainerConfig) -> RunConfig {
    let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let some_str = |s: &String| (!s.is_empty()).then(|| s.clone());
    let mut rc = image.clone();
    rc.cmd = some_vec(&c.cmd);
    rc.entrypoint = some_vec(&c.entrypoint);
    rc.env = some_vec(&image_env(&c.env, &c.hostname));
    rc.working_dir = some_str(&c.working_dir);
    rc.user = some_str(&c.user);
    // The ports it exposed, and — as `docker run -p` records them — those it published.
    let mut ports = rc.exposed_ports.take().unwrap_or_default();
    let published = c.publish.iter().filter_map(|p| p.rsplit(':').next()).map(|p| {
        if p.contains('/') {
            p.to_lowercase()
        } else {
            format!("{p}/tcp")
        }
    });
    for p in c.exposed_ports.iter().cloned().chain(published) {
        ports.entry(p).or_insert_with(|| serde_json::json!({}));
    }
    rc.exposed_ports = (!ports.is_empty()).then_some(ports);
    rc.labels = (!c.labels.is_empty()).then(|| c.labels.clone());
    rc.stop_signal = c.stop_signal.clone().or(rc.stop_signal);
    rc
}

/// Apply `-c` changes (of `commit` and `import`) as the builder applies the same
/// instructions: variables expanded from the environment so far; a shell-form CMD or
/// ENTRYPOINT run by the image's SHELL.
pub fn apply_changes(rc: &mut RunConfig, changes: &[Instruction]) -> crate::Result<()> {
    // As in a Dockerfile, ENTRYPOINT resets the Cmd unless a CMD came before it here.
    let mut cmd_set = false;
    for ins in changes {
        let env = rc.env.clone().unwrap_or_default();
        let lookup = dockerfile::lookup_in(&env);
        let expand = |w: &str| dockerfile::expand(w, &lookup, '\\');
        let first = || ins.args.first().cloned().unwrap_or_default();
        match ins.keyword.as_str() {
            "cmd" | "entrypoint" => {
                let argv = if ins.json {
                    ins.args.clone()
                } else {
                    let shell: Vec<String> = rc
                        .extra
                        .get("Shell")
                        .and_then(|v| serde_json::from_value(v.clone()).ok())
                        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                    shell.into_iter().chain(std::iter::once(ins.args.join(" "))).collect()
                };
                if ins.keyword == "cmd" {
                    rc.cmd = Some(argv);
                    cmd_set = true;
                } else {
                    rc.entrypoint = Some(argv);
                    if !cmd_set {
                        rc.cmd = None;
                    }
                }
            }
            "env" => {
                let mut env = env.clone();
                for kv in ins.key_values() {
                    let (key, value) = (expand(kv.key)?, expand(kv.value)?);
                    env.retain(|e| e.split('=').next() != Some(key.as_str()));
                    env.push(format!("{key}={value}"));
                }
                rc.env = Some(env);
            }
            "label" => {
                let mut labels = rc.labels.clone().unwrap_or_default();
                for kv in ins.key_values() {
                    labels.insert(expand(kv.key)?, expand(kv.value)?);
                }
                rc.labels = Some(labels);
            }
            "expose" => {
                let mut ports = rc.exposed_ports.clone().unwrap_or_default();
                for a in &ins.args {
                    let p = expand(a)?;
                    let port = if p.contains('/') { p.to_lowercase() } else { format!("{p}/tcp") };
                    let (num, proto) = port.split_once('/').unwrap_or_default();
                    ensure!(
                        num.split('-').all(|n| n.parse::<u16>().is_ok())
                            && ["tcp", "udp", "sctp"].contains(&proto),
                        "invalid port {p:?} for EXPOSE (PORT or PORT/tcp|udp|sctp)"
                    );
                    ports.insert(port, serde_json::json!({}));
                }
                rc.exposed_ports = Some(ports);
            }
            "user" => rc.user = Some(expand(&first())?),
            "workdir" => {
                let dir = expand(&first())?;
                let base = rc.working_dir.clone().unwrap_or_else(|| "/".into());
                rc.working_dir = Some(clean_abs(&Path::new(&base).join(dir)));
            }
            "volume" => {
                let mut vols = rc.volumes.clone().unwrap_or_default();
                for a in &ins.args {
                    vols.insert(expand(a)?, serde_json::json!({}));
                }
                rc.volumes = Some(vols);
            }
            "onbuild" => {
                let trigger = ins.onbuild.as_ref().context("ONBUILD needs an instruction")?;
                let mut list: Vec<String> = rc
                    .extra
                    .get("OnBuild")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                list.push(trigger.original.clone());
                rc.extra.insert("OnBuild".into(), serde_json::json!(list));
            }
            other => bail!("{} is not a change -c can make", other.to_uppercase()),
        }
    }
    Ok(())
}

/// One entry of a layer tarball, as `tar tv` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `etc/.wh.group`, `test.txt`, `etc/` (directories end in `/`).
    pub path: String,
    /// `-` file, `d` directory, `l` symlink, `h` hard link, `p` FIFO, `?` other.
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// A symlink's or hard link's target.
    pub link: Option<String>,
}

impl Entry {
    /// `-rw-r--r-- 0/0 6 test.txt`, like `tar tv`.
    pub fn ls(&self) -> String {
        let mut perms = String::new();
        for (i, c) in "rwxrwxrwx".chars().enumerate() {
            perms.push(if self.mode & (0o400 >> i) != 0 { c } else { '-' });
        }
        let link = self.link.as_ref().map_or(String::new(), |l| format!(" -> {l}"));
        format!(
            "{}{perms} {}/{} {:>6} {}{link}",
            self.kind, self.uid, self.gid, self.size, self.path
        )
    }

    /// An OCI whiteout: the layer deletes `path` without the `.wh.` (or, for `.wh..wh..opq`,
    /// everything that was below the directory).
    pub fn is_whiteout(&self) -> bool {
        Path::new(&self.path).file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with(crate::image::whiteout::WHITEOUT_PREFIX)
        })
    }
}

/// The entries of a layer blob in the store, in tarball order: what the image really ships.
pub fn layer_entries(store: &Store, desc: &Descriptor) -> crate::Result<Vec<Entry>> {
    let gzipped = oci::layer_compression(&desc.media_type)?;
    let file = fs::File::open(store.blob_path(&desc.digest))
        .with_context(|| format!("layer blob {} is missing", desc.digest))?;
    let reader: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    for entry in archive.entries().context("reading the layer tarball")? {
        let entry = entry.context("reading the layer tarball")?;
        let h = entry.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => '-',
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Fifo => 'p',
            _ => '?',
        };
        let mut path = entry.path()?.to_string_lossy().into_owned();
        if kind == 'd' && !path.ends_with('/') {
            path.push('/');
        }
        let link = entry.link_name()?.map(|l| l.to_string_lossy().into_owned());
        out.push(Entry {
            path,
            kind,
            mode: h.mode().unwrap_or(0),
            uid: h.uid().unwrap_or(0),
            gid: h.gid().unwrap_or(0),
            size: h.size().unwrap_or(0),
            link,
        });
    }
    Ok(out)
}

/// One entry of a read-write layer on disk, as overlay left it: `etc/group` is a
/// `character device 0:0 (a whiteout)`. For the lesson's look at `upper/` from the host.
pub fn describe_upper_entry(path: &Path) -> String {
    let Ok(m) = fs::symlink_metadata(path) else { return "absent".into() };
    let ft = m.file_type();
    if ft.is_char_device() {
        let (major, minor) = (nix::sys::stat::major(m.rdev()), nix::sys::stat::minor(m.rdev()));
        let what = if whiteout::is_overlay_whiteout(&m) { " — a whiteout: deleted" } else { "" };
        return format!("character device {major}:{minor}{what}");
    }
    if ft.is_dir() {
        let opaque = if crate::image::whiteout::is_opaque(path) {
            ", opaque (trusted.overlay.opaque=y): hides the directory below"
        } else {
            ""
        };
        return format!("directory{opaque}");
    }
    if ft.is_symlink() {
        return format!(
            "symlink -> {}",
            fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default()
        );
    }
    format!("regular file, {} bytes, inode {}", m.len(), m.ino())
}

/// Every path of a read-write layer, parents first (`etc`, `etc/group`, …), relative.
pub fn upper_paths(upper: &Path) -> crate::Result<Vec<PathBuf>> {
    fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> crate::Result<()> {
        let mut names: Vec<_> = fs::read_dir(root.join(rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for n in names {
            let p = rel.join(n);
            out.push(p.clone());
            if fs::symlink_metadata(root.join(&p))?.is_dir() {
                walk(root, &p, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(upper, Path::new(""), &mut out)?;
    Ok(out)
}
