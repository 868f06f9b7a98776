//! `minidocker system prune`: stopped containers, untagged images (a build's intermediates
//! among them) and the layers only they used — and, with `--volumes` only (as in Docker), the
//! anonymous volumes no container uses. `minidocker system check [--fix]`: the store verified.

use minidocker::cli::volume::SystemCommand;
use minidocker::container::{run as lifecycle, state};
use minidocker::image::check::{Finding, Kind};
use minidocker::image::Store;

pub fn system(command: SystemCommand) -> minidocker::Result<i32> {
    match command {
        SystemCommand::Prune { force: _, volumes } => prune(volumes),
        SystemCommand::Check { fix } => check(fix),
    }
}

/// `system check [--fix]`: one line per finding, a summary; 1 while a problem remains.
fn check(fix: bool) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let _lock = store.lock_as_is()?;
    let mut findings: Vec<Finding> = minidocker::image::check::check(&store, fix)?;
    findings.extend(minidocker::container::check::check(&store, fix)?);
    let mut remaining = (0, 0);
    for f in &findings {
        let kind = match f.kind {
            Kind::Problem => "problem",
            Kind::Leftover => "leftover",
        };
        match &f.fixed {
            Some(done) => println!("fixed {kind}: {} — {done}", f.what),
            None => {
                println!("{kind}: {}", f.what);
                match f.kind {
                    Kind::Problem => remaining.0 += 1,
                    Kind::Leftover => remaining.1 += 1,
                }
            }
        }
    }
    let fixed = findings.iter().filter(|f| f.fixed.is_some()).count();
    let hint = if remaining.1 > 0 && !fix { " (system check --fix removes them)" } else { "" };
    println!(
        "{} problems, {} leftovers{hint}{}",
        remaining.0,
        remaining.1,
        if fix { format!("; {fixed} fixed") } else { String::new() }
    );
    Ok(if remaining.0 > 0 { 1 } else { 0 })
}

fn prune(volumes: bool) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    let mut containers = Vec::new();
    for c in state::list(&store)? {
        if !c.running() {
            lifecycle::remove(&c, false)?;
            containers.push(c.config.id.clone());
        }
    }
    // As Docker's `system prune --volumes`: anonymous volumes only, even with named ones unused.
    // After the containers, so the anonymous volumes of the ones just removed go too.
    let pruned =
        if volumes { Some(minidocker::container::volumes::prune(&store, false)?) } else { None };
    // Images a remaining container was made from stay, named or not.
    let in_use: Vec<String> = state::list(&store)?.into_iter().map(|c| c.config.image_id).collect();
    let mut images = Vec::new();
    let mut layers = Vec::new();
    for img in store.list()? {
        // (An earlier removal may have taken this one along as an untagged parent.)
        if img.names.is_empty()
            && !in_use.contains(&img.id.to_string())
            && store.resolve(img.id.as_str()).is_ok()
        {
            let users = minidocker::container::check::image_users(&store)?;
            let removed = store.remove(img.id.as_str(), true, &users)?;
            images.extend(removed.images);
            layers.extend(removed.layers);
        }
    }
    // The directories of RUN --mount=type=cache: a cache, so a prune may take it, as Docker's
    // takes its build cache.
    let caches = minidocker::builder::mounts::prune_caches(&store)?;
    if !containers.is_empty() {
        println!("Deleted Containers:\n{}\n", containers.join("\n"));
    }
    if let Some(v) = pruned.as_ref().filter(|v| !v.names.is_empty()) {
        println!("Deleted Volumes:\n{}\n", v.names.join("\n"));
    }
    if !images.is_empty() || !layers.is_empty() {
        println!("Deleted Images:");
        images.iter().chain(&layers).for_each(|d| println!("deleted: {d}"));
        println!();
    }
    if !caches.is_empty() {
        println!("Deleted build cache objects:\n{}\n", caches.join("\n"));
    }
    match &pruned {
        Some(v) => println!(
            "Deleted {} containers, {} volumes ({}), {} images, {} layers",
            containers.len(),
            v.names.len(),
            minidocker::units::docker_size(v.bytes),
            images.len(),
            layers.len()
        ),
        None => println!(
            "Deleted {} containers, {} images, {} layers",
            containers.len(),
            images.len(),
            layers.len()
        ),
    }
    Ok(0)
}
