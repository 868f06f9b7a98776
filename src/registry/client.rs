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
//! Every request to the registry carries the `Authorization` it asked for; a `401` on the way
//! (an expired token, a scope the token lacks) is answered once by authenticating again and
//! repeating the request.
//!
//! Credentials belong to one origin — the scheme, host and port that challenged — as Docker
//! and containerd have it: redirects are followed here, not by the HTTP library, so that an
//! upload `Location`, a blob redirect or a token server's redirect to another host:port never
//! gets them, while a redirect within the registry keeps them. Only `http` and `https`
//! locations are followed, and a `401` from another host is not answered with ours.

use super::auth::{self, Challenge, Credentials, TokenResponse};
use crate::image::oci::{self, Descriptor};
use crate::image::{Digest, Reference};
use crate::report::{printable, shorten};
use anyhow::{anyhow, bail, ensure, Context};
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ureq::config::AutoHeaderValue;
use ureq::http::{header, Method, Request, Response, StatusCode};
use ureq::{Agent, Body, ResponseExt, SendBody};

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
    /// The base's [`origin`]: the only one our `Authorization` is sent to.
    origin: String,
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
/// hashed as sent), statuses and redirects handled here ([`send`]).
pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .accept_encoding(AutoHeaderValue::None)
        .user_agent(concat!("minidocker/", env!("CARGO_PKG_VERSION")))
        .max_redirects(0)
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
        let base = super::base_url(registry);
        let client = Client {
            agent: agent(),
            registry: registry.into(),
            origin: origin(&base).with_context(|| format!("invalid registry {registry:?}"))?,
            base,
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

    /// One request, without the retry; our `Authorization` goes to the registry's origin only.
    fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        payload: &mut Payload,
        auth: Option<&str>,
    ) -> crate::Result<Response<Body>> {
        let auth = auth.map(|a| (self.origin.as_str(), a));
        send(&self.agent, &self.registry, method, url, headers, payload, auth)
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
        // A challenge from another host (a redirect's target) is not ours to answer.
        if ch.is_empty() || origin(&resp.get_uri().to_string()).as_ref() != Some(&self.origin) {
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
        let elsewhere = Some(resp.get_uri())
            .filter(|u| origin(&u.to_string()).as_ref() != Some(&self.origin))
            .and_then(|u| u.authority().map(|a| printable(a.as_str()).into_owned()));
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
            (401 | 403, _) if elsewhere.is_some() => format!(
                " from {}, where the registry redirected us; credentials are only sent to {}",
                elsewhere.unwrap_or_default(),
                self.registry
            ),
            (401 | 403, None) => format!("; log in with `minidocker login {}`", self.registry),
            (401, Some(c)) => format!(
                "; the credentials of {} stored by `minidocker login` were not accepted",
                c.username
            ),
            _ => String::new(),
        };
        anyhow!("{what}: {} (HTTP {}{hint})", printable(&shorten(&detail, 300)), status.as_u16())
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
            ensure!(c == digest.as_str(), "the registry says the manifest of {at} is {} but its content is {digest} — refused", printable(&c));
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
                Ok(Upload::Session(resolve(&self.base, &loc).context("starting an upload")?))
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
    let realm_origin = origin(realm).with_context(|| {
        format!("{registry} names a token server that is not an http(s) URL: {realm:?}")
    })?;
    let realm = printable(realm);
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = challenge.param("service") {
        query.push(("service", s));
    }
    query.extend(scopes.iter().map(|s| ("scope", s.as_str())));
    let basic = creds.map(|c| {
        query.push(("account", &c.username));
        c.basic()
    });
    let mut url = challenge.param("realm").unwrap_or_default().to_string();
    for (i, (k, v)) in query.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') { '?' } else { '&' };
        url.push_str(&format!("{sep}{k}={}", encode(v)));
    }
    // The registry that challenged named this server: it gets the credentials, its
    // redirects elsewhere do not.
    let auth = basic.as_deref().map(|b| (realm_origin.as_str(), b));
    let resp = send(agent, registry, &Method::GET, &url, &[], &mut Payload::Empty, auth)?;
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
    let own = origin(&url).with_context(|| format!("invalid registry {registry:?}"))?;
    let get = |auth: Option<String>| {
        let auth = auth.as_deref().map(|a| (own.as_str(), a));
        send(&agent, registry, &Method::GET, &url, &[], &mut Payload::Empty, auth)
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

/// `scheme://host:port` of an http(s) URL, the port made explicit: what credentials belong to.
pub fn origin(url: &str) -> Option<String> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = match (uri.port_u16(), scheme.as_str()) {
        (Some(p), "http" | "https") => p,
        (None, "http") => 80,
        (None, "https") => 443,
        _ => return None,
    };
    Some(format!("{scheme}://{}:{port}", uri.host()?.to_ascii_lowercase()))
}

/// Where a `Location` sent in answer to `base` points: an http(s) URL, a path on the same
/// host, or a path relative to `base`'s. Any other scheme (`file:`, …) is refused.
pub fn resolve(base: &str, location: &str) -> crate::Result<String> {
    let scheme = location.split_once(':').map(|(s, _)| s).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if let Some(scheme) = scheme {
        ensure!(
            ["http", "https"].contains(&scheme.to_ascii_lowercase().as_str()),
            "refused to follow the location {}: only http and https locations are followed",
            printable(&shorten(location, 200))
        );
        return Ok(location.to_string());
    }
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let root = base[after_scheme..].find(['/', '?', '#']).map_or(base.len(), |i| after_scheme + i);
    Ok(if let Some(rest) = location.strip_prefix("//") {
        format!("{}{rest}", &base[..after_scheme])
    } else if location.starts_with('/') {
        format!("{}{location}", &base[..root])
    } else {
        let path = &base[..base.find(['?', '#']).unwrap_or(base.len())];
        let dir = path[root..].rfind('/').map_or(root, |i| root + i + 1);
        let slash = if dir == root { "/" } else { "" };
        format!("{}{slash}{location}", &path[..dir])
    })
}

/// The most redirects one request follows (Go's and ureq's default too).
const MAX_REDIRECTS: usize = 10;

/// One request, following the redirects of a `GET` or `HEAD`: `auth` (an `Authorization`
/// and the [`origin`] it belongs to) goes to URLs of that origin only; a location that is
/// not http(s) is refused.
fn send(
    agent: &Agent,
    registry: &str,
    method: &Method,
    url: &str,
    headers: &[(&str, &str)],
    payload: &mut Payload,
    auth: Option<(&str, &str)>,
) -> crate::Result<Response<Body>> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let mut b = Request::builder().method(method.clone()).uri(&url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some((_, a)) = auth.filter(|(o, _)| origin(&url).as_deref() == Some(*o)) {
            b = b.header(header::AUTHORIZATION, a);
        }
        let result = match payload {
            Payload::Empty => agent.run(b.body(())?),
            Payload::Bytes(bytes) => {
                agent.run(b.header(header::CONTENT_LENGTH, bytes.len()).body(*bytes)?)
            }
            Payload::Stream(r, len) => {
                agent.run(b.header(header::CONTENT_LENGTH, *len).body(SendBody::from_reader(*r))?)
            }
        };
        let resp = result.map_err(|e| transport_error(e, registry, &url))?;
        let redirect = resp.status().is_redirection() && resp.status() != StatusCode::NOT_MODIFIED;
        if !redirect || !matches!(*method, Method::GET | Method::HEAD) {
            return Ok(resp);
        }
        let here = printable(url.split('?').next().unwrap_or(&url)).into_owned();
        let location = header_str(&resp, "location")
            .with_context(|| format!("{registry}: {here} redirects without a Location"))?;
        url = resolve(&url, &location).with_context(|| format!("{registry}: {here} redirects"))?;
    }
    bail!("{registry}: more than {MAX_REDIRECTS} redirects, the last to {}", printable(&url))
}

/// `GET url` into the new file `to` (`ADD <url>`): through the registry's client, with its
/// timeouts and its handling of redirects, at most `limit` bytes; on a failure the file is
/// removed. Returns the number of bytes written.
///
/// The transfer runs on a thread of its own, so that Ctrl-C stops it at once: the HTTP
/// library retries reads a signal interrupts until its read timeout (a minute) runs out.
pub fn download(url: &str, to: &std::path::Path, limit: u64) -> crate::Result<u64> {
    let mut out =
        std::fs::File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let r = download_into(url, &mut out, limit)
        .and_then(|n| out.sync_all().map(|()| n).context("writing the download"));
    if r.is_err() {
        let _ = std::fs::remove_file(to);
    }
    r.with_context(|| format!("downloading into {}", to.display()))
}

fn download_into(url: &str, out: &mut std::fs::File, limit: u64) -> crate::Result<u64> {
    origin(url).with_context(|| format!("{}: not an http(s) URL", printable(url)))?;
    let shown = printable(url.split('?').next().unwrap_or(url)).into_owned();
    let (tx, rx) = std::sync::mpsc::sync_channel::<crate::Result<Vec<u8>>>(4);
    let (url, host) =
        (url.to_string(), printable(url.split('/').nth(2).unwrap_or(url)).into_owned());
    let what = shown.clone();
    std::thread::spawn(move || {
        let transfer = || -> crate::Result<()> {
            let resp = send(&agent(), &host, &Method::GET, &url, &[], &mut Payload::Empty, None)?;
            let status = resp.status().as_u16();
            ensure!(status == 200, "{what} answered HTTP {status}");
            let mut body = resp.into_body().into_reader();
            loop {
                let mut chunk = vec![0u8; 64 << 10];
                let n = body.read(&mut chunk)?;
                chunk.truncate(n);
                if n == 0 || tx.send(Ok(chunk)).is_err() {
                    return Ok(());
                }
            }
        };
        if let Err(e) = transfer() {
            let _ = tx.send(Err(e));
        }
    });
    let mut n = 0u64;
    loop {
        if let Err(sig) = crate::interrupt::check() {
            bail!("{sig}: the download of {shown} stopped after {n} bytes");
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(chunk)) => {
                n += chunk.len() as u64;
                ensure!(
                    n <= limit,
                    "{shown} is larger than {} — refused",
                    crate::units::human(limit)
                );
                out.write_all(&chunk)?;
            }
            Ok(Err(e)) if n == 0 => return Err(e),
            Ok(Err(e)) => bail!("the download of {shown} was cut short after {n} bytes: {e:#}"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(n),
        }
    }
}

fn header_str(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn transport_error(e: ureq::Error, registry: &str, url: &str) -> anyhow::Error {
    let url = printable(url.split('?').next().unwrap_or(url)).into_owned();
    anyhow!("cannot reach {registry} ({url}): {}", printable(&e.to_string()))
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

    #[test]
    fn origins_and_locations() {
        assert_eq!(origin("http://127.0.0.1:5000/v2/").as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(origin("HTTPS://Reg.example/v2/").as_deref(), Some("https://reg.example:443"));
        assert_eq!(origin("https://reg.example:443/x"), origin("https://reg.example/y"));
        assert_ne!(origin("http://127.0.0.1:5000/"), origin("http://127.0.0.1:5001/"));
        assert_eq!(origin("file:///etc/passwd"), None);
        let base = "http://h:1/v2/r/blobs/uploads/?x=1";
        assert_eq!(resolve(base, "/cdn/a").unwrap(), "http://h:1/cdn/a");
        assert_eq!(resolve(base, "abc").unwrap(), "http://h:1/v2/r/blobs/uploads/abc");
        assert_eq!(resolve("http://h:1", "abc").unwrap(), "http://h:1/abc");
        assert_eq!(resolve(base, "//other:2/p").unwrap(), "http://other:2/p");
        assert_eq!(resolve(base, "https://o/p").unwrap(), "https://o/p");
        let e = resolve(base, "file:///etc/passwd").unwrap_err().to_string();
        assert!(e.contains("only http and https"), "{e}");
    }
}
