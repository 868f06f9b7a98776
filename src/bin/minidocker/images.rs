//! `images`, `import`, `load`, `tag`, `rmi`: the image store from the command line.

use lexopt::prelude::*;
use minidocker::image::{reference, Store};
use minidocker::{progress, units};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

fn usage(text: &str) -> minidocker::Result<i32> {
    println!("{}", text.trim_end());
    Ok(0)
}

/// `minidocker images [-q] [REPOSITORY[:TAG]]`
pub fn images(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut quiet, mut all, mut filter) = (false, false, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('q') | Long("quiet") => quiet = true,
            Short('a') | Long("all") => all = true,
            Short('h') | Long("help") => return usage("Usage: minidocker images [-a] [-q] [REPOSITORY[:TAG]]\n\nList images.\n  -a, --all     also the intermediate images a build keeps for its cache\n  -q, --quiet   only image IDs"),
            Value(v) if filter.is_none() => filter = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
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
pub fn import(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut values, mut changes, mut message) = (Vec::new(), Vec::new(), None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("change") => changes.push(p.value()?.string()?),
            Short('m') | Long("message") => message = Some(p.value()?.string()?),
            Short('h') | Long("help") => return usage("Usage: minidocker import [OPTIONS] FILE|- [REPOSITORY[:TAG]]\n\nMake a one-layer image from a root filesystem tarball (plain or gzipped; - reads stdin).\nPrints the new image's ID.\n  -c, --change INSTR    a Dockerfile instruction for the image's configuration (repeatable):\n                        CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR\n  -m, --message MSG     the history entry's comment"),
            Value(v) => values.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let (source, name) = match values.as_slice() {
        [s] => (s.clone(), None),
        [s, n] => (s.clone(), Some(reference::parse_tagged(n)?)),
        _ => anyhow::bail!("import takes a tarball (or -) and optionally a name: minidocker import [OPTIONS] FILE|- [REPOSITORY[:TAG]]"),
    };
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
    let _lock = store.lock()?;
    let bar = progress::bytes(len, "Importing");
    let img = store.import(bar.wrap_read(input), &source, name.as_ref(), run, message)?;
    bar.finish_and_clear();
    println!("{}", img.id);
    Ok(0)
}

/// `minidocker load -i PATH`: an OCI layout, as a directory or a tar of one.
pub fn load(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut input: Option<PathBuf> = None;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('i') | Long("input") => input = Some(p.value()?.into()),
            Short('h') | Long("help") => return usage("Usage: minidocker load -i PATH\n\nLoad the named images of an OCI image layout: a directory (what `skopeo copy … oci:DIR:NAME:TAG`\nwrites) or a tar of one. Every blob is checked against its digest."),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let path = input.ok_or_else(|| {
        anyhow::anyhow!("load needs -i PATH (an OCI layout directory or a tar of one)")
    })?;
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
pub fn tag(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut values = Vec::new();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return usage("Usage: minidocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nGive an image another name."),
            Value(v) => values.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let [source, target] = values.as_slice() else {
        anyhow::bail!("tag takes two names: minidocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
    };
    let target = reference::parse_tagged(target)?;
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    store.tag(source, &target)?;
    Ok(0)
}

/// `minidocker rmi [-f] IMAGE...`
pub fn rmi(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut force, mut names) = (false, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("force") => force = true,
            Short('h') | Long("help") => return usage("Usage: minidocker rmi [-f] IMAGE...\n\nRemove names, and images left without one. Layers still used by another image are kept.\n  -f, --force   remove an image given by ID even when it has several names"),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    anyhow::ensure!(
        !names.is_empty(),
        "rmi needs at least one image: minidocker rmi [-f] IMAGE..."
    );
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    let mut status = 0;
    for name in names {
        match store.remove(&name, force) {
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
pub fn history(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut no_trunc, mut name) = (false, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Long("no-trunc") => no_trunc = true,
            Short('h') | Long("help") => return usage("Usage: minidocker history [--no-trunc] IMAGE\n\nShow the history of an image: one line per instruction, newest first, with the size of\nthe layer it made (0B for instructions that only change the configuration)."),
            Value(v) if name.is_none() => name = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let name =
        name.ok_or_else(|| anyhow::anyhow!("history needs an image: minidocker history IMAGE"))?;
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
