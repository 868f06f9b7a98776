//! A container's volumes, seen from the containers: which containers use a volume (their
//! `config.json` says so, running or not), and the removals that must not take a volume a
//! container still uses — `volume rm`, `rm -v`, `volume prune`.

use super::{state, ContainerConfig};
use crate::image::Store;
use crate::volumes::{self, Mount, Pruned, Source};
use anyhow::bail;

/// Does container `c` mount volume `name`? (Its `config.json` says so, running or not.)
fn uses(c: &ContainerConfig, name: &str) -> bool {
    c.volumes.iter().any(|m| m.spec.is_volume() && m.volume == name)
}

/// Every container's configuration, stopped ones included. Read under the volumes' lock, so
/// no container that takes volumes is half-created.
fn configs(store: &Store) -> crate::Result<Vec<ContainerConfig>> {
    Ok(state::list(store)?.into_iter().map(|c| c.config).collect())
}

/// The containers (IDs) whose mounts name volume `name`, stopped ones included.
pub fn users(store: &Store, name: &str) -> crate::Result<Vec<String>> {
    Ok(configs(store)?.into_iter().filter(|c| uses(c, name)).map(|c| c.id).collect())
}

/// `volume rm`: remove volume `name` and its files — refused while a container uses it.
pub fn remove(store: &Store, name: &str) -> crate::Result<()> {
    let _lock = volumes::lock(store.root())?;
    let v = volumes::get(store.root(), name)?;
    let users = users(store, name)?;
    if let Some(first) = users.first() {
        bail!("volume {name} is in use by container {}: remove the container first (minidocker rm), then the volume", &first[..12]);
    }
    volumes::delete(&v)
}

/// `rm -v`, `run --rm`: remove the anonymous volumes of container `c` (already removed) that
/// no other container uses. Returns their names.
pub fn remove_anonymous(store: &Store, c: &ContainerConfig) -> crate::Result<Vec<String>> {
    let anonymous: Vec<&Mount> = c
        .volumes
        .iter()
        .filter(|m| m.spec.source == Source::Anonymous && !m.volume.is_empty())
        .collect();
    if anonymous.is_empty() {
        return Ok(Vec::new());
    }
    let _lock = volumes::lock(store.root())?;
    let mut removed = Vec::new();
    for m in anonymous {
        let Ok(v) = volumes::get(store.root(), &m.volume) else { continue };
        if users(store, &m.volume)?.iter().all(|id| *id == c.id) {
            volumes::delete(&v)?;
            removed.push(v.name);
        }
    }
    Ok(removed)
}

/// `volume prune`: remove the volumes no container uses — a container, running or stopped,
/// whose `config.json` names a volume uses it. Only anonymous ones unless `all`, as Docker 23+
/// does (`volume prune -a` for the named ones too).
pub fn prune(store: &Store, all: bool) -> crate::Result<Pruned> {
    // The volumes' lock, held from reading the containers to the last removal.
    // `volumes::attach` takes the same lock before it creates or names a volume for a new
    // container, and keeps it until that container's `config.json` is written. So a `run -v`
    // racing this prune either attached first — its `config.json` is on disk when [`configs`]
    // reads the containers below, and its volume counts as used — or it waits here and
    // attaches after the prune, finding its named volume gone and creating it afresh. No
    // volume is ever taken by a container without being named in a `config.json` while this
    // lock is free.
    let _lock = volumes::lock(store.root())?;
    let containers = configs(store)?;
    volumes::prune_unused(store.root(), all, &|name| containers.iter().any(|c| uses(c, name)))
}
