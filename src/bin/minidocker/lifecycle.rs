//! `logs`, `stop`, `kill`, `pause`, `unpause`, `rm`: what happens to a container after `run`.

use minidocker::cli::containers::{KillArgs, LogsArgs, NamesArgs, RmArgs, StopArgs};
use minidocker::container::{run as lifecycle, state, Container};
use minidocker::image::Store;
use std::time::Duration;

/// `minidocker logs [-f] CONTAINER`
pub fn logs(args: LogsArgs) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let c = state::find(&store, &args.container)?;
    let mut f = match std::fs::File::open(c.log_path()) {
        Ok(f) => f,
        // A container that never started has no log: nothing to print.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("reading {}", c.log_path().display())))
        }
    };
    let mut out = std::io::stdout();
    loop {
        std::io::copy(&mut f, &mut out)?;
        std::io::Write::flush(&mut out)?;
        if !args.follow || !Container::load(&c.dir)?.running() {
            std::io::copy(&mut f, &mut out)?;
            return Ok(0);
        }
        minidocker::interrupt::check()?;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `stop`, `kill`, `rm`, `pause`, `unpause`: the same loop over names, each printed back as
/// Docker does; one that fails is said on its own line and the others go on.
fn each(
    names: &[String],
    action: impl Fn(&Store, &Container) -> minidocker::Result<()>,
) -> minidocker::Result<i32> {
    let store = Store::open_default()?;
    let mut status = 0;
    for n in names {
        match state::find(&store, n).and_then(|c| action(&store, &c)) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("minidocker: error: {e:#}");
                status = 1;
            }
        }
    }
    Ok(status)
}

/// `minidocker stop [-t SECONDS] CONTAINER...`
pub fn stop(args: StopArgs) -> minidocker::Result<i32> {
    each(&args.containers, |_, c| lifecycle::stop(c, args.time))
}

/// `minidocker kill [-s SIGNAL] CONTAINER...`
pub fn kill(args: KillArgs) -> minidocker::Result<i32> {
    each(&args.containers, |_, c| lifecycle::signal(c, args.signal))
}

/// `minidocker pause CONTAINER...`
pub fn pause(args: NamesArgs) -> minidocker::Result<i32> {
    each(&args.containers, |_, c| lifecycle::pause(c))
}

/// `minidocker unpause CONTAINER...`
pub fn unpause(args: NamesArgs) -> minidocker::Result<i32> {
    each(&args.containers, |_, c| lifecycle::unpause(c))
}

/// `minidocker rm [-f] [-v] CONTAINER...`
pub fn rm(args: RmArgs) -> minidocker::Result<i32> {
    each(&args.containers, |store, c| {
        lifecycle::remove(c, args.force)?;
        if args.volumes {
            minidocker::container::volumes::remove_anonymous(store, &c.config)?;
        }
        Ok(())
    })
}
