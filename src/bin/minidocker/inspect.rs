//! `ps` and `inspect`: containers as a table and as JSON.

use crate::images::print_table;
use minidocker::cli::containers::{InspectArgs, PsArgs};
use minidocker::container::{inspect, run as lifecycle, state, Container, Status};
use minidocker::image::Store;
use minidocker::units;

/// `minidocker ps [-a] [-q]`
pub fn ps(args: PsArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let now = now_secs();
    let mut rows = Vec::new();
    for c in state::list(&store)?.into_iter().filter(|c| args.all || c.running()) {
        if args.quiet {
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
    if !args.quiet {
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
    c.config.ports().iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

/// `minidocker inspect [--format TEMPLATE] CONTAINER...`
pub fn inspect(args: InspectArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let docs: Vec<serde_json::Value> = args
        .containers
        .iter()
        .map(|n| state::find(&store, n).map(|c| inspect::container_json(&c)))
        .collect::<minidocker::Result<_>>()?;
    println!("{}", inspect::render(&docs, args.format.as_deref())?);
    Ok(0)
}
