//! The init layer (Init 层): the files every container needs to be *this* container —
//! `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf` — plus the mount points the runtime
//! covers (`/proc`, `/sys`, `/dev`). Docker keeps them in a layer of their own, `<id>-init`,
//! between the image and the read-write layer, so `docker commit` can leave them out: they
//! describe one container, not the image.

use std::fs;
use std::path::Path;

/// What goes into the init layer.
#[derive(Debug, Clone)]
pub struct InitFiles {
    pub hostname: String,
    /// The container's own address on its network, for `/etc/hosts`; none without a network.
    pub address: Option<String>,
    pub resolv_conf: String,
}

impl InitFiles {
    /// The files for a container called `hostname`, with the host's DNS servers.
    pub fn for_host(hostname: &str, address: Option<String>) -> InitFiles {
        let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        InitFiles {
            hostname: hostname.to_string(),
            address,
            resolv_conf: container_resolv_conf(&host),
        }
    }

    pub fn hosts(&self) -> String {
        let mut s =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if let Some(a) = &self.address {
            s += &format!("{a}\t{}\n", self.hostname);
        }
        s
    }

    /// The files, as (path inside the container, content).
    pub fn files(&self) -> [(&'static str, String); 3] {
        [
            ("etc/hostname", format!("{}\n", self.hostname)),
            ("etc/hosts", self.hosts()),
            ("etc/resolv.conf", self.resolv_conf.clone()),
        ]
    }

    // ANCHOR: write
    /// Write the layer into the empty directory `dir`.
    pub fn write(&self, dir: &Path) -> crate::Result<()> {
        for d in ["etc", "proc", "sys", "dev"] {
            fs::create_dir_all(dir.join(d))?;
        }
        for (path, content) in self.files() {
            fs::write(dir.join(path), content)?;
        }
        // As in Docker's init layer: programs that read /etc/mtab find the live mount table.
        std::os::unix::fs::symlink("/proc/mounts", dir.join("etc/mtab"))?;
        Ok(())
    }
    // ANCHOR_END: write
}

/// The host's resolv.conf without loopback name servers (127.0.0.53 and the like answer
/// on the host's loopback, which a container with its own network cannot reach). With none
/// left, public resolvers, as Docker does.
pub fn container_resolv_conf(host: &str) -> String {
    let loopback = |l: &str| {
        let mut w = l.split_whitespace();
        w.next() == Some("nameserver")
            && w.next().is_some_and(|a| a.starts_with("127.") || a == "::1")
    };
    let mut out: String = host.lines().filter(|l| !loopback(l)).map(|l| format!("{l}\n")).collect();
    if !out.lines().any(|l| l.trim_start().starts_with("nameserver")) {
        out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_replaced() {
        assert_eq!(
            container_resolv_conf("nameserver 127.0.0.53\noptions edns0\n"),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(
            container_resolv_conf("search lan\nnameserver 10.0.0.1\n"),
            "search lan\nnameserver 10.0.0.1\n"
        );
        let f = InitFiles {
            hostname: "4f1a2b3c4d5e".into(),
            address: Some("10.88.0.2".into()),
            resolv_conf: String::new(),
        };
        assert!(f.hosts().ends_with("10.88.0.2\t4f1a2b3c4d5e\n"));
    }
}
