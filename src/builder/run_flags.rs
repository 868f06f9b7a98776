//! RUN's flags, as BuildKit reads them: `--network` and `--mount` (Dockerfile syntax 1.2+;
//! the classic builder had none, and silently running without them would build something
//! else than the Dockerfile says).
//!
//! - `--network=default|host` (the build's RUN shares the host's network, as Docker's
//!   does) or `--network=none` (a network namespace with only `lo`);
//! - `--mount=type=cache,target=DIR[,id=ID][,ro][,uid=N][,gid=N][,mode=OCTAL][,sharing=…]`: a
//!   directory kept by the store across builds (same id, same directory), never in a layer:
//!   package managers' caches;
//! - `--mount=type=tmpfs,target=DIR[,size=N]`: an empty tmpfs for the step;
//! - `--mount[=type=bind],target=DIR[,source=PATH][,from=STAGE|IMAGE][,rw]`: files of the
//!   context (or of a stage or image) seen without copying them into the image; read-only
//!   unless `rw`, and then what the step writes there is thrown away, as in BuildKit.
//!
//! `type=secret` and `type=ssh` need `build --secret`/`--ssh`, which minidocker has not: they
//! are refused in one line rather than run without.

use anyhow::{bail, ensure, Context};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFlags {
    /// `--network=none`: no network but `lo`.
    pub no_network: bool,
    pub mounts: Vec<RunMount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    Cache {
        target: String,
        id: String,
        read_only: bool,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    /// `size`: the tmpfs's limit, in the kernel's terms (bytes, or with k, m or g).
    Tmpfs {
        target: String,
        size: Option<String>,
    },
    Bind {
        target: String,
        source: String,
        from: Option<String>,
        read_write: bool,
    },
}

impl RunMount {
    pub fn target(&self) -> &str {
        match self {
            RunMount::Cache { target, .. }
            | RunMount::Tmpfs { target, .. }
            | RunMount::Bind { target, .. } => target,
        }
    }
}

/// Parses RUN's flags (already unquoted, `--name=value`). `expand` expands the build's
/// variables in a mount's values (all but `from`, as BuildKit); a relative target is taken
/// from `workdir`.
pub fn parse(
    flags: &[String],
    expand: &dyn Fn(&str) -> crate::Result<String>,
    workdir: &str,
) -> crate::Result<RunFlags> {
    let mut out = RunFlags { no_network: false, mounts: Vec::new() };
    for flag in flags {
        let (name, value) = flag
            .trim_start_matches('-')
            .split_once('=')
            .unwrap_or((flag.trim_start_matches('-'), ""));
        match name {
            "network" => match value {
                "default" | "host" => out.no_network = false,
                "none" => out.no_network = true,
                _ => bail!("RUN --network={value}: use default, none or host"),
            },
            "mount" => out.mounts.push(mount(value, expand, workdir).with_context(|| format!("RUN --mount={value}"))?),
            "security" => bail!("RUN --security={value}: minidocker's build runs every step with the same default privileges; remove the flag"),
            _ => bail!("RUN failed: unknown flag {flag} (RUN takes --mount and --network)"),
        }
    }
    // Parents before children, whatever the order written: a mount on /a would hide /a/b.
    out.mounts.sort_by_key(|m| Path::new(m.target()).components().count());
    Ok(out)
}

/// Go's `strconv.ParseBool`, which BuildKit reads these flags with.
fn parse_bool(key: &str, value: &str) -> crate::Result<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => bail!("{key}={value}: true or false"),
    }
}

/// One `--mount=` value: comma-separated `key=value` fields, keys in any case; `ro`, `rw`
/// and their long forms may stand alone (`true`), and the last of them wins.
fn mount(
    spec: &str,
    expand: &dyn Fn(&str) -> crate::Result<String>,
    workdir: &str,
) -> crate::Result<RunMount> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut read_only: Option<bool> = None;
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        match key.as_str() {
            "ro" | "readonly" => read_only = Some(value.map_or(Ok(true), |v| parse_bool(&key, v))?),
            "rw" | "readwrite" => {
                read_only = Some(!value.map_or(Ok(true), |v| parse_bool(&key, v))?)
            }
            _ => {
                let value = value.with_context(|| format!("{key} needs a value: {key}=…"))?;
                let value = if key == "from" { value.to_string() } else { expand(value)? };
                fields.push((key, value));
            }
        }
    }
    let get = |names: &[&str]| {
        fields.iter().rev().find(|(k, _)| names.contains(&k.as_str())).map(|(_, v)| v.clone())
    };
    let kind = get(&["type"]).unwrap_or_else(|| "bind".into());
    if kind == "secret" || kind == "ssh" {
        bail!("type={kind} needs build --{kind}, which minidocker does not have; copy what the step needs in a stage instead");
    }
    // What each type takes; BuildKit refuses the others, and so do we, rather than ignore them.
    let allowed: &[&str] = match kind.as_str() {
        "cache" => &["type", "target", "dst", "destination", "id", "sharing", "uid", "gid", "mode"],
        "tmpfs" => &["type", "target", "dst", "destination", "size"],
        "bind" => &["type", "target", "dst", "destination", "source", "src", "from"],
        other => bail!("type={other}: use cache, tmpfs or bind"),
    };
    if let Some((key, _)) = fields.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        let hint = match (kind.as_str(), key.as_str()) {
            ("cache", "from" | "source" | "src") => {
                ": seeding a cache from a stage is not supported here"
            }
            _ => "",
        };
        bail!("{key} is not an option of type={kind}{hint}");
    }
    let target = get(&["target", "dst", "destination"])
        .context("a mount needs target=DIR, where it appears in the container")?;
    let target = crate::files::clean_abs(&Path::new(workdir).join(&target));
    ensure!(
        target != "/",
        "target=/ would hide the whole container: mount on a directory below it"
    );
    let number = |name: &str, radix: u32, default: u32| -> crate::Result<u32> {
        get(&[name]).map_or(Ok(default), |v| {
            u32::from_str_radix(&v, radix)
                .map_err(|_| anyhow::anyhow!("{name}={v} is not a number"))
        })
    };
    Ok(match kind.as_str() {
        "cache" => {
            if let Some(sharing) = get(&["sharing"]) {
                // Steps of one build run one after another here: all three mean the same.
                ensure!(
                    ["shared", "private", "locked"].contains(&sharing.as_str()),
                    "sharing={sharing}: shared, private or locked"
                );
            }
            let id = get(&["id"]).unwrap_or_else(|| target.clone());
            RunMount::Cache {
                target,
                id,
                read_only: read_only.unwrap_or(false),
                uid: number("uid", 10, 0)?,
                gid: number("gid", 10, 0)?,
                mode: number("mode", 8, 0o755)?,
            }
        }
        "tmpfs" => {
            let size = get(&["size"]);
            if let Some(size) = &size {
                let digits = size.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
                ensure!(
                    !digits.is_empty()
                        && digits.len() + 1 >= size.len()
                        && digits.bytes().all(|b| b.is_ascii_digit()),
                    "size={size}: bytes, or a number with k, m or g"
                );
            }
            RunMount::Tmpfs { target, size }
        }
        _ => {
            let source = get(&["source", "src"]).unwrap_or_else(|| "/".into());
            RunMount::Bind {
                target,
                source,
                from: get(&["from"]),
                read_write: read_only == Some(false),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> crate::Result<RunFlags> {
        let expand = |v: &str| Ok(v.replace("${D}", "/cache"));
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &expand, "/work")
    }

    #[test]
    fn mounts_and_network_read_like_buildkit() {
        let f = flags(&[
            "--network=none",
            "--mount=Type=cache,target=${D}/pip,uid=1000,mode=0700",
            "--mount=target=src,from=build,rw=1,ro",
            "--mount=type=tmpfs,dst=/cache,size=64m",
        ])
        .unwrap();
        assert!(f.no_network);
        assert_eq!(
            f.mounts,
            [
                RunMount::Tmpfs { target: "/cache".into(), size: Some("64m".into()) },
                RunMount::Cache {
                    target: "/cache/pip".into(),
                    id: "/cache/pip".into(),
                    read_only: false,
                    uid: 1000,
                    gid: 0,
                    mode: 0o700
                },
                RunMount::Bind {
                    target: "/work/src".into(),
                    source: "/".into(),
                    from: Some("build".into()),
                    read_write: false
                },
            ],
            "variables expanded, relative to WORKDIR, the last of ro/rw wins, parents first"
        );
    }

    #[test]
    fn bad_flags_say_what_to_do() {
        let e = |list: &[&str]| format!("{:#}", flags(list).unwrap_err());
        assert_eq!(e(&["--mount=type=secret,id=x"]), "RUN --mount=type=secret,id=x: type=secret needs build --secret, which minidocker does not have; copy what the step needs in a stage instead");
        assert_eq!(
            e(&["--mount=type=cache"]),
            "RUN --mount=type=cache: a mount needs target=DIR, where it appears in the container"
        );
        assert_eq!(e(&["--mount=target=/"]), "RUN --mount=target=/: target=/ would hide the whole container: mount on a directory below it");
        assert_eq!(
            e(&["--mount=target=/x,colour=red"]),
            "RUN --mount=target=/x,colour=red: colour is not an option of type=bind"
        );
        assert_eq!(e(&["--mount=type=cache,target=/x,from=s"]), "RUN --mount=type=cache,target=/x,from=s: from is not an option of type=cache: seeding a cache from a stage is not supported here");
        assert_eq!(e(&["--mount=type=tmpfs,target=/x,size=lots"]), "RUN --mount=type=tmpfs,target=/x,size=lots: size=lots: bytes, or a number with k, m or g");
        assert_eq!(
            e(&["--mount=target=/x,from"]),
            "RUN --mount=target=/x,from: from needs a value: from=…"
        );
        assert_eq!(
            e(&["--mount=target=/x,ro=maybe"]),
            "RUN --mount=target=/x,ro=maybe: ro=maybe: true or false"
        );
        assert_eq!(e(&["--network=bridge"]), "RUN --network=bridge: use default, none or host");
        assert_eq!(
            e(&["--privileged"]),
            "RUN failed: unknown flag --privileged (RUN takes --mount and --network)"
        );
    }
}
