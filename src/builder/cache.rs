//! The build cache, as the classic builder has it: a step is skipped when an image already
//! exists that was made from the same parent image by the same instruction (and, for ADD and
//! COPY, from files with the same content). The cache maps that key (made by
//! `solutions/04-dockerfile-build`'s `cache_key`) to the image's ID; the images themselves
//! stay in the store as untagged intermediate images.

use crate::image::{Digest, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct Cache {
    path: PathBuf,
    map: BTreeMap<String, String>,
}

impl Cache {
    pub fn load(store: &Store) -> Cache {
        let path = store.root().join("build-cache.json");
        // A missing or unreadable cache only means every step runs.
        let map = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Cache { path, map }
    }

    // ANCHOR: cache
    /// The image a step with this key made before, if the store still has it.
    pub fn get(&self, store: &Store, key: &str) -> Option<crate::image::Image> {
        let id = self.map.get(key)?;
        store.resolve(id).ok().filter(|img| img.id.as_str() == id)
    }

    /// Record a step. The caller holds the store's lock: builds run side by side, so the
    /// file is read again and what other builds recorded meanwhile is kept.
    pub fn put(&mut self, key: String, id: &Digest) -> crate::Result<()> {
        let on_disk: BTreeMap<String, String> = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        self.map.extend(on_disk);
        self.map.insert(key, id.to_string());
        let tmp = self.path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.map)?)?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
    // ANCHOR_END: cache
}
