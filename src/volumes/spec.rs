//! What a `-v` asks for: its parsed form ([`Spec`]), and the mount a container keeps in its
//! `config.json` ([`Mount`]).

use super::{data_dir, Rules, RULES};
use crate::files::clean_abs;
use anyhow::{ensure, Context};
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

/// Read one `-v` with `rules`; the error names the specification.
pub fn parse_with(rules: &Rules, text: &str) -> crate::Result<Spec> {
    (rules.parse)(text).with_context(|| format!("invalid volume specification {text:?}"))
}

/// Read every `-v` of a `run` with the library's rules, [`RULES`]: each must be valid and no
/// two may share a destination. Nothing is created here.
pub fn parse_all(texts: &[String]) -> crate::Result<Vec<Mount>> {
    parse_all_with(&RULES, texts)
}

/// [`parse_all`] with exercise 08's `rules` — the reference answer's or a student's.
pub fn parse_all_with(rules: &Rules, texts: &[String]) -> crate::Result<Vec<Mount>> {
    let mut out: Vec<Mount> = Vec::new();
    for t in texts {
        let spec = parse_with(rules, t)?;
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

/// `clean_abs` for the exercise: `/app/./x/../y/` → `/app/y`.
pub fn clean(path: &str) -> String {
    clean_abs(Path::new(path))
}
