//! `minidocker build`: a Dockerfile into an image, with Docker's classic builder output.

use lexopt::prelude::*;
use minidocker::builder::{self, Options};
use minidocker::image::{reference, Store};
use minidocker::rootfs;
use std::ffi::OsString;

const USAGE: &str = "Usage: minidocker build [-t NAME[:TAG]]... [-f FILE] [--no-cache] [--build-arg NAME=VALUE]... CONTEXT

Build an image from a Dockerfile: one image per instruction, a layer for each that changes
files, and steps taken from the cache while nothing they depend on changed.
  -t, --tag NAME[:TAG]    name the image (repeatable)
  -f, --file FILE         the Dockerfile (default: CONTEXT/Dockerfile)
      --no-cache          run every step, use no cached one
      --build-arg K=V     a value for ARG K (K alone takes it from the environment)";

pub fn build(args: Vec<OsString>) -> minidocker::Result<i32> {
    let mut opts = Options::default();
    let mut context = None;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('t') | Long("tag") => {
                opts.tags.push(reference::parse_tagged(&p.value()?.string()?)?)
            }
            Short('f') | Long("file") => opts.dockerfile = Some(p.value()?.into()),
            Long("no-cache") => opts.no_cache = true,
            Long("build-arg") => {
                let kv = p.value()?.string()?;
                let (k, v) = match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => match std::env::var(&kv) {
                        Ok(v) => (kv, v),
                        Err(_) => continue, // Docker ignores a NAME that is not in the environment
                    },
                };
                opts.build_args.push((k, v));
            }
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(0);
            }
            Value(v) if context.is_none() => context = Some(v.into()),
            _ => return Err(arg.unexpected().into()),
        }
    }
    opts.context = context.ok_or_else(|| {
        anyhow::anyhow!(
            "build needs a context directory: minidocker build [OPTIONS] CONTEXT (e.g. .)"
        )
    })?;
    let store = Store::open_default()?;
    let _lock = store.lock()?;
    // RUN steps mount overlays: in a mount namespace of our own they never show on the host
    // and vanish with this process, whatever happens to it.
    rootfs::private_mount_namespace()?;
    builder::build(&store, &opts)?;
    Ok(0)
}
