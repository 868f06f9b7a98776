//! `inspect` and `volume inspect`: containers and volumes as JSON shaped like Docker's, and
//! printed whole or through `--format`'s template.

use super::run as lifecycle;
use super::state::{Container, Status};
use super::template;
use crate::volumes::Volume;
use serde_json::{json, Map, Value};
use std::path::Path;

/// What `inspect` prints: the documents as a JSON array, or each through `format`'s template,
/// one line each.
pub fn render(docs: &[Value], format: Option<&str>) -> crate::Result<String> {
    match format {
        Some(t) => {
            let lines: Vec<String> =
                docs.iter().map(|d| template::render(t, d)).collect::<crate::Result<_>>()?;
            Ok(lines.join("\n"))
        }
        None => Ok(serde_json::to_string_pretty(docs)?),
    }
}

/// A container as `docker inspect` shapes it.
pub fn container_json(c: &Container) -> Value {
    let (s, cfg) = (&c.state, &c.config);
    let paused = lifecycle::paused(c);
    let status = match s.status {
        Status::Created => "created",
        Status::Running if paused => "paused",
        Status::Running => "running",
        Status::Exited => "exited",
    };
    let argv = cfg.argv();
    // `-p`, grouped by container port: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "4000"}]}.
    let mut ports = Map::new();
    for p in cfg.ports() {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        let binding =
            json!({ "HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string() });
        match ports.entry(key).or_insert_with(|| json!([])) {
            Value::Array(a) => a.push(binding),
            other => *other = json!([binding]),
        }
    }
    let net = s.network.clone().unwrap_or(json!({}));
    let entrypoint = if cfg.entrypoint.is_empty() { Value::Null } else { json!(cfg.entrypoint) };
    let exposed: Map<String, Value> =
        cfg.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect();
    json!({
        "Id": cfg.id,
        "Created": cfg.created,
        "Path": argv.first().cloned().unwrap_or_default(),
        "Args": argv.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": s.status == Status::Running,
            "Paused": paused,
            "Restarting": false,
            "OOMKilled": s.oom_killed,
            "Dead": false,
            "Pid": if s.status == Status::Running { s.pid } else { 0 },
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": s.started_at,
            "FinishedAt": s.finished_at,
        },
        "Image": cfg.image_id,
        "Name": format!("/{}", cfg.name),
        "Config": {
            "Hostname": cfg.hostname,
            "User": cfg.user,
            "Env": cfg.env,
            "Cmd": cfg.cmd,
            "Entrypoint": entrypoint,
            "Image": cfg.image_name,
            "WorkingDir": cfg.working_dir,
            "ExposedPorts": exposed,
            "Labels": cfg.labels,
            "Tty": cfg.tty,
            "OpenStdin": cfg.open_stdin,
        },
        "HostConfig": {
            "NetworkMode": cfg.network,
            "PortBindings": ports.clone(),
            "AutoRemove": cfg.auto_remove,
            "Memory": cfg.memory.unwrap_or(0),
            "NanoCpus": cfg.cpus.map_or(0, |c| (c * 1e9) as u64),
            "PidsLimit": cfg.pids_limit,
            "SecurityOpt": if cfg.security_opt.is_empty() { json!(null) } else { json!(cfg.security_opt) },
            "Init": cfg.init,
        },
        "NetworkSettings": {
            "IPAddress": net.get("ip").cloned().unwrap_or(json!("")),
            "Gateway": net.get("gateway").cloned().unwrap_or(json!("")),
            "Ports": if s.status == Status::Running { json!(ports) } else { json!({}) },
        },
        "Mounts": mounts_json(c),
    })
}

/// `Mounts`, as `docker inspect` shows them.
fn mounts_json(c: &Container) -> Value {
    // containers/<id> → the store's root.
    let root = c.dir.parent().and_then(Path::parent).unwrap_or(Path::new("/"));
    let mounts: Vec<Value> = c
        .config
        .volumes
        .iter()
        .map(|m| {
            let mut mode: Vec<&str> = Vec::new();
            if m.spec.read_only {
                mode.push("ro");
            }
            if m.spec.no_copy {
                mode.push("nocopy");
            }
            let mut doc = json!({
                "Type": m.kind(),
                "Source": m.host_path(root),
                "Destination": m.spec.destination,
                "Mode": mode.join(","),
                "RW": !m.spec.read_only,
                "Propagation": if m.spec.is_volume() { "" } else { "rprivate" },
            });
            if m.spec.is_volume() {
                doc["Name"] = json!(m.volume);
                doc["Driver"] = json!("local");
            }
            doc
        })
        .collect();
    json!(mounts)
}

/// A volume as `docker volume inspect` shapes it.
pub fn volume_json(v: &Volume) -> Value {
    let labels =
        if v.anonymous { json!({ "com.docker.volume.anonymous": "" }) } else { Value::Null };
    json!({
        "CreatedAt": v.created_at,
        "Driver": "local",
        "Labels": labels,
        "Mountpoint": v.data(),
        "Name": v.name,
        "Options": null,
        "Scope": "local",
    })
}
