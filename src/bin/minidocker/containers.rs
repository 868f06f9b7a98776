//! `run`, `ps`, `logs`, `stop`, `kill`, `rm`, `inspect`: containers from the command line.

use crate::images::print_table;
use lexopt::prelude::*;
use minidocker::container::{run as lifecycle, state, Container, ContainerConfig, Status};
use minidocker::image::Store;
use minidocker::units;
use std::ffi::OsString;
use std::time::Duration;

fn usage(text: &str) -> minidocker::Result<i32> {
    println!("{}", text.trim_end());
    Ok(0)
}

const RUN_USAGE: &str = "Usage: minidocker run [OPTIONS] IMAGE [COMMAND] [ARG...]

Run a command in a new container.
  -d, --detach              run in the background and print the container ID
  -i, --interactive         keep standard input open (otherwise the container's is /dev/null)
  -t, --tty                 allocate a pseudo-terminal
      --rm                  remove the container when it exits
      --name NAME           name the container
  -e, --env KEY=VALUE       set an environment variable (KEY alone: take it from here)
  -w, --workdir DIR         working directory inside
  -u, --user USER[:GROUP]   run as this user
      --hostname NAME       the container's hostname (default: its short ID)
      --entrypoint CMD      override the image's ENTRYPOINT
  -p, --publish [IP:]HOST:CONTAINER[/tcp|udp]   publish a port
  -v, --volume [SOURCE:]/PATH[:ro|rw|nocopy]     mount a volume: /PATH alone (anonymous), NAME:/PATH
                            (named, made on first use) or /HOST/DIR:/PATH (bind a host directory)
      --network MODE        bridge (default), host, none, container:NAME (share its network)
      --cpus N              CPU quota, in CPUs
  -m, --memory SIZE         memory limit (no swap beyond it)
      --pids-limit N        at most N processes";

/// `minidocker run`.
pub fn run(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut c = ContainerConfig { network: "bridge".into(), ..Default::default() };
    let (mut image_name, mut cmd, mut env_flags, mut volume_flags) =
        (None, Vec::new(), Vec::new(), Vec::new());
    let (mut entrypoint, mut workdir, mut user, mut hostname) = (None, None, None, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('d') | Long("detach") => c.detach = true,
            Short('i') | Long("interactive") => c.open_stdin = true,
            Short('t') | Long("tty") => c.tty = true,
            Long("rm") => c.auto_remove = true,
            Long("name") => c.name = valid_name(p.value()?.string()?)?,
            Short('e') | Long("env") => env_flags.push(p.value()?.string()?),
            Short('w') | Long("workdir") => workdir = Some(p.value()?.string()?),
            Short('u') | Long("user") => user = Some(p.value()?.string()?),
            Long("hostname") => hostname = Some(p.value()?.string()?),
            Long("entrypoint") => entrypoint = Some(p.value()?.string()?),
            Short('p') | Long("publish") => c.publish.push(p.value()?.string()?),
            Short('v') | Long("volume") => volume_flags.push(p.value()?.string()?),
            Long("network") | Long("net") => c.network = p.value()?.string()?,
            Long("cpus") => c.cpus = Some(units::parse_cpus(&p.value()?.string()?)?),
            Short('m') | Long("memory") => {
                c.memory = Some(units::parse_size(&p.value()?.string()?)?)
            }
            Long("pids-limit") => {
                c.pids_limit = Some(units::parse_count("--pids-limit", &p.value()?.string()?)?)
            }
            Short('h') | Long("help") => return usage(RUN_USAGE),
            Value(v) => {
                image_name = Some(v.string()?);
                cmd = p
                    .raw_args()?
                    .map(|a| {
                        a.into_string().map_err(|a| anyhow::anyhow!("argument {a:?} is not UTF-8"))
                    })
                    .collect::<minidocker::Result<_>>()?;
                break;
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let image_name = image_name.ok_or_else(|| {
        anyhow::anyhow!("run needs an image: minidocker run [OPTIONS] IMAGE [COMMAND]")
    })?;
    // -it reads a terminal and puts it in raw mode: a pipe or a file will not do (Docker's check).
    anyhow::ensure!(
        !(c.tty && c.open_stdin && !c.detach)
            || std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "the input device is not a TTY; drop -t or run from a terminal"
    );
    anyhow::ensure!(
        ["bridge", "host", "none"].contains(&c.network.as_str())
            || c.network.strip_prefix("container:").is_some_and(|n| !n.is_empty()),
        "invalid --network {:?}: bridge, host, none or container:NAME",
        c.network
    );
    // Bad ports are refused before anything is made.
    for p in &c.publish {
        anyhow::ensure!(
            c.network == "bridge",
            "-p needs the bridge network (it was --network {})",
            c.network
        );
        minidocker::network::check_free(&minidocker::network::parse_publish(p)?)?;
    }
    // So are bad volumes: nothing is created for them.
    c.volumes = minidocker::volumes::parse_all(&volume_flags)?;
    let store = Store::open_default()?;
    let image = store.resolve(&image_name)?;
    // So is a bad bridge configuration (MINIDOCKER_BRIDGE, _SUBNET, _MTU), or one that does
    // not fit the bridge already there.
    if c.network == "bridge" {
        let cfg = minidocker::network::Config::from_env()?;
        minidocker::network::bridge::existing(
            &mut minidocker::network::netlink::Netlink::open()?,
            &cfg,
        )?;
    }
    let ic = &image.config.config;
    c.id = minidocker::files::new_id()?;
    c.created = units::rfc3339_now();
    c.image_name = image_name;
    c.image_id = image.id.to_string();
    c.diff_ids = image.diff_ids().to_vec();
    c.hostname = hostname.unwrap_or_else(|| c.id[..12].to_string());
    // --entrypoint replaces the image's ENTRYPOINT and drops its CMD, as in Docker.
    c.entrypoint = match &entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => ic.entrypoint.clone().unwrap_or_default(),
    };
    c.cmd = if !cmd.is_empty() {
        cmd
    } else if entrypoint.is_some() {
        Vec::new()
    } else {
        ic.cmd.clone().unwrap_or_default()
    };
    let mut env = ic.env.clone().unwrap_or_default();
    for e in env_flags {
        let kv = if e.contains('=') {
            e
        } else {
            match std::env::var(&e) {
                Ok(v) => format!("{e}={v}"),
                Err(_) => continue,
            }
        };
        let key = kv.split('=').next().unwrap_or_default().to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(kv);
    }
    // A terminal of a known kind, as Docker sets it.
    if c.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    c.env = minidocker::container::spawn::environment(&env, &c.hostname);
    c.working_dir = workdir.or_else(|| ic.working_dir.clone()).unwrap_or_default();
    c.user = user.or_else(|| ic.user.clone()).unwrap_or_default();
    c.exposed_ports = ic.exposed_ports.clone().map(|m| m.into_keys().collect()).unwrap_or_default();
    c.labels = ic.labels.clone().unwrap_or_default();
    c.stop_signal = ic.stop_signal.clone();
    // The image's VOLUMEs that no -v covers get an anonymous volume each, as in Docker.
    for path in ic.volumes.iter().flatten().map(|(p, _)| minidocker::volumes::clean(p)) {
        if path != "/" && !c.volumes.iter().any(|m| m.spec.destination == path) {
            let spec = minidocker::volumes::Spec {
                source: minidocker::volumes::Source::Anonymous,
                destination: path,
                read_only: false,
                no_copy: false,
            };
            c.volumes.push(minidocker::volumes::Mount { spec, volume: String::new() });
        }
    }
    anyhow::ensure!(
        !c.argv().is_empty(),
        "no command specified: image {} has no CMD or ENTRYPOINT; give one after the image name",
        c.image_name
    );

    let container = lifecycle::create(&store, c)?;
    let detach = container.config.detach;
    let code = lifecycle::start(&store, &container).inspect_err(|_| {
        // Nothing half made: a container that could not start is removed again.
        if let Ok(c) = Container::load(&container.dir) {
            if lifecycle::remove(&c, true).is_ok() {
                let _ = minidocker::container::volumes::remove_anonymous(&store, &c.config);
            }
        }
    })?;
    if detach {
        println!("{}", container.config.id);
    }
    Ok(code)
}

fn valid_name(name: String) -> minidocker::Result<String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    anyhow::ensure!(
        ok,
        "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    Ok(name)
}

/// `minidocker ps [-a] [-q]`
pub fn ps(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut all, mut quiet) = (false, false);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('a') | Long("all") => all = true,
            Short('q') | Long("quiet") => quiet = true,
            Short('h') | Long("help") => return usage("Usage: minidocker ps [-a] [-q]\n\nList containers (running ones; -a: all).\n  -a, --all     also stopped containers\n  -q, --quiet   only IDs"),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let store = Store::open_default()?;
    let now = now_secs();
    let mut rows = Vec::new();
    for c in state::list(&store)?.into_iter().filter(|c| all || c.running()) {
        if quiet {
            println!("{}", c.short_id());
            continue;
        }
        let mut command = format!("\"{}\"", c.config.argv().join(" "));
        if command.chars().count() > 22 {
            command = command.chars().take(20).collect::<String>() + "…\"";
        }
        let created = ago(&c.config.created, now);
        let status = match c.state.status {
            Status::Created => "Created".to_string(),
            Status::Running if lifecycle::paused(&c) => {
                format!("Up {} (Paused)", since(&c.state.started_at, now))
            }
            Status::Running => format!("Up {}", since(&c.state.started_at, now)),
            Status::Exited => {
                format!("Exited ({}) {}", c.state.exit_code, ago(&c.state.finished_at, now))
            }
        };
        let ports = if c.running() { ports_column(&c) } else { String::new() };
        rows.push([
            c.short_id().to_string(),
            c.config.image_name.clone(),
            command,
            created,
            status,
            ports,
            c.config.name.clone(),
        ]);
    }
    if !quiet {
        let head = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
            .map(String::from);
        print_table(&head, &rows);
    }
    Ok(0)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn ago(t: &str, now: i64) -> String {
    units::parse_rfc3339(t).map_or_else(String::new, |t| units::ago(now - t))
}

/// `Up 5 seconds`: Docker's duration without "ago".
fn since(t: &str, now: i64) -> String {
    ago(t, now).trim_end_matches(" ago").to_string()
}

/// `0.0.0.0:4000->80/tcp`
fn ports_column(c: &Container) -> String {
    c.config
        .publish
        .iter()
        .filter_map(|p| minidocker::network::parse_publish(p).ok())
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `minidocker logs [-f] CONTAINER`
pub fn logs(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut follow, mut name) = (false, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("follow") => follow = true,
            Short('h') | Long("help") => return usage("Usage: minidocker logs [-f] CONTAINER\n\nWhat a container printed, detached or not, all on standard output (the log\ndoes not keep the container's output and errors apart).\n  -f, --follow   keep printing until the container exits"),
            Value(v) if name.is_none() => name = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let store = Store::open_default()?;
    let c = state::find(&store, &name.ok_or_else(|| anyhow::anyhow!("logs needs a container"))?)?;
    let mut f = match std::fs::File::open(c.log_path()) {
        Ok(f) => f,
        // A container that never started has no log: nothing to print.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", c.log_path().display())))
        }
    };
    let mut out = std::io::stdout();
    loop {
        std::io::copy(&mut f, &mut out)?;
        std::io::Write::flush(&mut out)?;
        if !follow || !Container::load(&c.dir)?.running() {
            std::io::copy(&mut f, &mut out)?;
            return Ok(0);
        }
        minidocker::interrupt::check()?;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `stop`, `kill`, `rm`: the same loop over names, each printed back as Docker does.
fn each(
    names: &[String],
    action: impl Fn(&Store, &Container) -> minidocker::Result<()>,
) -> minidocker::Result<i32> {
    anyhow::ensure!(!names.is_empty(), "name at least one container");
    let store = Store::open_default()?;
    let mut status = 0;
    for n in names {
        match state::find(&store, n).and_then(|c| action(&store, &c)) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("minidocker: error: {e:#}");
                status = 1;
            }
        }
    }
    Ok(status)
}

/// `minidocker stop [-t SECONDS] CONTAINER...`
pub fn stop(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut timeout, mut names) = (10, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('t') | Long("time") => timeout = p.value()?.parse()?,
            Short('h') | Long("help") => return usage("Usage: minidocker stop [-t SECONDS] CONTAINER...\n\nSend the stop signal (SIGTERM), then SIGKILL after the timeout (default 10 s)."),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    each(&names, |_, c| lifecycle::stop(c, timeout))
}

/// `minidocker kill [-s SIGNAL] CONTAINER...`
pub fn kill(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut sig, mut names) = (nix::sys::signal::Signal::SIGKILL, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('s') | Long("signal") => {
                let s = p.value()?.string()?.to_uppercase();
                let s = if s.starts_with("SIG") { s } else { format!("SIG{s}") };
                sig = s.parse().map_err(|_| anyhow::anyhow!("invalid signal {s}"))?;
            }
            Short('h') | Long("help") => return usage("Usage: minidocker kill [-s SIGNAL] CONTAINER...\n\nSend a signal (default SIGKILL) to the container's first process."),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    each(&names, |_, c| lifecycle::signal(c, sig))
}

/// `minidocker pause CONTAINER...`
pub fn pause(args: Vec<OsString>) -> minidocker::Result<i32> {
    match names_only(args)? {
        None => usage("Usage: minidocker pause CONTAINER...\n\nFreeze every process of running containers (the freezer cgroup): no signal is sent, the\nkernel stops scheduling them until `minidocker unpause`."),
        Some(names) => each(&names, |_, c| lifecycle::pause(c)),
    }
}

/// `minidocker unpause CONTAINER...`
pub fn unpause(args: Vec<OsString>) -> minidocker::Result<i32> {
    match names_only(args)? {
        None => usage("Usage: minidocker unpause CONTAINER...\n\nLet the processes of paused containers run again."),
        Some(names) => each(&names, |_, c| lifecycle::unpause(c)),
    }
}

/// The container names of a command with no options; `None` for `-h`.
fn names_only(args: Vec<OsString>) -> minidocker::Result<Option<Vec<String>>> {
    let mut names = Vec::new();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(names))
}

/// `minidocker rm [-f] [-v] CONTAINER...`
pub fn rm(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut force, mut volumes, mut names) = (false, false, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("force") => force = true,
            Short('v') | Long("volumes") => volumes = true,
            Short('h') | Long("help") => return usage("Usage: minidocker rm [-f] [-v] CONTAINER...\n\nRemove containers.\n  -f, --force     kill a running one first\n  -v, --volumes   also remove its anonymous volumes (named ones stay)"),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    each(&names, |store, c| {
        lifecycle::remove(c, force)?;
        if volumes {
            minidocker::container::volumes::remove_anonymous(store, &c.config)?;
        }
        Ok(())
    })
}

/// `minidocker inspect [--format TEMPLATE] CONTAINER...`
pub fn inspect(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut format, mut names) = (None, Vec::new());
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("format") => format = Some(p.value()?.string()?),
            Short('h') | Long("help") => return usage("Usage: minidocker inspect [-f TEMPLATE] CONTAINER...\n\nLow-level information, as JSON shaped like Docker's; -f '{{.State.Pid}}' picks a field."),
            Value(v) => names.push(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    anyhow::ensure!(!names.is_empty(), "inspect needs a container");
    let store = Store::open_default()?;
    let docs: Vec<serde_json::Value> = names
        .iter()
        .map(|n| state::find(&store, n).map(|c| docker_json(&c)))
        .collect::<minidocker::Result<_>>()?;
    print_inspect(&docs, format.as_deref())
}

/// `inspect`'s output: the documents as a JSON array, or each through `--format`'s template.
pub fn print_inspect(docs: &[serde_json::Value], format: Option<&str>) -> minidocker::Result<i32> {
    match format {
        Some(t) => {
            for d in docs {
                println!("{}", minidocker::container::template::render(t, d)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(docs)?),
    }
    Ok(0)
}

/// A container as `docker inspect` shapes it.
fn docker_json(c: &Container) -> serde_json::Value {
    use serde_json::json;
    let (s, cfg) = (&c.state, &c.config);
    let paused = lifecycle::paused(c);
    let status = match s.status {
        Status::Created => "created",
        Status::Running if paused => "paused",
        Status::Running => "running",
        Status::Exited => "exited",
    };
    let argv = cfg.argv();
    let ports: serde_json::Map<String, serde_json::Value> = cfg
        .publish
        .iter()
        .filter_map(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            let (ip, host, cont) = match parts.as_slice() {
                [ip, h, cp] => (*ip, *h, *cp),
                [h, cp] => ("0.0.0.0", *h, *cp),
                _ => return None,
            };
            let cont = if cont.contains('/') { cont.to_string() } else { format!("{cont}/tcp") };
            Some((cont, json!([{ "HostIp": ip, "HostPort": host }])))
        })
        .collect();
    let net = s.network.clone().unwrap_or(json!({}));
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
            "Entrypoint": if cfg.entrypoint.is_empty() { serde_json::Value::Null } else { json!(cfg.entrypoint) },
            "Image": cfg.image_name,
            "WorkingDir": cfg.working_dir,
            "ExposedPorts": cfg.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect::<serde_json::Map<_, _>>(),
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
fn mounts_json(c: &Container) -> serde_json::Value {
    use serde_json::json;
    // containers/<id> → the store's root.
    let root =
        c.dir.parent().and_then(std::path::Path::parent).unwrap_or(std::path::Path::new("/"));
    let mounts: Vec<serde_json::Value> = c
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
