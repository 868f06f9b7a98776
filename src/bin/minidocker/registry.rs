//! `pull`, `push`, `login`, `logout`: images to and from registries.

use lexopt::prelude::*;
use minidocker::image::oci::Platform;
use minidocker::image::{Reference, Store};
use minidocker::registry::{self, auth, Credentials, PullOptions, PushOptions};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};

fn usage(text: &str) -> minidocker::Result<i32> {
    println!("{}", text.trim_end());
    Ok(0)
}

/// The full name Docker prints last: `docker.io/library/busybox:latest`.
fn canonical(r: &Reference) -> String {
    let mut s = r.full_name();
    if let Some(t) = &r.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &r.digest {
        s.push('@');
        s.push_str(d);
    }
    s
}

/// Did the user leave the tag out (so `latest` was taken)?
fn default_tag(given: &str) -> bool {
    let last = given.rsplit('/').next().unwrap_or(given);
    !given.contains('@') && !last.contains(':')
}

const PULL_USAGE: &str = "Usage: minidocker pull [-q] [--platform OS/ARCH[/VARIANT]] NAME[:TAG|@DIGEST]

Download an image from a registry: its layers (three at a time, each checked against its
digest), config and manifest, then name it. `busybox` is docker.io/library/busybox:latest;
`127.0.0.1:5000/x/busybox:v1` names its registry.
  -q, --quiet              print only the image's full name
      --platform P         the platform to pick from a multi-platform image (default: this host's)

Registries are reached over HTTPS, except loopback ones (localhost, 127.0.0.1, [::1]) and those in
MINIDOCKER_INSECURE_REGISTRIES=host:port,… over plain HTTP. Credentials come from `minidocker login`.";

/// `minidocker pull [-q] [--platform P] NAME[:TAG|@DIGEST]`
pub fn pull(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut quiet, mut platform, mut name) = (false, None, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('q') | Long("quiet") => quiet = true,
            Long("platform") => platform = Some(parse_platform(&p.value()?.string()?)?),
            Short('h') | Long("help") => return usage(PULL_USAGE),
            Value(v) if name.is_none() => name = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let given = name.ok_or_else(|| {
        anyhow::anyhow!("pull needs an image: minidocker pull NAME[:TAG|@DIGEST]")
    })?;
    let reference = Reference::parse(&given)?;
    if default_tag(&given) && !quiet {
        println!("Using default tag: latest");
    }
    let store = Store::open_default()?;
    registry::pull(&store, &reference, &PullOptions { quiet, platform })?;
    println!("{}", canonical(&reference));
    Ok(0)
}

/// `linux/arm64/v8`, `linux/amd64`.
fn parse_platform(s: &str) -> minidocker::Result<Platform> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => {
            Ok(Platform { os: os.to_string(), architecture: arch.to_string(), variant: None })
        }
        [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: Some(v.to_string()),
        }),
        _ => anyhow::bail!(
            "invalid platform {s:?}: give OS/ARCH[/VARIANT], like linux/amd64 or linux/arm64/v8"
        ),
    }
}

/// `minidocker push [-q] NAME[:TAG]`
pub fn push(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut quiet, mut name) = (false, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('q') | Long("quiet") => quiet = true,
            Short('h') | Long("help") => {
                return usage(
                    "Usage: minidocker push [-q] NAME[:TAG]

Upload an image to the registry its name names (`minidocker tag busybox 127.0.0.1:5000/x/busybox:v1`
first): the layers the registry lacks, the config, then the manifest under the tag.
  -q, --quiet   print only the image's full name",
                )
            }
            Value(v) if name.is_none() => name = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let given =
        name.ok_or_else(|| anyhow::anyhow!("push needs an image: minidocker push NAME[:TAG]"))?;
    let reference = Reference::parse(&given)?;
    if default_tag(&given) && !quiet {
        println!("Using default tag: latest");
    }
    let store = Store::open_default()?;
    registry::push(&store, &reference, &PushOptions { quiet })?;
    if quiet {
        println!("{}", canonical(&reference));
    }
    Ok(0)
}

/// `minidocker login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`
pub fn login(args: Vec<OsString>) -> minidocker::Result<i32> {
    let (mut user, mut password, mut from_stdin, mut server) = (None, None, false, None);
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('u') | Long("username") => user = Some(p.value()?.string()?),
            Short('p') | Long("password") => password = Some(p.value()?.string()?),
            Long("password-stdin") => from_stdin = true,
            Short('h') | Long("help") => {
                return usage(&format!(
                    "Usage: minidocker login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]

Log in to a registry (default docker.io): the credentials are checked with the registry, then
stored for pull and push in {} (mode 0600, unencrypted).
  -u, --username USER
  -p, --password PASSWORD   (visible to other users in ps; prefer --password-stdin)
      --password-stdin      read the password from stdin",
                    auth::credentials_path().display()
                ))
            }
            Value(v) if server.is_none() => server = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let registry = auth::registry_key(server.as_deref().unwrap_or(registry::DOCKER_HUB));
    anyhow::ensure!(
        !(password.is_some() && from_stdin),
        "--password and --password-stdin are mutually exclusive"
    );
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if from_stdin {
        anyhow::ensure!(user.is_some(), "--password-stdin needs --username: minidocker login -u USER --password-stdin {registry}");
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("reading the password from stdin: {e}"))?;
        password = Some(text.trim_end_matches(['\n', '\r']).to_string());
    }
    let username = match user {
        Some(u) => u,
        None => read_line("Username: ", true)?,
    };
    anyhow::ensure!(!username.is_empty(), "login needs a user name (-u USER)");
    let password = match password {
        Some(p) => p,
        None => read_line("Password: ", false)?,
    };
    anyhow::ensure!(!password.is_empty(), "login needs a password");
    let creds = Credentials { username, password };
    registry::client::check_login(&registry, &creds)?;
    let path = auth::store(&registry, &creds)?;
    eprintln!("WARNING! Your password will be stored unencrypted in {}.", path.display());
    println!("Login Succeeded");
    Ok(0)
}

/// `minidocker logout [SERVER]`
pub fn logout(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut server = None;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return usage("Usage: minidocker logout [SERVER]\n\nForget the credentials stored for a registry (default docker.io)."),
            Value(v) if server.is_none() => server = Some(v.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let registry = auth::registry_key(server.as_deref().unwrap_or(registry::DOCKER_HUB));
    if auth::erase(&registry)? {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(0)
}

/// A line from stdin after a prompt on stderr; without echo on a terminal when `echo` is
/// false. Ctrl-C ends it (the terminal's echo is restored first).
fn read_line(prompt: &str, echo: bool) -> minidocker::Result<String> {
    eprint!("{prompt}");
    let tty = std::io::stdin().is_terminal();
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let quiet = !echo && tty && unsafe { libc::tcgetattr(0, &mut saved) } == 0;
    if quiet {
        let mut t = saved;
        t.c_lflag &= !libc::ECHO;
        // SAFETY: a valid termios for fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
    let line = super::prompt::read_line();
    if quiet {
        // SAFETY: restoring what tcgetattr gave.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
        eprintln!();
    }
    line
}
