//! The panorama as an SVG picture, written by hand (no drawing library): the process inside
//! its namespaces and cgroup on the left, the rootfs stack and the volumes on the right, the
//! network path along the bottom. Text is escaped for XML and set in a monospace font stack
//! with CJK fonts in it, so a label in Chinese keeps its columns.

use super::text::fit;
use super::Xray;
use crate::units::{docker_size, human};
use std::fmt::Write;

/// The fonts every figure of the workshop uses: monospace, with CJK-capable ones first.
pub const FONTS: &str =
    "'Noto Sans Mono CJK SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'DejaVu Sans Mono', monospace";

const W: u32 = 1000;
/// Width of one character at the body size (13 px), to cut text to its box.
const CHAR: f64 = 7.2;

/// `&`, `<`, `>`, `"` and `'` as XML entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

struct Svg(String);

impl Svg {
    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, class: &str) {
        let _ = writeln!(
            self.0,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" class="{class}"/>"#
        );
    }

    /// Text at (x, y), cut to `width` pixels.
    fn text(&mut self, x: u32, y: u32, width: u32, s: &str, class: &str) {
        let n = (width as f64 / CHAR) as usize;
        let _ = writeln!(
            self.0,
            r#"<text x="{x}" y="{y}" class="{class}">{}</text>"#,
            escape(&fit(s, n))
        );
    }

    fn arrow(&mut self, x1: u32, y1: u32, x2: u32, y2: u32) {
        let _ = writeln!(
            self.0,
            r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="arrow" marker-end="url(#head)"/>"#
        );
    }

    /// A usage bar: `used` of `limit`, filled in proportion (full and red past 90 %).
    fn bar(&mut self, x: u32, y: u32, w: u32, used: f64, limit: Option<f64>) {
        self.rect(x, y, w, 10, "track");
        if let Some(l) = limit.filter(|l| *l > 0.0) {
            let share = (used / l).clamp(0.0, 1.0);
            let class = if share > 0.9 { "fill hot" } else { "fill" };
            self.rect(x, y, ((w as f64) * share).round().max(1.0) as u32, 10, class);
        }
    }
}

/// The picture, as a complete SVG document.
pub fn render(x: &Xray) -> String {
    let mut s = Svg(String::new());
    let c = &x.container;
    let short = |t: &str| t.replace(&c.store, "$MINIDOCKER_ROOT").replace(&c.id, &c.short_id);

    s.text(
        20,
        34,
        W - 40,
        &format!("minidocker xray {}  ·  {}  ·  image {}", c.name, c.short_id, c.image),
        "title",
    );

    // Left: the namespaces around the process, then the cgroup.
    let (lx, lw) = (20, 470);
    let p = &x.process;
    let ns_rows = x.namespaces.len().div_ceil(2) as u32;
    let ns_h = 150 + ns_rows * 20;
    s.rect(lx, 56, lw, ns_h, "ns");
    s.text(lx + 12, 76, lw - 24, "namespaces (lesson 01, 06): /proc/PID/ns/*", "head");
    s.rect(lx + 16, 88, lw - 32, 92, "proc");
    s.text(
        lx + 28,
        108,
        lw - 56,
        &format!("process: PID {} on the host, {} inside", p.host_pid, p.pid_inside),
        "b",
    );
    s.text(lx + 28, 128, lw - 56, &format!("$ {}", p.cmdline.join(" ")), "");
    let user = if p.user.is_empty() { format!("uid {}", p.uid) } else { p.user.clone() };
    s.text(lx + 28, 148, lw - 56, &format!("user {user} (uid {}, gid {})", p.uid, p.gid), "");
    let caps = if p.docker_default_caps {
        "Docker's default 14".to_string()
    } else {
        format!("{} capabilities", p.capabilities.len())
    };
    s.text(lx + 28, 168, lw - 56, &format!("capabilities: {caps} (CapEff {})", p.cap_eff), "");
    for (i, n) in x.namespaces.iter().enumerate() {
        let (col, row) = (i as u32 % 2, i as u32 / 2);
        let (tx, ty) = (lx + 20 + col * 225, 204 + row * 20);
        let whose = if n.own { "own" } else { "host's" };
        s.text(
            tx,
            ty,
            220,
            &format!("{:<6} {} {whose}", n.kind, n.inode),
            if n.own { "own" } else { "shared" },
        );
    }

    let g = &x.cgroup;
    let cy = 56 + ns_h + 16;
    let cg_h = 170;
    s.rect(lx, cy, lw, cg_h, "cg");
    s.text(lx + 12, cy + 20, lw - 24, "cgroup (lesson 02): limits and usage now", "head");
    let own = g
        .paths
        .iter()
        .find(|l| l.ends_with(&c.id))
        .map_or("(none of its own)".into(), |l| short(l.rsplit(':').next().unwrap_or(l)));
    s.text(lx + 12, cy + 40, lw - 24, &format!("{own}  ·  {}", g.mode), "small");
    let (l, u) = (&g.limits, &g.usage);
    let rows: [(String, f64, Option<f64>); 3] = [
        (
            format!(
                "cpu     {} of {}",
                u.cpu_percent.map_or("—".into(), |p| format!("{p:.1} %")),
                l.cpus.map_or("no limit".into(), |c| format!("{c} CPU"))
            ),
            u.cpu_percent.unwrap_or(0.0),
            l.cpus.map(|c| c * 100.0),
        ),
        (
            format!(
                "memory  {} of {}",
                u.memory_current.map_or("—".into(), human),
                l.memory_bytes.map_or("no limit".into(), human)
            ),
            u.memory_current.unwrap_or(0) as f64,
            l.memory_bytes.map(|m| m as f64),
        ),
        (
            match u.pids_current {
                Some(n) => format!(
                    "pids    {n} of {}",
                    l.pids_max.map_or("no limit".into(), |n| n.to_string())
                ),
                None => "pids    no group of its own".into(),
            },
            u.pids_current.unwrap_or(0) as f64,
            l.pids_max.map(|n| n as f64),
        ),
    ];
    for (i, (label, used, limit)) in rows.iter().enumerate() {
        let y = cy + 68 + i as u32 * 34;
        s.text(lx + 12, y, 280, label, "");
        s.bar(lx + 300, y - 10, lw - 316, *used, *limit);
    }
    let left_bottom = cy + cg_h;

    // Right: the rootfs stack, top layer first, then the volumes.
    let (rx, rw) = (510, 470);
    let r = &x.rootfs;
    let stack_h = 40 + 50 * (2 + r.layers.len() as u32) + 10;
    s.rect(rx, 56, rw, stack_h, "fs");
    s.text(
        rx + 12,
        76,
        rw - 24,
        &format!("rootfs (lesson 03, 04, 07): {} mounted as /", r.fstype),
        "head",
    );
    let mut y = 88;
    let mut layer = |s: &mut Svg, class: &str, first: String, second: String| {
        s.rect(rx + 16, y, rw - 32, 42, class);
        s.text(rx + 28, y + 17, rw - 56, &first, "b");
        s.text(rx + 28, y + 34, rw - 56, &second, "small");
        y += 50;
    };
    layer(
        &mut s,
        "rw",
        format!(
            "read-write layer  {}  +{} ~{} -{}",
            human(r.upper_bytes),
            r.added,
            r.changed,
            r.deleted
        ),
        format!("{}  (- = whiteouts)", short(&r.upper_dir)),
    );
    layer(&mut s, "init", "init layer".into(), r.init_files.join(" "));
    for (i, l) in r.layers.iter().enumerate().rev() {
        layer(
            &mut s,
            "img",
            format!("layer {}  {}  {}", i + 1, l.short_diff_id, docker_size(l.size)),
            l.created_by.clone(),
        );
    }

    let vy = 56 + stack_h + 16;
    let vol_h = 40 + 40 * x.volumes.len().max(1) as u32;
    s.rect(rx, vy, rw, vol_h, "vol");
    s.text(rx + 12, vy + 20, rw - 24, "volumes (lesson 08): bind mounts", "head");
    if x.volumes.is_empty() {
        s.text(rx + 12, vy + 44, rw - 24, "none", "small");
    }
    for (i, v) in x.volumes.iter().enumerate() {
        let y = vy + 44 + 40 * i as u32;
        s.text(
            rx + 12,
            y,
            rw - 24,
            &format!("{} → {} ({}, {})", short(&v.host_path), v.destination, v.kind, v.mode),
            "b",
        );
        let same = if v.same_inode { "the same inode" } else { "DIFFERENT inodes" };
        s.text(
            rx + 12,
            y + 18,
            rw - 24,
            &format!("inode {} = inode {} inside: {same}", v.host_inode, v.container_inode),
            "small",
        );
    }
    let right_bottom = vy + vol_h;

    // Bottom: the network path, from a client on the host to the process.
    let ny = left_bottom.max(right_bottom) + 16;
    let n = &x.network;
    let net_h = 120;
    s.rect(20, ny, W - 40, net_h, "net");
    s.text(32, ny + 20, W - 64, &format!("network (lesson 05): --network {}", n.mode), "head");
    match &n.bridge {
        None => s.text(
            32,
            ny + 50,
            W - 64,
            "no veth of its own: it uses the network namespace it was given",
            "",
        ),
        Some(b) => {
            // Where the first published port's packets are sent: `--to-destination IP:PORT`.
            let dnat_to = b
                .dnat
                .first()
                .and_then(|r| r.split("--to-destination ").nth(1))
                .unwrap_or("(no -p)")
                .to_string();
            let ports = if b.ports.is_empty() { "no -p".to_string() } else { b.ports.join(", ") };
            let boxes = [
                ("client on the host", ports),
                ("nat: DNAT", format!("→ {}", dnat_to)),
                (b.host_veth_master.as_str(), format!("bridge, gw {}", b.gateway)),
                (b.host_veth.as_str(), format!("veth, ifindex {}", b.host_veth_ifindex)),
                ("eth0 (its netns)", b.address.clone()),
            ];
            let bw = 176;
            for (i, (top, bottom)) in boxes.iter().enumerate() {
                let bx = 32 + i as u32 * (bw + 16);
                s.rect(bx, ny + 32, bw, 44, "hop");
                s.text(bx + 8, ny + 50, bw - 16, top, "b");
                s.text(bx + 8, ny + 68, bw - 16, bottom, "small");
                if i > 0 {
                    s.arrow(bx - 16, ny + 54, bx - 2, ny + 54);
                }
            }
            let rule = b.dnat.first().map_or("no DNAT rule".into(), |r| short(r));
            s.text(32, ny + 100, W - 64, &rule, "small");
        }
    }
    let h = ny + net_h + 20;

    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img" aria-labelledby="t">
<title id="t">minidocker xray of container {name} ({id})</title>
<defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>
<style>
text {{ font-family: {FONTS}; font-size: 13px; fill: #222; white-space: pre; }}
.title {{ font-size: 18px; font-weight: bold; }}
.head {{ font-weight: bold; fill: #234; }}
.b {{ font-weight: bold; }}
.small {{ font-size: 12px; fill: #444; }}
.own {{ fill: #17692e; }}
.shared {{ fill: #9a5b00; }}
rect {{ stroke: #666; stroke-width: 1; }}
.ns {{ fill: #f3f7ff; stroke-dasharray: 6 4; }}
.proc {{ fill: #ffffff; }}
.cg {{ fill: #fff8ee; }}
.fs {{ fill: #f7f7f7; }}
.rw {{ fill: #e3f5e1; }}
.init {{ fill: #fdf6d3; }}
.img {{ fill: #e4ecf7; }}
.vol {{ fill: #f4ecfa; }}
.net {{ fill: #eef8f8; }}
.hop {{ fill: #ffffff; }}
.track {{ fill: #eeeeee; rx: 3; }}
.fill {{ fill: #4a90d9; stroke: none; rx: 3; }}
.hot {{ fill: #d9534f; }}
.arrow {{ stroke: #555; stroke-width: 1.5; }}
</style>
<rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff" stroke="none"/>
{body}</svg>
"##,
        name = escape(&c.name),
        id = c.short_id,
        body = s.0
    )
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & 'c' \"d\">"), "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;");
    }
}
