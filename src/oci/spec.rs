//! The OCI runtime spec's `config.json`, the parts engines send (containerd, Docker, Podman):
//! our own serde types, a few hundred lines instead of the `oci-spec` crate's thousands.
//! Fields we do not know are skipped by serde; fields we know but cannot honour are refused
//! by [`Spec::check`] with one clear line, never silently ignored.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Spec {
    pub oci_version: String,
    pub process: Option<Process>,
    pub root: Option<Root>,
    pub hostname: Option<String>,
    pub mounts: Vec<Mount>,
    pub hooks: Hooks,
    pub annotations: BTreeMap<String, String>,
    pub linux: Linux,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Process {
    pub terminal: bool,
    pub user: User,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// The AppArmor profile the command runs under (Docker sends `docker-default` on hosts
    /// that have AppArmor).
    pub apparmor_profile: String,
    /// An SELinux label: not supported, refused by [`Spec::check`].
    pub selinux_label: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32>,
}

/// Capability names (`CAP_CHOWN`, …) in each of the five sets.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub inheritable: Vec<String>,
    pub permitted: Vec<String>,
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Root {
    pub path: String,
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Hook {
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds.
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Linux {
    pub namespaces: Vec<Namespace>,
    pub uid_mappings: Vec<Value>,
    pub gid_mappings: Vec<Value>,
    pub cgroups_path: Option<String>,
    pub resources: Option<Resources>,
    pub sysctl: BTreeMap<String, String>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub rootfs_propagation: Option<String>,
    /// Docker's JSON seccomp format without `includes`/`excludes`: read by the library's
    /// [`crate::seccomp::from_docker_json`].
    pub seccomp: Option<Value>,
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Resources {
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Memory {
    pub limit: Option<i64>,
    pub swap: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub period: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Pids {
    pub limit: i64,
}

/// A device node to make in the container's `/dev`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Device {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub major: u64,
    pub minor: u64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The namespace types of the spec, with what `clone(2)` calls them.
pub const NAMESPACE_TYPES: [(&str, crate::namespaces::Namespace); 7] = {
    use crate::namespaces::Namespace as N;
    [
        ("pid", N::Pid),
        ("network", N::Net),
        ("mount", N::Mount),
        ("ipc", N::Ipc),
        ("uts", N::Uts),
        ("cgroup", N::Cgroup),
        ("user", N::User),
    ]
};

impl Spec {
    /// `BUNDLE/config.json`, read and checked.
    pub fn load(bundle: &Path) -> crate::Result<Spec> {
        let path = bundle.join("config.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}: is --bundle a bundle?", path.display()))?;
        let spec: Spec = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a valid OCI config: {e}", path.display()))?;
        spec.check()?;
        Ok(spec)
    }

    /// Refuse what we cannot honour, one line each.
    pub fn check(&self) -> crate::Result<()> {
        let process = self.process.as_ref().context("config.json has no \"process\"")?;
        anyhow::ensure!(!process.args.is_empty(), "config.json: process.args is empty");
        anyhow::ensure!(
            self.root.as_ref().is_some_and(|r| !r.path.is_empty()),
            "config.json has no \"root\": {{\"path\": …}}"
        );
        for ns in &self.linux.namespaces {
            let Some((_, kind)) = NAMESPACE_TYPES.iter().find(|(n, _)| *n == ns.kind) else {
                bail!(
                    "config.json: unknown namespace type {:?} (pid, network, mount, ipc, uts, cgroup, user)",
                    ns.kind
                );
            };
            if *kind == crate::namespaces::Namespace::User {
                bail!("config.json: user namespaces are not supported by minidocker-runc yet");
            }
            if *kind == crate::namespaces::Namespace::Pid && ns.path.is_some() {
                bail!("config.json: joining a PID namespace by path is not supported by minidocker-runc yet");
            }
        }
        anyhow::ensure!(
            self.linux.uid_mappings.is_empty() && self.linux.gid_mappings.is_empty(),
            "config.json: uidMappings/gidMappings (user namespaces) are not supported by minidocker-runc yet"
        );
        for (what, hooks) in [
            ("createContainer", &self.hooks.create_container),
            ("startContainer", &self.hooks.start_container),
        ] {
            anyhow::ensure!(
                hooks.is_empty(),
                "config.json: {what} hooks are not supported by minidocker-runc yet"
            );
        }
        // A confinement asked for and not applied would be a silent hole: apply it or refuse.
        anyhow::ensure!(
            process.selinux_label.is_empty(),
            "config.json: process.selinuxLabel {:?}: SELinux labels are not supported by \
             minidocker-runc",
            process.selinux_label
        );
        anyhow::ensure!(
            process.apparmor_profile.is_empty() || apparmor_enabled(),
            "config.json: process.apparmorProfile {:?}, but AppArmor is not enabled on this host \
             (/sys/module/apparmor/parameters/enabled)",
            process.apparmor_profile
        );
        for m in &self.mounts {
            anyhow::ensure!(
                m.destination.starts_with('/'),
                "config.json: mount destination {:?} is not an absolute path",
                m.destination
            );
        }
        for key in self.linux.sysctl.keys() {
            self.check_sysctl(key)?;
        }
        if let Some(caps) = &process.capabilities {
            for name in caps.bounding.iter().chain(&caps.effective).chain(&caps.permitted) {
                anyhow::ensure!(
                    crate::container::security::cap_number(name).is_some(),
                    "config.json: unknown capability {name:?}"
                );
            }
        }
        Ok(())
    }

    /// A sysctl is written inside the container: only one its own namespace holds, or it
    /// would change the host's kernel (runc refuses the same).
    fn check_sysctl(&self, key: &str) -> crate::Result<()> {
        use crate::namespaces::Namespace as N;
        let new = |ns| self.namespaces().any(|(n, path)| n == ns && path.is_none());
        let ipc = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem"];
        let ns = if key.starts_with("net.") {
            Some(N::Net)
        } else if ipc.contains(&key)
            || key.starts_with("kernel.shm")
            || key.starts_with("fs.mqueue.")
        {
            Some(N::Ipc)
        } else if key == "kernel.hostname" || key == "kernel.domainname" {
            Some(N::Uts)
        } else {
            None
        };
        match ns {
            Some(ns) if new(ns) => Ok(()),
            Some(ns) => bail!(
                "config.json: sysctl {key} needs a {} namespace of the container's own",
                ns.file()
            ),
            None => bail!(
                "config.json: sysctl {key} is not namespaced: it would change the host's kernel"
            ),
        }
    }

    pub fn process(&self) -> &Process {
        self.process.as_ref().expect("checked by Spec::check")
    }

    /// The root filesystem, relative paths taken from the bundle.
    pub fn rootfs(&self, bundle: &Path) -> PathBuf {
        bundle.join(&self.root.as_ref().expect("checked by Spec::check").path)
    }

    /// Is a namespace of this kind in the config (new, or joined by path)?
    pub fn has_namespace(&self, ns: crate::namespaces::Namespace) -> bool {
        self.namespaces().any(|(n, _)| n == ns)
    }

    /// The config's namespaces, with the path to join (or `None`: a new one).
    pub fn namespaces(&self) -> impl Iterator<Item = (crate::namespaces::Namespace, Option<&str>)> {
        self.linux.namespaces.iter().filter_map(|ns| {
            let kind = NAMESPACE_TYPES.iter().find(|(n, _)| *n == ns.kind)?.1;
            Some((kind, ns.path.as_deref().filter(|p| !p.is_empty())))
        })
    }

    /// The seccomp profile, for a process with these capabilities.
    pub fn seccomp(&self, caps: &[&str]) -> crate::Result<Option<crate::seccomp::Profile>> {
        let Some(v) = &self.linux.seccomp else { return Ok(None) };
        let profile = crate::seccomp::from_docker_json(&v.to_string(), caps)
            .context("config.json: linux.seccomp")?;
        Ok(Some(profile))
    }
}

/// Is AppArmor on in this kernel? (What runc asks too.)
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.starts_with('Y'))
}
