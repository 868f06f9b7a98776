//! The cgroup v2 code path, on this host.
//!
//! The machines here are hybrid: cpu, memory and pids are bound to v1, and the v2 hierarchy
//! (`/sys/fs/cgroup/unified`) has no controllers. So the v2 path is tested twice: the files it
//! writes against a directory laid out like a v2 cgroupfs, and the parts that need no
//! controller (mkdir, cgroup.procs, cpu.stat usage, rmdir) against the real v2 hierarchy.
//! A pure-v2 kernel runs the whole path for real in the VM suite (scripts/vm-test).

mod common;
use minidocker::cgroups::{limits, Cgroup, Controller, Layout, Limits, Version};
use minidocker::process;
use nix::sched::CloneFlags;
use std::path::{Path, PathBuf};

fn fake_v2_root(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("minidocker-fakecg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
    root
}

#[test]
fn v2_limits_are_written_as_v2_files() {
    let root = fake_v2_root("limits");
    let layout = Layout::v2_at(&root, &["cpu", "memory", "pids"]);
    let limits = Limits { cpus: Some(0.5), memory: Some(64 << 20), pids: Some(20) };
    let cg = Cgroup::create(&layout, "minidocker/t1", &limits.controllers()).unwrap();
    let dir = root.join("minidocker/t1");
    assert_eq!(cg.dir(Controller::Pids).unwrap(), dir);
    assert_eq!(cg.version(Controller::Memory).unwrap(), Version::V2);
    assert_eq!(
        cg.dirs(),
        std::slice::from_ref(&dir),
        "v2 is one hierarchy: one directory for all controllers"
    );
    limits.apply(&cg, &minidocker::cgroups::RULES).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read("cpu.max"), "50000 100000");
    assert_eq!(read("memory.max"), (64u64 << 20).to_string());
    assert_eq!(read("pids.max"), "20");
    // No v1 file appears.
    assert!(!dir.join("cpu.cfs_quota_us").exists() && !dir.join("memory.limit_in_bytes").exists());
    // Each controller was switched on in the root's and in minidocker/'s subtree_control.
    let switched: Vec<(PathBuf, String)> =
        cg.written().into_iter().filter(|(p, _)| p.ends_with("cgroup.subtree_control")).collect();
    for c in ["cpu", "memory", "pids"] {
        for parent in [root.clone(), root.join("minidocker")] {
            assert!(
                switched.contains(&(parent.join("cgroup.subtree_control"), format!("+{c}"))),
                "+{c} not written in {}: {switched:?}",
                parent.display()
            );
        }
    }
    // A plain directory is not a cgroupfs: empty it so the group's rmdir can succeed.
    for f in ["cpu.max", "memory.max", "pids.max"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    cg.destroy().unwrap();
    assert!(!dir.exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn v2_swap_is_capped_when_the_kernel_accounts_it() {
    let root = fake_v2_root("swap");
    let layout = Layout::v2_at(&root, &["memory"]);
    let cg = Cgroup::create(&layout, "t2", &[Controller::Memory]).unwrap();
    let dir = root.join("t2");
    std::fs::write(dir.join("memory.swap.max"), "max").unwrap();
    (minidocker::cgroups::RULES.limit_memory)(&cg, 1 << 20).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("memory.swap.max")).unwrap(), "0");
    std::fs::write(dir.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n").unwrap();
    assert_eq!(limits::oom_kills(&cg).unwrap(), 1);
    for f in ["memory.swap.max", "memory.max", "memory.events"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    cg.destroy().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn v2_controller_missing_is_one_clear_error() {
    let root = fake_v2_root("missing");
    let layout = Layout::v2_at(&root, &["memory"]);
    let err = Cgroup::create(&layout, "t3", &[Controller::Memory, Controller::Pids])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cgroup controller 'pids' is not available"), "{err}");
    // The memory part made before the error is gone again.
    assert!(!root.join("t3").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

/// The real cgroup2 mount of this host.
fn real_v2() -> Option<PathBuf> {
    let layout = Layout::detect().ok()?;
    layout.hierarchies.iter().find(|h| h.version == Version::V2).map(|h| h.mountpoint.clone())
}

#[test]
fn real_v2_hierarchy_groups_counts_and_removes() {
    if !common::have_root("real_v2_hierarchy_groups_counts_and_removes") {
        return;
    }
    let mnt = real_v2().expect("this host has no cgroup2 mount");
    // CPU accounting needs no controller on v2: cpu.stat exists in every group.
    let layout = Layout::v2_at(&mnt, &[]);
    let name = format!("minidocker/test-v2-{}", std::process::id());
    let cg = Cgroup::create(&layout, &name, &[Controller::Cpuacct]).unwrap();
    let dir = mnt.join(&name);
    assert!(dir.join("cgroup.procs").exists(), "{} is not a real cgroup", dir.display());
    let burn = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done".into(),
    ];
    let (child, gate) = process::spawn(CloneFlags::empty(), &|| Ok(()), &burn).unwrap();
    cg.add(child.pid()).unwrap();
    assert_eq!(cg.procs(), vec![child.pid()]);
    gate.open().unwrap();
    assert!(child.wait().unwrap().success());
    let used = limits::cpu_usage(&cg).unwrap();
    assert!(used.as_millis() > 10, "cpu.stat usage_usec did not count the child: {used:?}");
    cg.destroy().unwrap();
    assert!(!dir.exists());
    assert!(!Path::new(&dir).exists());
}

/// `minidocker xray` reads a container's limits and usage from the v2 files (`cpu.max`,
/// `memory.max`, `memory.current`, `memory.peak`, `pids.*`, `cpu.stat`) of its own group in
/// the unified hierarchy, found from the `0::` line of `/proc/PID/cgroup`.
#[test]
fn xray_reads_limits_and_usage_from_v2_files() {
    let root = fake_v2_root("xray");
    let id = "ab".repeat(32);
    let dir = root.join("minidocker").join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in [
        ("cpu.max", "50000 100000\n"),
        ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"),
        ("memory.max", "67108864\n"),
        ("memory.current", "21286912\n"),
        ("memory.peak", "22000000\n"),
        ("pids.max", "max\n"),
        ("pids.current", "3\n"),
    ] {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let layout = Layout::v2_at(&root, &["cpu", "memory", "pids"]);
    let proc_cgroup = format!("0::/minidocker/{id}\n");
    let info =
        minidocker::xray::cgroup::read_in(&layout, &proc_cgroup, &id, std::time::Duration::ZERO);
    assert_eq!(info.limits.cpus, Some(0.5));
    assert_eq!(info.limits.memory_bytes, Some(64 << 20));
    assert_eq!(info.limits.pids_max, None, "pids.max says max: unlimited");
    assert_eq!(info.usage.memory_current, Some(21286912));
    assert_eq!(info.usage.memory_peak, Some(22000000));
    assert_eq!(info.usage.pids_current, Some(3));
    assert_eq!(info.usage.cpu_usage_ns, Some(1_500_000));
    assert_eq!(info.sources["memory_bytes"], dir.join("memory.max").display().to_string());
    // A process in another group is not this container's: nothing is read there.
    let elsewhere = minidocker::xray::cgroup::read_in(
        &layout,
        "0::/user.slice\n",
        &id,
        std::time::Duration::ZERO,
    );
    assert_eq!(elsewhere.limits.memory_bytes, None);
    std::fs::remove_dir_all(&root).unwrap();
}

/// The device rules on v2: an eBPF program attached to the group, proven on the real v2
/// hierarchy (the BPF hook works there on a hybrid host too): a node of /dev/kmsg can be
/// made (mknod is allowed) but not opened; /dev/null still can.
#[test]
fn real_v2_device_program_refuses_host_devices() {
    if !common::have_root("real_v2_device_program_refuses_host_devices") {
        return;
    }
    use minidocker::cgroups::devices;
    let mnt = real_v2().expect("this host has no cgroup2 mount");
    let layout = Layout::v2_at(&mnt, &[]);
    let name = format!("minidocker/test-dev-{}", std::process::id());
    let cg = Cgroup::create(&layout, &name, &[Controller::Devices]).unwrap();
    assert_eq!(cg.version(Controller::Devices).unwrap(), Version::V2);
    devices::apply(&cg, &devices::DEFAULT_RULES).unwrap();
    let dir = std::env::temp_dir().join(format!("minidocker-devtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "mknod {d}/kmsg c 1 11 || exit 10; echo ok > /dev/null || exit 11; \
         head -c 1 /dev/urandom > /dev/null || exit 12; \
         if echo x 2>{d}/err > {d}/kmsg; then exit 13; fi; exit 0",
        d = dir.display()
    );
    let argv = vec!["/bin/sh".to_string(), "-c".into(), script];
    let (child, gate) = process::spawn(CloneFlags::empty(), &|| Ok(()), &argv).unwrap();
    cg.add(child.pid()).unwrap();
    gate.open().unwrap();
    let exit = child.wait().unwrap();
    let err = std::fs::read_to_string(dir.join("err")).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    cg.destroy().unwrap();
    assert!(
        exit.success(),
        "{exit:?} (10 mknod refused, 11/12 null/urandom refused, 13 kmsg opened)"
    );
    assert!(err.contains("Operation not permitted"), "opening the kmsg node: {err}");
}
