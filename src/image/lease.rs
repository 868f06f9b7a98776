//! Leases: the images a running build uses (its base, `COPY --from` images) or has made so far
//! (its untagged intermediate images), in `leases/<pid>-<n>.json`.
//!
//! A build holds the store's lock only while it writes into the store, not while its `RUN`
//! steps run, so an `rmi` or a `system prune` may come in between. The lease is what they see:
//! an image named in a live lease is in use, like a container's ([`Store::remove`] refuses
//! it, or with `-f` only untags it), so its layers stay under the build's mounts. A lease
//! whose process is gone (killed with -9) counts for nothing, and `system check --fix`
//! removes its file.

use super::store::{Store, User};
use super::Digest;
use crate::files::{read_json, write_json};
use crate::process::{process_alive, start_time};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Doc {
    pid: i32,
    /// The process's start time: a reused PID is not the holder.
    start: u64,
    /// `build (pid 1234)`.
    what: String,
    images: Vec<Digest>,
}

/// A lease held by this process; its file goes when it is dropped.
pub struct Lease {
    path: PathBuf,
    doc: RefCell<Doc>,
}

impl Lease {
    /// Add `image` to what this lease holds. The caller holds the store's lock, so no `rmi`
    /// comes between finding the image and holding it.
    pub fn hold(&self, image: &Digest) -> crate::Result<()> {
        let mut doc = self.doc.borrow_mut();
        if !doc.images.contains(image) {
            doc.images.push(image.clone());
            write_json(&self.path, &*doc)?;
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Store {
    fn leases_dir(&self) -> PathBuf {
        self.root().join("leases")
    }

    /// A new, empty lease for this process, described as `what` (`build`).
    pub fn lease(&self, what: &str) -> crate::Result<Lease> {
        static N: AtomicUsize = AtomicUsize::new(0);
        fs::create_dir_all(self.leases_dir())?;
        let pid = std::process::id() as i32;
        let name = format!("{pid}-{}.json", N.fetch_add(1, Ordering::Relaxed));
        let doc = Doc {
            pid,
            start: start_time(pid).unwrap_or(0),
            what: format!("{what} (pid {pid})"),
            images: Vec::new(),
        };
        let path = self.leases_dir().join(name);
        write_json(&path, &doc)?;
        Ok(Lease { path, doc: RefCell::new(doc) })
    }

    /// The images live leases hold, as users for [`Store::remove`].
    pub fn lease_users(&self) -> crate::Result<Vec<User>> {
        let mut users = Vec::new();
        for (_, doc) in self.leases()? {
            if process_alive(doc.pid, doc.start) {
                users.extend(doc.images.iter().map(|image| User {
                    image: image.clone(),
                    what: doc.what.clone(),
                    remedy: "wait for the build to end".into(),
                }));
            }
        }
        Ok(users)
    }

    /// The lease files whose process is gone (or that cannot be read): a killed build's.
    pub fn stale_leases(&self) -> crate::Result<Vec<PathBuf>> {
        let mut stale = Vec::new();
        let Ok(entries) = fs::read_dir(self.leases_dir()) else { return Ok(stale) };
        for e in entries.flatten() {
            let path = e.path();
            let live = read_json::<Doc>(&path).is_ok_and(|d| process_alive(d.pid, d.start));
            // (A lease being written is `<name>.tmp<pid>`: left to its writer while it lives.)
            let writing = path.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                x.strip_prefix("tmp")
                    .and_then(|p| p.parse().ok())
                    .is_some_and(|p| process_alive(p, 0))
            });
            if !live && !writing {
                stale.push(path);
            }
        }
        Ok(stale)
    }

    fn leases(&self) -> crate::Result<Vec<(PathBuf, Doc)>> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(self.leases_dir()) else { return Ok(out) };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json") {
                if let Ok(doc) = read_json::<Doc>(&path) {
                    out.push((path, doc));
                }
            }
        }
        Ok(out)
    }
}
