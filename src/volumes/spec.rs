//! What a `-v` asks for: its parsed form ([`Spec`]), and the mount a container keeps in its
//! `config.json` ([`Mount`]).

use super::data_dir;
use crate::files::clean_abs;
use anyhow::{bail, ensure};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a `-v` takes its directory from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `-v /test`: a new volume with a random name, for this container.
    Anonymous,
    /// `-v NAME:/test`: the volume called NAME, created on first use.
    Named(String),
    /// `-v /host/dir:/test`: a directory (or file) of the host, as it is.
    Host(PathBuf),
}

/// One `-v`, as read from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub source: Source,
    /// Where it appears in the container: absolute and clean (`/test`, never `/test/`).
    pub destination: String,
    /// `:ro`
    pub read_only: bool,
    /// `:nocopy`: never fill the volume from the image.
    pub no_copy: bool,
}

impl Spec {
    /// Is this a volume (named or anonymous) rather than a host directory?
    pub fn is_volume(&self) -> bool {
        !matches!(self.source, Source::Host(_))
    }
}

/// A container's mount, as its `config.json` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub spec: Spec,
    /// The volume it mounts: the name given, or the one an anonymous volume got when the
    /// container was created. Empty for a host directory.
    #[serde(default)]
    pub volume: String,
}

impl Mount {
    /// `volume` or `bind`, as `docker inspect` says.
    pub fn kind(&self) -> &'static str {
        if self.spec.is_volume() {
            "volume"
        } else {
            "bind"
        }
    }

    /// The directory (or file) of the host that is mounted.
    pub fn host_path(&self, root: &Path) -> PathBuf {
        match &self.spec.source {
            Source::Host(p) => p.clone(),
            _ => data_dir(root, &self.volume),
        }
    }
}

/// A volume name, as Docker allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Read one `-v` as Docker does on Linux. The forms, each with an optional `:MODE`:
///
/// | `-v`                     | source                          | in the container |
/// |--------------------------|---------------------------------|------------------|
/// | `/test`                  | `Source::Anonymous`             | `/test`          |
/// | `data:/test`             | `Source::Named("data")`         | `/test`          |
/// | `/home/me/src:/test:ro`  | `Source::Host("/home/me/src")`  | `/test`, read-only |
///
/// MODE is a comma-separated list of `ro`, `rw` (the default) and `nocopy` (a volume only:
/// never fill it from the image). The container path must be absolute, is cleaned and cannot
/// be `/`; a source that is not an absolute path must be a volume name ([`valid_name`]).
/// The error names the specification and says what is wrong with it.
pub fn parse(text: &str) -> crate::Result<Spec> {
    read(text).map_err(|e| e.context(format!("invalid volume specification {text:?}")))
}

fn read(text: &str) -> crate::Result<Spec> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, destination, modes) = match parts.as_slice() {
        [dest] => (None, *dest, None),
        [src, dest] => (Some(*src), *dest, None),
        [src, dest, modes] => (Some(*src), *dest, Some(*modes)),
        _ => bail!("too many ':' — the forms are /test, NAME:/test and /host/dir:/test, each with an optional :ro"),
    };
    let is_mode =
        |m: &str| !m.is_empty() && m.split(',').all(|w| ["ro", "rw", "nocopy"].contains(&w));
    if source.is_some() && modes.is_none() && is_mode(destination) {
        bail!("a mode needs a source before the path: NAME:/test:{destination} or /host/dir:/test:{destination}");
    }
    ensure!(!destination.is_empty(), "the path in the container is missing");
    ensure!(
        destination.starts_with('/'),
        "the path in the container, {destination:?}, must be absolute"
    );
    let destination = clean(destination);
    ensure!(destination != "/", "a volume cannot be mounted on / itself");
    let source = match source {
        None => Source::Anonymous,
        Some("") => {
            bail!("the source before ':' is empty: give a volume name or an absolute host path")
        }
        Some(s) if s.starts_with('/') => Source::Host(PathBuf::from(clean(s))),
        Some(s) if valid_name(s) => Source::Named(s.to_string()),
        Some(s) => bail!(
            "{s:?} is neither a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+) nor an absolute host path"
        ),
    };
    let (mut read_only, mut no_copy, mut rw) = (false, false, false);
    for m in modes.map(|m| m.split(',').collect::<Vec<_>>()).unwrap_or_default() {
        match m {
            "ro" => read_only = true,
            "rw" => rw = true,
            "nocopy" => no_copy = true,
            "" => bail!("an empty mode after ':'"),
            other => bail!("unknown mode {other:?}: ro, rw or nocopy"),
        }
    }
    ensure!(!(read_only && rw), "ro and rw at once");
    ensure!(
        !(no_copy && matches!(source, Source::Host(_))),
        "nocopy is for volumes: a host directory is never filled from the image"
    );
    Ok(Spec { source, destination, read_only, no_copy })
}

/// Read every `-v` of a `run`: each must be valid and no two may share a destination.
/// Nothing is created here.
pub fn parse_all(texts: &[String]) -> crate::Result<Vec<Mount>> {
    let mut out: Vec<Mount> = Vec::new();
    for t in texts {
        let spec = parse(t)?;
        ensure!(
            !out.iter().any(|m| m.spec.destination == spec.destination),
            "duplicate mount point {}: two -v name the same path in the container",
            spec.destination
        );
        out.push(Mount { spec, volume: String::new() });
    }
    Ok(out)
}

/// `volume_paths` for commit: the destinations of `mounts`, relative (`test`, `var/lib/db`).
pub fn destinations(mounts: &[Mount]) -> Vec<String> {
    mounts.iter().map(|m| m.spec.destination.trim_start_matches('/').to_string()).collect()
}

/// `/app/./x/../y/` → `/app/y`.
pub fn clean(path: &str) -> String {
    clean_abs(Path::new(path))
}
