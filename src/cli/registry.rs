//! `pull`, `push`, `login`, `logout`.

use super::values;
use crate::image::oci::Platform;
use clap::Args;

/// Pull an image from a registry (lesson 07)
///
/// Its layers (three at a time, each checked against its digest), config and manifest, then
/// its name. `busybox` is docker.io/library/busybox:latest;
/// `127.0.0.1:5000/x/busybox:v1` names its registry. Registries are reached over HTTPS, except
/// loopback ones (localhost, 127.0.0.1, [::1]) and those in
/// MINIDOCKER_INSECURE_REGISTRIES=host:port,… over plain HTTP. Credentials come from
/// `minidocker login`.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// Print only the image's full name
    #[arg(short, long)]
    pub quiet: bool,
    /// The platform to pick from a multi-platform image (default: this host's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", value_parser = values::platform)]
    pub platform: Option<Platform>,
    /// The image
    #[arg(value_name = "NAME[:TAG|@DIGEST]", value_parser = values::image_reference)]
    pub name: String,
}

/// Push an image to a registry (lesson 07)
///
/// To the registry its name names (`minidocker tag busybox 127.0.0.1:5000/x/busybox:v1`
/// first): the layers the registry lacks, the config, then the manifest under the tag.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Print only the image's full name
    #[arg(short, long)]
    pub quiet: bool,
    /// The image
    #[arg(value_name = "NAME[:TAG]", value_parser = values::image_reference)]
    pub name: String,
}

/// Log in to a registry (lesson 07)
///
/// The credentials are checked with the registry (default docker.io), then stored for pull and push in $MINIDOCKER_ROOT/auth.json (mode 0600, unencrypted).
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// The user name
    #[arg(short, long, value_name = "USER")]
    pub username: Option<String>,
    /// The password (visible to other users in ps; prefer --password-stdin)
    #[arg(short, long, value_name = "PASSWORD", conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// The registry (default docker.io)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// Log out from a registry (lesson 07)
///
/// Forget the credentials stored for it (default docker.io).
#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    /// The registry (default docker.io)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}
