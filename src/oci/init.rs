//! Inside the container, before its command: the config's mounts on the rootfs, the switch of
//! root, the hostname and sysctls — and for every process, the container's first one or an
//! `exec`'s, [`enter_process`]: limits, user, capabilities, working directory, seccomp.

use super::spec::{Mount, Process, Spec};
use crate::container::security;
use crate::mounts;
use crate::rooted::Root;
use crate::{process, rootfs, sys};
use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::mount::MsFlags;
use std::path::{Path, PathBuf};

/// A mount's options as mount(2) takes them: flags, the propagation to set after it, and
/// the rest as the filesystem's data string.
struct Options {
    flags: MsFlags,
    /// Flags that a bind mount takes only by a second, remounting call (`ro`, `nosuid`, …).
    remount: MsFlags,
    propagation: MsFlags,
    data: Vec<String>,
}

fn options(opts: &[String]) -> Options {
    let mut o = Options {
        flags: MsFlags::empty(),
        remount: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
    };
    for opt in opts {
        let (set, clear) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, false),
            "rw" => (MsFlags::MS_RDONLY, true),
            "nosuid" => (MsFlags::MS_NOSUID, false),
            "suid" => (MsFlags::MS_NOSUID, true),
            "nodev" => (MsFlags::MS_NODEV, false),
            "dev" => (MsFlags::MS_NODEV, true),
            "noexec" => (MsFlags::MS_NOEXEC, false),
            "exec" => (MsFlags::MS_NOEXEC, true),
            "sync" => (MsFlags::MS_SYNCHRONOUS, false),
            "async" => (MsFlags::MS_SYNCHRONOUS, true),
            "noatime" => (MsFlags::MS_NOATIME, false),
            "atime" => (MsFlags::MS_NOATIME, true),
            "nodiratime" => (MsFlags::MS_NODIRATIME, false),
            "diratime" => (MsFlags::MS_NODIRATIME, true),
            "relatime" => (MsFlags::MS_RELATIME, false),
            "norelatime" => (MsFlags::MS_RELATIME, true),
            "strictatime" => (MsFlags::MS_STRICTATIME, false),
            "nostrictatime" => (MsFlags::MS_STRICTATIME, true),
            "bind" => (MsFlags::MS_BIND, false),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, false),
            p => {
                match propagation(p) {
                    Some(f) => o.propagation |= f,
                    None => o.data.push(p.to_string()),
                }
                continue;
            }
        };
        if clear {
            o.flags.remove(set);
        } else {
            o.flags |= set;
            o.remount |= set & !(MsFlags::MS_BIND | MsFlags::MS_REC);
        }
    }
    o
}

/// `rprivate`, `shared`, … as mount(2) flags.
fn propagation(name: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// The container's filesystem, in its new mount namespace: propagation, the config's mounts
/// (resolved inside the rootfs), `/dev`'s nodes, the masked and read-only paths, then
/// `pivot_root` (exercise 03's `switch_root`) and a read-only root if asked.
pub fn filesystem(spec: &Spec, rootfs: &Path, bundle: &Path, no_pivot: bool) -> crate::Result<()> {
    let root_prop = match spec.linux.rootfs_propagation.as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => propagation(p).with_context(|| format!("unknown rootfsPropagation {p:?}"))?,
    };
    sys::mount(None, Path::new("/"), None, root_prop, None)?;
    // The rootfs a mount point of its own (pivot_root needs one), what is mounted below it
    // included.
    let r = rootfs.to_string_lossy();
    sys::mount(Some(&r), rootfs, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
    let root = Root::new(rootfs)?;
    for m in &spec.mounts {
        mount_one(&root, rootfs, m, bundle)
            .with_context(|| format!("mounting {}", m.destination))?;
    }
    if spec.mounts.iter().any(|m| m.destination == "/dev") {
        rootfs::enter::populate_dev(&rootfs.join("dev"))?;
    }
    for d in &spec.linux.devices {
        make_device(rootfs, d)?;
    }
    if no_pivot {
        sys::chdir(rootfs)?;
        sys::mount(Some("."), Path::new("/"), None, MsFlags::MS_MOVE, None)?;
        nix::unistd::chroot(".").map_err(|e| sys::failure("chroot(\".\")", e))?;
        sys::chdir(Path::new("/"))?;
    } else {
        (rootfs::RULES.switch_root)(rootfs)?;
    }
    Ok(())
}

/// After the switch of root and the sysctls (which write into `/proc/sys`), as runc: the
/// read-only and masked paths (`/dev/null` is the container's own now), and a read-only root.
pub fn protect(spec: &Spec) -> crate::Result<()> {
    // Read-only first, then the masks: runc's order.
    let none: &[String] = &[];
    rootfs::enter::protect_kernel_files(Path::new("/"), none, &spec.linux.readonly_paths)?;
    rootfs::enter::protect_kernel_files(Path::new("/"), &spec.linux.masked_paths, none)?;
    if spec.root.as_ref().is_some_and(|r| r.readonly) {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        sys::mount(None, Path::new("/"), None, ro, None)?;
    }
    Ok(())
}

/// A node of `linux.devices` in the container's `/dev`, with its mode and owner.
fn make_device(rootfs: &Path, d: &super::spec::Device) -> crate::Result<()> {
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};
    let kind = match d.kind.as_str() {
        "c" | "u" => SFlag::S_IFCHR,
        "b" => SFlag::S_IFBLK,
        "p" => SFlag::S_IFIFO,
        k => bail!("linux.devices: {}: type {k:?} (c, u, b, p)", d.path),
    };
    let path = rootfs.join(d.path.trim_start_matches('/'));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mode = Mode::from_bits_truncate(d.file_mode.unwrap_or(0o666));
    mknod(&path, kind, mode, makedev(d.major, d.minor))
        .map_err(|e| sys::failure(&format!("mknod({})", d.path), e))?;
    // mknod's mode passes through the umask.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode.bits()))?;
    let uid = d.uid.map(nix::unistd::Uid::from_raw);
    let gid = d.gid.map(nix::unistd::Gid::from_raw);
    nix::unistd::chown(&path, uid, gid).map_err(|e| sys::failure("chown(a device node)", e))
}

fn mount_one(root: &Root, rootfs: &Path, m: &Mount, bundle: &Path) -> crate::Result<()> {
    let o = options(&m.options);
    let kind = m.kind.as_deref().unwrap_or("");
    let bind = o.flags.contains(MsFlags::MS_BIND) || kind == "bind";
    let source = m.source.clone().unwrap_or_default();
    if kind == "cgroup" {
        return cgroup_mount(root, rootfs, m, o.flags.contains(MsFlags::MS_RDONLY));
    }
    let host_source = if bind { bundle.join(&source) } else { PathBuf::from(&source) };
    let file = bind && host_source.metadata().is_ok_and(|m| !m.is_dir());
    if bind && !host_source.exists() {
        bail!("the bind mount's source {} does not exist", host_source.display());
    }
    let target = mounts::mount_point(root, &m.destination, file)?;
    let at = crate::rooted::fd_path(&target);
    let data = o.data.join(",");
    if bind {
        let flags = MsFlags::MS_BIND | (o.flags & MsFlags::MS_REC);
        sys::mount(Some(&host_source.to_string_lossy()), &at, None, flags, None)?;
        // The descriptor is the directory below the new mount: a second call names the path.
        let at = rootfs.join(root.relative(&target)?);
        if !o.remount.is_empty() {
            // A bind mount takes its flags (ro, nosuid, …) by a second call.
            let again = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | o.remount;
            sys::mount(None, &at, None, again, None)?;
        }
    } else {
        let data = (!data.is_empty()).then_some(data.as_str());
        sys::mount(Some(&source), &at, Some(kind), o.flags, data)?;
    }
    if !o.propagation.is_empty() {
        let at = rootfs.join(root.relative(&target)?);
        sys::mount(None, &at, None, o.propagation, None)?;
    }
    Ok(())
}

/// A `cgroup` mount, as runc makes it without a cgroup namespace: a tmpfs, and in it this
/// process's own group of each hierarchy, bind-mounted under the hierarchy's name (on a pure
/// v2 host: the v2 group itself, right there).
fn cgroup_mount(root: &Root, rootfs: &Path, m: &Mount, read_only: bool) -> crate::Result<()> {
    let layout = crate::cgroups::Layout::detect()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let target = mounts::mount_point(root, &m.destination, false)?;
    let at = crate::rooted::fd_path(&target);
    let ro = if read_only { MsFlags::MS_RDONLY } else { MsFlags::empty() };
    let nosuid = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let group_of = |controllers: &str| {
        own.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, c, p) = (f.next()?, f.next()?, f.next()?);
            (c == controllers).then(|| p.trim_start_matches('/').to_string())
        })
    };
    let pure_v2 = layout.hierarchies.len() == 1;
    if pure_v2 {
        let h = &layout.hierarchies[0];
        let dir = h.mountpoint.join(group_of("").unwrap_or_default());
        sys::mount(Some(&dir.to_string_lossy()), &at, None, MsFlags::MS_BIND, None)?;
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | nosuid | ro;
        return sys::mount(None, &rootfs.join(root.relative(&target)?), None, flags, None);
    }
    sys::mount(Some("tmpfs"), &at, Some("tmpfs"), nosuid, Some("mode=755"))?;
    let inside = root.relative(&target)?;
    // A hybrid host's v2 hierarchy is left out, as runc leaves it.
    for h in layout.hierarchies.iter().filter(|h| h.version == crate::cgroups::Version::V1) {
        let Some(name) = h.mountpoint.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let mut key = h.controllers.clone();
        key.sort();
        let key = key.join(",");
        let group =
            group_of(&key).or_else(|| group_of(&format!("name={name}"))).unwrap_or_default();
        let dir = h.mountpoint.join(group);
        let sub = mounts::mount_point(root, &inside.join(&name).to_string_lossy(), false)?;
        let sub_at = crate::rooted::fd_path(&sub);
        sys::mount(Some(&dir.to_string_lossy()), &sub_at, None, MsFlags::MS_BIND, None)?;
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | nosuid | ro;
        sys::mount(None, &rootfs.join(root.relative(&sub)?), None, flags, None)?;
        // `cpu,cpuacct` is also reachable as `cpu` and `cpuacct`.
        if name.contains(',') {
            for alias in name.split(',') {
                let link = crate::rooted::fd_path(&root.open_dir(&inside)?).join(alias);
                let _ = std::os::unix::fs::symlink(&name, link);
            }
        }
    }
    // The tmpfs itself stays writable, as runc leaves it.
    Ok(())
}

/// The sysctls of the config, written into this process's `/proc/sys` (after the switch of
/// root: the container's own).
pub fn sysctls(spec: &Spec) -> crate::Result<()> {
    for (key, value) in &spec.linux.sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        sys::write_file(&path, value).with_context(|| format!("sysctl {key}={value}"))?;
    }
    Ok(())
}

/// The resource limits of `setrlimit(2)`, by the spec's names.
fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

/// Become the config's process, last thing before `execve`: resource limits, the user and
/// groups, the five capability sets, the working directory, no_new_privs, seccomp. `ready`
/// runs once all of that is done (and the command is known to exist) and before a seccomp
/// filter that no_new_privs lets in last: the init tells `create` it is ready there, and
/// waits for `start`.
pub fn enter_process(
    p: &Process,
    seccomp: Option<&crate::seccomp::Profile>,
    ready: &dyn Fn() -> crate::Result<()>,
) -> crate::Result<()> {
    for r in &p.rlimits {
        let res =
            rlimit_resource(&r.kind).with_context(|| format!("unknown rlimit {:?}", r.kind))?;
        let lim = libc::rlimit { rlim_cur: r.soft, rlim_max: r.hard };
        // SAFETY: setrlimit with a resource number and a struct we own.
        let rc = unsafe { libc::setrlimit(res, &lim) };
        Errno::result(rc).map_err(|e| {
            let why = match e {
                Errno::EPERM => {
                    "raising a hard limit needs CAP_SYS_RESOURCE, which this runtime lacks"
                }
                e => e.desc(),
            };
            anyhow::anyhow!("setrlimit({}, soft {}, hard {}): {why}", r.kind, r.soft, r.hard)
        })?;
    }
    if let Some(adj) = p.oom_score_adj {
        sys::write_file(Path::new("/proc/self/oom_score_adj"), &adj.to_string())?;
    }
    // The AppArmor profile takes effect at the execve of the command: asked for now, while
    // this process may still write its own attr/exec (as runc's ApplyProfile).
    if !p.apparmor_profile.is_empty() {
        let request = format!("exec {}", p.apparmor_profile);
        sys::write_file(Path::new("/proc/self/attr/apparmor/exec"), &request)
            .or_else(|_| sys::write_file(Path::new("/proc/self/attr/exec"), &request))
            .with_context(|| format!("applying the AppArmor profile {:?}", p.apparmor_profile))?;
    }
    // Without no_new_privs, the kernel takes a filter only from a process with CAP_SYS_ADMIN:
    // now, before the capabilities go (as runc does).
    if let (false, Some(profile)) = (p.no_new_privileges, seccomp) {
        crate::seccomp::install_filter(profile)?;
    }
    let u = &p.user;
    let gids: Vec<nix::unistd::Gid> =
        u.additional_gids.iter().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
    nix::unistd::setgroups(&gids).map_err(|e| sys::failure("setgroups", e))?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(u.gid))
        .map_err(|e| sys::failure("setgid", e))?;
    // Keep the permitted set across the change of uid; capset below decides what stays.
    // SAFETY: prctl with plain integer arguments.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })
        .map_err(|e| sys::failure("prctl(PR_SET_KEEPCAPS, 1)", e))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(u.uid))
        .map_err(|e| sys::failure("setuid", e))?;
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    if let Some(umask) = u.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    }
    let caps = p.capabilities.clone().unwrap_or_default();
    security::keep_bounding(security::cap_mask(&caps.bounding))?;
    security::capset(
        security::cap_mask(&caps.effective),
        security::cap_mask(&caps.permitted),
        security::cap_mask(&caps.inheritable),
    )?;
    // An ambient capability must be permitted and inheritable; one that is not stays out,
    // as runc leaves it (with a warning nobody reads).
    for cap in caps.ambient.iter().filter_map(|n| security::cap_number(n)) {
        // SAFETY: prctl with plain integer arguments.
        unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap as u64, 0, 0) };
    }
    let cwd = if p.cwd.is_empty() { "/" } else { &p.cwd };
    sys::chdir(Path::new(cwd)).with_context(|| format!("process.cwd {cwd}"))?;
    if p.no_new_privileges {
        // SAFETY: prctl with plain integer arguments.
        Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
            .map_err(|e| sys::failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    }
    // No PATH in the environment is an empty one, as for runc: only a path runs then.
    let path = p.env.iter().find_map(|v| v.strip_prefix("PATH=")).unwrap_or("");
    let cmd = &p.args[0];
    anyhow::ensure!(
        process::look_path(cmd, path).is_some_and(|c| {
            use std::os::unix::ffi::OsStrExt;
            Path::new(std::ffi::OsStr::from_bytes(c.as_bytes())).exists()
        }),
        "exec: {cmd:?}: executable file not found in $PATH"
    );
    ready()?;
    if let (true, Some(profile)) = (p.no_new_privileges, seccomp) {
        crate::seccomp::install_filter(profile)?;
    }
    Ok(())
}
