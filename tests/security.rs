//! Isolation a default container gets beyond namespaces: Docker's device rules (the device
//! cgroup), its seccomp profile, and `--init`.

mod common;

use common::{have_root, md, TestRoot};

/// The shell lines that try the devices: every line prints what it saw.
const DEVICE_PROBE: &str = "\
mknod /tmp/kmsg c 1 11 && echo mknod-ok; \
echo x 2>&1 > /tmp/kmsg | sed 's/.*: /kmsg: /'; \
mknod /tmp/kvm c 10 232 && (head -c1 /tmp/kvm 2>&1 | sed 's/.*: /kvm: /'); \
mknod /tmp/mem c 1 1 && (head -c1 /tmp/mem 2>&1 | sed 's/.*: /mem: /'); \
echo ok > /dev/null && head -c 8 /dev/urandom | wc -c | sed 's/^/urandom: /'";

fn assert_devices_refused(out: &str) {
    assert!(out.contains("mknod-ok"), "mknod is allowed, as in Docker: {out}");
    for dev in ["kmsg", "kvm", "mem"] {
        assert!(
            out.contains(&format!("{dev}: Operation not permitted")),
            "opening a host device ({dev}) must fail with EPERM: {out}"
        );
    }
    assert!(out.contains("urandom: 8"), "/dev/null and /dev/urandom still work: {out}");
}

#[test]
fn host_devices_cannot_be_opened_in_run_exec_and_build() {
    if !have_root("host_devices_cannot_be_opened_in_run_exec_and_build") {
        return;
    }
    let root = TestRoot::with_busybox("sec-dev");
    let (code, out, err) =
        md(&root, &["run", "--rm", "--network", "none", "busybox", "sh", "-c", DEVICE_PROBE]);
    assert_eq!(code, 0, "{err}");
    assert_devices_refused(&out);

    // exec joins the container's device cgroup.
    let (code, _, err) =
        md(&root, &["run", "-d", "--network", "none", "--name", "d", "busybox", "sleep", "60"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = md(&root, &["exec", "d", "sh", "-c", DEVICE_PROBE]);
    assert_eq!(code, 0, "{err}");
    assert_devices_refused(&out);
    md(&root, &["rm", "-f", "d"]);

    // A build's RUN gets the same rules.
    let ctx = root.path.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), format!("FROM busybox\nRUN {DEVICE_PROBE}\n")).unwrap();
    let (code, out, err) = md(&root, &["build", "-t", "probe", ctx.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_devices_refused(&out);
}
