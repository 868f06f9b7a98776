//! Errors that say what to do: each case of issue 14's list refused in one line, before
//! anything is created, with the real reason.

mod common;

use common::{md, TestRoot};

/// Refused by the command line: exit 2, one line, nothing created.
fn refused(root: &TestRoot, args: &[&str]) -> String {
    let (code, out, err) = md(root, args);
    assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(root.container_ids().is_empty(), "{args:?} created a container");
    err
}

#[test]
fn memory_below_dockers_minimum_and_too_large_sizes() {
    let root = TestRoot::new("errors-memory");
    for small in ["1", "4m", "6291455b"] {
        let err = refused(&root, &["run", "--rm", "-m", small, "busybox", "true"]);
        assert!(err.contains("--memory") && err.contains("6m"), "{small}: {err}");
    }
    let err = refused(&root, &["run", "--rm", "--memory", "99999999999g", "busybox", "true"]);
    assert!(err.contains("too large") && !err.contains("at least 1 byte"), "{err}");
}

#[test]
fn a_hostname_longer_than_host_name_max() {
    let root = TestRoot::new("errors-hostname");
    let long = "h".repeat(65);
    let err = refused(&root, &["run", "--rm", "--hostname", &long, "busybox", "true"]);
    assert!(err.contains("--hostname") && err.contains("64"), "{err}");
    assert!(!err.contains("is not running"), "{err}");
}

#[test]
fn a_setup_failure_in_the_container_gives_its_reason() {
    if !common::have_root("a_setup_failure_in_the_container_gives_its_reason") {
        return;
    }
    let root = TestRoot::with_busybox("errors-workdir").with_net(43);
    // An image whose /w is a symbolic link to nothing.
    let (code, _, err) =
        md(&root, &["run", "--name", "mk", "busybox", "ln", "-s", "/nowhere", "/w"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(&root, &["commit", "mk", "dangling"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(md(&root, &["rm", "mk"]).0, 0);
    for net in ["bridge", "none"] {
        let (code, out, err) =
            md(&root, &["run", "--rm", "--network", net, "-w", "/w/sub", "dangling", "true"]);
        assert_ne!(code, 0, "{net}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{net}: one line: {err}");
        assert!(
            err.contains("/w") && err.contains("symbolic link") && err.contains("/nowhere"),
            "{net}: {err}"
        );
        assert!(!err.contains("is not running"), "{net}: {err}");
        assert!(root.container_ids().is_empty(), "{net}: the container was left");
    }
}

#[test]
fn a_full_disk_names_the_path() {
    if !common::have_root("a_full_disk_names_the_path") {
        return;
    }
    // A store on a 2 MiB tmpfs: the busybox image does not fit.
    let root = TestRoot::new("errors-full");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    nix::mount::mount(
        Some("tmpfs"),
        &root.path,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=2m"),
    )
    .unwrap();
    let _unmount = Unmount(root.path.clone());
    let tarball = common::busybox_tarball();
    let (code, _, err) = md(&root, &["import", tarball.to_str().unwrap(), "bb"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let at = format!("{}/", root.path.display());
    assert!(err.contains("No space left on device") && err.contains(&at), "{err}");
    assert!(root.scratch_left().is_empty(), "the failed import left {:?}", root.scratch_left());
}

#[test]
fn a_five_megabyte_run_line_is_shortened_in_messages() {
    if !common::have_root("a_five_megabyte_run_line_is_shortened_in_messages") {
        return;
    }
    let root = TestRoot::with_busybox("errors-long");
    let ctx = root.path.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let long = "y".repeat(5 << 20);
    std::fs::write(ctx.join("Dockerfile"), format!("FROM busybox\nRUN false {long}\n")).unwrap();
    let (code, out, err) = md(&root, &["build", "-t", "long", ctx.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("Dockerfile:2:") && err.contains("more bytes"),
        "{}",
        &err[..err.len().min(500)]
    );
    assert!(err.len() < 2000, "the error echoes {} bytes", err.len());
    assert!(out.len() < 10_000, "the build printed {} bytes", out.len());
}
