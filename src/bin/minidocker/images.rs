//! `images`, `import`, `load`, `tag`, `rmi`: the image store from the command line.

use minidocker::cli::images::{HistoryArgs, ImagesArgs, ImportArgs, LoadArgs, RmiArgs, TagArgs};
use minidocker::image::Store;
use minidocker::{progress, units};
use std::fs::File;
use std::io::Read;

/// `minidocker images [-q] [REPOSITORY[:TAG]]`
pub fn images(args: ImagesArgs) -> minidocker::Result<i32> {
    let (quiet, all, filter) = (args.quiet, args.all, args.filter);
    let store = Store::open_default()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let mut rows = Vec::new();
    let mut ids = Vec::new();
    let images = store.list()?;
    for img in &images {
        // Untagged images with children are a build's intermediate steps: shown with -a only.
        if !all && img.names.is_empty() && images.iter().any(|c| img.is_parent_of(c)) {
            continue;
        }
        let size: u64 =
            img.diff_ids().iter().map(|d| store.layer_meta(d).map_or(0, |m| m.size)).sum();
        let created = img
            .config
            .created
            .as_deref()
            .and_then(units::parse_rfc3339)
            .map_or("N/A".into(), |t| units::ago(now - t));
        let names: Vec<(String, String)> = if img.names.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            img.names
                .iter()
                .map(|n| match n.split_once('@') {
                    // Pulled by digest: no tag, as `docker images` shows it.
                    Some((repo, _)) => (repo.to_string(), "<none>".to_string()),
                    None => {
                        let (repo, tag) =
                            n.rsplit_once(':').filter(|(_, t)| !t.contains('/')).unwrap_or((n, ""));
                        (repo.to_string(), tag.to_string())
                    }
                })
                .collect()
        };
        for (repo, tag) in names {
            if let Some(f) = &filter {
                let (frepo, ftag) =
                    f.rsplit_once(':').filter(|(_, t)| !t.contains('/')).unwrap_or((f, ""));
                if frepo != repo || (!ftag.is_empty() && ftag != tag) {
                    continue;
                }
            }
            if !ids.contains(&img.id) {
                ids.push(img.id.clone());
            }
            rows.push([
                repo,
                tag,
                img.id.short().to_string(),
                created.clone(),
                units::docker_size(size),
            ]);
        }
    }
    if quiet {
        for id in ids {
            println!("{}", id.short());
        }
        return Ok(0);
    }
    let head = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"].map(String::from);
    print_table(&head, &rows);
    Ok(0)
}

/// Columns padded like Docker's tabwriter: each as wide as its widest cell, three spaces apart.
pub fn print_table<const N: usize>(head: &[String; N], rows: &[[String; N]]) {
    let mut width = [0; N];
    for r in std::iter::once(head).chain(rows) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(head).chain(rows) {
        let line: Vec<String> = r.iter().zip(width).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("   ").trim_end());
    }
}

/// `minidocker import FILE|- [REPOSITORY[:TAG]]`
pub fn import(args: ImportArgs) -> minidocker::Result<i32> {
    let (source, name, changes, message) = (args.file, args.name, args.change, args.message);
    // The changes are checked before a byte is read: a bad one makes nothing.
    let mut run = minidocker::image::oci::RunConfig::default();
    minidocker::commit::apply_changes(&mut run, &minidocker::commit::parse_changes(&changes)?)?;
    let (input, len): (Box<dyn Read>, Option<u64>) = if source == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = File::open(&source).map_err(|e| anyhow::anyhow!("cannot open {source}: {e}"))?;
        let len = f.metadata()?.len();
        (Box::new(f), Some(len))
    };
    let store = Store::open_default()?;
    // Unpacked in tmp/ first, without the store's lock; locked only to move it in.
    let bar = progress::bytes(len, "Importing");
    let layer = store.prepare_layer(bar.wrap_read(input))?;
    bar.finish_and_clear();
    let _lock = store.lock()?;
    let img = store.import(layer, &source, name.as_ref(), run, message)?;
    println!("{}", img.id);
    Ok(0)
}

/// `minidocker load -i PATH`: an OCI layout, as a directory or a tar of one.
pub fn load(args: LoadArgs) -> minidocker::Result<i32> {
    let path = args.input;
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    let scratch;
    let dir = if path.is_dir() {
        path
    } else {
        // A tar of a layout is unpacked like a layer: nothing in it may land outside.
        let f = File::open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        scratch = store.scratch()?;
        minidocker::image::unpack::unpack(f, scratch.path())?;
        scratch.path().to_path_buf()
    };
    for name in store.load_layout(&dir)? {
        println!("Loaded image: {name}");
    }
    Ok(0)
}

/// `minidocker tag SOURCE_IMAGE TARGET_IMAGE`
pub fn tag(args: TagArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    store.tag(&args.source, &args.target)?;
    Ok(0)
}

/// `minidocker rmi [-f] IMAGE...`
pub fn rmi(args: RmiArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    let mut status = 0;
    for name in args.images {
        let users = minidocker::container::check::image_users(&store)?;
        match store.remove(&name, args.force, &users) {
            Ok(r) => {
                r.untagged.iter().for_each(|n| println!("Untagged: {n}"));
                r.images.iter().chain(&r.layers).for_each(|d| println!("Deleted: {d}"));
            }
            Err(e) => {
                eprintln!("minidocker: error: {e:#}");
                status = 1;
            }
        }
    }
    Ok(status)
}

/// `minidocker history [--no-trunc] IMAGE`
pub fn history(args: HistoryArgs) -> minidocker::Result<i32> {
    let (no_trunc, name) = (args.no_trunc, args.image);
    let store = Store::open_default()?;
    let img = store.resolve(&name)?;
    let all = store.list()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let mut layers = img.diff_ids().iter();
    let mut rows = Vec::new();
    for (i, h) in img.config.history.iter().enumerate() {
        let size = if h.empty_layer {
            0
        } else {
            layers.next().map_or(0, |d| store.layer_meta(d).map_or(0, |m| m.size))
        };
        // The image this step produced, if it is still in the store.
        let id = if i + 1 == img.config.history.len() {
            img.id.short().to_string()
        } else {
            all.iter()
                .find(|a| a.config.history.len() == i + 1 && a.is_parent_of(&img))
                .map_or("<missing>".to_string(), |a| a.id.short().to_string())
        };
        let created = h
            .created
            .as_deref()
            .and_then(units::parse_rfc3339)
            .map_or("N/A".into(), |t| units::ago(now - t));
        // One row per step: a here-document's script shows its newlines as \n (and tabs
        // as spaces, as Docker shows them).
        let mut by =
            h.created_by.clone().unwrap_or_default().replace('\t', " ").replace('\n', "\\n");
        if !no_trunc && by.chars().count() > 45 {
            by = by.chars().take(44).collect::<String>() + "…";
        }
        rows.push([
            id,
            created,
            by,
            units::docker_size(size),
            h.comment.clone().unwrap_or_default(),
        ]);
    }
    rows.reverse();
    let head = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"].map(String::from);
    print_table(&head, &rows);
    Ok(0)
}
