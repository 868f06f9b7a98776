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
