//! Netfilter rules for a bridge: masquerade on the way out, DNAT for published ports, and
//! FORWARD accepts — the rules Docker's bridge driver installs, in chains of our own.
//!
//! They are set with the `iptables` command, as Docker itself does. Unlike the links and
//! addresses (netlink, by hand, in [`super::netlink`]), a rule set is a compiled program for
//! the kernel (nf_tables bytecode, or x_tables blobs on older systems) whose format is the
//! tool's business; and it is written once per container start and stop, never per packet,
//! so the cost of running a program is irrelevant. Packets themselves never leave the kernel.
//!
//! Layout, for a bridge `B` with subnet `S` (chain names fit iptables' 28 characters):
//!
//! ```text
//! nat    PREROUTING  -m addrtype --dst-type LOCAL -j MD-B      packets from other hosts
//! nat    OUTPUT      -m addrtype --dst-type LOCAL -j MD-B      packets from this host (127.0.0.1 too)
//! nat    MD-B        [-d HOSTIP] -p tcp --dport HP -j DNAT --to-destination CIP:CP   one per -p
//! nat    POSTROUTING -j MD-B-POST
//! nat    MD-B-POST   -s S ! -o B -j MASQUERADE                 containers reach the outside
//!                    -s 127.0.0.0/8 -o B -j MASQUERADE         127.0.0.1:HP answered via the host
//! filter FORWARD     -j MD-B                                   (first: Docker sets FORWARD to DROP)
//! filter MD-B        -i B -j ACCEPT                            out of containers
//!                    -o B -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT   answers back
//!                    -d CIP -o B -p tcp --dport CP -j ACCEPT   published ports, one per -p
//! ```
//!
//! DNAT is only allowed in chains reached from PREROUTING/OUTPUT and MASQUERADE only from
//! POSTROUTING, hence two nat chains. Per-container rules carry `-m comment --comment
//! minidocker:<id>`: teardown lists the chains and deletes exactly the rules with that comment.

use super::{Attachment, Config};
use crate::report;
use anyhow::{bail, Context};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The comment on every rule of container `id`.
pub fn comment(id: &str) -> String {
    format!("minidocker:{id}")
}

/// The chain of bridge `bridge` in nat (DNAT) and in filter.
pub fn chain(bridge: &str) -> String {
    format!("MD-{bridge}")
}

/// The nat chain jumped to from POSTROUTING (masquerade).
pub fn post_chain(bridge: &str) -> String {
    format!("MD-{bridge}-POST")
}

/// `iptables`, found in PATH or the usual sbin directories (sudo's PATH may lack them).
fn binary() -> crate::Result<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs =
        path.split(':').filter(|d| !d.is_empty()).chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
    for d in dirs {
        let p = PathBuf::from(d).join("iptables");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("iptables is not installed: the bridge network needs it for NAT and published ports (Debian: apt-get install iptables)")
}

/// Run `iptables -w ARGS` (wait for the xtables lock rather than fail when another program
/// holds it); its stdout, or its complaint as one line.
fn iptables(args: &[String]) -> crate::Result<String> {
    let call = format!("exec iptables -w {}", args.join(" "));
    let (status, stdout, stderr) = run_captured(Command::new(binary()?).arg("-w").args(args))
        .with_context(|| format!("running {call}"))?;
    let code = status.code().unwrap_or(-1);
    report::syscall(&call, &code.to_string());
    if !status.success() {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim();
        bail!("iptables -w {} failed: {first}", args.join(" "));
    }
    Ok(stdout)
}

/// Run `cmd` with its output in memory files rather than pipes, and wait for it.
///
/// Not `Command::output`: it reads pipes until end-of-file, and a container cloned meanwhile
/// by another thread holds copies of their write ends until it execs — which it does only
/// after its gate opens, after the attach that is waiting here. Waiting for the process
/// itself does not depend on who else holds a descriptor.
fn run_captured(cmd: &mut Command) -> std::io::Result<(std::process::ExitStatus, String, String)> {
    fn memfd(name: &std::ffi::CStr) -> std::io::Result<std::fs::File> {
        // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned below.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a descriptor we just created and nobody else owns.
        Ok(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    }
    let (mut out, mut err) = (memfd(c"stdout")?, memfd(c"stderr")?);
    let status =
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(err.try_clone()?).status()?;
    let read = |f: &mut std::fs::File| -> std::io::Result<String> {
        let mut s = String::new();
        f.seek(SeekFrom::Start(0))?;
        f.read_to_string(&mut s)?;
        Ok(s)
    };
    Ok((status, read(&mut out)?, read(&mut err)?))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn with(table: &str, op: &str, chain: &str, spec: &[String]) -> Vec<String> {
    let mut a = strings(&["-t", table, op, chain]);
    a.extend_from_slice(spec);
    a
}

fn chain_exists(table: &str, chain: &str) -> bool {
    iptables(&strings(&["-t", table, "-S", chain])).is_ok()
}

fn ensure_chain(table: &str, chain: &str) -> crate::Result<()> {
    if chain_exists(table, chain) {
        return Ok(());
    }
    iptables(&strings(&["-t", table, "-N", chain])).or_else(|e| {
        if chain_exists(table, chain) {
            Ok(String::new())
        } else {
            Err(e)
        }
    })?;
    Ok(())
}

/// Add `spec` to `chain` unless an identical rule is there: appended, or first with `first`.
fn ensure_rule(table: &str, chain: &str, spec: &[String], first: bool) -> crate::Result<()> {
    if iptables(&with(table, "-C", chain, spec)).is_ok() {
        return Ok(());
    }
    if first {
        let mut a = strings(&["-t", table, "-I", chain, "1"]);
        a.extend_from_slice(spec);
        iptables(&a)?;
    } else {
        iptables(&with(table, "-A", chain, spec))?;
    }
    Ok(())
}

/// The comment on the jumps and other rules of bridge `bridge` in the built-in chains.
fn bridge_tag(bridge: &str) -> String {
    format!("minidocker-bridge:{bridge}")
}

/// `spec` with `-m comment --comment TAG` before its target (`-j`): how a rule of ours is
/// found again to be removed.
fn tagged(tag: &str, spec: &[String]) -> Vec<String> {
    let at = spec.iter().position(|a| a == "-j").unwrap_or(spec.len());
    let mut a = spec[..at].to_vec();
    a.extend(strings(&["-m", "comment", "--comment", tag]));
    a.extend_from_slice(&spec[at..]);
    a
}

/// The built-in chains our rules may sit in, (table, chain): where removal looks for them.
const BUILTINS: [(&str, &str); 6] = [
    ("nat", "PREROUTING"),
    ("nat", "INPUT"),
    ("nat", "OUTPUT"),
    ("nat", "POSTROUTING"),
    ("filter", "FORWARD"),
    ("raw", "PREROUTING"),
];

/// The jumps into the bridge's chains: (table, built-in chain, spec, insert first). The nat
/// table's jumps to the DNAT chain are exercise 05's `nat_jumps`, from `rules`.
fn jumps(
    bridge: &str,
    rules: &super::Rules,
) -> Vec<(&'static str, &'static str, Vec<String>, bool)> {
    let (c, post) = (chain(bridge), post_chain(bridge));
    let tag = bridge_tag(bridge);
    let mut out: Vec<_> = (rules.nat_jumps)(&c)
        .into_iter()
        .map(|(builtin, spec)| ("nat", builtin, tagged(&tag, &spec), false))
        .collect();
    out.extend([
        ("nat", "POSTROUTING", tagged(&tag, &strings(&["-j", &post])), false),
        ("filter", "FORWARD", tagged(&tag, &strings(&["-j", &c])), true),
        // route_localnet lets the host's 127.0.0.1 traffic out through the bridge; without this
        // a container (which has CAP_NET_RAW) could also send packets *to* services bound to the
        // host's 127.0.0.1 (Kubernetes' CVE-2020-8558). Nothing legitimate comes from a
        // container with a loopback destination.
        (
            "raw",
            "PREROUTING",
            tagged(&tag, &strings(&["-i", bridge, "-d", "127.0.0.0/8", "-j", "DROP"])),
            true,
        ),
    ]);
    out
}

/// The bridge's chains, its own rules and the jumps into them (idempotent); the jumps to the
/// DNAT chain with exercise 05's `rules`.
pub fn ensure_bridge(cfg: &Config, rules: &super::Rules) -> crate::Result<()> {
    let (b, c, post) = (cfg.bridge.as_str(), chain(&cfg.bridge), post_chain(&cfg.bridge));
    let subnet = cfg.subnet.to_string();
    ensure_chain("nat", &c)?;
    ensure_chain("nat", &post)?;
    ensure_chain("filter", &c)?;
    ensure_rule("nat", &post, &strings(&["-s", &subnet, "!", "-o", b, "-j", "MASQUERADE"]), false)?;
    ensure_rule(
        "nat",
        &post,
        &strings(&["-s", "127.0.0.0/8", "-o", b, "-j", "MASQUERADE"]),
        false,
    )?;
    ensure_rule("filter", &c, &strings(&["-i", b, "-j", "ACCEPT"]), false)?;
    ensure_rule(
        "filter",
        &c,
        &strings(&["-o", b, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]),
        false,
    )?;
    for (table, builtin, spec, first) in jumps(b, rules) {
        ensure_rule(table, builtin, &spec, first)?;
    }
    Ok(())
}

/// The DNAT and FORWARD rules of a container's published ports; the DNAT rule's arguments
/// are exercise 05's `dnat`, from `rules`.
pub fn add_container(att: &Attachment, rules: &super::Rules) -> crate::Result<()> {
    let (b, c) = (att.bridge.as_str(), chain(&att.bridge));
    let tag = comment(&att.container_id);
    // ANCHOR: add_container
    for p in &att.ports {
        let dnat = tagged(&tag, &(rules.dnat)(p, att.ip));
        iptables(&with("nat", "-A", &c, &dnat))?;
        let (proto, cp) = (p.proto.as_str(), p.container_port.to_string());
        let accept = strings(&[
            "-d",
            &format!("{}/32", att.ip),
            "-o",
            b,
            "-p",
            proto,
            "--dport",
            &cp,
            "-j",
            "ACCEPT",
        ]);
        iptables(&with("filter", "-A", &c, &tagged(&tag, &accept)))?;
    }
    // ANCHOR_END: add_container
    Ok(())
}

/// Split a line of `iptables -S` into arguments (it quotes strings with spaces or quotes).
fn split_rule(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => cur.extend(chars.next()),
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The rules of `table`'s `chain` carrying comment `tag`, as `-A CHAIN …` argument lists.
fn rules_tagged(table: &str, chain: &str, tag: &str) -> Vec<Vec<String>> {
    let Ok(listing) = iptables(&strings(&["-t", table, "-S", chain])) else { return Vec::new() };
    listing
        .lines()
        .map(split_rule)
        .filter(|a| {
            a.first().is_some_and(|x| x == "-A")
                && a.windows(2).any(|w| w[0] == "--comment" && w[1] == tag)
        })
        .collect()
}

/// Every rule of container `id` in the bridge's chains (none is fine).
pub fn container_rules(bridge: &str, id: &str) -> Vec<(&'static str, Vec<String>)> {
    let tag = comment(id);
    let mut out = Vec::new();
    for (table, c) in
        [("nat", chain(bridge)), ("nat", post_chain(bridge)), ("filter", chain(bridge))]
    {
        out.extend(rules_tagged(table, &c, &tag).into_iter().map(|r| (table, r)));
    }
    out
}

/// Delete exactly container `id`'s rules.
pub fn remove_container(bridge: &str, id: &str) -> crate::Result<()> {
    for (table, mut rule) in container_rules(bridge, id) {
        rule[0] = "-D".into();
        let mut a = strings(&["-t", table]);
        a.extend(rule);
        iptables(&a)?;
    }
    Ok(())
}

/// The jumps (every rule of the built-in chains that carries the bridge's comment, whoever
/// wrote it), then the chains with all their rules (idempotent).
pub fn remove_bridge(bridge: &str) -> crate::Result<()> {
    let tag = bridge_tag(bridge);
    for (table, builtin) in BUILTINS {
        for mut rule in rules_tagged(table, builtin, &tag) {
            rule[0] = "-D".into();
            let mut a = strings(&["-t", table]);
            a.extend(rule);
            iptables(&a)?;
        }
    }
    for (table, c) in
        [("nat", chain(bridge)), ("nat", post_chain(bridge)), ("filter", chain(bridge))]
    {
        if chain_exists(table, &c) {
            iptables(&strings(&["-t", table, "-F", &c]))?;
            iptables(&strings(&["-t", table, "-X", &c]))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The comment goes before the target, where removal and `-C` find it, whatever the
    /// exercise's answer put in front.
    #[test]
    fn the_comment_goes_before_the_target() {
        let spec = super::strings(&["-m", "addrtype", "--dst-type", "LOCAL", "-j", "MD-b"]);
        assert_eq!(
            super::tagged("t", &spec).join(" "),
            "-m addrtype --dst-type LOCAL -m comment --comment t -j MD-b"
        );
        assert_eq!(super::tagged("t", &[]).join(" "), "-m comment --comment t");
    }

    #[test]
    fn rules_are_split_like_a_shell_would() {
        let a = super::split_rule(
            r#"-A MD-x -p tcp -m comment --comment "minidocker:ab cd" -j ACCEPT"#,
        );
        assert_eq!(
            a,
            [
                "-A",
                "MD-x",
                "-p",
                "tcp",
                "-m",
                "comment",
                "--comment",
                "minidocker:ab cd",
                "-j",
                "ACCEPT"
            ]
        );
    }
}
