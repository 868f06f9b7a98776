//! Lesson 06 — entering a container is joining its namespaces with setns().
//!
//! Two ways in. `06-exec-setns NSFILE CMD…` is the article's `set_ns` program: one namespace
//! file, `setns`, execute. `06-exec-setns --target PID|CONTAINER [-- CMD…]` is what
//! `docker exec` must do: every namespace in the right order, the cgroups, a fork so the
//! command is really in the PID namespace, the container's root, environment, user and
//! capabilities. With no arguments it starts a throwaway busybox container and shows both, then
//! removes it. The mechanism is in `src/exec/`; this file only narrates it.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::container::config::{self, Overrides};
use minidocker::container::{run as lifecycle, state, Container};
use minidocker::exec::{self, solution, Rules, Spec};
use minidocker::image::Store;
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::namespaces::{self, Namespace};
use minidocker::process;
use minidocker::report;
use nix::sched::CloneFlags;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;

/// With NSFILE (say /proc/PID/ns/net) it is the article's set_ns program: a child opens the file,
/// calls setns() and executes CMD; this process's /proc/self/ns links are shown before, the
/// child's after — only the joined kind changed (for a PID namespace: only pid_for_children).
/// With --target it does what `docker exec` must: a fresh helper joins the target's cgroups and
/// every namespace it does not share with us, in the right order, then forks — only a child is
/// born in the joined PID namespace — and that child makes the target's root its own, takes the
/// container's environment, working directory, user and capabilities, and waits at a gate while
/// the lesson shows, from the host, that it is in the same namespaces as the container's PID 1.
/// Then CMD runs (default: a shell that prints the hostname, its PID and the processes it sees,
/// read from /proc — every image has a shell and /proc, not every one has ps).
/// With no arguments: both, on a throwaway busybox container that is removed at the end.
#[derive(Parser)]
struct Args {
    /// Enter every namespace of this process, or of this running container of the store (name
    /// or ID, see `minidocker ps`)
    #[arg(long, value_name = "PID|CONTAINER")]
    target: Option<String>,
    /// Without --target: NSFILE CMD [ARGS…], the namespace file to join (/proc/PID/ns/net) and
    /// the command to run there. With --target: the command to run in the target (put `--`
    /// before it)
    #[arg(value_name = "ARGS", trailing_var_arg = true)]
    rest: Vec<String>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str = "joining another process's namespaces needs CAP_SYS_ADMIN over them";

/// What `--target` runs when no command is given: only the shell and /proc, which every image
/// has (the python image has no `ps`).
const DEFAULT_CMD: &str = "echo \"in here: hostname $(hostname), my PID $$\"; echo 'the processes I see (from /proc):'; for d in /proc/[0-9]*; do read -r c < $d/comm && echo \"  ${d#/proc/} $c\"; done";

/// The image of the throwaway container the lesson starts when given no arguments.
const DEMO_IMAGE: &str = "busybox";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let Args { target, rest, .. } = args;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));
    match target {
        Some(t) => enter_target(lab, rules, &t, rest),
        None if rest.is_empty() => whole_story(lab, rules),
        None => {
            let me = lab.lesson.name;
            let (nsfile, cmd) = rest.split_first().ok_or_else(|| {
                anyhow::anyhow!(
                    "give a namespace file and a command, or --target (see {me} --help)"
                )
            })?;
            anyhow::ensure!(
                !cmd.is_empty(),
                "give a command to run after {nsfile}: {me} NSFILE CMD [ARGS…]"
            );
            set_ns(lab, rules, Path::new(nsfile), cmd)
        }
    }
}

/// No arguments: a throwaway container, the article's `set_ns` on one of its namespaces, then
/// the full `exec` join — and the container removed, whatever happens.
fn whole_story(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    lab.step(&format!("A throwaway container to enter: {DEMO_IMAGE}, sleeping"))?;
    let store = Store::open_default()?;
    let image = store
        .resolve(DEMO_IMAGE)
        .map_err(|e| e.context("scripts/base-images imports busybox into the store"))?;
    let overrides = Overrides {
        name: format!("lesson06-{}", std::process::id()),
        hostname: Some("lesson06".into()),
        entrypoint: Some(String::new()),
        cmd: vec!["sleep".into(), "3600".into()],
        network: "none".into(),
        detach: true,
        ..Default::default()
    };
    let config = config::from_image(DEMO_IMAGE, &image, overrides)?;
    let created = lifecycle::create(&store, config)?;
    let throwaway = Throwaway(created.dir.clone());
    lifecycle::start(&store, &created)?;
    let c = Container::load(&created.dir)?;
    let pid = c.state.pid;
    report::evidence(
        "container",
        &format!("{} (hostname {}), PID {pid} on the host", c.config.name, c.config.hostname),
    );
    show_namespaces(pid)?;
    report::say("Its own namespaces have other inode numbers than this process's: that is all \"inside\" means.");

    println!();
    report::say(
        "Part 1 — the article's set_ns: join ONE namespace (its uts) and run the host's hostname.",
    );
    let uts = format!("/proc/{pid}/ns/uts");
    let code = set_ns(lab, rules, Path::new(&uts), &["hostname".to_string()])?;
    anyhow::ensure!(code == 0, "hostname after setns exited with {code}");
    report::say(
        "The host's own hostname binary printed the container's name: only the uts link moved.",
    );

    println!();
    report::say("Part 2 — docker exec: join EVERY namespace, in order, then fork.");
    let code = enter_target(lab, rules, &c.config.name, Vec::new())?;

    lab.step("The throwaway container goes")?;
    throwaway.remove()?;
    Ok(code)
}

/// The container `whole_story` started, removed on every way out.
struct Throwaway(std::path::PathBuf);

impl Throwaway {
    fn remove(self) -> minidocker::Result<()> {
        let c = Container::load(&self.0)?;
        lifecycle::remove(&c, true)?;
        report::cleanup(&format!(
            "removed container {} (its process killed, its layers and directory deleted)",
            c.short_id()
        ));
        Ok(())
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if let Ok(c) = Container::load(&self.0) {
            if let Err(e) = lifecycle::remove(&c, true) {
                eprintln!("warning: removing the throwaway container: {e:#}");
            }
        }
    }
}

/// `/proc/PID/ns/*` as `name -> target` pairs, `pid_for_children` and all.
fn ns_table(pid: &str) -> minidocker::Result<Vec<(String, String)>> {
    Ok(namespaces::links(pid)?.into_iter().map(|l| (l.file, l.target)).collect())
}

/// The namespaces of process `pid`, each marked shared with this process or its own.
fn show_namespaces(pid: i32) -> minidocker::Result<()> {
    let ours = ns_table("self")?;
    for (name, link) in ns_table(&pid.to_string())? {
        let shared = ours.iter().any(|(n, l)| *n == name && *l == link);
        report::evidence(
            &format!("{name:>17}"),
            &format!("{link} — {}", if shared { "shared with this process" } else { "its own" }),
        );
    }
    Ok(())
}

/// The article's program: open NSFILE, setns, execute CMD — in a child, so this process can
/// report and wait.
fn set_ns(lab: &mut Lab, rules: &Rules, nsfile: &Path, cmd: &[String]) -> minidocker::Result<i32> {
    lab.step(&format!("The namespace file {}", nsfile.display()))?;
    let file =
        File::open(nsfile).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", nsfile.display()))?;
    let ns = exec::kind_of(&file)?;
    let inode = file.metadata()?.ino();
    drop(file);
    report::evidence(
        "it is",
        &format!(
            "{}:[{inode}] — a {} namespace, which isolates {}",
            ns.file(),
            ns.file(),
            ns.isolates()
        ),
    );
    report::say("A namespace is a kernel object; this file stands for it, and its inode number is the namespace's identity.");

    lab.step("This process's namespaces, before")?;
    let before = ns_table("self")?;
    for (name, target) in &before {
        report::evidence(&format!("{name:>17}"), target);
    }

    lab.step(&format!(
        "A child: open, setns({}), then execute {:?}",
        ns.flag().iter_names().map(|n| n.0).collect::<Vec<_>>().join("|"),
        cmd.join(" ")
    ))?;
    let join = rules.join;
    let owned = nsfile.to_path_buf();
    let setup = move || -> minidocker::Result<()> {
        // /proc/self is opened now, while it is this process in this /proc: after joining a
        // mount namespace, the path would mean the container's /proc.
        let me = File::open("/proc/self/ns")?;
        join(&owned, ns)?;
        report::say("after setns, in the child — the links that changed are marked:");
        for (name, old) in &before {
            let now = nix::fcntl::readlinkat(&me, name.as_str())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "?".into());
            let mark = if &now != old { "  ← joined" } else { "" };
            report::evidence(&format!("{name:>17}"), &format!("{now}{mark}"));
        }
        if ns == Namespace::Pid {
            report::note("pid did not change, pid_for_children did: setns never moves the caller, only where its children are born. The command below is still in the host's PID namespace (see --target, which forks).");
        }
        Ok(())
    };
    let (child, gate) = process::spawn(CloneFlags::empty(), &setup, cmd)?;
    gate.open()?;
    let exit = child.wait()?;
    report::evidence("command", &exit.to_string());
    Ok(exit.code())
}

/// What `docker exec` does, narrated.
fn enter_target(
    lab: &mut Lab,
    rules: &Rules,
    target: &str,
    cmd: Vec<String>,
) -> minidocker::Result<i32> {
    let (cmd, what) = if cmd.is_empty() {
        let sh = vec!["/bin/sh".to_string(), "-c".to_string(), DEFAULT_CMD.to_string()];
        (sh, "a shell that prints its hostname, its PID and the PIDs in /proc".to_string())
    } else {
        let what = format!("{:?}", cmd.join(" "));
        (cmd, what)
    };
    lab.step(&format!("The target: {target}"))?;
    let (pid, mut spec, who, whose) = if target.chars().all(|c| c.is_ascii_digit()) {
        let pid: i32 = target.parse()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_err(|_| anyhow::anyhow!("no process {pid}"))?;
        (
            pid,
            Spec::for_process(pid, cmd)?,
            format!("process {pid} ({})", comm.trim()),
            "the target's",
        )
    } else {
        let store = Store::open_default()?;
        let c = state::find(&store, target)?;
        let pid = exec::target_of(&c)?;
        (
            pid,
            Spec::for_container(&c, cmd),
            format!("the container's PID 1 ({} {})", c.config.name, c.short_id()),
            "PID 1's",
        )
    };
    report::evidence("PID on the host", &format!("{pid} — {who}"));
    show_namespaces(pid)?;

    lab.step("The plan: its cgroups, then its namespaces, in join_order's order")?;
    let plan = exec::plan(pid, rules)?;
    for dir in &plan.cgroups {
        report::evidence(
            "cgroup",
            &format!("{} ← write the helper's PID into cgroup.procs", dir.display()),
        );
    }
    if plan.cgroups.is_empty() {
        report::evidence("cgroup", "none under minidocker/ — the command stays in ours");
    }
    for (i, ns) in plan.namespaces.iter().enumerate() {
        report::evidence(
            &format!("setns {}", i + 1),
            &format!("{} ({})", exec::ns_path(pid, *ns).display(), ns.file()),
        );
    }
    report::evidence(
        "then",
        &format!(
            "fork; fchdir+chroot to its root; cd {}; Docker's capabilities; user {}",
            if spec.workdir.is_empty() { "/" } else { &spec.workdir },
            if spec.user.is_empty() { "root" } else { &spec.user }
        ),
    );
    spec.stdin = true;

    lab.step("Join, fork, and stop the command at the gate")?;
    let started = exec::start(pid, &spec, rules)?;
    let (helper, command) = (started.helper_pid(), started.command_pid());
    let link = |p: &str, f: &str| exec::ns_link(p, f).unwrap_or_else(|_| "?".into());
    report::evidence(
        "helper",
        &format!(
            "PID {helper}: pid {} (still the host's), pid_for_children {}",
            link(&helper.to_string(), "pid"),
            link(&helper.to_string(), "pid_for_children")
        ),
    );
    let inside = nspid(command.as_raw());
    report::evidence(
        "command",
        &format!(
            "PID {command} on the host, PID {} inside",
            inside.map_or("?".into(), |p| p.to_string())
        ),
    );
    for ns in Namespace::ALL {
        let (theirs, cmd_link) =
            (link(&pid.to_string(), ns.file()), link(&command.to_string(), ns.file()));
        let how = if !started.plan.namespaces.contains(&ns) {
            "shared all along"
        } else if cmd_link == theirs {
            "joined"
        } else {
            "NOT JOINED"
        };
        let same = if cmd_link == theirs { "the same" } else { "DIFFERENT" };
        report::evidence(
            &format!("{:>6}", ns.file()),
            &format!("{cmd_link} — {whose}: {theirs} — {same}, {how}"),
        );
    }
    for line in std::fs::read_to_string(format!("/proc/{command}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("minidocker"))
    {
        report::evidence("in cgroup", line);
    }
    report::say("Only the command, born after the joins, is in the target's PID namespace: its PID is small in there.");

    lab.step(&format!("Open the gate: {what} runs in there"))?;
    let exit = started.run()?;
    report::evidence("command", &exit.to_string());

    lab.step("Nothing left behind")?;
    let gone = |p: nix::unistd::Pid| !state::process_alive(p.as_raw(), 0);
    report::evidence(
        "helper and command",
        if gone(helper) && gone(command) {
            "both exited and reaped"
        } else {
            "STILL RUNNING (this must not happen)"
        },
    );
    Ok(exit.code())
}

/// The last field of `NSpid:` in /proc/PID/status: the PID in its innermost PID namespace.
fn nspid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("NSpid:"))?.split_whitespace().last()?.parse().ok()
}
