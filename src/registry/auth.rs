//! Authentication, as registries ask for it and Docker answers.
//!
//! A registry that wants credentials answers `401 Unauthorized` with a challenge:
//!
//! - `WWW-Authenticate: Basic realm="…"`: every request carries
//!   `Authorization: Basic base64(user:password)` (a registry behind an htpasswd file);
//! - `WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`:
//!   the client asks the token server at `realm` for a token —
//!   `GET realm?service=…&scope=repository:NAME:pull[,push]` (one `scope` per repository),
//!   anonymously or with `Authorization: Basic …` and `account=USER` when logged in — and sends
//!   it as `Authorization: Bearer TOKEN`. The answer is JSON, `{"token": …, "expires_in": …}`
//!   (`access_token` in the OAuth2 spelling). This is Docker Hub's flow.
//!
//! `login` stores credentials in `$MINIDOCKER_ROOT/auth.json` (default
//! `/var/lib/minidocker/auth.json`), next to the rest of minidocker's state, which is root's:
//! the file is Docker's `config.json` format (`{"auths": {"REGISTRY": {"auth": "base64(user:password)"}}}`),
//! mode 0600, replaced atomically (written to a temporary file, then renamed). Like Docker
//! without a credential helper, the password is stored unencrypted, and `login` says so.

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A user name and password (or access token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <password>)", self.username)
    }
}

impl Credentials {
    /// The value of an `Authorization` header for Basic authentication.
    pub fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.username, self.password)))
    }
}

// ---- challenges -------------------------------------------------------------------------------

/// One challenge of a `WWW-Authenticate` header: its scheme (lowercased) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parse a `WWW-Authenticate` value (RFC 7235): `Scheme name=value, name="quoted, value", …`,
/// possibly several challenges separated by commas.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let b = header.as_bytes();
    let mut i = 0;
    let token_end = |mut j: usize| {
        while j < b.len() && !matches!(b[j], b' ' | b'\t' | b',' | b'=') {
            j += 1;
        }
        j
    };
    let skip_ws = |mut j: usize| {
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        j
    };
    while i < b.len() {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let end = token_end(i);
        let word = &header[i..end];
        let after = skip_ws(end);
        if after < b.len() && b[after] == b'=' && !out.is_empty() && !word.is_empty() {
            // name=value (a token68 of a challenge like `Basic abc==` also lands here; ignored)
            let mut j = skip_ws(after + 1);
            let mut value = String::new();
            if j < b.len() && b[j] == b'"' {
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' && j + 1 < b.len() {
                        j += 1;
                    }
                    let c = header[j..].chars().next().unwrap();
                    value.push(c);
                    j += c.len_utf8();
                }
                j += 1;
            } else {
                let e = token_end(j);
                value.push_str(&header[j..e]);
                j = e;
            }
            out.last_mut().unwrap().params.insert(word.to_ascii_lowercase(), value);
            i = j;
        } else if word.is_empty() {
            i = end + 1;
        } else {
            out.push(Challenge { scheme: word.to_ascii_lowercase(), params: BTreeMap::new() });
            i = end;
        }
    }
    out
}

/// A token server's answer.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    pub fn bearer(&self) -> Option<&str> {
        self.token.as_deref().or(self.access_token.as_deref()).filter(|t| !t.is_empty())
    }
}

// ---- the credentials file --------------------------------------------------------------------

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    /// Anything else a user put there is kept.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    auth: String,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// `$MINIDOCKER_ROOT/auth.json`.
pub fn credentials_path() -> PathBuf {
    crate::image::store::default_root().join("auth.json")
}

/// The key a registry's credentials are stored under: the registry as references name it
/// (`docker.io`, `127.0.0.1:5000`). Docker's spellings of Docker Hub, a scheme or a path are
/// accepted: `https://index.docker.io/v1/` is `docker.io`.
pub fn registry_key(server: &str) -> String {
    let s = server.trim();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        ""
        | "docker.io"
        | "index.docker.io"
        | "registry-1.docker.io"
        | "registry.hub.docker.com" => super::DOCKER_HUB.to_string(),
        _ => host,
    }
}

fn read_file(path: &Path) -> crate::Result<AuthFile> {
    match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(AuthFile::default()),
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a credentials file (JSON with \"auths\")", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Replace the file atomically: a 0600 temporary file beside it, synced, renamed over it.
fn write_file(path: &Path, file: &AuthFile) -> crate::Result<()> {
    let dir = path.parent().context("the credentials file has no directory")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // The mode above is masked by the umask; this makes it exactly 0600 even for a file
        // a crash left behind.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(&serde_json::to_vec_pretty(file)?)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok::<_, anyhow::Error>(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// The stored credentials for `registry`, if any.
pub fn load(registry: &str) -> crate::Result<Option<Credentials>> {
    load_from(&credentials_path(), registry)
}

pub fn load_from(path: &Path, registry: &str) -> crate::Result<Option<Credentials>> {
    let key = registry_key(registry);
    let file = read_file(path)?;
    let Some(entry) = file.auths.iter().find(|(k, _)| registry_key(k) == key).map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if entry.auth.is_empty() {
        return Ok(None);
    }
    let decoded = STANDARD.decode(entry.auth.trim()).ok().and_then(|b| String::from_utf8(b).ok());
    let Some((username, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        bail!(
            "the credentials for {key} in {} are not base64(user:password); log in again",
            path.display()
        );
    };
    Ok(Some(Credentials { username: username.into(), password: password.into() }))
}

/// Store credentials for `registry`, replacing the old ones. Returns the file's path.
pub fn store(registry: &str, creds: &Credentials) -> crate::Result<PathBuf> {
    let path = credentials_path();
    store_in(&path, registry, creds)?;
    Ok(path)
}

pub fn store_in(path: &Path, registry: &str, creds: &Credentials) -> crate::Result<()> {
    let key = registry_key(registry);
    let mut file = read_file(path)?;
    file.auths.retain(|k, _| registry_key(k) != key);
    let auth = STANDARD.encode(format!("{}:{}", creds.username, creds.password));
    file.auths.insert(key, AuthEntry { auth, extra: Default::default() });
    write_file(path, &file)
}

/// Forget the credentials for `registry`; false when there were none.
pub fn erase(registry: &str) -> crate::Result<bool> {
    erase_in(&credentials_path(), registry)
}

pub fn erase_in(path: &Path, registry: &str) -> crate::Result<bool> {
    let key = registry_key(registry);
    let mut file = read_file(path)?;
    let before = file.auths.len();
    file.auths.retain(|k, _| registry_key(k) != key);
    if file.auths.len() == before {
        return Ok(false);
    }
    write_file(path, &file)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(c[0].param("scope"), Some("repository:library/busybox:pull,push"));

        let c = parse_challenges(r#"Basic realm="basic-realm""#);
        assert_eq!((c[0].scheme.as_str(), c[0].param("realm")), ("basic", Some("basic-realm")));

        let c = parse_challenges(
            r#"Basic realm="a \"quoted\" realm", Bearer realm=http://x/token, error=insufficient_scope"#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some(r#"a "quoted" realm"#));
        assert_eq!(c[1].param("realm"), Some("http://x/token"));
        assert_eq!(c[1].param("error"), Some("insufficient_scope"));
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn keys() {
        for hub in [
            "docker.io",
            "https://index.docker.io/v1/",
            "registry-1.docker.io",
            "",
            "INDEX.docker.io",
        ] {
            assert_eq!(registry_key(hub), "docker.io", "{hub:?}");
        }
        assert_eq!(registry_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    }

    #[test]
    fn the_file_round_trips_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("minidocker-auth-unit-{}", std::process::id()));
        let path = dir.join("auth.json");
        let alice = Credentials { username: "alice".into(), password: "p:a:ss".into() };
        store_in(&path, "127.0.0.1:5000", &alice).unwrap();
        store_in(
            &path,
            "https://index.docker.io/v1/",
            &Credentials { username: "bob".into(), password: "x".into() },
        )
        .unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load_from(&path, "127.0.0.1:5000").unwrap(), Some(alice));
        assert_eq!(load_from(&path, "docker.io").unwrap().unwrap().username, "bob");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""docker.io""#) && text.contains(r#""auths""#), "{text}");
        assert!(erase_in(&path, "docker.io").unwrap());
        assert!(!erase_in(&path, "docker.io").unwrap());
        assert_eq!(load_from(&path, "docker.io").unwrap(), None);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        fs::remove_dir_all(&dir).unwrap();
    }
}
