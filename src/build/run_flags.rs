//! RUN's flags, as BuildKit reads them: `--network` and `--mount` (Dockerfile syntax 1.2+;
//! the classic builder had none, and silently running without them would build something
//! else than the Dockerfile says).
//!
//! - `--network=default|host` (the build's RUN shares the host's network, as Docker's
//!   does) or `--network=none` (a network namespace with only `lo`);
//! - `--mount=type=cache,target=DIR[,id=ID][,ro][,uid=N][,gid=N][,mode=OCTAL][,sharing=…]`: a
//!   directory kept by the store across builds (same id, same directory), never in a layer:
//!   package managers' caches;
//! - `--mount=type=tmpfs,target=DIR`: an empty tmpfs for the step;
//! - `--mount[=type=bind],target=DIR[,source=PATH][,from=STAGE|IMAGE][,rw]`: files of the
//!   context (or of a stage or image) seen without copying them into the image; read-only
//!   unless `rw`, and then what the step writes there is thrown away, as in BuildKit.
//!
//! `type=secret` and `type=ssh` need `build --secret`/`--ssh`, which minidocker has not: they
//! are refused in one line rather than run without.

use anyhow::{bail, ensure, Context};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFlags {
    /// `--network=none`: no network but `lo`.
    pub no_network: bool,
    pub mounts: Vec<RunMount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    Cache { target: String, id: String, read_only: bool, uid: u32, gid: u32, mode: u32 },
    Tmpfs { target: String },
    Bind { target: String, source: String, from: Option<String>, read_write: bool },
}

impl RunMount {
    pub fn target(&self) -> &str {
        match self {
            RunMount::Cache { target, .. } | RunMount::Tmpfs { target } | RunMount::Bind { target, .. } => target,
        }
    }
}

/// Parses RUN's flags (already unquoted, `--name=value`).
pub fn parse(flags: &[String]) -> crate::Result<RunFlags> {
    let mut out = RunFlags { no_network: false, mounts: Vec::new() };
    for flag in flags {
        let (name, value) = flag.trim_start_matches('-').split_once('=').unwrap_or((flag.trim_start_matches('-'), ""));
        match name {
            "network" => match value {
                "default" | "host" => out.no_network = false,
                "none" => out.no_network = true,
                _ => bail!("RUN --network={value}: use default, none or host"),
            },
            "mount" => out.mounts.push(mount(value).with_context(|| format!("RUN --mount={value}"))?),
            "security" => bail!("RUN --security={value}: minidocker's build runs every step with the same default privileges; remove the flag"),
            _ => bail!("RUN failed: unknown flag {flag} (RUN takes --mount and --network)"),
        }
    }
    Ok(out)
}

/// One `--mount=` value: comma-separated `key=value` fields (a bare key is `true`).
fn mount(spec: &str) -> crate::Result<RunMount> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = field.split_once('=').unwrap_or((field, "true"));
        fields.push((key.trim(), value.trim()));
    }
    let get = |names: &[&str]| fields.iter().rev().find(|(k, _)| names.contains(k)).map(|(_, v)| *v);
    let boolean = |names: &[&str]| -> crate::Result<bool> {
        match get(names) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => bail!("{}={v}: true or false", names[0]),
        }
    };
    let number = |name: &str, radix: u32, default: u32| -> crate::Result<u32> {
        get(&[name]).map_or(Ok(default), |v| u32::from_str_radix(v, radix).map_err(|_| anyhow::anyhow!("{name}={v} is not a number")))
    };
    const KNOWN: &[&str] = &["type", "target", "dst", "destination", "source", "src", "from", "id", "ro", "readonly", "rw", "readwrite", "uid", "gid", "mode", "sharing", "size", "required", "env"];
    if let Some((key, _)) = fields.iter().find(|(k, _)| !KNOWN.contains(k)) {
        bail!("unknown option {key}");
    }
    let kind = get(&["type"]).unwrap_or("bind");
    if kind == "secret" || kind == "ssh" {
        bail!("type={kind} needs build --{kind}, which minidocker does not have; copy what the step needs in a stage instead");
    }
    let target = get(&["target", "dst", "destination"]).context("a mount needs target=DIR, where it appears in the container")?;
    ensure!(target.starts_with('/'), "target={target}: an absolute path");
    let target = target.to_string();
    let read_only = boolean(&["ro", "readonly"])?;
    Ok(match kind {
        "cache" => {
            let id = get(&["id"]).unwrap_or(&target).to_string();
            RunMount::Cache { target, id, read_only, uid: number("uid", 10, 0)?, gid: number("gid", 10, 0)?, mode: number("mode", 8, 0o755)? }
        }
        "tmpfs" => RunMount::Tmpfs { target },
        "bind" => {
            let source = get(&["source", "src"]).unwrap_or("/").to_string();
            RunMount::Bind { target, source, from: get(&["from"]).map(str::to_string), read_write: boolean(&["rw", "readwrite"])? && !read_only }
        }
        other => bail!("type={other}: use cache, tmpfs or bind"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> crate::Result<RunFlags> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn mounts_and_network_read_like_buildkit() {
        let f = flags(&["--network=none", "--mount=type=cache,target=/root/.cache,uid=1000,mode=0700", "--mount=target=/src,from=build,rw", "--mount=type=tmpfs,dst=/tmp"]).unwrap();
        assert!(f.no_network);
        assert_eq!(
            f.mounts,
            [
                RunMount::Cache { target: "/root/.cache".into(), id: "/root/.cache".into(), read_only: false, uid: 1000, gid: 0, mode: 0o700 },
                RunMount::Bind { target: "/src".into(), source: "/".into(), from: Some("build".into()), read_write: true },
                RunMount::Tmpfs { target: "/tmp".into() },
            ]
        );
    }

    #[test]
    fn bad_flags_say_what_to_do() {
        let e = |list: &[&str]| format!("{:#}", flags(list).unwrap_err());
        assert_eq!(e(&["--mount=type=secret,id=x"]), "RUN --mount=type=secret,id=x: type=secret needs build --secret, which minidocker does not have; copy what the step needs in a stage instead");
        assert_eq!(e(&["--mount=type=cache"]), "RUN --mount=type=cache: a mount needs target=DIR, where it appears in the container");
        assert_eq!(e(&["--mount=target=rel"]), "RUN --mount=target=rel: target=rel: an absolute path");
        assert_eq!(e(&["--mount=target=/x,colour=red"]), "RUN --mount=target=/x,colour=red: unknown option colour");
        assert_eq!(e(&["--network=bridge"]), "RUN --network=bridge: use default, none or host");
        assert_eq!(e(&["--privileged"]), "RUN failed: unknown flag --privileged (RUN takes --mount and --network)");
    }
}
