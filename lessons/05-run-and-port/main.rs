//! Lesson 05 — `run -p 4000:80`: the article's Flask app in a container on a bridge, reached
//! through a published port; then `ps`, and everything taken down again.
//!
//! The mechanism is in `src/container/` (create, monitor, state) and `src/network/` (bridge,
//! veth, addresses, NAT); this file only narrates it. The lab sheet is `README.md` here.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::container::config::{self, Overrides};
use minidocker::container::{run as lifecycle, Container};
use minidocker::image::{reference, Store};
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::network::{self, solution};
use minidocker::{report, rootfs};
use std::path::Path;
use std::time::Duration;

/// Runs the article's Flask app (the helloworld image of lesson 04) detached, on a bridge, with a
/// port published: shows the bridge and its address, the veth pair, the container's address,
/// the NAT rules that publish the port, then answers `curl localhost:4000` and shows `ps`. At the
/// end the container, its veth, its rules and its address are removed (--keep leaves it
/// running).
#[derive(Parser)]
struct Args {
    /// The image to run (built from assets/helloworld if it is helloworld and absent)
    #[arg(long = "image", value_name = "REF", default_value = "helloworld")]
    image_ref: String,
    /// The port to publish, [IP:]HOST:CONTAINER [default: 4000:80, or the next free host port
    /// when 4000 is taken — by the demo scripts/setup leaves running, say]
    #[arg(
        short = 'p',
        long,
        value_name = "SPEC",
        value_parser = |s: &str| network::parse_publish(s).map(|_| s.to_string())
    )]
    publish: Option<String>,
    /// Leave the container running at the end
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str =
    "containers need namespaces, mounts, cgroups, a bridge and NAT rules, which only root may create";

fn main() -> std::process::ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let Args { image_ref, publish, keep, .. } = args;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));
    let store = Store::open_default()?;
    let publish = match publish {
        Some(p) => p,
        None => default_publish(&store)?,
    };
    let mapping = network::parse_publish(&publish)?;
    network::check_free(&mapping)?;
    let cfg = network::Config::from_env()?;

    lab.step("The image")?;
    let image = match store.resolve(&image_ref) {
        Ok(img) => img,
        Err(_) if image_ref == "helloworld" => {
            report::say(
                "helloworld is not in the store: building it from assets/helloworld (lesson 04).",
            );
            // (The build takes the store's lock itself, while it writes.)
            rootfs::private_mount_namespace()?;
            let context = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/helloworld");
            let opts = minidocker::builder::Options {
                context,
                tags: vec![reference::parse_tagged("helloworld")?],
                ..Default::default()
            };
            minidocker::builder::build(&store, &opts)
                .map_err(|e| {
                    e.context("building helloworld (scripts/base-images makes its base image)")
                })?
                .image
        }
        Err(e) => return Err(e),
    };
    let ic = &image.config.config;
    report::evidence(
        &image_ref,
        &format!(
            "ID {}, CMD {:?}, EXPOSE {:?}",
            image.id.short(),
            ic.cmd.clone().unwrap_or_default(),
            ic.exposed_ports.clone().unwrap_or_default().keys().collect::<Vec<_>>()
        ),
    );

    lab.step(&format!("Run it detached with -p {publish}"))?;
    // ANCHOR: run
    // As `minidocker run -d -p PUBLISH IMAGE` makes it: the image's command and environment,
    // a new ID whose first 12 hex digits are the hostname.
    let overrides =
        Overrides { publish: vec![publish.clone()], detach: true, ..Default::default() };
    let config = config::from_image(&image_ref, &image, overrides)?;
    let created = lifecycle::create(&store, config)?;
    let guard = Remove(created.clone());
    // The container is made with this lesson's exercise: yours under --mine.
    let with_yours =
        minidocker::container::Rules { network: *rules, ..minidocker::container::RULES };
    lifecycle::start_with(&store, &created, &with_yours)?;
    // ANCHOR_END: run
    let c = Container::load(&created.dir)?;
    report::evidence(
        "container",
        &format!(
            "{} (name {}), its first process is PID {} on the host",
            c.config.id, c.config.name, c.state.pid
        ),
    );
    report::evidence(
        "hostname",
        &format!("{} — the short ID, as in the article", c.config.hostname),
    );

    lab.step("The bridge, the veth pair, the address")?;
    let att: network::Attachment =
        serde_json::from_value(c.state.network.clone().unwrap_or_default())?;
    report::evidence(
        "bridge",
        &format!(
            "{} with address {}/{} — every container's gateway",
            cfg.bridge, att.gateway, att.prefix
        ),
    );
    report::evidence(
        "veth pair",
        &format!(
            "{} on the host (a port of {}) ↔ eth0 inside the container",
            att.host_veth, cfg.bridge
        ),
    );
    let mtu = std::fs::read_to_string(format!("/sys/class/net/{}/mtu", att.host_veth))
        .unwrap_or_default();
    report::evidence("MTU", &format!("{} on the bridge and both ends — a wire inside the host, not Ethernet's 1500 (the book says why)", mtu.trim()));
    report::evidence(
        "bridge ports",
        &read_dir_names(&format!("/sys/class/net/{}/brif", cfg.bridge)),
    );
    report::evidence(
        "container address",
        &format!(
            "{} (a file in {})",
            att.ip,
            network::ips_dir(store.root(), &cfg.bridge).display()
        ),
    );

    lab.step("The NAT rules that publish the port")?;
    for rule in rules_of(&c.config.id) {
        report::evidence("iptables", &rule);
    }
    report::say(&format!("They live in the chain MD-{}, which nat PREROUTING (traffic from other hosts) and nat OUTPUT", cfg.bridge));
    report::say("(traffic from this host itself: curl localhost) both jump to; the kernel rewrites the destination, no proxy copies bytes.");

    lab.step(&format!("curl localhost:{}", mapping.host_port))?;
    let addr = format!("127.0.0.1:{}", mapping.host_port);
    let body = network::http_get(&addr, Duration::from_secs(20)).ok_or_else(|| {
        anyhow::anyhow!("nothing answered on {addr}: see `minidocker logs {}`", c.config.name)
    })?;
    report::evidence("response", body.trim());
    let ok = body.contains(&c.config.hostname);
    report::evidence(
        "hostname in it",
        if ok {
            "the container's short ID: the answer came from inside"
        } else {
            "not the container's ID?"
        },
    );

    lab.step("ps")?;
    let c = Container::load(&created.dir)?;
    report::evidence(
        "CONTAINER ID",
        &format!(
            "{}   IMAGE {}   COMMAND {:?}   STATUS {:?}   PORTS {}   NAMES {}",
            c.short_id(),
            c.config.image_name,
            c.config.argv().join(" "),
            c.state.status,
            mapping,
            c.config.name
        ),
    );

    lab.step("Clean up")?;
    if keep {
        report::note(&format!(
            "kept: `minidocker ps`, `curl localhost:{}`, then `minidocker rm -f {}`",
            mapping.host_port, c.config.name
        ));
        std::mem::forget(guard);
        return Ok(0);
    }
    drop(guard);
    let veth_gone = !Path::new("/sys/class/net").join(&att.host_veth).exists();
    report::cleanup(&format!(
        "removed the container; its veth is {}, its NAT rules {}",
        if veth_gone { "gone" } else { "STILL THERE" },
        if rules_of(&c.config.id).is_empty() { "gone" } else { "STILL THERE" }
    ));
    Ok(0)
}

/// The article's `-p 4000:80`, or the first free host port after it (the demo of
/// scripts/setup may hold 4000), said so.
fn default_publish(store: &Store) -> minidocker::Result<String> {
    let port = network::first_free_port(store.root(), 4000)?;
    if port != 4000 {
        report::note(&format!(
            "port 4000 is taken (another program or container publishes it): using {port} — \
             `-p {port}:80` — instead"
        ));
    }
    Ok(format!("{port}:80"))
}

/// The container, removed (with its veth, rules and address) however the lesson ends.
struct Remove(Container);

impl Drop for Remove {
    fn drop(&mut self) {
        if let Ok(c) = Container::load(&self.0.dir) {
            let _ = lifecycle::remove(&c, true);
        }
    }
}

/// The NAT and filter rules that carry this container's comment (`iptables-save`: the lesson
/// shows the rules as the tool prints them).
fn rules_of(id: &str) -> Vec<String> {
    let out = std::process::Command::new("iptables-save")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let tag = format!("minidocker:{id}");
    out.lines().filter(|l| l.contains(&tag)).map(str::to_owned).collect()
}

fn read_dir_names(dir: &str) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names.join(" ")
}
