//! `commit`: a container's read-write layer becomes a new image.

use minidocker::cli::images::CommitArgs;
use minidocker::commit::{self, Options};
use minidocker::container::state;
use minidocker::image::Store;

/// `minidocker commit [-m MSG] [-a AUTHOR] [-c INSTR]... CONTAINER [REPOSITORY[:TAG]]`
pub fn commit(args: CommitArgs, rules: &commit::Rules) -> minidocker::Result<i32> {
    let opts = Options {
        pause: args.pause,
        message: args.message,
        author: args.author,
        changes: args.change,
        rules: *rules,
    };
    let store = Store::open_default()?;
    let c = state::find(&store, &args.container)?;
    let _lock = store.lock()?;
    let done = commit::commit(&store, &c, args.name.as_ref(), &opts)?;
    println!("{}", done.image.id);
    Ok(0)
}
