//! Entering a running container: `minidocker exec` and lesson 06 (`06-exec-setns`). The exec'd
//! command must see what the container sees — its hostname, its PIDs, its files, its
//! environment — be in its cgroups, report its exit code, and leave no process behind.

mod common;

use common::{have_root, md, run, TestRoot};
use minidocker::cgroups::Layout;
use minidocker::container::run::cgroup_name;
use std::time::{Duration, Instant};

/// The lesson's binary, found through the library's list of lessons.
static LESSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| common::lesson_bin("06"));

/// Removes a test's container (`rm -f`) even when the test fails half-way.
struct Removed<'a>(&'a TestRoot, &'a str);

impl Drop for Removed<'_> {
    fn drop(&mut self) {
        let _ = md(self.0, &["rm", "-f", self.1]);
    }
}

/// A detached container `name` whose PID 1 ends up as `sleep 1000`, after `first` ran in its
/// shell. Returns its ID and its PID on the host, once it sleeps.
fn sleeper(root: &TestRoot, name: &str, options: &[&str], first: &str) -> (String, i32) {
    let script = format!("{first}; exec sleep 1000");
    let mut args = vec!["run", "-d", "--network", "none", "--name", name];
    args.extend_from_slice(options);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    let (code, out, err) = md(root, &args);
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    let (_, pid, _) = md(root, &["inspect", "--format", "{{.State.Pid}}", name]);
    let pid: i32 = pid.trim().parse().unwrap_or_else(|_| panic!("no PID for {name}: {pid:?}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim() != "sleep"
    {
        assert!(Instant::now() < deadline, "container {name} did not start sleeping");
        std::thread::sleep(Duration::from_millis(20));
    }
    (id, pid)
}

fn ns_link(pid: i32, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap().to_string_lossy().into_owned()
}

/// The container's cgroup directories, one per hierarchy it is in.
fn cgroup_dirs(id: &str) -> Vec<std::path::PathBuf> {
    let layout = Layout::detect().unwrap();
    layout
        .hierarchies
        .iter()
        .map(|h| h.mountpoint.join(cgroup_name(id)))
        .filter(|p| p.is_dir())
        .collect()
}

/// The PIDs in the container's cgroup (the first hierarchy's `cgroup.procs`).
fn procs_in(id: &str) -> Vec<i32> {
    let dir = cgroup_dirs(id).into_iter().next().expect("the container has a cgroup");
    let text = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Remove the container; nothing may be left: no mount, no cgroup.
fn remove_and_assert_clean(root: &TestRoot, name: &str, id: &str) {
    let (code, _, err) = md(root, &["rm", "-f", name]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
    assert_eq!(cgroup_dirs(id), Vec::<std::path::PathBuf>::new(), "cgroups left");
}

#[test]
fn exec_sees_the_containers_hostname_processes_files_and_environment() {
    if !have_root("exec_sees_the_containers_hostname_processes_files_and_environment") {
        return;
    }
    let root = TestRoot::with_busybox("exec-sees");
    let (id, _) = sleeper(&root, "box", &["-e", "FROM_RUN=yes"], "echo written > /from-container");
    let _removed = Removed(&root, "box");
    // UTS: the container's hostname, its short ID.
    let (code, out, err) = md(&root, &["exec", "box", "hostname"]);
    assert_eq!((code, out.trim()), (0, &id[..12]), "{err}");
    // PID: PID 1 is the container's command, the exec'd shell has a PID of its own in there,
    // and the container's ps lists it.
    let (code, out, err) = md(&root, &["exec", "box", "sh", "-c", "echo me $$; ps"]);
    assert_eq!(code, 0, "{err}");
    let me: i32 = out
        .lines()
        .find_map(|l| l.strip_prefix("me "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(me > 1, "{out}");
    let pid_of = |l: &str| l.split_whitespace().next().and_then(|p| p.parse::<i32>().ok());
    assert!(
        out.lines().any(|l| pid_of(l) == Some(1) && l.trim_end().ends_with("sleep 1000")),
        "PID 1 is not the container's sleep:\n{out}"
    );
    assert!(
        out.lines().any(|l| pid_of(l) == Some(me)),
        "the exec'd shell is not in the container's ps:\n{out}"
    );
    // Mount: the file the container wrote is there; the host's files are not.
    let host_only = env!("CARGO_MANIFEST_DIR");
    let script = format!("cat /from-container; test -e {host_only} && echo host-visible; test -e {} && echo store-visible; true", root.path.display());
    let (code, out, err) = md(&root, &["exec", "box", "sh", "-c", &script]);
    assert_eq!((code, out.as_str()), (0, "written\n"), "{err}");
    // The container's environment, and Docker's default working directory and user.
    let (code, out, err) =
        md(&root, &["exec", "box", "sh", "-c", "echo $FROM_RUN $HOSTNAME $(pwd) $(id -u)"]);
    assert_eq!((code, out.trim().to_string()), (0, format!("yes {} / 0", &id[..12])), "{err}");
    remove_and_assert_clean(&root, "box", &id);
}

#[test]
fn exit_codes_env_workdir_and_user() {
    if !have_root("exit_codes_env_workdir_and_user") {
        return;
    }
    let root = TestRoot::with_busybox("exec-opts");
    let (id, _) = sleeper(&root, "opts", &["-e", "FROM_RUN=yes"], "true");
    let _removed = Removed(&root, "opts");
    assert_eq!(md(&root, &["exec", "opts", "sh", "-c", "exit 5"]).0, 5);
    assert_eq!(
        md(&root, &["exec", "opts", "sh", "-c", "kill -9 $$"]).0,
        137,
        "killed by SIGKILL: 128 + 9"
    );
    let (code, out, err) = md(
        &root,
        &[
            "exec",
            "-e",
            "A=1",
            "-e",
            "FROM_RUN=override",
            "-w",
            "/tmp",
            "opts",
            "sh",
            "-c",
            "echo $A $FROM_RUN $(pwd)",
        ],
    );
    assert_eq!((code, out.trim()), (0, "1 override /tmp"), "{err}");
    let (code, out, err) = md(&root, &["exec", "-u", "nobody", "opts", "id", "-u"]);
    assert_eq!((code, out.trim()), (0, "65534"), "{err}");
    // Without -i the command's stdin is /dev/null; with -i it is ours.
    let mut piped = root.minidocker();
    piped
        .args(["exec", "-i", "opts", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = piped.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"through stdin\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
    // A command that cannot start: one line, and a shell's exit code.
    let (code, _, err) = md(&root, &["exec", "opts", "no-such-program"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found") && err.lines().count() == 1, "{err}");
    let (code, _, err) = md(&root, &["exec", "-w", "/no/such/dir", "opts", "true"]);
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("/no/such/dir") && err.lines().count() == 1, "{err}");
    let (code, _, err) = md(&root, &["exec", "-u", "ghost", "opts", "true"]);
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("ghost") && err.lines().count() == 1, "{err}");
    remove_and_assert_clean(&root, "opts", &id);
}

#[test]
fn stopped_and_unknown_containers_are_refused_in_one_line() {
    if !have_root("stopped_and_unknown_containers_are_refused_in_one_line") {
        return;
    }
    let root = TestRoot::with_busybox("exec-refused");
    let (code, _, err) =
        md(&root, &["run", "--network", "none", "--name", "done", "busybox", "true"]);
    let _removed = Removed(&root, "done");
    assert_eq!(code, 0, "{err}");
    let (_, id, _) = md(&root, &["inspect", "--format", "{{.Id}}", "done"]);
    let (code, _, err) = md(&root, &["exec", "done", "true"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("Container {} is not running", &id.trim()[..12]))
            && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = md(&root, &["exec", "ghost", "true"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such container: ghost") && err.lines().count() == 1, "{err}");
    let (code, _, err) = md(&root, &["exec", "done"]);
    assert_ne!(code, 0);
    assert!(err.contains("needs a command") && err.lines().count() == 1, "{err}");
    remove_and_assert_clean(&root, "done", id.trim());
}

#[test]
fn the_exec_is_in_the_containers_cgroups_and_leaves_no_process() {
    if !have_root("the_exec_is_in_the_containers_cgroups_and_leaves_no_process") {
        return;
    }
    let root = TestRoot::with_busybox("exec-cgroup");
    let (id, pid) = sleeper(&root, "limited", &["-m", "64m", "--pids-limit", "50"], "true");
    let _removed = Removed(&root, "limited");
    let mine = |text: &str| {
        let mut v: Vec<String> =
            text.lines().filter(|l| l.contains("/minidocker/")).map(str::to_owned).collect();
        v.sort();
        v
    };
    let container = mine(&std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap());
    assert!(container.len() >= 2 && container.iter().all(|l| l.ends_with(&id)), "{container:?}");
    // Inside, the container has a cgroup namespace of its own: the exec'd process sees its
    // cgroups exactly as the container's PID 1 sees its own — as "/".
    let (code, out, err) =
        md(&root, &["exec", "limited", "cat", "/proc/self/cgroup", "/proc/1/cgroup"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let (me, pid1) = lines.split_at(lines.len() / 2);
    assert_eq!(
        me, pid1,
        "the exec'd process and the container's PID 1 are not in the same cgroups"
    );
    assert!(
        !out.contains("/minidocker/"),
        "the exec'd process is not in the container's cgroup namespace: {out}"
    );
    assert_eq!(
        procs_in(&id),
        vec![pid],
        "a finished exec left a process in the container's cgroup"
    );

    // The client killed with SIGKILL mid-exec: its helper and its command die with it.
    let mut client = root.minidocker().args(["exec", "limited", "sleep", "300"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while procs_in(&id).len() < 3 {
        assert!(Instant::now() < deadline, "the exec never started: {:?}", procs_in(&id));
        std::thread::sleep(Duration::from_millis(20));
    }
    client.kill().unwrap();
    client.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while procs_in(&id) != vec![pid] {
        assert!(
            Instant::now() < deadline,
            "processes left in the container after the client died: {:?}",
            procs_in(&id)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    remove_and_assert_clean(&root, "limited", &id);
}

#[test]
fn the_lesson_enters_a_container_and_shows_the_same_namespaces() {
    if !have_root("the_lesson_enters_a_container_and_shows_the_same_namespaces") {
        return;
    }
    let root = TestRoot::with_busybox("exec-lesson");
    let (id, pid) = sleeper(&root, "target", &[], "true");
    let _removed = Removed(&root, "target");
    let (code, out, err) = run(root.cmd(&LESSON).args([
        "--target",
        "target",
        "--",
        "sh",
        "-c",
        "hostname; echo me $$",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    for ns in ["net", "uts", "pid", "mnt", "ipc"] {
        let want = ns_link(pid, ns);
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{ns}: ")) && l.contains("PID 1's"))
            .unwrap_or_else(|| panic!("no {ns} line:\n{out}"));
        assert_eq!(
            line.matches(&want).count(),
            2,
            "{ns}: the command's and PID 1's must both be {want}: {line}"
        );
        assert!(line.ends_with("the same, joined"), "{line}");
    }
    assert!(out.lines().any(|l| l.trim() == &id[..12]), "the container's hostname:\n{out}");
    let inside: i32 = out
        .lines()
        .find_map(|l| l.strip_prefix("me "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(inside > 1 && out.contains(&format!("PID {inside} inside")), "{out}");
    assert!(out.contains("both exited and reaped"), "{out}");
    assert_eq!(procs_in(&id), vec![pid]);
    // A stopped container: one line.
    md(&root, &["stop", "-t", "1", "target"]);
    let (code, _, err) = run(root.cmd(&LESSON).args(["--target", "target"]));
    assert_eq!(code, 1);
    assert!(err.contains("is not running") && err.lines().count() == 1, "{err}");
    remove_and_assert_clean(&root, "target", &id);
}

#[test]
fn with_no_arguments_the_lesson_enters_a_throwaway_container_and_removes_it() {
    if !have_root("with_no_arguments_the_lesson_enters_a_throwaway_container_and_removes_it") {
        return;
    }
    let root = TestRoot::with_busybox("exec-noargs");
    let (code, out, err) = run(&mut root.cmd(&LESSON));
    assert_eq!(code, 0, "{out}\n{err}");
    // The article's set_ns: one link changes in the child, to the container's uts namespace,
    // and the host's hostname binary prints the container's hostname.
    let joined: Vec<&str> = out.lines().filter(|l| l.ends_with("← joined")).collect();
    assert!(joined.len() == 1 && joined[0].trim_start().starts_with("uts: uts:["), "{out}");
    let inode = joined[0].split_whitespace().nth(1).unwrap();
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("uts: ")
            && l.contains(inode)
            && l.ends_with("its own")),
        "the joined inode is the container's: {inode}\n{out}"
    );
    assert!(out.lines().any(|l| l == "lesson06"), "the container's hostname:\n{out}");
    // The full exec: every namespace joined, the command is PID 2 in there and sees PID 1.
    for ns in ["net", "uts", "pid", "mnt", "ipc"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(&format!("{ns}: "))
                && l.ends_with("the same, joined")),
            "{ns} not joined:\n{out}"
        );
    }
    assert!(out.contains("in here: hostname lesson06, my PID 2"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "1 sleep"), "{out}");
    assert!(out.contains("removed container"), "{out}");
    assert_eq!(root.container_ids(), Vec::<String>::new(), "the throwaway container is left");
    assert_eq!(root.host_mounts(), Vec::<String>::new(), "mounts left in the host's mount table");
}

#[test]
fn the_default_command_needs_no_ps() {
    if !have_root("the_default_command_needs_no_ps") {
        return;
    }
    // Like the python image, which has no ps: the container deletes its own.
    let root = TestRoot::with_busybox("exec-nops");
    let (id, pid) = sleeper(&root, "nops", &[], "rm /bin/ps");
    let _removed = Removed(&root, "nops");
    let (code, out, err) = run(root.cmd(&LESSON).args(["--target", "nops"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.lines().any(|l| l.trim() == "1 sleep"), "PID 1 from /proc:\n{out}");
    assert!(!out.contains("not found") && !err.contains("not found"), "{out}\n{err}");
    assert_eq!(procs_in(&id), vec![pid]);
    remove_and_assert_clean(&root, "nops", &id);
}

#[test]
fn the_lesson_joins_one_namespace_file_like_the_articles_program() {
    if !have_root("the_lesson_joins_one_namespace_file_like_the_articles_program") {
        return;
    }
    let root = TestRoot::with_busybox("exec-nsfile");
    let (id, pid) = sleeper(&root, "one", &[], "true");
    let _removed = Removed(&root, "one");
    // The uts namespace alone: the host's `hostname` prints the container's.
    let uts = format!("/proc/{pid}/ns/uts");
    let (code, out, err) = run(root.cmd(&LESSON).args([uts.as_str(), "hostname"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.lines().any(|l| l.trim() == &id[..12]), "{out}");
    let joined: Vec<&str> = out.lines().filter(|l| l.ends_with("← joined")).collect();
    assert_eq!(joined.len(), 1, "only the uts link changes:\n{out}");
    assert!(joined[0].contains(&ns_link(pid, "uts")), "{joined:?}");
    // The net namespace alone: the host's `ip` sees only the container's loopback.
    let net = format!("/proc/{pid}/ns/net");
    let (code, out, err) = run(root.cmd(&LESSON).args([net.as_str(), "ip", "-o", "link"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let links: Vec<&str> = out
        .lines()
        .filter(|l| l.split(':').next().is_some_and(|n| n.parse::<u32>().is_ok()))
        .collect();
    assert!(links.len() == 1 && links[0].starts_with("1: lo:"), "{links:?}");
    // The PID namespace: only pid_for_children changes.
    let pidns = format!("/proc/{pid}/ns/pid");
    let (code, out, _) = run(root.cmd(&LESSON).args([pidns.as_str(), "true"]));
    assert_eq!(code, 0);
    let joined: Vec<&str> = out.lines().filter(|l| l.ends_with("← joined")).collect();
    assert!(joined.len() == 1 && joined[0].trim_start().starts_with("pid_for_children:"), "{out}");
    // Not a namespace file: one line.
    let (code, _, err) = run(root.cmd(&LESSON).args(["/etc/hostname", "true"]));
    assert_eq!(code, 1);
    assert!(err.contains("not a namespace file") && err.lines().count() == 1, "{err}");
    remove_and_assert_clean(&root, "one", &id);
}

#[test]
fn the_check_passes_with_the_answer_and_fails_with_the_starter() {
    if !have_root("the_check_passes_with_the_answer_and_fails_with_the_starter") {
        return;
    }
    let (code, out, _) = run(common::bin(&LESSON).args(["--check", "--solution"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("CHECK OK"), "{out}");
    let (code, out, _) = run(common::bin(&LESSON).arg("--check"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("CHECK FAILED"), "{out}");
}

#[test]
fn an_exec_into_a_container_that_exits_meanwhile_ends_cleanly() {
    if !have_root("an_exec_into_a_container_that_exits_meanwhile_ends_cleanly") {
        return;
    }
    let root = TestRoot::with_busybox("exec-exits");
    let (id, pid) = sleeper(&root, "brief", &[], "true");
    let started = Instant::now();
    let mut exec = root.minidocker().args(["exec", "brief", "sleep", "4711"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while procs_in(&id).len() < 2 {
        assert!(Instant::now() < deadline, "the exec never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The container's PID 1 ends: the kernel ends every process of its PID namespace, the
    // exec'd one included, and the exec returns instead of hanging.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let status = exec.wait().unwrap();
    assert!(!status.success() && started.elapsed() < Duration::from_secs(10), "{status:?}");
    let ps = std::process::Command::new("pgrep").args(["-f", "^sleep 4711$"]).output().unwrap();
    assert!(ps.stdout.is_empty(), "the exec'd process outlived its container");
    remove_and_assert_clean(&root, "brief", &id);
}

#[test]
fn exec_t_gives_the_command_a_terminal_of_the_containers_devpts() {
    if !have_root("exec_t_gives_the_command_a_terminal_of_the_containers_devpts") {
        return;
    }
    let root = TestRoot::with_busybox("exec-tty");
    // A -t container: its first process has pts/0 of the container's devpts.
    let (id, _) = sleeper(&root, "ttybox", &["-t"], "true");
    let _removed = Removed(&root, "ttybox");
    let (code, out, err) = md(&root, &["exec", "ttybox", "readlink", "/proc/1/fd/0"]);
    assert_eq!((code, out.trim()), (0, "/dev/pts/0"), "{err}");
    // The exec'd command gets a terminal of its own from the same devpts (the container's
    // /dev/ptmx, after entering its root): a new /dev/pts/N, listed in the container's
    // /dev/pts. Its output comes through that terminal: \r\n line endings.
    let (code, out, err) = md(
        &root,
        &[
            "exec",
            "-t",
            "ttybox",
            "sh",
            "-c",
            "tty; test -t 0 && test -t 1 && echo both; ls /dev/pts | tr '\\n' ' '",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.split("\r\n").collect();
    let n: u32 = lines[0]
        .strip_prefix("/dev/pts/")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(lines[1], "both", "{out:?}");
    let listed: Vec<&str> = lines[2].split_whitespace().collect();
    assert!(
        n > 0
            && listed.contains(&n.to_string().as_str())
            && listed.contains(&"0")
            && listed.contains(&"ptmx"),
        "{out:?}"
    );
    // Its exit code comes back; without -t there is no terminal; -it needs one to read.
    let (code, _, _) = md(&root, &["exec", "-t", "ttybox", "sh", "-c", "exit 3"]);
    assert_eq!(code, 3);
    let (code, out, _) = md(&root, &["exec", "ttybox", "tty"]);
    assert_eq!((code, out.trim()), (1, "not a tty"));
    // It returns when the command ends, as `docker exec` does, even though a job it left in
    // the background (a session of its own) still holds the terminal — with all it printed.
    // (The command waits until the job is in its own session: before that, the terminal's
    // hang-up at the end would kill it too.)
    let started = std::time::Instant::now();
    let script = "setsid sh -c 'echo $$ > /bg; exec sleep 30' & while [ ! -s /bg ]; do sleep 0.05; done; seq 1 3000 | tail -1; echo done";
    let (code, out, err) = md(&root, &["exec", "-t", "ttybox", "sh", "-c", script]);
    assert_eq!((code, out.as_str()), (0, "3000\r\ndone\r\n"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "exec -t waited for the background job"
    );
    let (code, _, err) = md(&root, &["exec", "ttybox", "sh", "-c", "kill $(cat /bg)"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = md(&root, &["exec", "-it", "ttybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a TTY") && err.lines().count() == 1, "{err}");
    // The exec left no process behind: only PID 1 in the container's cgroup, once the job
    // killed above has finished dying (kill(2) does not wait for that).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while procs_in(&id).len() > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(procs_in(&id).len(), 1);
    remove_and_assert_clean(&root, "ttybox", &id);
}
