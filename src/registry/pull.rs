//! `minidocker pull`: an image from a registry into the store.
//!
//! 1. The manifest, by tag or digest. An image index (manifest list) names one manifest per
//!    platform: this host's is fetched (by digest, checked).
//! 2. The config: the layers' uncompressed digests (`diff_ids`), what runs.
//! 3. The layers, up to three at a time: each blob is verified by digest and size while it is
//!    copied into the store ([`Store::copy_blob_in`] keeps nothing that does not match), then
//!    unpacked ([`Store::ensure_unpacked`] checks it against its `diff_id`). A layer already in
//!    the store is not fetched again.
//! 4. Config and manifest blobs, and the name (`busybox:latest`) pointing at the manifest.
//!
//! A pull that fails removes what it added: the store is as it was, `tmp/` empty.

use super::client::{Client, Fetched};
use super::status::{Board, Line};
use super::{parallel, unique, Stoppable, PARALLEL};
use crate::image::oci::{self, Descriptor, ImageConfig, Index, Manifest, Platform};
use crate::image::{Digest, Image, Reference, Store};
use anyhow::{bail, ensure, Context};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// The largest image config accepted.
const CONFIG_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Print nothing (the CLI then prints only the image's full name, like `docker pull -q`).
    pub quiet: bool,
    /// The platform to pick from an image index; this host's by default.
    pub platform: Option<Platform>,
}

#[derive(Debug)]
pub struct Pulled {
    pub image: Image,
    /// The digest the registry knows the image by: the index's, when the tag names an index.
    pub digest: Digest,
    /// False when the name already pointed at this image.
    pub changed: bool,
    /// Layer blobs downloaded (the others were in the store).
    pub downloaded: usize,
}

struct Job<'a> {
    desc: &'a Descriptor,
    diff_id: &'a Digest,
    download: bool,
    line: Line,
}

/// Pull `reference` into `store` and name it; prints Docker's lines unless `quiet`.
pub fn pull(store: &Store, reference: &Reference, opts: &PullOptions) -> crate::Result<Pulled> {
    let mut board = Board::new(opts.quiet);
    let at = reference
        .digest
        .clone()
        .or_else(|| reference.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let client = Client::new(&reference.registry, &reference.repository, "pull", &[])?;
    let _lock = store.lock()?;
    board.line(&format!("{at}: Pulling from {}", reference.repository));
    let name = reference.to_string();
    let before = store.list()?.into_iter().find(|i| i.names.contains(&name));

    // The name still points at what the registry has: HEAD says so without a download (a
    // registry that cannot answer HEAD is asked with GET below).
    if let (Some(img), None, None) = (&before, &reference.digest, &opts.platform) {
        if client.head_manifest(&at).ok().flatten().as_ref() == Some(&img.manifest_desc.digest) {
            for l in unique(&img.manifest.layers, |d| &d.digest) {
                board.layer(l.digest.short(), "Already exists").done("Already exists");
            }
            board.settle();
            board.line(&format!("Digest: {}", img.manifest_desc.digest));
            board.line(&format!("Status: Image is up to date for {name}"));
            return Ok(Pulled {
                image: img.clone(),
                digest: img.manifest_desc.digest.clone(),
                changed: false,
                downloaded: 0,
            });
        }
    }

    let top = client.get_manifest(&at)?;
    let want = opts.platform.clone().unwrap_or_else(oci::host_platform);
    let (fetched, index_platform) =
        if top.media_type == oci::INDEX || top.media_type == oci::DOCKER_LIST {
            let index: Index = serde_json::from_slice(&top.bytes)
                .with_context(|| format!("the image index of {name} is not valid JSON of one"))?;
            let desc = choose(&index, &want)?;
            (client.get_manifest(desc.digest.as_str())?, desc.platform)
        } else {
            (top.clone(), None)
        };
    let manifest = read_manifest(&fetched, &name)?;

    let config_bytes = match store.read_blob(&manifest.config.digest) {
        Ok(bytes) => bytes,
        Err(_) => client
            .fetch_blob(&manifest.config, CONFIG_LIMIT)
            .context("fetching the image config")?,
    };
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .with_context(|| format!("the config of {name} is not an image config"))?;
    ensure!(
        config.rootfs.diff_ids.len() == manifest.layers.len(),
        "{name}: the manifest has {} layers but the config {} diff_ids — refused",
        manifest.layers.len(),
        config.rootfs.diff_ids.len()
    );
    if config.os != want.os || config.architecture != want.architecture {
        eprintln!(
            "WARNING: The requested image's platform ({}/{}) does not match the {} platform ({}/{})",
            crate::report::printable(&crate::report::shorten(&config.os, 40)),
            crate::report::printable(&crate::report::shorten(&config.architecture, 40)),
            if opts.platform.is_some() { "requested" } else { "detected host" },
            want.os,
            want.architecture
        );
    }

    // Layers: what the store has is not fetched again.
    let pairs: Vec<(&Descriptor, &Digest)> =
        manifest.layers.iter().zip(&config.rootfs.diff_ids).collect();
    let mut jobs = Vec::new();
    for &(desc, diff_id) in unique(&pairs, |(d, _)| &d.digest) {
        let have_blob = store.blob_path(&desc.digest).exists();
        if have_blob && store.has_layer(diff_id) {
            board.layer(desc.digest.short(), "Already exists").done("Already exists");
        } else {
            let line = board
                .layer(desc.digest.short(), if have_blob { "Waiting" } else { "Pulling fs layer" });
            jobs.push(Job { desc, diff_id, download: !have_blob, line });
        }
    }
    let added: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let result =
        parallel(&jobs, PARALLEL, &stop, |job| fetch_layer(&client, store, job, &stop, &added));
    let result = result.and_then(|()| {
        for (bytes, digest) in
            [(&config_bytes, &manifest.config.digest), (&fetched.bytes, &fetched.digest)]
        {
            if !store.blob_path(digest).exists() {
                store.put_blob(bytes)?;
                added.lock().unwrap().push(store.blob_path(digest));
            }
        }
        let platform = index_platform.unwrap_or(Platform {
            architecture: config.architecture.clone(),
            os: config.os.clone(),
            variant: config.extra.get("variant").and_then(|v| v.as_str()).map(str::to_owned),
        });
        let desc = Descriptor {
            media_type: fetched.media_type.clone(),
            digest: fetched.digest.clone(),
            size: fetched.bytes.len() as u64,
            annotations: Default::default(),
            platform: Some(platform),
        };
        store.tag_manifest(&desc, reference)
    });
    if let Err(e) = result {
        for job in &jobs {
            job.line.abandon("Failed");
        }
        for p in added.into_inner().unwrap() {
            let _ = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
        }
        crate::interrupt::check()?;
        return Err(e);
    }

    board.settle();
    let changed = before.is_none_or(|b| b.manifest_desc.digest != fetched.digest);
    board.line(&format!("Digest: {}", top.digest));
    if changed {
        board.line(&format!("Status: Downloaded newer image for {name}"));
    } else {
        board.line(&format!("Status: Image is up to date for {name}"));
    }
    let image = store
        .list()?
        .into_iter()
        .find(|i| i.names.contains(&name))
        .context("the pulled image is not in the store's index")?;
    Ok(Pulled {
        image,
        digest: top.digest,
        changed,
        downloaded: jobs.iter().filter(|j| j.download).count(),
    })
}

/// Download (unless the blob is there) and unpack one layer, recording what it added.
fn fetch_layer(
    client: &Client,
    store: &Store,
    job: &Job,
    stop: &AtomicBool,
    added: &Mutex<Vec<PathBuf>>,
) -> crate::Result<()> {
    let (desc, short) = (job.desc, job.desc.digest.short());
    if job.download {
        let resp = client.get_blob(&desc.digest)?;
        if let Some(len) = resp.body().content_length() {
            ensure!(len == desc.size, "layer {short}: the registry sends {len} bytes where the manifest says {} — refused", desc.size);
        }
        job.line.transfer("Downloading", desc.size);
        let body = Stoppable::new(resp.into_body().into_reader(), stop);
        store
            .copy_blob_in(job.line.wrap(body), desc)
            .with_context(|| format!("downloading layer {short}"))?;
        added.lock().unwrap().push(store.blob_path(&desc.digest));
    }
    job.line.status("Extracting");
    let layer =
        store.layer_dir(job.diff_id).parent().expect("a layer dir has a parent").to_path_buf();
    let existed = layer.exists();
    store.ensure_unpacked(desc, job.diff_id).with_context(|| format!("unpacking layer {short}"))?;
    if !existed {
        added.lock().unwrap().push(layer);
    }
    job.line.done("Pull complete");
    Ok(())
}

/// Check a fetched manifest is an image manifest we can use, and read it.
fn read_manifest(fetched: &Fetched, name: &str) -> crate::Result<Manifest> {
    match fetched.media_type.as_str() {
        oci::MANIFEST | oci::DOCKER_MANIFEST => {}
        oci::INDEX | oci::DOCKER_LIST => {
            bail!("{name}: the image index names another index — nested indexes are not supported")
        }
        mt if mt.starts_with("application/vnd.docker.distribution.manifest.v1") => {
            bail!("{name} has a Docker schema 1 manifest, which minidocker does not read (push it again with a recent tool)")
        }
        mt => bail!("{name}: manifest media type {mt:?} is not an image manifest"),
    }
    let manifest: Manifest = serde_json::from_slice(&fetched.bytes)
        .with_context(|| format!("the manifest of {name} is not an image manifest"))?;
    ensure!(
        [oci::CONFIG, oci::DOCKER_CONFIG].contains(&manifest.config.media_type.as_str()),
        "{name} is not a container image: its config is {:?}",
        manifest.config.media_type
    );
    for l in &manifest.layers {
        oci::layer_compression(&l.media_type)
            .with_context(|| format!("{name}: layer {}", l.digest.short()))?;
    }
    Ok(manifest)
}

/// From an image index, the manifest for `want` (an exact variant first).
pub fn choose(index: &Index, want: &Platform) -> crate::Result<Descriptor> {
    let fits: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == want.os && p.architecture == want.architecture)
        })
        .filter(|d| {
            want.variant.is_none()
                || d.platform.as_ref().unwrap().variant == want.variant
                || d.platform.as_ref().unwrap().variant.is_none()
        })
        .collect();
    let pick =
        fits.iter().find(|d| d.platform.as_ref().unwrap().variant == want.variant).or(fits.first());
    match pick {
        Some(d) => Ok((*d).clone()),
        None => {
            let have: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .filter(|p| p.os != "unknown")
                .map(|p| {
                    format!(
                        "{}/{}{}",
                        p.os,
                        p.architecture,
                        p.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default()
                    )
                })
                .collect();
            let want_s = format!(
                "{}/{}{}",
                want.os,
                want.architecture,
                want.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default()
            );
            // What a registry says is shown briefly and without its control characters.
            const SHOWN: usize = 5;
            let listed: Vec<String> = have
                .iter()
                .take(SHOWN)
                .map(|p| crate::report::printable(&crate::report::shorten(p, 40)).into_owned())
                .collect();
            let more = if have.len() > SHOWN {
                format!(", … {} more", have.len() - SHOWN)
            } else {
                String::new()
            };
            bail!(
                "no matching manifest for {want_s} in the manifest list entries (it has {})",
                match have.len() {
                    0 => "none with a platform".into(),
                    n => format!(
                        "{n} platform{}: {}{more}",
                        if n == 1 { "" } else { "s" },
                        listed.join(", ")
                    ),
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: Option<&str>, n: char) -> Descriptor {
        Descriptor {
            media_type: oci::MANIFEST.into(),
            digest: Digest::parse(&format!("sha256:{}", n.to_string().repeat(64))).unwrap(),
            size: 1,
            annotations: Default::default(),
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn platform_choice() {
        let index = Index {
            manifests: vec![
                entry("arm", Some("v7"), 'a'),
                entry("amd64", None, 'b'),
                entry("arm64", Some("v8"), 'c'),
            ],
            ..Default::default()
        };
        let p = |arch: &str, v: Option<&str>| Platform {
            architecture: arch.into(),
            os: "linux".into(),
            variant: v.map(Into::into),
        };
        assert_eq!(choose(&index, &p("amd64", None)).unwrap().digest.hex().as_bytes()[0], b'b');
        assert_eq!(choose(&index, &p("arm64", None)).unwrap().digest.hex().as_bytes()[0], b'c');
        assert_eq!(choose(&index, &p("arm", Some("v7"))).unwrap().digest.hex().as_bytes()[0], b'a');
        let e = choose(&index, &p("s390x", None)).unwrap_err().to_string();
        assert!(e.contains("linux/s390x") && e.contains("linux/arm/v7"), "{e}");
    }
}
