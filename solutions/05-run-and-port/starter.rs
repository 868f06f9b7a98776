//! Exercise 05 — give every container an address of its own, even when many start at once.
//!
//! `05-run-and-port --mine` runs with your code; `05-run-and-port --check` checks it.
//! The lab sheet is lessons/05-run-and-port/README.md.

use minidocker::network::{Rules, Subnet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;

/// Take the first free address of `subnet` for container `id`: record it as the file
/// `dir/<a.b.c.d>` holding the ID, and return it.
///
/// No daemon keeps a table in memory, and two `minidocker run` may ask at the same moment:
/// the file system itself must make sure an address is handed out once.
/// `subnet.container_addresses()` lists the candidates (not the network, gateway or broadcast
/// addresses).
pub fn allocate(dir: &Path, subnet: &Subnet, id: &str) -> minidocker::Result<Ipv4Addr> {
    std::fs::create_dir_all(dir)?;
    // ANCHOR: allocate
    // TODO: a first try that works alone but not under concurrency: look for an address
    // without a file, then write it. Two runs can both see the same address free. Which
    // OpenOptions flag makes "create if absent" one indivisible step?
    for ip in subnet.container_addresses() {
        let path = dir.join(ip.to_string());
        if !path.exists() {
            std::fs::File::create(&path)?.write_all(id.as_bytes())?;
            return Ok(ip);
        }
    }
    // ANCHOR_END: allocate
    anyhow::bail!("no free address left in {subnet}: remove some containers, or choose a larger MINIDOCKER_SUBNET")
}

/// The answers above as one value, which the lesson passes to the library: yours under
/// `--mine` and `--check`, the reference answer's (solutions/) otherwise.
pub const RULES: Rules = Rules { allocate };
