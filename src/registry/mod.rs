//! Registries: `pull`, `push` and `login` over the OCI distribution API (the "Docker Registry
//! HTTP API V2"), with `ureq`.
//!
//! - [`client`]: one repository on one registry — manifests (GET, HEAD, PUT with content
//!   negotiation), blobs (GET following redirects, HEAD, POST + monolithic PUT uploads,
//!   cross-repository mounts), and the authentication the registry asks for.
//! - [`auth`]: `WWW-Authenticate` challenges, Bearer tokens and Basic credentials, and the
//!   credentials file written by `login`.
//! - [`mod@pull`]: manifest (an image index picks this host's platform), config, layers — up to
//!   three downloading at once, each verified by digest before it enters the store and then
//!   unpacked — and the name.
//! - [`mod@push`]: layers and config (skipping what the registry has, mounting what another
//!   repository of the same registry has), then the manifest under its tag.
//!
//! Where a registry is: `docker.io` is served at `registry-1.docker.io`; every other registry
//! is the first component of the reference (`127.0.0.1:5000/geektime/helloworld:v1`).
//! Registries are spoken to over HTTPS, except plain HTTP for the loopback ones (`localhost`,
//! `127.0.0.0/8`, `[::1]`, any port) and those listed in `MINIDOCKER_INSECURE_REGISTRIES`
//! (`host:port` or `host`, separated by commas or spaces) — Docker's `insecure-registries`,
//! without its attempt at HTTPS first.

pub mod auth;
pub mod client;
pub mod pull;
pub mod push;
mod status;

pub use auth::Credentials;
pub use client::Client;
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, PushOptions, Pushed};

use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many layers are downloaded or uploaded at once (Docker's default too).
pub const PARALLEL: usize = 3;

/// The registry's name in references, `docker.io`.
pub const DOCKER_HUB: &str = crate::image::reference::DEFAULT_REGISTRY;
/// Where Docker Hub's distribution API answers.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Registries spoken to over plain HTTP besides the loopback ones.
pub const INSECURE_ENV: &str = "MINIDOCKER_INSECURE_REGISTRIES";

/// The host (and port) serving a registry's API: `docker.io` → `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

/// `http://HOST` or `https://HOST` for a registry, by the rule in the module docs.
pub fn base_url(registry: &str) -> String {
    let host = api_host(registry);
    let insecure = std::env::var(INSECURE_ENV).unwrap_or_default();
    let scheme = if plain_http(host, &insecure) { "http" } else { "https" };
    format!("{scheme}://{host}")
}

/// Is `host` (`name[:port]`) spoken to over plain HTTP? The loopback ones are, and those in
/// `insecure`, a list of `host:port` or `host` (any port).
pub fn plain_http(host: &str, insecure: &str) -> bool {
    let name = host_name(host);
    let loopback = name == "localhost"
        || name == "[::1]"
        || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    loopback || insecure.split([',', ' ']).filter(|e| !e.is_empty()).any(|e| e == host || e == name)
}

/// `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `[::1]`, `localhost` → `localhost`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Items with distinct digests, the first of each kept, in order: a blob listed twice in a
/// manifest is fetched or sent once.
fn unique<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&T) -> &crate::image::Digest,
) -> Vec<&'a T> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|i| seen.insert(key(i).clone())).collect()
}

/// Run `work` on every job, `max` at a time on threads. The first failure stops the others
/// (`stop` is set; their transfers, read through [`Stoppable`], end) and is returned.
fn parallel<T: Sync>(
    jobs: &[T],
    max: usize,
    stop: &AtomicBool,
    work: impl Fn(&T) -> crate::Result<()> + Sync,
) -> crate::Result<()> {
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..max.min(jobs.len()) {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let Some(job) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) else { break };
                    if let Err(e) = work(job) {
                        // Recorded before `stop` is set, so it is this error, not the others'
                        // "stopped", that is reported.
                        failure.lock().unwrap().get_or_insert(e);
                        stop.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    failure.into_inner().unwrap().map_or(Ok(()), Err)
}

/// A transfer that ends with an error when another one failed or a signal arrived (Ctrl-C).
pub(crate) struct Stoppable<'a, R> {
    inner: R,
    stop: &'a AtomicBool,
}

impl<'a, R> Stoppable<'a, R> {
    pub fn new(inner: R, stop: &'a AtomicBool) -> Self {
        Stoppable { inner, stop }
    }
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::interrupt::check().map_err(io::Error::other)?;
        if self.stop.load(Ordering::SeqCst) {
            return Err(io::Error::other("stopped: another transfer failed"));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_registries_are() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
        for local in
            ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000", "[::1]"]
        {
            assert!(plain_http(local, ""), "{local} is loopback");
        }
        for remote in [
            "registry-1.docker.io",
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[::2]:5000",
        ] {
            assert!(!plain_http(remote, ""), "{remote} is not loopback");
        }
        assert!(plain_http("10.0.0.1:5000", "ghcr.io, 10.0.0.1:5000"));
        assert!(plain_http("10.0.0.1:5000", "10.0.0.1"));
        assert!(!plain_http("10.0.0.1:5001", "10.0.0.1:5000"));
    }
}
