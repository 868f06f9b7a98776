//! Image references as Docker reads them: `python:3.11-slim` is
//! `docker.io/library/python:3.11-slim`; `127.0.0.1:5000/geektime/helloworld:v1` names a
//! registry by its first component; `name@sha256:…` pins a digest.

use anyhow::{bail, ensure};
use std::fmt;

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";

/// A parsed reference. `repository` is the path inside the registry (`library/python`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Parse `[REGISTRY/]PATH[:TAG][@DIGEST]`; a reference with neither tag nor digest gets
    /// `latest`, as in Docker.
    pub fn parse(s: &str) -> crate::Result<Reference> {
        let bad = |why: &str| anyhow::anyhow!("invalid reference {s:?}: {why}");
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                crate::image::Digest::parse(d)
                    .map_err(|_| bad("a digest looks like sha256:<64 hex digits>"))?;
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The tag follows the last ':' after the last '/', so a registry port is not a tag.
        let last = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last..].find(':') {
            Some(i) => (&rest[..last + i], Some(rest[last + i + 1..].to_string())),
            None => (rest, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            ensure!(ok, bad("a tag is up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"));
        }
        ensure!(!name.is_empty(), bad("the name is empty"));
        let (registry, path) = match name.split_once('/') {
            // Like Docker: the first component is a registry when it looks like a host.
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        for comp in path.split('/') {
            ensure!(
                path_component_ok(comp),
                bad(
                    "names are lowercase letters and digits, separated by '.', '_', '__' or dashes"
                )
            );
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag =
            if tag.is_none() && digest.is_none() { Some(DEFAULT_TAG.to_string()) } else { tag };
        Ok(Reference { registry, repository, tag, digest })
    }

    /// The name as Docker shows it: `python`, `geektime/helloworld`,
    /// `127.0.0.1:5000/geektime/helloworld`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            self.repository.strip_prefix("library/").unwrap_or(&self.repository).to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    /// The fully qualified name, `docker.io/library/python`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-` (distribution's grammar).
fn path_component_ok(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty()
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
    {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

/// The familiar form, `python:3.11-slim` or `busybox@sha256:…`: what `images` shows and what
/// the image store records as `org.opencontainers.image.ref.name`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.familiar_name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Refuse a reference that cannot name a stored image (a digest-only one is for pulling).
pub fn parse_tagged(s: &str) -> crate::Result<Reference> {
    let r = Reference::parse(s)?;
    if r.tag.is_none() {
        bail!(
            "invalid reference {s:?}: give a tag (NAME:TAG), not a digest, to name an image here"
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_normalisation() {
        let r = Reference::parse("python:3.11-slim").unwrap();
        assert_eq!(r.full_name(), "docker.io/library/python");
        assert_eq!(r.to_string(), "python:3.11-slim");
        let r = Reference::parse("busybox").unwrap();
        assert_eq!((r.tag.as_deref(), r.to_string().as_str()), (Some("latest"), "busybox:latest"));
        let r = Reference::parse("127.0.0.1:5000/geektime/helloworld:v1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("127.0.0.1:5000", "geektime/helloworld")
        );
        assert_eq!(r.to_string(), "127.0.0.1:5000/geektime/helloworld:v1");
        let r = Reference::parse("localhost/x").unwrap();
        assert_eq!(r.registry, "localhost");
        let r = Reference::parse("geektime/helloworld:v1").unwrap();
        assert_eq!(r.full_name(), "docker.io/geektime/helloworld");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!((r.tag, r.digest), (None, Some(d)));
    }

    #[test]
    fn bad_references() {
        for bad in [
            "",
            "Busybox",
            "a:",
            "a:-x",
            "a//b",
            "-a",
            "a-",
            "a@sha256:12",
            "a:b:c",
            "a..b",
            "a___b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["a-b", "a--b", "a__b", "a.b_c", "x/y/z:1.0-rc_1"] {
            assert!(Reference::parse(good).is_ok(), "{good:?} should parse");
        }
    }
}
