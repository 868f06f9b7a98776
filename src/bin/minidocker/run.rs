//! `run`: a container from an image — checked, configured by the library's one constructor
//! (`container::config::from_image`), created and started.

use minidocker::cli::containers::RunArgs;
use minidocker::container::{self, config, run as lifecycle, Container};
use minidocker::image::Store;
use minidocker::network;

/// `minidocker run`.
pub fn run(args: RunArgs, rules: &container::Rules) -> minidocker::Result<i32> {
    let overrides = args.overrides()?;
    // -it reads a terminal and puts it in raw mode: a pipe or a file will not do (Docker's check).
    anyhow::ensure!(
        !(overrides.tty && overrides.open_stdin && !overrides.detach)
            || std::io::IsTerminal::is_terminal(&std::io::stdin()),
        "the input device is not a TTY; drop -t or run from a terminal"
    );
    // A port another program holds is refused before anything is made.
    if overrides.network == "bridge" {
        for p in &overrides.publish {
            network::check_free(&network::parse_publish(p)?)?;
        }
    }
    let store = Store::open_default()?;
    // The store's lock from finding the image until the container is on disk: an `rmi` then
    // either comes first (no such image) or sees the container (refused).
    let lock = store.lock()?;
    let image = store.resolve(&args.image)?;
    let c = config::from_image(&args.image, &image, overrides)?;
    // So is a bad bridge configuration (MINIDOCKER_BRIDGE, _SUBNET, _MTU), or one that does
    // not fit the bridge already there.
    if c.network == "bridge" {
        let cfg = network::Config::from_env()?;
        network::check_bridge(&cfg, store.root())?;
    }
    let container = lifecycle::create(&store, c)?;
    drop(lock);
    let detach = container.config.detach;
    let code = lifecycle::start_with(&store, &container, rules).inspect_err(|_| {
        // Nothing half made: a container that could not start is removed again.
        if let Ok(c) = Container::load(&container.dir) {
            if lifecycle::remove(&c, true).is_ok() {
                let _ = minidocker::container::volumes::remove_anonymous(&store, &c.config);
            }
        }
    })?;
    if detach {
        println!("{}", container.config.id);
    }
    Ok(code)
}
