//! One repository on one registry, over the distribution API:
//!
//! | request | what for |
//! |---|---|
//! | `GET /v2/` | the "ping": is this a registry, and which authentication does it want? |
//! | `GET`/`HEAD /v2/NAME/manifests/REF` | a manifest or an image index, by tag or digest (`Accept` lists what we read) |
//! | `PUT /v2/NAME/manifests/TAG` | push a manifest (its `Content-Type` is its media type) |
//! | `GET`/`HEAD /v2/NAME/blobs/DIGEST` | a blob (the registry may redirect to storage elsewhere) / does it exist? |
//! | `POST /v2/NAME/blobs/uploads/` | start an upload; `?mount=DIGEST&from=OTHER` asks to reuse another repository's blob |
//! | `PUT LOCATION?digest=DIGEST` | the whole blob in one request (a "monolithic" upload) |
//!
//! Every request carries the `Authorization` the registry asked for; a `401` on the way (an
//! expired token, a scope the token lacks) is answered once by authenticating again and
//! repeating the request.

use super::auth::{self, Challenge, Credentials, TokenResponse};
use crate::image::oci::{self, Descriptor};
use crate::image::{Digest, Reference};
use anyhow::{anyhow, bail, ensure, Context};
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ureq::config::AutoHeaderValue;
use ureq::http::{header, Method, Request, Response, StatusCode};
use ureq::{Agent, Body, SendBody};

/// What we read, in the `Accept` of manifest requests: OCI and Docker v2 manifests and indexes.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
/// The largest manifest we accept (Docker's limit too).
pub const MANIFEST_LIMIT: u64 = 4 << 20;
const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// A request body: none, bytes (which can be sent again after authenticating), or a stream
/// of a known length (which cannot).
pub enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
    Stream(&'a mut dyn Read, u64),
}

/// How requests are authenticated right now.
#[derive(Default)]
struct AuthState {
    header: Option<String>,
    /// The Bearer challenge the token came from, to get another one when it expires.
    bearer: Option<Challenge>,
    expires: Option<Instant>,
    /// Scopes registries asked for on the way, beyond the client's own.
    more_scopes: Vec<String>,
}

pub struct Client {
    agent: Agent,
    registry: String,
    base: String,
    repository: String,
    /// `familiar/name` for messages.
    name: String,
    scopes: Vec<String>,
    creds: Option<Credentials>,
    auth: Mutex<AuthState>,
}

/// A manifest or index as the registry sent it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The `Content-Type`, or the document's own `mediaType`.
    pub media_type: String,
    pub digest: Digest,
}

/// What `POST …/blobs/uploads/` gave.
pub enum Upload {
    /// The blob was mounted from another repository: nothing to send.
    Mounted,
    /// An upload session: send the blob to this URL.
    Session(String),
}

/// The HTTP agent all registry requests go through: no transparent decompression (blobs are
/// hashed as sent), no `Authorization` carried across redirects, statuses handled here.
pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .accept_encoding(AutoHeaderValue::None)
        .user_agent(concat!("minidocker/", env!("CARGO_PKG_VERSION")))
        .max_redirects(10)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(300)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// `repository:NAME:ACTIONS`, the scope a token is asked for.
pub fn scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

impl Client {
    /// A client for `registry`/`repository`, with the credentials `login` stored, if any.
    /// `actions` is `pull` or `pull,push`; `extra_scopes` are other repositories' scopes a
    /// token should cover too (the sources of cross-repository mounts). Pings the registry.
    pub fn new(
        registry: &str,
        repository: &str,
        actions: &str,
        extra_scopes: &[String],
    ) -> crate::Result<Client> {
        let creds = auth::load(registry)?;
        let mut scopes = vec![scope(repository, actions)];
        scopes.extend(extra_scopes.iter().cloned());
        Client::with_credentials(registry, repository, scopes, creds)
    }

    pub fn with_credentials(
        registry: &str,
        repository: &str,
        scopes: Vec<String>,
        creds: Option<Credentials>,
    ) -> crate::Result<Client> {
        let name = Reference {
            registry: registry.into(),
            repository: repository.into(),
            tag: None,
            digest: None,
        }
        .familiar_name();
        let client = Client {
            agent: agent(),
            registry: registry.into(),
            base: super::base_url(registry),
            repository: repository.into(),
            name,
            scopes,
            creds,
            auth: Mutex::new(AuthState::default()),
        };
        client.ping()?;
        Ok(client)
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `http://127.0.0.1:5000`, `https://registry-1.docker.io`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repository)
    }

    /// `GET /v2/`: 200 needs no authentication, 401 says which.
    fn ping(&self) -> crate::Result<()> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send(&Method::GET, &url, &[], &mut Payload::Empty, None)?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            401 => self.authenticate(&challenges(&resp)),
            404 => {
                bail!("{} does not serve the registry API: GET {url} answered 404", self.registry)
            }
            _ => Err(self.status_error(&format!("reaching the registry {}", self.registry), resp)),
        }
    }

    /// Answer a challenge: a token for our scopes (and the one the challenge names), or Basic
    /// credentials.
    fn authenticate(&self, challenges: &[Challenge]) -> crate::Result<()> {
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let mut state = self.auth.lock().unwrap();
            if let Some(s) = bearer.param("scope") {
                if !self.scopes.iter().chain(&state.more_scopes).any(|have| have == s) {
                    state.more_scopes.push(s.to_string());
                }
            }
            let scopes: Vec<String> =
                self.scopes.iter().chain(&state.more_scopes).cloned().collect();
            let token =
                fetch_token(&self.agent, &self.registry, bearer, &scopes, self.creds.as_ref())?;
            let bearer_token = token.bearer().context("the token server's answer has no token")?;
            // Tokens live 60 s unless the server says otherwise; renew a little early.
            let life = Duration::from_secs(token.expires_in.unwrap_or(60).max(10));
            state.header = Some(format!("Bearer {bearer_token}"));
            state.expires = Some(Instant::now() + life - Duration::from_secs(5));
            state.bearer = Some(Challenge {
                params: bearer
                    .params
                    .iter()
                    .filter(|(k, _)| *k != "scope" && *k != "error")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..bearer.clone()
            });
            Ok(())
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            let creds = self.creds.as_ref().ok_or_else(|| {
                anyhow!("{}: authentication required and no credentials stored (log in with `minidocker login {}`)", self.registry, self.registry)
            })?;
            self.auth.lock().unwrap().header = Some(creds.basic());
            Ok(())
        } else {
            let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
            bail!(
                "{}: authentication required with a scheme minidocker does not speak ({})",
                self.registry,
                if schemes.is_empty() {
                    "no WWW-Authenticate challenge".into()
                } else {
                    schemes.join(", ")
                }
            )
        }
    }

    /// The `Authorization` to send, renewing an expired token first.
    fn authorization(&self) -> crate::Result<Option<String>> {
        let expired = {
            let state = self.auth.lock().unwrap();
            match (&state.bearer, state.expires) {
                (Some(c), Some(t)) if Instant::now() >= t => Some(c.clone()),
                _ => None,
            }
        };
        if let Some(challenge) = expired {
            self.authenticate(&[challenge])?;
        }
        Ok(self.auth.lock().unwrap().header.clone())
    }

    /// One request, without the retry.
    fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        payload: &mut Payload,
        auth: Option<&str>,
    ) -> crate::Result<Response<Body>> {
        let mut b = Request::builder().method(method.clone()).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        let result = match payload {
            Payload::Empty => self.agent.run(b.body(())?),
            Payload::Bytes(bytes) => {
                self.agent.run(b.header(header::CONTENT_LENGTH, bytes.len()).body(*bytes)?)
            }
            Payload::Stream(r, len) => self
                .agent
                .run(b.header(header::CONTENT_LENGTH, *len).body(SendBody::from_reader(*r))?),
        };
        result.map_err(|e| transport_error(e, &self.registry, url))
    }

    /// A request, authenticated; a `401` is answered by authenticating again and repeating
    /// it, when its body can be sent again.
    pub fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        mut payload: Payload,
    ) -> crate::Result<Response<Body>> {
        let auth = self.authorization()?;
        let resp = self.send(&method, url, headers, &mut payload, auth.as_deref())?;
        if resp.status() != StatusCode::UNAUTHORIZED || matches!(payload, Payload::Stream(..)) {
            return Ok(resp);
        }
        let ch = challenges(&resp);
        if ch.is_empty() {
            return Ok(resp);
        }
        self.authenticate(&ch)?;
        let auth = self.authorization()?;
        self.send(&method, url, headers, &mut payload, auth.as_deref())
    }

    /// An error for an unexpected answer: the registry's own words (`{"errors": [{code,
    /// message}]}`), the status, and what to do about a refusal.
    pub fn status_error(&self, what: &str, resp: Response<Body>) -> anyhow::Error {
        let status = resp.status();
        let text =
            resp.into_body().with_config().limit(64 << 10).read_to_string().unwrap_or_default();
        let detail = registry_errors(&text).unwrap_or_else(|| {
            let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            if first.is_empty() || first.starts_with('<') {
                status.canonical_reason().unwrap_or("error").to_lowercase()
            } else {
                first.chars().take(200).collect()
            }
        });
        let hint = match (status.as_u16(), &self.creds) {
            (401 | 403, None) => format!("; log in with `minidocker login {}`", self.registry),
            (401, Some(c)) => format!(
                "; the credentials of {} stored by `minidocker login` were not accepted",
                c.username
            ),
            _ => String::new(),
        };
        anyhow!("{what}: {detail} (HTTP {}{hint})", status.as_u16())
    }

    // ---- manifests ------------------------------------------------------------------------

    /// `GET` a manifest or index by tag or digest; a digest fetched is checked.
    pub fn get_manifest(&self, reference: &str) -> crate::Result<Fetched> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp =
            self.request(Method::GET, &url, &[("Accept", MANIFEST_ACCEPT)], Payload::Empty)?;
        let at = if reference.starts_with("sha256:") {
            format!("{}@{reference}", self.name)
        } else {
            format!("{}:{reference}", self.name)
        };
        match resp.status().as_u16() {
            200 => {}
            404 => return Err(self.status_error(&format!("manifest for {at} not found"), resp)),
            _ => return Err(self.status_error(&format!("fetching the manifest of {at}"), resp)),
        }
        let content_type = header_str(&resp, "content-type")
            .map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        let claimed = header_str(&resp, DOCKER_CONTENT_DIGEST);
        let bytes = resp
            .into_body()
            .with_config()
            .limit(MANIFEST_LIMIT)
            .read_to_vec()
            .map_err(|e| anyhow!("reading the manifest of {at}: {e}"))?;
        let digest = Digest::of(&bytes);
        if reference.starts_with("sha256:") {
            ensure!(
                digest.as_str() == reference,
                "the manifest of {at} does not match its digest (got {digest}) — refused"
            );
        }
        if let Some(c) = claimed.filter(|c| c.starts_with("sha256:")) {
            ensure!(c == digest.as_str(), "the registry says the manifest of {at} is {c} but its content is {digest} — refused");
        }
        let media_type = media_type_of(&bytes, content_type.as_deref());
        Ok(Fetched { bytes, media_type, digest })
    }

    /// `HEAD` a manifest: its digest, or `None` when the registry has no such tag.
    pub fn head_manifest(&self, reference: &str) -> crate::Result<Option<Digest>> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp =
            self.request(Method::HEAD, &url, &[("Accept", MANIFEST_ACCEPT)], Payload::Empty)?;
        match resp.status().as_u16() {
            200 => {
                Ok(header_str(&resp, DOCKER_CONTENT_DIGEST).and_then(|d| Digest::parse(&d).ok()))
            }
            404 => Ok(None),
            _ => Err(self.status_error(
                &format!("checking the manifest of {}:{reference}", self.name),
                resp,
            )),
        }
    }

    /// `PUT` a manifest under a tag; returns the digest the registry says it stored, if said.
    pub fn put_manifest(
        &self,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> crate::Result<Option<Digest>> {
        let url = self.url(&format!("manifests/{tag}"));
        let resp = self.request(
            Method::PUT,
            &url,
            &[("Content-Type", media_type)],
            Payload::Bytes(bytes),
        )?;
        if !resp.status().is_success() {
            return Err(
                self.status_error(&format!("pushing the manifest of {}:{tag}", self.name), resp)
            );
        }
        Ok(header_str(&resp, DOCKER_CONTENT_DIGEST).and_then(|d| Digest::parse(&d).ok()))
    }

    // ---- blobs ----------------------------------------------------------------------------

    /// `HEAD` a blob: does the repository have it?
    pub fn blob_exists(&self, digest: &Digest) -> crate::Result<bool> {
        let resp =
            self.request(Method::HEAD, &self.url(&format!("blobs/{digest}")), &[], Payload::Empty)?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self
                .status_error(&format!("checking blob {} in {}", digest.short(), self.name), resp)),
        }
    }

    /// `GET` a blob, following redirects (without our `Authorization`, which is for the
    /// registry only). The body is to be read — and verified — by the caller.
    pub fn get_blob(&self, digest: &Digest) -> crate::Result<Response<Body>> {
        let resp =
            self.request(Method::GET, &self.url(&format!("blobs/{digest}")), &[], Payload::Empty)?;
        if resp.status() != StatusCode::OK {
            return Err(self.status_error(
                &format!("downloading blob {} of {}", digest.short(), self.name),
                resp,
            ));
        }
        Ok(resp)
    }

    /// A small blob (an image config) into memory, checked against its descriptor.
    pub fn fetch_blob(&self, desc: &Descriptor, limit: u64) -> crate::Result<Vec<u8>> {
        ensure!(
            desc.size <= limit,
            "blob {} is {} bytes, more than the {limit} expected of it — refused",
            desc.digest,
            desc.size
        );
        let resp = self.get_blob(&desc.digest)?;
        let bytes = resp
            .into_body()
            .with_config()
            .limit(desc.size + 1)
            .read_to_vec()
            .map_err(|e| anyhow!("downloading blob {}: {e}", desc.digest.short()))?;
        ensure!(
            bytes.len() as u64 == desc.size,
            "blob {} has {} bytes where its descriptor says {} — truncated or wrong, refused",
            desc.digest,
            bytes.len(),
            desc.size
        );
        let got = Digest::of(&bytes);
        ensure!(
            got == desc.digest,
            "blob {} does not match its digest (got {got}) — refused",
            desc.digest
        );
        Ok(bytes)
    }

    /// `POST …/blobs/uploads/`, asking to mount `digest` from repository `from` when given.
    pub fn start_upload(&self, mount: Option<(&Digest, &str)>) -> crate::Result<Upload> {
        let mut url = self.url("blobs/uploads/");
        if let Some((d, from)) = mount {
            url.push_str(&format!("?mount={}&from={}", encode(d.as_str()), encode(from)));
        }
        let resp = self.request(Method::POST, &url, &[], Payload::Bytes(b""))?;
        match resp.status().as_u16() {
            201 if mount.is_some() => Ok(Upload::Mounted),
            202 => {
                let loc = header_str(&resp, "location")
                    .context("the registry started an upload without saying where (no Location)")?;
                Ok(Upload::Session(self.absolute(&loc)))
            }
            _ => Err(self.status_error(&format!("starting an upload to {}", self.name), resp)),
        }
    }

    /// Send a whole blob to an upload session, `PUT LOCATION?digest=…`; the registry checks
    /// the digest and refuses a blob that does not match.
    pub fn finish_upload(
        &self,
        session: &str,
        desc: &Descriptor,
        src: &mut dyn Read,
    ) -> crate::Result<()> {
        let sep = if session.contains('?') { '&' } else { '?' };
        let url = format!("{session}{sep}digest={}", encode(desc.digest.as_str()));
        let payload = Payload::Stream(src, desc.size);
        let resp = self.request(
            Method::PUT,
            &url,
            &[("Content-Type", "application/octet-stream")],
            payload,
        )?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(
                &format!("uploading blob {} to {}", desc.digest.short(), self.name),
                resp,
            ));
        }
        Ok(())
    }

    /// A `Location` the registry gave, as a full URL.
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            format!("{}/{location}", self.base)
        }
    }
}

/// Ask a token server for a Bearer token, as Docker does: `GET realm?service=…&scope=…`,
/// with `account=USER` and Basic credentials when logged in.
pub fn fetch_token(
    agent: &Agent,
    registry: &str,
    challenge: &Challenge,
    scopes: &[String],
    creds: Option<&Credentials>,
) -> crate::Result<TokenResponse> {
    let realm = challenge.param("realm").filter(|r| !r.is_empty()).with_context(|| {
        format!("{registry} asked for a Bearer token without saying where to get one (no realm)")
    })?;
    ensure!(
        realm.starts_with("https://") || realm.starts_with("http://"),
        "{registry} names a token server that is not an http(s) URL: {realm:?}"
    );
    let mut req = agent.get(realm);
    if let Some(s) = challenge.param("service") {
        req = req.query("service", s);
    }
    for s in scopes {
        req = req.query("scope", s);
    }
    if let Some(c) = creds {
        req = req.query("account", &c.username).header(header::AUTHORIZATION, c.basic());
    }
    let resp = req.call().map_err(|e| transport_error(e, registry, realm))?;
    let status = resp.status().as_u16();
    match status {
        200 => {}
        401 | 403 if creds.is_some() => bail!("{registry}: unauthorized: incorrect username or password (the token server {realm} answered {status})"),
        401 | 403 => bail!("{registry}: the token server {realm} refuses anonymous access (HTTP {status}); log in with `minidocker login {registry}`"),
        _ => bail!("{registry}: the token server {realm} answered HTTP {status}"),
    }
    let token: TokenResponse = resp
        .into_body()
        .with_config()
        .limit(1 << 20)
        .read_json()
        .map_err(|e| anyhow!("{registry}: the token server {realm} sent no token JSON: {e}"))?;
    ensure!(token.bearer().is_some(), "{registry}: the token server {realm} sent no token");
    Ok(token)
}

/// Check credentials against a registry, as `login` does: Basic by a request to `/v2/`,
/// Bearer by asking the token server for a token (with no scope). A registry that asks for
/// no authentication accepts anything.
pub fn check_login(registry: &str, creds: &Credentials) -> crate::Result<()> {
    let agent = agent();
    let url = format!("{}/v2/", super::base_url(registry));
    let get = |auth: Option<String>| {
        let mut r = agent.get(&url);
        if let Some(a) = auth {
            r = r.header(header::AUTHORIZATION, a);
        }
        r.call().map_err(|e| transport_error(e, registry, &url))
    };
    let resp = get(None)?;
    match resp.status().as_u16() {
        200..=299 => return Ok(()),
        401 => {}
        404 => bail!("{registry} does not serve the registry API: GET {url} answered 404"),
        s => bail!("{registry}: GET {url} answered HTTP {s}"),
    }
    let ch = challenges(&resp);
    if let Some(bearer) = ch.iter().find(|c| c.scheme == "bearer") {
        fetch_token(&agent, registry, bearer, &[], Some(creds))?;
        return Ok(());
    }
    ensure!(
        ch.iter().any(|c| c.scheme == "basic"),
        "{registry}: asks for an authentication scheme minidocker does not speak"
    );
    match get(Some(creds.basic()))?.status().as_u16() {
        200..=299 => Ok(()),
        401 | 403 => bail!("{registry}: unauthorized: incorrect username or password"),
        s => bail!("{registry}: GET {url} with credentials answered HTTP {s}"),
    }
}

fn challenges(resp: &Response<Body>) -> Vec<Challenge> {
    resp.headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(auth::parse_challenges)
        .collect()
}

fn header_str(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn transport_error(e: ureq::Error, registry: &str, url: &str) -> anyhow::Error {
    let url = url.split('?').next().unwrap_or(url);
    anyhow!("cannot reach {registry} ({url}): {e}")
}

/// The registry's error document, `{"errors": [{"code": "MANIFEST_UNKNOWN", "message": …}]}`,
/// as Docker prints it: `manifest unknown: manifest unknown`.
fn registry_errors(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let errs = v.get("errors")?.as_array()?;
    let parts: Vec<String> = errs
        .iter()
        .map(|e| {
            let code = e
                .get("code")
                .and_then(|c| c.as_str())
                .unwrap_or("error")
                .to_lowercase()
                .replace('_', " ");
            match e.get("message").and_then(|m| m.as_str()).filter(|m| !m.is_empty()) {
                Some(m) => format!("{code}: {m}"),
                None => code,
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A manifest's media type: the `Content-Type` when it names one we know, else the
/// document's `mediaType`, else guessed from its fields.
pub fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> String {
    let known = [oci::MANIFEST, oci::INDEX, oci::DOCKER_MANIFEST, oci::DOCKER_LIST];
    if let Some(ct) = content_type.filter(|c| {
        known.contains(c) || c.starts_with("application/vnd.docker.distribution.manifest.v1")
    }) {
        return ct.to_string();
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(mt) = v.get("mediaType").and_then(|m| m.as_str()) {
        return mt.to_string();
    }
    if v.get("manifests").is_some() {
        oci::INDEX.into()
    } else if v.get("schemaVersion").and_then(|s| s.as_u64()) == Some(1) {
        "application/vnd.docker.distribution.manifest.v1+json".into()
    } else {
        oci::MANIFEST.into()
    }
}

/// Percent-encode a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents() {
        let t = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#;
        assert_eq!(registry_errors(t).as_deref(), Some("manifest unknown: manifest unknown"));
        let t = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"},{"code":"DENIED"}]}"#;
        assert_eq!(
            registry_errors(t).as_deref(),
            Some("unauthorized: authentication required; denied")
        );
        assert_eq!(registry_errors("<html>"), None);
    }

    #[test]
    fn media_types() {
        assert_eq!(media_type_of(b"{}", Some(oci::DOCKER_MANIFEST)), oci::DOCKER_MANIFEST);
        assert_eq!(
            media_type_of(
                br#"{"mediaType":"application/vnd.oci.image.index.v1+json"}"#,
                Some("application/json")
            ),
            oci::INDEX
        );
        assert_eq!(media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#, None), oci::INDEX);
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"config":{},"layers":[]}"#, None),
            oci::MANIFEST
        );
        assert!(media_type_of(br#"{"schemaVersion":1}"#, None).contains("manifest.v1"));
        assert_eq!(encode("sha256:ab"), "sha256%3Aab");
        assert_eq!(encode("library/busybox"), "library/busybox");
    }
}
