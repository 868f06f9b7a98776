//! `pull`, `push`, `login`, `logout`: images to and from registries.

use minidocker::cli::registry::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
use minidocker::image::{Reference, Store};
use minidocker::registry::{self, auth, Credentials, PullOptions, PushOptions};
use std::io::{IsTerminal, Read};

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

/// `minidocker pull [-q] [--platform P] NAME[:TAG|@DIGEST]`
pub fn pull(args: PullArgs) -> minidocker::Result<i32> {
    let (quiet, platform, given) = (args.quiet, args.platform, args.name);
    let reference = Reference::parse(&given)?;
    if default_tag(&given) && !quiet {
        println!("Using default tag: latest");
    }
    let store = Store::open_default()?;
    registry::pull(&store, &reference, &PullOptions { quiet, platform })?;
    println!("{}", canonical(&reference));
    Ok(0)
}

/// `minidocker push [-q] NAME[:TAG]`
pub fn push(args: PushArgs) -> minidocker::Result<i32> {
    let (quiet, given) = (args.quiet, args.name);
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
pub fn login(args: LoginArgs) -> minidocker::Result<i32> {
    let (user, mut password, from_stdin, server) =
        (args.username, args.password, args.password_stdin, args.server);
    let registry = auth::registry_key(server.as_deref().unwrap_or(registry::DOCKER_HUB));
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if from_stdin {
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
pub fn logout(args: LogoutArgs) -> minidocker::Result<i32> {
    let server = args.server;
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
    // SAFETY: tcgetattr fills the termios it is given, for fd 0.
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
