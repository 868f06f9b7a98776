//! A container's configuration from an image plus what the command line changes — the one
//! place `docker run`'s rules for combining the two live: `minidocker run`, the lessons and
//! their checks all make their containers' configurations here.

use super::state::ContainerConfig;
use crate::image::store::Image;
use crate::network::{self, PortMapping};
use crate::units;
use crate::volumes::{self, Mount, Source, Spec};
use anyhow::ensure;

/// What `run`'s flags change about an image's defaults. `Overrides::default()` changes
/// nothing: the image's command, on the bridge network.
#[derive(Debug, Clone, PartialEq)]
pub struct Overrides {
    /// `--name`; empty: a random one, given when the container is created.
    pub name: String,
    /// `--hostname`; default: the short ID.
    pub hostname: Option<String>,
    /// `--entrypoint`: replaces the image's ENTRYPOINT and drops its CMD; `""` clears it.
    pub entrypoint: Option<String>,
    /// The command after the image's name; empty: the image's CMD.
    pub cmd: Vec<String>,
    /// `-e KEY=VALUE`, each replacing the image's KEY.
    pub env: Vec<String>,
    /// `-w`, `-u`: instead of the image's WORKDIR and USER.
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `bridge`, `host`, `none` or `container:NAME` ([`parse_network`]).
    pub network: String,
    /// `-p`, as given ([`network::parse_publish`] reads each).
    pub publish: Vec<String>,
    /// `-v`, read by [`volumes::parse_all`].
    pub volumes: Vec<Mount>,
    pub cpus: Option<f64>,
    /// `-m`, in bytes.
    pub memory: Option<u64>,
    pub pids_limit: Option<u64>,
    /// `--rm`, `-d`, `-t`, `-i`.
    pub auto_remove: bool,
    pub detach: bool,
    pub tty: bool,
    pub open_stdin: bool,
    /// `--security-opt`, with a seccomp profile's file already read (see `ContainerConfig`).
    pub security_opt: Vec<String>,
    /// `--init`.
    pub init: bool,
}

impl Default for Overrides {
    fn default() -> Overrides {
        Overrides {
            name: String::new(),
            hostname: None,
            entrypoint: None,
            cmd: Vec::new(),
            env: Vec::new(),
            workdir: None,
            user: None,
            network: "bridge".into(),
            publish: Vec::new(),
            volumes: Vec::new(),
            cpus: None,
            memory: None,
            pids_limit: None,
            auto_remove: false,
            detach: false,
            tty: false,
            open_stdin: false,
            security_opt: Vec::new(),
            init: false,
        }
    }
}

// ANCHOR: from_image
/// The configuration of a new container of `image` (called `image_name` by the user), as
/// `docker run` makes it: a new ID, whose first 12 hex digits are the hostname; the image's
/// ENTRYPOINT, CMD, environment, working directory and user unless `o` says otherwise; an
/// anonymous volume for each of the image's VOLUMEs that no `-v` covers. Nothing is created.
pub fn from_image(image_name: &str, image: &Image, o: Overrides) -> crate::Result<ContainerConfig> {
    let ic = &image.config.config;
    ensure!(
        o.publish.is_empty() || o.network == "bridge",
        "-p needs the bridge network (it was --network {})",
        o.network
    );
    let id = crate::files::new_id()?;
    let hostname = o.hostname.clone().unwrap_or_else(|| id[..12].to_string());
    // --entrypoint replaces the image's ENTRYPOINT and drops its CMD, as in Docker.
    let entrypoint = match &o.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => ic.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = match (o.cmd.is_empty(), &o.entrypoint) {
        (false, _) => o.cmd,
        (true, Some(_)) => Vec::new(),
        (true, None) => ic.cmd.clone().unwrap_or_default(),
    };
    let mut env = ic.env.clone().unwrap_or_default();
    for kv in o.env {
        let key = kv.split('=').next().unwrap_or_default().to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(kv);
    }
    // A terminal of a known kind, as Docker sets it.
    if o.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let mut mounts = o.volumes;
    // The image's VOLUMEs that no -v covers get an anonymous volume each, as in Docker.
    for path in ic.volumes.iter().flatten().map(|(p, _)| volumes::clean(p)) {
        if path != "/" && !mounts.iter().any(|m| m.spec.destination == path) {
            let spec = Spec {
                source: Source::Anonymous,
                destination: path,
                read_only: false,
                no_copy: false,
            };
            mounts.push(Mount { spec, volume: String::new() });
        }
    }
    let config = ContainerConfig {
        name: o.name,
        created: units::rfc3339_now(),
        image_name: image_name.to_string(),
        image_id: image.id.to_string(),
        diff_ids: image.diff_ids().to_vec(),
        env: super::spawn::environment(&env, &hostname),
        hostname,
        id,
        entrypoint,
        cmd,
        working_dir: o.workdir.or_else(|| ic.working_dir.clone()).unwrap_or_default(),
        user: o.user.or_else(|| ic.user.clone()).unwrap_or_default(),
        exposed_ports: ic
            .exposed_ports
            .clone()
            .map(|m| m.into_keys().collect())
            .unwrap_or_default(),
        labels: ic.labels.clone().unwrap_or_default(),
        stop_signal: ic.stop_signal.clone(),
        network: o.network,
        publish: o.publish,
        volumes: mounts,
        cpus: o.cpus,
        memory: o.memory,
        pids_limit: o.pids_limit,
        auto_remove: o.auto_remove,
        detach: o.detach,
        tty: o.tty,
        open_stdin: o.open_stdin,
        security_opt: o.security_opt,
        init: o.init,
    };
    ensure!(
        !config.argv().is_empty(),
        "no command specified: image {image_name} has no CMD or ENTRYPOINT; give one after the image name"
    );
    Ok(config)
}
// ANCHOR_END: from_image

impl ContainerConfig {
    /// Its `-p`, read: `0.0.0.0:4000->80/tcp` as `ps` shows it.
    pub fn ports(&self) -> Vec<PortMapping> {
        self.publish.iter().filter_map(|p| network::parse_publish(p).ok()).collect()
    }
}

/// `--network`: `bridge`, `host`, `none` or `container:NAME`.
pub fn parse_network(s: &str) -> crate::Result<String> {
    ensure!(
        ["bridge", "host", "none"].contains(&s)
            || s.strip_prefix("container:").is_some_and(|n| !n.is_empty()),
        "invalid --network {s:?}: bridge, host, none or container:NAME"
    );
    Ok(s.to_string())
}

/// `--name`: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn parse_name(name: &str) -> crate::Result<String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    ensure!(ok, "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    Ok(name.to_string())
}

/// `--security-opt`: `seccomp=unconfined`, `seccomp=FILE` (read and checked now, kept as its
/// JSON text, as Docker's client does) or `no-new-privileges` (always in force here).
pub fn parse_security_opt(s: &str) -> crate::Result<String> {
    let (key, value) = s.split_once(['=', ':']).unwrap_or((s, ""));
    match (key, value) {
        ("seccomp", "unconfined") => Ok("seccomp=unconfined".into()),
        ("seccomp", "") => anyhow::bail!("--security-opt seccomp needs a value: seccomp=unconfined or seccomp=FILE"),
        ("seccomp", file) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                anyhow::anyhow!("--security-opt seccomp={file}: cannot read the profile: {e}")
            })?;
            let caps: Vec<&str> = super::security::DEFAULT_CAPS.iter().map(|c| c.1).collect();
            crate::seccomp::from_docker_json(&text, &caps)
                .and_then(|p| p.compile())
                .map_err(|e| anyhow::anyhow!("--security-opt seccomp={file}: {e:#}"))?;
            let compact: serde_json::Value = serde_json::from_str(&text)?;
            Ok(format!("seccomp={compact}"))
        }
        ("no-new-privileges", "" | "true") => Ok(s.to_string()),
        _ => anyhow::bail!(
            "unsupported --security-opt {s:?}: minidocker knows seccomp=unconfined, seccomp=FILE and no-new-privileges"
        ),
    }
}

/// The seccomp profile a container's processes run under, from its `--security-opt`s
/// (`None`: unconfined).
pub fn seccomp_profile(opts: &[String]) -> crate::Result<Option<crate::seccomp::Profile>> {
    let caps: Vec<&str> = super::security::DEFAULT_CAPS.iter().map(|c| c.1).collect();
    crate::seccomp::from_security_opts(opts, &caps)
}
