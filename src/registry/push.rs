//! `minidocker push`: an image from the store to a registry.
//!
//! The blobs go first — the layers (the compressed tarballs in the store, sent as they are; up
//! to three at a time), then the config — and the manifest last, under its tag, so the
//! registry never names an image it does not fully have. For each blob:
//!
//! - `HEAD` it: a registry that has it says `Layer already exists`;
//! - another repository of the same registry that an image in the store came from has it: ask
//!   for a cross-repository mount (`Mounted from …`), nothing is sent;
//! - otherwise `POST` an upload and `PUT` the whole blob with its digest (`Pushed`).

use super::client::{scope, Client, Upload};
use super::status::{Board, Line};
use super::{parallel, unique, Stoppable, PARALLEL};
use crate::image::oci::Descriptor;
use crate::image::{Digest, Reference, Store};
use anyhow::{ensure, Context};
use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Print nothing.
    pub quiet: bool,
}

#[derive(Debug)]
pub struct Pushed {
    pub digest: Digest,
    pub size: u64,
    /// Blobs sent; the others the registry had or mounted.
    pub uploaded: usize,
}

struct Job<'a> {
    desc: &'a Descriptor,
    line: Line,
}

/// Push the image named `reference` to its registry; prints Docker's lines unless `quiet`.
pub fn push(store: &Store, reference: &Reference, opts: &PushOptions) -> crate::Result<Pushed> {
    ensure!(
        reference.digest.is_none(),
        "push takes a tag, not a digest: minidocker push NAME[:TAG]"
    );
    let tag = reference.tag.clone().unwrap_or_else(|| "latest".into());
    let mut board = Board::new(opts.quiet);
    let _lock = store.lock()?;
    let images = store.list()?;
    let name = reference.to_string();
    let image = images
        .iter()
        .find(|i| i.names.contains(&name))
        .with_context(|| format!("An image does not exist locally with the tag: {name} (see `minidocker images`; name one with `minidocker tag`)"))?;
    board.line(&format!("The push refers to repository [{}]", reference.full_name()));

    // Where else on this registry each blob is, by the names of the images that have it.
    let mut sources: BTreeMap<&Digest, String> = BTreeMap::new();
    for img in &images {
        for n in &img.names {
            let Ok(r) = Reference::parse(n) else { continue };
            if r.registry != reference.registry || r.repository == reference.repository {
                continue;
            }
            for d in
                img.manifest.layers.iter().map(|l| &l.digest).chain([&img.manifest.config.digest])
            {
                sources.entry(d).or_insert_with(|| r.repository.clone());
            }
        }
    }
    let wanted: Vec<&Digest> = image
        .manifest
        .layers
        .iter()
        .map(|l| &l.digest)
        .chain([&image.manifest.config.digest])
        .collect();
    let mut from_scopes: Vec<String> =
        wanted.iter().filter_map(|d| sources.get(d)).map(|repo| scope(repo, "pull")).collect();
    from_scopes.sort();
    from_scopes.dedup();
    let client =
        Client::new(&reference.registry, &reference.repository, "pull,push", &from_scopes)?;

    // Docker lists the top layer first.
    let jobs: Vec<Job> = unique(image.manifest.layers.iter().rev(), |d| &d.digest)
        .into_iter()
        .map(|desc| Job { desc, line: board.layer(desc.digest.short(), "Preparing") })
        .collect();
    let stop = AtomicBool::new(false);
    let uploaded = std::sync::atomic::AtomicUsize::new(0);
    let send = |desc: &Descriptor, line: &Line| -> crate::Result<()> {
        if push_blob(
            &client,
            store,
            desc,
            sources.get(&desc.digest).map(String::as_str),
            line,
            &stop,
        )? {
            uploaded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    };
    let result = parallel(&jobs, PARALLEL, &stop, |job| send(job.desc, &job.line));
    if let Err(e) = result {
        for job in &jobs {
            job.line.abandon("Failed");
        }
        crate::interrupt::check()?;
        return Err(e);
    }
    send(
        &image.manifest.config,
        &Board::new(true).layer(image.manifest.config.digest.short(), ""),
    )?;
    board.settle();

    let bytes = store.read_blob(&image.manifest_desc.digest)?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| image.manifest_desc.media_type.clone());
    let digest = image.manifest_desc.digest.clone();
    if let Some(stored) = client.put_manifest(&tag, &media_type, &bytes)? {
        ensure!(
            stored == digest,
            "the registry stored the manifest of {name} as {stored}, not {digest}"
        );
    }
    board.line(&format!("{tag}: digest: {digest} size: {}", bytes.len()));
    Ok(Pushed { digest, size: bytes.len() as u64, uploaded: uploaded.into_inner() })
}

/// One blob to the registry unless it has it; true when it was sent.
fn push_blob(
    client: &Client,
    store: &Store,
    desc: &Descriptor,
    from: Option<&str>,
    line: &Line,
    stop: &AtomicBool,
) -> crate::Result<bool> {
    if client.blob_exists(&desc.digest)? {
        line.done("Layer already exists");
        return Ok(false);
    }
    let path = store.blob_path(&desc.digest);
    let file = File::open(&path)
        .with_context(|| format!("blob {} is missing from the store", desc.digest))?;
    let len = file.metadata()?.len();
    ensure!(
        len == desc.size,
        "blob {} in the store has {len} bytes where its descriptor says {} — refused",
        desc.digest,
        desc.size
    );
    let session = match client.start_upload(from.map(|repo| (&desc.digest, repo)))? {
        Upload::Mounted => {
            line.done(&format!("Mounted from {}", from.unwrap_or_default()));
            return Ok(false);
        }
        Upload::Session(url) => url,
    };
    line.transfer("Pushing", desc.size);
    let mut body = line.wrap(Stoppable::new(file, stop));
    client.finish_upload(&session, desc, &mut body)?;
    line.done("Pushed");
    Ok(true)
}
