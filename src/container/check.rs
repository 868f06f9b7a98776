//! `minidocker system check`, the containers' part: each container's files, its image and
//! layers in the store, and what a process killed with -9 left of it on the host (a cgroup,
//! a frozen freezer, a veth, an address, a mount). See [`crate::image::check`] for the two
//! kinds of finding.

use super::run::cgroup_name;
use super::state::{self, process_alive, ContainerConfig, State, Status};
use crate::cgroups::Layout;
use crate::files::read_json;
use crate::image::check::Finding;
use crate::image::store::User;
use crate::image::Store;
use std::fs;
use std::path::Path;

/// Every container of the store as a user of its image, for `rmi` ([`Store::remove`]).
pub fn image_users(store: &Store) -> crate::Result<Vec<User>> {
    let mut users = Vec::new();
    for c in state::list(store)? {
        let Ok(image) = crate::image::Digest::parse(&c.config.image_id) else { continue };
        let status = if c.running() { "running" } else { "stopped" };
        let flag = if c.running() { " -f" } else { "" };
        users.push(User {
            image,
            what: format!("{status} container {} ({})", c.config.name, c.short_id()),
            remedy: format!("remove it first (minidocker rm{flag} {})", c.config.name),
        });
    }
    Ok(users)
}

/// Check every container; with `fix`, clear what a crash left. The caller holds the store's
/// lock, so no container is being created meanwhile.
pub fn check(store: &Store, fix: bool) -> crate::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let layout = Layout::detect().ok();
    let Ok(entries) = fs::read_dir(state::containers_dir(store)) else { return Ok(out) };
    for e in entries.flatten() {
        let dir = e.path();
        let id = e.file_name().to_string_lossy().into_owned();
        // Files being rewritten (`state.json` is written as `state.tmp<PID>`, then renamed).
        out.extend(crate::image::check::half_written(&dir, fix));
        if !dir.join("config.json").exists() {
            let mut f = Finding::leftover(format!(
                "container {}: a directory without config.json, left by a create or rm that was killed",
                short(&id)
            ));
            if fix {
                f.fix(store.trash(&dir).map(|_| "removed".into()));
            }
            out.push(f);
            continue;
        }
        let config: ContainerConfig = match read_json(&dir.join("config.json")) {
            Ok(c) => c,
            Err(e) => {
                out.push(Finding::problem(format!("container {}: {e:#}", short(&id))));
                continue;
            }
        };
        let state: State = match read_json(&dir.join("state.json")) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding::problem(format!("container {}: {e:#}", config.name)));
                State::default()
            }
        };
        // Running, or being started or ended by its monitor: its cgroup and veth are in use.
        let active = (state.status == Status::Running && process_alive(state.pid, state.pid_start))
            || process_alive(state.monitor, 0);
        check_files(store, &dir, &config, &mut out);
        if let Some(layout) = &layout {
            check_cgroup(layout, &dir, &config, active, fix, &mut out);
        }
        if !active {
            check_network(store, &config.id, &config.name, fix, &mut out);
        }
    }
    check_mounts(store, fix, &mut out);
    Ok(out)
}

/// The container's image and layers in the store, and its own layers on disk.
fn check_files(store: &Store, dir: &Path, c: &ContainerConfig, out: &mut Vec<Finding>) {
    if store.resolve(&c.image_id).is_err() {
        out.push(Finding::problem(format!(
            "container {}: its image {} ({}) is no longer in the store",
            c.name, c.image_name, c.image_id
        )));
    }
    for d in &c.diff_ids {
        if !store.has_layer(d) {
            out.push(Finding::problem(format!(
                "container {}: layer {} of its image is missing from the store — remove the container (minidocker rm -f {})",
                c.name,
                d.short(),
                c.name
            )));
        }
    }
    for sub in ["init", "upper", "work"] {
        if !dir.join("rootfs").join(sub).is_dir() {
            out.push(Finding::problem(format!(
                "container {}: rootfs/{sub} is missing — remove the container (minidocker rm -f {})",
                c.name, c.name
            )));
        }
    }
}

/// A freeze a killed commit left; the cgroup of a container that is not running.
fn check_cgroup(
    layout: &Layout,
    dir: &Path,
    c: &ContainerConfig,
    active: bool,
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let name = cgroup_name(&c.id);
    let marker = state::freeze_marker(dir);
    if crate::cgroups::freezer::abandoned(&marker) {
        let mut f = Finding::leftover(format!(
            "container {}: frozen by a commit that was killed (any command that reads the container thaws it)",
            c.name
        ));
        if fix {
            f.fix(
                crate::cgroups::freezer::thaw_abandoned(layout, &name, &marker)
                    .map(|_| "thawed".into()),
            );
        }
        out.push(f);
    }
    if active {
        return;
    }
    for h in &layout.hierarchies {
        let cg = h.mountpoint.join(&name);
        if cg.is_dir() {
            let mut f = Finding::leftover(format!(
                "container {}: its cgroup {} is left although it does not run",
                c.name,
                cg.display()
            ));
            if fix {
                let _ = crate::cgroups::freezer::thaw(layout, &name);
                f.fix(match fs::remove_dir(&cg) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                    _ => Ok("removed".into()),
                });
            }
            out.push(f);
        }
    }
}

/// A veth or an address of a container that does not run: its monitor was killed.
fn check_network(store: &Store, id: &str, name: &str, fix: bool, out: &mut Vec<Finding>) {
    let veth = crate::network::host_veth_name(id);
    let mut left = Vec::new();
    if Path::new("/sys/class/net").join(&veth).exists() {
        left.push(format!("veth {veth}"));
    }
    let mut bridges = Vec::new();
    for b in fs::read_dir(store.root().join("network")).into_iter().flatten().flatten() {
        let bridge = b.file_name().to_string_lossy().into_owned();
        let ips = crate::network::ips_dir(store.root(), &bridge);
        for (ip, holder) in crate::network::ipam::allocated(&ips) {
            if holder.trim() == id {
                left.push(format!("address {ip} on {bridge}"));
                bridges.push(bridge.clone());
            }
        }
    }
    if left.is_empty() {
        return;
    }
    let mut f = Finding::leftover(format!(
        "container {name}: does not run but still has its {}",
        left.join(", ")
    ));
    if fix {
        f.fix((|| {
            let mut cfg = crate::network::Config::from_env()?;
            if let Some(b) = bridges.first() {
                cfg.bridge = b.clone();
            }
            crate::network::cleanup_container(&cfg, store.root(), id)?;
            Ok("removed".into())
        })());
    }
    out.push(f);
}

/// Mounts under the store seen on the host: containers and builds mount only in mount
/// namespaces of their own, gone with their process.
fn check_mounts(store: &Store, fix: bool, out: &mut Vec<Finding>) {
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = store.root().to_string_lossy().into_owned();
    for line in table.lines() {
        let Some(point) = line.split(' ').nth(4) else { continue };
        if !point.starts_with(&format!("{root}/")) {
            continue;
        }
        let mut f = Finding::problem(format!("{point} is mounted on the host"));
        if fix {
            f.fix(
                crate::sys::umount2(Path::new(point), nix::mount::MntFlags::MNT_DETACH)
                    .map(|_| "unmounted".into()),
            );
        }
        out.push(f);
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
