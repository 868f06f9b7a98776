//! The image store: an OCI image layout plus the unpacked layers that containers mount.
//!
//! ```text
//! $MINIDOCKER_ROOT/                  (default /var/lib/minidocker)
//!   images/                          an OCI image layout: skopeo, umoci … read it as oci:images:NAME
//!     oci-layout  index.json         index.json names each image (org.opencontainers.image.ref.name)
//!     blobs/sha256/<hex>             manifests, configs, gzipped layer tarballs — content-addressed
//!   layers/<diff_id hex>/diff/       each layer unpacked once, shared read-only (overlay lowerdirs)
//!   layers/<diff_id hex>/meta.json   written last: a layer without it is not a layer
//!   leases/<pid>-<n>.json            images a running build uses or made (see `lease`)
//!   tmp/                             work in progress; renamed into place only when complete
//!   lock                             flock: one writer at a time
//! ```
//!
//! Every write is a complete file or directory renamed into place, so a crash or Ctrl-C leaves
//! either the old state or the new one, plus a scratch dir in `tmp/` the next writer removes.
//! Removal goes the other way: a layer is first renamed out of sight into `tmp/`, then deleted
//! there, so a `kill -9` halfway through deleting leaves no half layer where a layer belongs.
//! `minidocker system check` ([`super::check`]) verifies all of it.

use super::oci::{self, Descriptor, ImageConfig, Index, Manifest};
use super::reference::{self, Reference};
use super::unpack::{self, Unpacked};
use super::{Digest, Hashing};
use anyhow::{bail, ensure, Context};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use nix::fcntl::{Flock, FlockArg, OFlag};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

pub const DEFAULT_ROOT: &str = "/var/lib/minidocker";

/// `$MINIDOCKER_ROOT`, or `/var/lib/minidocker`.
pub fn default_root() -> PathBuf {
    std::env::var_os("MINIDOCKER_ROOT")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from)
}

pub struct Store {
    root: PathBuf,
}

/// An image in the store: its manifest, its config, and the names it goes by.
#[derive(Debug, Clone)]
pub struct Image {
    /// The config's digest: Docker's image ID.
    pub id: Digest,
    pub manifest_desc: Descriptor,
    pub manifest: Manifest,
    pub config: ImageConfig,
    /// Familiar references (`busybox:latest`), sorted; empty for a dangling image.
    pub names: Vec<String>,
}

impl Image {
    pub fn diff_ids(&self) -> &[Digest] {
        &self.config.rootfs.diff_ids
    }

    /// Is this an earlier state of `child`: the same first layers and history, and less of
    /// it? A build's intermediate images are parents of the image it ends with.
    pub fn is_parent_of(&self, child: &Image) -> bool {
        let (p, c) = (&self.config, &child.config);
        p.history.len() < c.history.len()
            && c.rootfs.diff_ids.starts_with(&p.rootfs.diff_ids)
            && p.history
                .iter()
                .zip(&c.history)
                .all(|(a, b)| a.created_by == b.created_by && a.created == b.created)
    }
}

/// What `layers/<hex>/meta.json` records about an unpacked layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerMeta {
    pub diff_id: Digest,
    /// Bytes of the uncompressed tarball: what `docker images` adds up as SIZE.
    pub size: u64,
    pub entries: u64,
    pub whiteouts: u64,
}

/// Exclusive use of the store while held (an `flock` on `$root/lock`).
pub struct Lock(#[allow(dead_code)] Flock<File>);

/// A scratch directory in `tmp/`, removed on drop unless its contents were moved out.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A layer made in `tmp/` by [`Store::prepare_layer`], not yet in the store.
pub struct NewLayer {
    scratch: Scratch,
    pub desc: Descriptor,
    pub unpacked: Unpacked,
}

/// Something that uses an image, so `rmi` refuses it: a container, a running build.
#[derive(Debug, Clone)]
pub struct User {
    /// The image's ID.
    pub image: Digest,
    /// Who, for the error: `running container web (0123456789ab)`.
    pub what: String,
    /// How to end that use: `remove it first (minidocker rm -f web)`.
    pub remedy: String,
}

/// What removing names and unused content did, for `rmi`'s output.
#[derive(Debug, Default)]
pub struct Removed {
    pub untagged: Vec<String>,
    pub images: Vec<Digest>,
    pub layers: Vec<Digest>,
}

impl Store {
    /// Open (creating on first use) the store at `root`.
    pub fn open(root: &Path) -> crate::Result<Store> {
        let s = Store { root: root.to_path_buf() };
        for d in [s.images().join("blobs/sha256"), s.root.join("layers"), s.root.join("tmp")] {
            fs::create_dir_all(&d).with_context(|| {
                format!("creating {} (is MINIDOCKER_ROOT writable?)", d.display())
            })?;
        }
        if !s.images().join("oci-layout").exists() {
            s.write_atomic(&s.images().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        if !s.images().join("index.json").exists() {
            s.write_index(&Index::default())?;
        }
        Ok(s)
    }

    pub fn open_default() -> crate::Result<Store> {
        Store::open(&default_root())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The OCI layout directory (`skopeo inspect oci:<this>:busybox:latest`).
    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.images().join("blobs/sha256").join(d.hex())
    }

    /// The unpacked layer a container mounts as one overlay lowerdir.
    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex()).join("diff")
    }

    // ANCHOR: has_layer
    /// Is the layer `diff_id` unpacked, whole? Its `meta.json` is written last in `tmp/`,
    /// before the directory is renamed into `layers/`: a directory there without it (left by
    /// a crash of an older minidocker, or by hand) is not a layer, and is replaced, not used.
    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer_meta(diff_id).is_ok_and(|m| m.diff_id == *diff_id)
            && self.layer_dir(diff_id).is_dir()
    }
    // ANCHOR_END: has_layer

    pub fn layer_meta(&self, diff_id: &Digest) -> crate::Result<LayerMeta> {
        let p = self.root.join("layers").join(diff_id.hex()).join("meta.json");
        let text = fs::read(&p)
            .with_context(|| format!("layer {diff_id} is not unpacked in this store"))?;
        serde_json::from_slice(&text).with_context(|| format!("reading {}", p.display()))
    }

    /// Take the store for writing. Also removes scratch dirs whose writer has died.
    pub fn lock(&self) -> crate::Result<Lock> {
        let lock = self.lock_as_is()?;
        for p in self.dead_scratch()? {
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
        Ok(lock)
    }

    /// Take the store's lock and change nothing (`system check` without `--fix`).
    pub fn lock_as_is(&self) -> crate::Result<Lock> {
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join("lock"))?;
        let lock = Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| crate::sys::failure("flock(lock)", e))?;
        Ok(Lock(lock))
    }

    /// The entries of `tmp/` whose process is gone: what a crash left (they start with its PID).
    pub fn dead_scratch(&self) -> crate::Result<Vec<PathBuf>> {
        let mut dead = Vec::new();
        for e in fs::read_dir(self.root.join("tmp"))?.flatten() {
            let pid = e
                .file_name()
                .to_string_lossy()
                .split('-')
                .next()
                .and_then(|p| p.parse::<i32>().ok());
            if !pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists()) {
                dead.push(e.path());
            }
        }
        Ok(dead)
    }

    /// A fresh scratch dir on the store's filesystem, so finished work is `rename`d into place.
    pub fn scratch(&self) -> crate::Result<Scratch> {
        let p = self.tmp_name("");
        fs::create_dir(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(Scratch(p))
    }

    /// A new name in `tmp/`, starting with our PID: what [`Store::lock`] removes once we died.
    fn tmp_name(&self, what: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        self.root.join("tmp").join(format!("{}-{what}{n}", std::process::id()))
    }

    // ANCHOR: trash
    /// Delete a directory of the store so that no one ever sees half of it: renamed into
    /// `tmp/` first (one atomic step), deleted there. Killed meanwhile, what is left is in
    /// `tmp/` under our dead PID, where the next [`Store::lock`] finishes the job.
    pub fn trash(&self, dir: &Path) -> crate::Result<()> {
        let aside = self.tmp_name("trash-");
        fs::rename(dir, &aside).with_context(|| format!("moving {} aside", dir.display()))?;
        fs::remove_dir_all(&aside).with_context(|| format!("removing {}", aside.display()))
    }
    // ANCHOR_END: trash

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> crate::Result<()> {
        let tmp = self.root.join("tmp").join(format!(
            "{}-file-{}",
            std::process::id(),
            path.file_name().unwrap().to_string_lossy()
        ));
        fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    }

    // ---- blobs ----------------------------------------------------------------------------

    /// Read a blob and check that it is what its digest says.
    pub fn read_blob(&self, d: &Digest) -> crate::Result<Vec<u8>> {
        let bytes = fs::read(self.blob_path(d))
            .with_context(|| format!("blob {d} is missing from the store"))?;
        ensure!(
            Digest::of(&bytes) == *d,
            "blob {d} is corrupt: its content does not match its digest"
        );
        Ok(bytes)
    }

    pub fn put_blob(&self, bytes: &[u8]) -> crate::Result<Digest> {
        let d = Digest::of(bytes);
        if !self.blob_path(&d).exists() {
            self.write_atomic(&self.blob_path(&d), bytes)?;
        }
        Ok(d)
    }

    /// Store a JSON document as a blob; its descriptor has `media_type`.
    pub fn put_json<T: Serialize>(&self, media_type: &str, doc: &T) -> crate::Result<Descriptor> {
        let bytes = serde_json::to_vec(doc)?;
        let digest = self.put_blob(&bytes)?;
        Ok(Descriptor {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
            annotations: Default::default(),
            platform: None,
        })
    }

    /// Copy a blob in from `src`, checking its digest and size on the way; nothing is kept
    /// when they do not match.
    pub fn copy_blob_in(&self, src: impl Read, desc: &Descriptor) -> crate::Result<()> {
        if self.blob_path(&desc.digest).exists() {
            return Ok(());
        }
        let scratch = self.scratch()?;
        let tmp = scratch.path().join("blob");
        let mut w = Hashing::new(File::create(&tmp)?);
        io::copy(&mut src.take(desc.size + 1), &mut w)
            .with_context(|| format!("copying blob {}", desc.digest))?;
        let (digest, len, _) = w.finish();
        ensure!(
            len == desc.size,
            "blob {} has {len} bytes where its descriptor says {} — truncated or wrong, refused",
            desc.digest,
            desc.size
        );
        ensure!(
            digest == desc.digest,
            "blob {} does not match its digest (got {digest}) — refused",
            desc.digest
        );
        fs::rename(&tmp, self.blob_path(&desc.digest))?;
        Ok(())
    }

    // ---- layers ---------------------------------------------------------------------------

    /// Make a layer from a tarball stream (plain or gzipped) in one pass: it is gzipped into a
    /// blob and unpacked at the same time. Returns the blob's descriptor and the layer.
    /// The caller holds the store's lock.
    pub fn add_layer(&self, input: impl Read) -> crate::Result<(Descriptor, Unpacked)> {
        let new = self.prepare_layer(input)?;
        self.keep_prepared(new)
    }

    /// The slow part of [`Store::add_layer`], which needs no lock: the blob and the layer
    /// made in a scratch dir of `tmp/`, not yet in the store.
    ///
    /// The tarball is read once. This thread unpacks it (file system calls, mostly kernel
    /// time); a second thread gzips ([`BLOB_COMPRESSION`]) and hashes the same bytes into the
    /// blob meanwhile.
    pub fn prepare_layer(&self, input: impl Read) -> crate::Result<NewLayer> {
        let mut input = BufReader::with_capacity(1 << 16, input);
        let gzipped = input.fill_buf().context("reading the tarball")?.starts_with(&[0x1f, 0x8b]);
        let raw: Box<dyn Read> =
            if gzipped { Box::new(MultiGzDecoder::new(input)) } else { Box::new(input) };
        let scratch = self.scratch()?;
        let blob_path = scratch.path().join("blob");
        let blob = File::create(&blob_path)
            .with_context(|| format!("creating {}", blob_path.display()))?;
        let diff = scratch.path().join("layer/diff");
        fs::create_dir_all(&diff)?;
        let (unpacked, compressed) = std::thread::scope(|s| {
            // At most 8 chunks of 1 MiB wait for the compressor.
            let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(8);
            let compressor = s.spawn(move || -> io::Result<(Digest, u64)> {
                let mut gz = GzEncoder::new(Hashing::new(blob), BLOB_COMPRESSION);
                for chunk in rx {
                    gz.write_all(&chunk)?;
                }
                let (digest, size, _) = gz.finish()?.finish();
                Ok((digest, size))
            });
            let mut tee = Tee { inner: raw, chunk: Vec::with_capacity(CHUNK), to: tx };
            let unpacked = unpack::unpack(&mut tee, &diff);
            // The last chunk sent, and the channel closed: the compressor finishes.
            let sent = tee.send();
            drop(tee);
            let compressed = compressor.join().expect("the layer compressor panicked");
            (unpacked.and_then(|u| sent.map(|_| u).context("compressing the layer")), compressed)
        });
        // The compressor's own error (a full disk, say) first: the unpacker then only saw the
        // channel close.
        let (digest, size) = compressed
            .with_context(|| format!("writing the layer blob {}", blob_path.display()))?;
        let unpacked = unpacked?;
        let desc = Descriptor {
            media_type: oci::LAYER_GZIP.into(),
            digest,
            size,
            annotations: Default::default(),
            platform: None,
        };
        Ok(NewLayer { scratch, desc, unpacked })
    }

    /// Move a [`Store::prepare_layer`]'s blob and layer into the store. The caller holds the
    /// store's lock, and keeps it until an image in the index uses the layer (or a collection
    /// of garbage would take it).
    pub fn keep_prepared(&self, new: NewLayer) -> crate::Result<(Descriptor, Unpacked)> {
        let dir = new.scratch.path();
        fs::rename(dir.join("blob"), self.blob_path(&new.desc.digest))?;
        self.keep_layer(&dir.join("layer"), &new.unpacked)?;
        Ok((new.desc, new.unpacked))
    }

    /// Unpack a layer blob already in the store, unless it is unpacked; its uncompressed
    /// content must hash to `diff_id`.
    pub fn ensure_unpacked(&self, desc: &Descriptor, diff_id: &Digest) -> crate::Result<()> {
        if self.has_layer(diff_id) {
            return Ok(());
        }
        let gzipped = oci::layer_compression(&desc.media_type)?;
        let file = File::open(self.blob_path(&desc.digest))
            .with_context(|| format!("layer blob {} is missing", desc.digest))?;
        let mut blob = Hashing::new(BufReader::with_capacity(1 << 16, file));
        let scratch = self.scratch()?;
        let diff = scratch.path().join("layer/diff");
        fs::create_dir_all(&diff)?;
        let unpacked = if gzipped {
            let mut gz = MultiGzDecoder::new(&mut blob);
            let u = unpack::unpack(&mut gz, &diff);
            io::copy(&mut gz, &mut io::sink())?;
            u?
        } else {
            unpack::unpack(&mut blob, &diff)?
        };
        let (digest, _, _) = blob.finish();
        ensure!(
            digest == desc.digest,
            "layer blob {} does not match its digest — refused",
            desc.digest
        );
        ensure!(
            unpacked.diff_id == *diff_id,
            "layer {} unpacks to {} but the image config says {diff_id} — refused",
            desc.digest,
            unpacked.diff_id
        );
        self.keep_layer(&scratch.path().join("layer"), &unpacked)
    }

    // ANCHOR: keep_layer
    /// Move a finished layer into `layers/`: its `meta.json` written last, then the whole
    /// directory renamed into place — the rename is the moment it becomes a layer. When a whole
    /// layer is there already, it is kept; a directory that is not a whole layer is replaced.
    fn keep_layer(&self, dir: &Path, u: &Unpacked) -> crate::Result<()> {
        let meta = LayerMeta {
            diff_id: u.diff_id.clone(),
            size: u.tar_size,
            entries: u.entries,
            whiteouts: u.whiteouts,
        };
        fs::write(dir.join("meta.json"), serde_json::to_vec_pretty(&meta)?)?;
        if self.has_layer(&u.diff_id) {
            return Ok(());
        }
        let dest = self.root.join("layers").join(u.diff_id.hex());
        if dest.exists() {
            self.trash(&dest)?;
        }
        fs::rename(dir, &dest).with_context(|| format!("moving the layer into {}", dest.display()))
    }
    // ANCHOR_END: keep_layer

    // ---- images ---------------------------------------------------------------------------

    pub fn index(&self) -> crate::Result<Index> {
        let p = self.images().join("index.json");
        let text = fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("{} is not an OCI index", p.display()))
    }

    fn write_index(&self, index: &Index) -> crate::Result<()> {
        self.write_atomic(&self.images().join("index.json"), &serde_json::to_vec_pretty(index)?)
    }

    /// Every image in the index, names grouped per manifest, newest first.
    pub fn list(&self) -> crate::Result<Vec<Image>> {
        self.list_only(|_| true)
    }

    /// The images whose index entries `keep` accepts.
    fn list_only(&self, keep: impl Fn(&Descriptor) -> bool) -> crate::Result<Vec<Image>> {
        let mut by_manifest: BTreeMap<Digest, Image> = BTreeMap::new();
        for desc in self.index()?.manifests.into_iter().filter(|d| keep(d)) {
            if let Some(img) = by_manifest.get_mut(&desc.digest) {
                img.names.extend(desc.ref_name().map(str::to_owned));
                continue;
            }
            let manifest: Manifest = serde_json::from_slice(&self.read_blob(&desc.digest)?)
                .with_context(|| format!("manifest {} is not an image manifest", desc.digest))?;
            let config: ImageConfig = serde_json::from_slice(
                &self.read_blob(&manifest.config.digest)?,
            )
            .with_context(|| format!("config {} is not an image config", manifest.config.digest))?;
            let names = desc.ref_name().map(str::to_owned).into_iter().collect();
            let id = manifest.config.digest.clone();
            by_manifest.insert(
                desc.digest.clone(),
                Image {
                    id,
                    manifest_desc: Descriptor { annotations: Default::default(), ..desc },
                    manifest,
                    config,
                    names,
                },
            );
        }
        let mut images: Vec<Image> = by_manifest.into_values().collect();
        for i in &mut images {
            i.names.sort();
        }
        images.sort_by(|a, b| b.config.created.cmp(&a.config.created).then(a.names.cmp(&b.names)));
        Ok(images)
    }

    /// Find an image by reference (`busybox`, `python:3.11-slim`) or by ID (a prefix of the
    /// config digest, as `docker` accepts).
    pub fn resolve(&self, what: &str) -> crate::Result<Image> {
        // By name: only that image's manifest and config are read.
        if let Ok(r) = Reference::parse(what) {
            let name = r.to_string();
            if let Some(desc) =
                self.index()?.manifests.into_iter().find(|d| d.ref_name() == Some(name.as_str()))
            {
                let digest = desc.digest.clone();
                return self
                    .list_only(|d| d.digest == digest)?
                    .pop()
                    .context("the index changed while reading it");
            }
        }
        let images = self.list()?;
        if let Ok(r) = Reference::parse(what) {
            let name = r.to_string();
            if let Some(img) = images.iter().find(|i| i.names.contains(&name)) {
                return Ok(img.clone());
            }
        }
        let hex = what.strip_prefix("sha256:").unwrap_or(what);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<&Image> = images.iter().filter(|i| i.id.hex().starts_with(hex)).collect();
            match hits.len() {
                1 => return Ok(hits[0].clone()),
                0 => {}
                _ => bail!("image ID prefix {what:?} is ambiguous: give more digits"),
            }
        }
        bail!("no such image: {what} (see `minidocker images`; import one with `minidocker import` or scripts/base-images)")
    }

    /// Write a new image from its config and layers (already in the store) and name it.
    pub fn put_image(
        &self,
        config: &ImageConfig,
        layers: Vec<Descriptor>,
        name: Option<&Reference>,
    ) -> crate::Result<Image> {
        ensure!(
            config.rootfs.diff_ids.len() == layers.len(),
            "an image needs one diff_id per layer"
        );
        let config_desc = self.put_json(oci::CONFIG, config)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::MANIFEST.into()),
            config: config_desc,
            layers,
            annotations: Default::default(),
        };
        let mut manifest_desc = self.put_json(oci::MANIFEST, &manifest)?;
        manifest_desc.platform = Some(oci::host_platform());
        match name {
            Some(r) => self.tag_manifest(&manifest_desc, r)?,
            None => self.add_to_index(&manifest_desc)?,
        }
        let names = name.map(|r| vec![r.to_string()]).unwrap_or_default();
        Ok(Image {
            id: manifest.config.digest.clone(),
            manifest_desc,
            manifest,
            config: config.clone(),
            names,
        })
    }

    fn add_to_index(&self, desc: &Descriptor) -> crate::Result<()> {
        let mut index = self.index()?;
        if !index.manifests.iter().any(|d| d.digest == desc.digest) {
            index.manifests.push(desc.clone());
        }
        self.write_index(&index)
    }

    /// Point `name` at the image `desc`. The image that had the name keeps its other names;
    /// left with none, it stays as a dangling `<none>` image, as in Docker.
    pub fn tag_manifest(&self, desc: &Descriptor, name: &Reference) -> crate::Result<()> {
        let name = name.to_string();
        let mut index = self.index()?;
        let mut moved_from = None;
        index.manifests.retain(|d| {
            let hit = d.ref_name() == Some(name.as_str());
            if hit {
                moved_from = Some(d.clone());
            }
            !hit
        });
        if let Some(mut old) = moved_from.filter(|o| o.digest != desc.digest) {
            if !index.manifests.iter().any(|d| d.digest == old.digest) {
                old.annotations.remove(oci::REF_NAME);
                index.manifests.push(old);
            }
        }
        // The image's unnamed entry, if any, gives way to the named one.
        index.manifests.retain(|d| !(d.digest == desc.digest && d.ref_name().is_none()));
        let mut named = desc.clone();
        named.annotations.insert(oci::REF_NAME.into(), name);
        index.manifests.push(named);
        self.write_index(&index)
    }

    /// `minidocker tag SOURCE TARGET`.
    pub fn tag(&self, source: &str, target: &Reference) -> crate::Result<()> {
        let img = self.resolve(source)?;
        self.tag_manifest(&img.manifest_desc, target)
    }

    // ANCHOR: remove
    /// `minidocker rmi`: remove a name; the image goes when its last name does (or, by ID,
    /// with all its names when `force`). Layers no image uses any more are deleted.
    ///
    /// An image that something uses — a container in `users` (running or stopped), a running
    /// build (its lease) — is refused, as Docker does; with `force` its names go and the image
    /// stays, untagged, with its layers, for as long as it is used.
    pub fn remove(&self, what: &str, force: bool, users: &[User]) -> crate::Result<Removed> {
        let img = self.resolve(what)?;
        let by_name = Reference::parse(what).is_ok_and(|r| img.names.contains(&r.to_string()));
        let mut removed = Removed::default();
        let mut index = self.index()?;
        let mut users: Vec<User> = users.to_vec();
        users.extend(self.lease_users()?);
        let used_by = |id: &Digest| users.iter().find(|u| u.image == *id);
        if by_name && img.names.len() > 1 {
            let name = Reference::parse(what)?.to_string();
            index.manifests.retain(|d| d.ref_name() != Some(name.as_str()));
            removed.untagged.push(name);
        } else if let Some(user) = used_by(&img.id) {
            ensure!(
                force,
                "unable to delete {what} (image {}): {} uses it — {}, or use rmi -f to untag the image and keep it while it is used",
                img.id.short(),
                user.what,
                user.remedy
            );
            // Untagged, not deleted: its layers stay for as long as they are used.
            index.manifests.retain(|d| d.digest != img.manifest_desc.digest);
            index.manifests.push(img.manifest_desc.clone());
            removed.untagged = img.names.clone();
        } else {
            if !by_name && img.names.len() > 1 && !force {
                bail!("unable to delete {} (must be forced) — image is referenced in multiple repositories ({}); use -f or remove the names one by one", img.id.short(), img.names.join(", "));
            }
            index.manifests.retain(|d| d.digest != img.manifest_desc.digest);
            removed.untagged = img.names.clone();
            removed.images.push(img.id.clone());
            // As Docker does: the untagged parents (a build's intermediate images) go too,
            // unless another image still builds on them.
            let all = self.list()?;
            let mut parents: Vec<&Image> =
                all.iter().filter(|p| p.names.is_empty() && p.is_parent_of(&img)).collect();
            parents.sort_by_key(|p| std::cmp::Reverse(p.config.history.len()));
            for p in parents {
                let others = all.iter().any(|c| {
                    c.id != img.id && !removed.images.contains(&c.id) && p.is_parent_of(c)
                });
                if others || used_by(&p.id).is_some() {
                    break;
                }
                index.manifests.retain(|d| d.digest != p.manifest_desc.digest);
                removed.images.push(p.id.clone());
            }
        }
        self.write_index(&index)?;
        removed.layers = self.collect_garbage()?;
        Ok(removed)
    }
    // ANCHOR_END: remove

    /// Delete the blobs and unpacked layers no image in the index refers to.
    pub fn collect_garbage(&self) -> crate::Result<Vec<Digest>> {
        let mut blobs = BTreeSet::new();
        let mut diff_ids = BTreeSet::new();
        for img in self.list()? {
            blobs.insert(img.manifest_desc.digest.hex().to_owned());
            blobs.insert(img.id.hex().to_owned());
            blobs.extend(img.manifest.layers.iter().map(|l| l.digest.hex().to_owned()));
            diff_ids.extend(img.diff_ids().iter().map(|d| d.hex().to_owned()));
        }
        for e in fs::read_dir(self.images().join("blobs/sha256"))?.flatten() {
            if !blobs.contains(&*e.file_name().to_string_lossy()) {
                fs::remove_file(e.path())?;
            }
        }
        let mut gone = Vec::new();
        for e in fs::read_dir(self.root.join("layers"))?.flatten() {
            let hex = e.file_name().to_string_lossy().into_owned();
            if !diff_ids.contains(&hex) {
                self.trash(&e.path())?;
                gone.extend(Digest::parse(&format!("sha256:{hex}")).ok());
            }
        }
        Ok(gone)
    }

    // ---- import and load ------------------------------------------------------------------

    /// `minidocker import`: a root filesystem tarball becomes a one-layer image, with the
    /// run configuration `run` (empty unless `import -c` gave one) and the history comment
    /// `message` (`-m`; by default where it came from).
    ///
    /// The layer is made by [`Store::prepare_layer`] beforehand, without the lock (other
    /// commands go on meanwhile); the caller holds the lock for this, which moves it in.
    pub fn import(
        &self,
        layer: NewLayer,
        source: &str,
        name: Option<&Reference>,
        run: oci::RunConfig,
        message: Option<String>,
    ) -> crate::Result<Image> {
        let (layer, unpacked) = self.keep_prepared(layer)?;
        let now = crate::units::rfc3339_now();
        let platform = oci::host_platform();
        let config = ImageConfig {
            created: Some(now.clone()),
            architecture: platform.architecture,
            os: platform.os,
            rootfs: oci::RootFs { kind: "layers".into(), diff_ids: vec![unpacked.diff_id] },
            config: run,
            history: vec![oci::History {
                created: Some(now),
                created_by: Some(format!("minidocker import {source}")),
                comment: Some(message.unwrap_or_else(|| format!("Imported from {source}"))),
                ..Default::default()
            }],
            ..Default::default()
        };
        self.put_image(&config, vec![layer], name)
    }

    /// `minidocker load`: copy in every named image of another OCI layout (what
    /// `skopeo copy … oci:DIR:NAME` writes), verifying every blob. Returns the names loaded.
    pub fn load_layout(&self, dir: &Path) -> crate::Result<Vec<String>> {
        let loaded = self.load_layout_images(dir);
        if loaded.is_err() {
            // FIX: a refused load leaves nothing behind. Layer blobs are copied in (and earlier
            // layers unpacked) before a later check fails (a config's wrong diff_id, a malicious
            // layer): remove what no image in the index uses, as `rmi` does. The caller holds
            // the store's lock.
            let _ = self.collect_garbage();
        }
        loaded
    }

    fn load_layout_images(&self, dir: &Path) -> crate::Result<Vec<String>> {
        ensure!(
            dir.join("oci-layout").exists(),
            "{} is not an OCI image layout (no oci-layout file)",
            dir.display()
        );
        let read = |rel: &str| -> crate::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            open_in_layout(dir, rel)?
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {rel} in {}", dir.display()))?;
            Ok(bytes)
        };
        let blob = |d: &Digest| -> crate::Result<Vec<u8>> {
            let bytes =
                read(&format!("blobs/sha256/{}", d.hex())).with_context(|| format!("blob {d}"))?;
            ensure!(
                Digest::of(&bytes) == *d,
                "blob {d} in {} does not match its digest — refused",
                dir.display()
            );
            Ok(bytes)
        };
        let index: Index = serde_json::from_slice(&read("index.json")?)
            .context("reading the layout's index.json")?;
        let mut loaded = Vec::new();
        for desc in index.manifests {
            let Some(name) = desc.ref_name().map(str::to_owned) else { continue };
            let r = reference::parse_tagged(&name).with_context(|| format!("the layout names an image {name:?}, which is not a reference like busybox:latest"))?;
            let desc = match desc.media_type.as_str() {
                oci::INDEX | oci::DOCKER_LIST => {
                    pick_platform(&serde_json::from_slice(&blob(&desc.digest)?)?)?
                }
                _ => desc,
            };
            let manifest_bytes = blob(&desc.digest)?;
            let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
                .with_context(|| format!("manifest {} of {name}", desc.digest))?;
            let config_bytes = blob(&manifest.config.digest)?;
            let config: ImageConfig = serde_json::from_slice(&config_bytes)
                .with_context(|| format!("config of {name}"))?;
            ensure!(
                config.rootfs.diff_ids.len() == manifest.layers.len(),
                "{name}: the manifest has {} layers, the config {} diff_ids",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            );
            for (layer, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
                oci::layer_compression(&layer.media_type)?;
                let f = open_in_layout(dir, &format!("blobs/sha256/{}", layer.digest.hex()))
                    .with_context(|| format!("layer blob {}", layer.digest))?;
                self.copy_blob_in(f, layer)?;
                self.ensure_unpacked(layer, diff_id)?;
            }
            self.put_blob(&config_bytes)?;
            self.put_blob(&manifest_bytes)?;
            let mut ours = Descriptor { annotations: Default::default(), ..desc };
            ours.platform.get_or_insert_with(oci::host_platform);
            self.tag_manifest(&ours, &r)?;
            loaded.push(r.to_string());
        }
        ensure!(
            !loaded.is_empty(),
            "{} names no image (index.json has no org.opencontainers.image.ref.name)",
            dir.display()
        );
        Ok(loaded)
    }
}

/// FIX: a file of an OCI layout, opened only as the layout's own regular file. The layout may be
/// the unpacked tar of an untrusted `load -i x.tar`: a symlink in it must not reach a host file
/// (loading would copy it into the store, and succeed only if its digest was guessed right: an
/// oracle on the host's files), and a FIFO or device must not be read (a FIFO blocks forever
/// with the store locked). Symlinks resolve as if the layout were `/`; O_NONBLOCK so a FIFO
/// opens at once and is then refused.
fn open_in_layout(dir: &Path, rel: &str) -> crate::Result<File> {
    let top = crate::rooted::Root::new(dir)?;
    let f = File::from(
        top.open(rel, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)
            .with_context(|| format!("{rel} is missing from {}", dir.display()))?,
    );
    ensure!(f.metadata()?.is_file(), "{rel} in {} is not a regular file — refused", dir.display());
    Ok(f)
}

/// From an image index, the manifest for this host's platform.
fn pick_platform(index: &Index) -> crate::Result<Descriptor> {
    let want = oci::host_platform();
    index
        .manifests
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == want.os && p.architecture == want.architecture)
        })
        .cloned()
        .with_context(|| {
            format!("the image index has no manifest for {}/{}", want.os, want.architecture)
        })
}

/// How a new layer's blob is gzipped: level 0, stored blocks, no compression. Level 1 (zlib's
/// fastest that compresses: the python image's 150 MB tar to 68 MB) took 0.85 s of CPU, more
/// than `tar -x` needs for the whole unpack; stored costs a CRC. The price: a blob as big as
/// the tar. Still gzip, so every registry and tool reads it as before (scripts/bench-import).
const BLOB_COMPRESSION: flate2::Compression = flate2::Compression::none();

/// How many bytes [`Tee`] hands over at a time.
const CHUNK: usize = 1 << 20;

/// A reader that copies everything read through it, in chunks, to another thread.
struct Tee<R> {
    inner: R,
    chunk: Vec<u8>,
    to: mpsc::SyncSender<Vec<u8>>,
}

impl<R> Tee<R> {
    /// Hand over what has been read so far.
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.to.send(chunk).map_err(|_| io::Error::other("the layer compressor stopped"))
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }
}
