//! The panorama as text: one section per mechanism, named after its lesson, each value with
//! where it was read on the right (dimmed). At most [`WIDTH`] columns; colours follow
//! `report::init_colors` (none for a pipe or with `NO_COLOR`).

use super::Xray;
use crate::units::human;
use colored::Colorize;
use std::fmt::Write;

/// The widest line drawn.
pub const WIDTH: usize = 100;
/// Where the sources column starts.
const SOURCE_AT: usize = 52;

/// Cut `s` to `n` characters, marking the cut with `…`.
pub fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}

struct Figure {
    out: String,
    /// The store's root and the container's full ID, shown as `$MINIDOCKER_ROOT` and the
    /// short ID followed by `…` so that paths fit.
    root: String,
    id: String,
}

impl Figure {
    fn short(&self, s: &str) -> String {
        let s = if self.root.is_empty() {
            s.to_string()
        } else {
            s.replace(&self.root, "$MINIDOCKER_ROOT")
        };
        s.replace(&self.id, &format!("{}…", &self.id[..12]))
    }

    fn section(&mut self, title: &str, lesson: &str) {
        let used = title.chars().count() + lesson.chars().count() + 5;
        let rule = "─".repeat(WIDTH.saturating_sub(used));
        let _ = writeln!(
            self.out,
            "{} {} {} {}",
            "──".dimmed(),
            title.bold().cyan(),
            lesson.dimmed(),
            rule.dimmed()
        );
    }

    /// `  content            ← source`: the source on the same line when both fit, else
    /// on the next one, right-aligned.
    fn row(&mut self, content: &str, source: &str) {
        let (content, source) = (self.short(content), self.short(source));
        let content = fit(&content, WIDTH - 2);
        let width = content.chars().count() + 2;
        let src = format!("← {source}");
        if source.is_empty() {
            let _ = writeln!(self.out, "  {content}");
        } else if width < SOURCE_AT && SOURCE_AT + src.chars().count() <= WIDTH {
            let pad = " ".repeat(SOURCE_AT - width);
            let _ = writeln!(self.out, "  {content}{pad}{}", src.dimmed());
        } else {
            let _ = writeln!(self.out, "  {content}");
            if !source.is_empty() {
                let src = fit(&src, WIDTH - 4);
                let pad = " ".repeat(WIDTH - src.chars().count());
                let _ = writeln!(self.out, "{pad}{}", src.dimmed());
            }
        }
    }

    /// A long line cut into lines at its spaces, the following ones indented.
    fn wrapped(&mut self, content: &str) {
        let mut line = String::new();
        for word in self.short(content).split(' ') {
            if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > WIDTH - 6 {
                let _ = writeln!(self.out, "  {line}");
                line = "   ".into();
            }
            if !line.trim().is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        let _ = writeln!(self.out, "  {line}");
    }

    fn plain(&mut self, content: &str) {
        let content = self.short(content);
        let _ = writeln!(self.out, "  {}", fit(&content, WIDTH - 2));
    }
}

fn opt_size(v: Option<u64>) -> String {
    v.map_or("—".into(), human)
}

/// The figure, lines of at most [`WIDTH`] columns (colour codes aside).
pub fn render(x: &Xray) -> String {
    let mut f =
        Figure { out: String::new(), root: x.container.store.clone(), id: x.container.id.clone() };
    let c = &x.container;
    let title = format!(" xray {} ({}) · image {} ", c.name, c.short_id, c.image);
    let _ = writeln!(
        f.out,
        "{}{}{}",
        "━━".bold(),
        fit(&title, WIDTH - 4).bold(),
        "━".repeat(WIDTH.saturating_sub(title.chars().count() + 2)).bold()
    );

    let p = &x.process;
    let src = |k: &str, s: &super::Sources| s.get(k).cloned().unwrap_or_default();
    f.section("PROCESS", "lesson 01 · 05");
    f.row(
        &format!("pid {} on the host, {} inside", p.host_pid, p.pid_inside),
        &src("pid_inside", &p.sources),
    );
    f.row(&format!("$ {}", p.cmdline.join(" ")), &src("cmdline", &p.sources));
    let user = if p.user.is_empty() { "(no name)" } else { &p.user };
    f.row(&format!("user {user} (uid {}, gid {})", p.uid, p.gid), &src("uid", &p.sources));
    let caps = if p.docker_default_caps {
        "Docker's default 14".to_string()
    } else {
        format!("{} capabilities", p.capabilities.len())
    };
    f.row(&format!("capabilities: {caps} (CapEff {})", p.cap_eff), &src("cap_eff", &p.sources));

    f.section("NAMESPACES", "lesson 01 · 06");
    let pid = p.host_pid;
    for pair in x.namespaces.chunks(2) {
        let cell = |n: &super::Namespace| {
            let whose =
                if n.own { "own".green().to_string() } else { "host's".yellow().to_string() };
            // Padding counted without the colour codes.
            let pad = 6usize.saturating_sub(if n.own { 3 } else { 6 });
            format!("{:<6} {:>10} {whose}{}", n.kind, n.inode, " ".repeat(pad))
        };
        let line = pair.iter().map(cell).collect::<Vec<_>>().join("    ");
        let _ = writeln!(f.out, "  {line}");
    }
    for n in x.namespaces.iter().filter(|n| !n.joined_from.is_empty()) {
        f.plain(&format!(
            "{}: container {}'s, joined (--network container:)",
            n.kind, n.joined_from
        ));
    }
    let host = x.namespaces.first().map_or("", |n| n.host_source.trim_end_matches(|c| c != '/'));
    f.row(
        &format!("own = not the inode of {host}KIND (the host's)"),
        &format!("readlink /proc/{pid}/ns/* and {host}*"),
    );

    let g = &x.cgroup;
    f.section("CGROUP", "lesson 02");
    f.row(&g.mode, "/proc/self/mountinfo");
    // The hierarchies the container has a group of its own in, and the others.
    let (mut own, mut other) = (Vec::new(), Vec::new());
    for l in &g.paths {
        let mut parts = l.splitn(3, ':');
        let (n, ctrls, path) =
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let name = if ctrls.is_empty() { format!("{n}:(v2)") } else { format!("{n}:{ctrls}") };
        if path.ends_with(&c.id) {
            own.push((name, path.to_string()));
        } else {
            other.push(name);
        }
    }
    if let Some((_, path)) = own.first() {
        f.row(&format!("its group: {path}"), &src("paths", &g.sources));
        let names: Vec<&str> = own.iter().map(|(n, _)| n.as_str()).collect();
        f.plain(&format!("  in {}", names.join(" ")));
    }
    if !other.is_empty() {
        f.plain(&format!("  the host's groups in {}", other.join(" ")));
    }
    let (l, u) = (&g.limits, &g.usage);
    let cpus = l.cpus.map_or("unlimited".into(), |c| format!("{c} CPU"));
    let pct = u.cpu_percent.map_or("—".into(), |p| format!("{p:.1} %"));
    f.row(
        &format!("cpu     limit {cpus:<14} using {pct} of one CPU"),
        &src("cpu_quota_us", &g.sources),
    );
    let mem = l.memory_bytes.map_or("unlimited".into(), human);
    f.row(
        &format!(
            "memory  limit {mem:<14} using {} (peak {})",
            opt_size(u.memory_current),
            opt_size(u.memory_peak)
        ),
        &src("memory_bytes", &g.sources),
    );
    match u.pids_current {
        Some(now) => {
            let pids = l.pids_max.map_or("unlimited".into(), |n| n.to_string());
            f.row(&format!("pids    limit {pids:<14} {now} now"), &src("pids_max", &g.sources));
        }
        None => f.plain("pids    no group of its own (started without --pids-limit)"),
    }

    let r = &x.rootfs;
    f.section("ROOTFS", "lesson 03 · 04 · 07");
    f.row(
        &format!("{} mounted as / (its own mount table)", r.fstype),
        &src("mount_line", &r.sources),
    );
    let inner = WIDTH - 6;
    let bar = |l: char, r: char| format!("  {l}{}{r}", "─".repeat(inner));
    let short = |s: &str| {
        s.replace(&x.container.store, "$MINIDOCKER_ROOT")
            .replace(&c.id, &format!("{}…", c.short_id))
    };
    let cell = |s: &str| format!("  │ {:<w$} │", fit(&short(s), inner - 2), w = inner - 2);
    let _ = writeln!(f.out, "{}", bar('┌', '┐'));
    let rw = format!(
        "read-write  {}  +{} added  ~{} changed  -{} deleted (whiteouts)",
        human(r.upper_bytes),
        r.added,
        r.changed,
        r.deleted
    );
    let _ = writeln!(f.out, "{}", cell(&rw).green());
    let _ = writeln!(f.out, "{}", cell(&format!("            {}", r.upper_dir)).dimmed());
    let _ = writeln!(f.out, "{}", bar('├', '┤'));
    let _ =
        writeln!(f.out, "{}", cell(&format!("init        {}", r.init_files.join(" "))).yellow());
    for (i, layer) in r.layers.iter().enumerate().rev() {
        let _ = writeln!(f.out, "{}", bar('├', '┤'));
        let _ = writeln!(
            f.out,
            "{}",
            cell(&format!(
                "layer {:<4}  {}  {:>8}  {}",
                i + 1,
                layer.short_diff_id,
                crate::units::docker_size(layer.size),
                layer.created_by
            ))
        );
    }
    let _ = writeln!(f.out, "{}", bar('└', '┘'));
    f.row("bottom: layer 1; top: the read-write layer", &src("layers", &r.sources));

    f.section("VOLUMES", "lesson 08");
    if x.volumes.is_empty() {
        f.plain("none");
    }
    for v in &x.volumes {
        f.row(
            &format!("{} → {} ({}, {})", v.host_path, v.destination, v.kind, v.mode),
            &src("host_path", &v.sources),
        );
        let same = if v.same_inode { "same inode".green() } else { "DIFFERENT inodes".red() };
        f.row(
            &format!(
                "inode {} on {} = inode {} on {}: {same}",
                v.host_inode, v.host_dev, v.container_inode, v.container_dev
            ),
            &format!(
                "stat of both sides: {}",
                src("container_inode", &v.sources).trim_start_matches("stat ")
            ),
        );
    }

    let n = &x.network;
    f.section("NETWORK", "lesson 05");
    match &n.bridge {
        None => f.plain(&format!("--network {}: no veth of its own", n.mode)),
        Some(b) => {
            f.row(
                &format!("eth0 {} via gateway {}", b.address, b.gateway),
                &src("address", &b.sources),
            );
            f.row(
                &format!(
                    "{} (ifindex {}) ══ eth0 (ifindex {})",
                    b.host_veth, b.host_veth_ifindex, b.peer_ifindex
                ),
                &src("peer_ifindex", &b.sources),
            );
            f.row(
                &format!("{} is a port of bridge {}", b.host_veth, b.host_veth_master),
                &src("host_veth_master", &b.sources),
            );
            if b.dnat.is_empty() {
                f.plain("no published port");
            }
            for p in &b.ports {
                f.plain(&format!("published {p}"));
            }
            if !b.dnat.is_empty() {
                f.row("DNAT, as iptables-save -t nat shows it:", &src("dnat", &b.sources));
            }
            for r in &b.dnat {
                f.wrapped(r);
            }
        }
    }
    f.out
}
