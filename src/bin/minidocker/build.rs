//! `minidocker build`: a Dockerfile into an image, with Docker's classic builder output.

use minidocker::builder::{self, Options};
use minidocker::cli::images::BuildArgs;
use minidocker::image::Store;
use minidocker::rootfs;

/// `minidocker build`, with lesson 04's rules and lesson 03's for the overlay of every `RUN`.
pub fn build(
    args: BuildArgs,
    rules: &builder::Rules,
    rootfs: &minidocker::rootfs::Rules,
) -> minidocker::Result<i32> {
    let opts = Options {
        build_args: args.build_args(),
        context: args.context,
        dockerfile: args.file,
        tags: args.tag,
        no_cache: args.no_cache,
        rules: *rules,
        rootfs: *rootfs,
    };
    // The build takes the store's lock itself, only while it writes into the store.
    let store = Store::open_default()?;
    // RUN steps mount overlays: in a mount namespace of our own they never show on the host
    // and vanish with this process, whatever happens to it.
    rootfs::private_mount_namespace()?;
    builder::build(&store, &opts)?;
    Ok(0)
}
