//! Lesson 01 — a process in new namespaces, and the `/proc/PID/ns` files that prove it.
//!
//! The mechanism is in `src/namespaces.rs` (and the `clone(2)` call in `src/process.rs`);
//! this file only narrates it. The lab sheet is `README.md` next to this file.

mod check;
#[path = "exercise.rs"]
mod mine;

use colored::Colorize;
use minidocker::lesson::{self, Info, Lab};
use minidocker::namespaces::{self, Namespace};
use minidocker::solutions::namespaces01 as solution;
use minidocker::{report, sys};
use std::ffi::OsString;
use std::process::ExitCode;

/// The exercise's functions: the student's (`--mine`) or the reference answer's.
pub struct Exercise {
    pub child_namespaces: fn() -> Vec<Namespace>,
    pub setup_inside: fn(&str) -> minidocker::Result<()>,
}

const MINE: Exercise =
    Exercise { child_namespaces: mine::child_namespaces, setup_inside: mine::setup_inside };
const SOLUTION: Exercise =
    Exercise { child_namespaces: solution::child_namespaces, setup_inside: solution::setup_inside };

static INFO: Info = Info {
    bin: "01-namespaces",
    title: "a process in its own namespaces, and the /proc/PID/ns files that prove it",
    article: "Linux Namespaces, as the article recaps them (its `ls -l /proc/25686/ns`)",
    usage: "01-namespaces [--hostname NAME] [-- CMD ARGS…]",
    about: "Starts CMD (default: a short demo script) with clone() as PID 1 of new UTS, PID, mount,
IPC, network and cgroup namespaces, with its own /proc. Shows the PID inside and outside,
the hostname inside and on the host, and the host's and the child's /proc/PID/ns links
side by side, marking the ones that differ.",
    options: "  --hostname NAME   hostname inside the new UTS namespace (default: box1)\n",
    needs_root: "creating namespaces and mounting /proc require CAP_SYS_ADMIN",
};

/// The demo the child runs when no command is given: shell builtins only, so what it prints
/// comes from the kernel and not from a tool that might not be installed.
const DEMO: &str = r#"read h < /proc/sys/kernel/hostname
echo "inside: hostname is $h, my PID is $$"
printf 'inside: processes in /proc:'
for p in /proc/[0-9]*; do printf ' %s' "${p#/proc/}"; done; echo
printf 'inside: network interfaces:'
while read -r l; do case $l in *:*) printf ' %s' "${l%%:*}";; esac; done < /proc/net/dev; echo"#;

fn main() -> ExitCode {
    lesson::main(&INFO, run)
}

fn run(lab: &mut Lab, args: Vec<OsString>) -> minidocker::Result<i32> {
    use lexopt::prelude::*;
    let mut hostname = "box1".to_string();
    let mut cmd = Vec::new();
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Long("hostname") => hostname = p.value()?.string()?,
            Value(v) => cmd = lesson::command_rest(v, &mut p)?,
            _ => return Err(arg.unexpected().into()),
        }
    }
    let ex = if lab.uses_mine() { &MINE } else { &SOLUTION };
    if lab.check {
        return check::run(lab, ex);
    }
    if cmd.is_empty() {
        cmd = vec!["/bin/sh".into(), "-c".into(), DEMO.into()];
    }
    demo(lab, ex, &hostname, &cmd)
}

fn demo(lab: &mut Lab, ex: &Exercise, hostname: &str, cmd: &[String]) -> minidocker::Result<i32> {
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("The host, before")?;
    report::evidence("this process", &format!("PID {}", std::process::id()));
    report::evidence("hostname", &sys::hostname());

    lab.step("clone() a child into new namespaces")?;
    let chosen = (ex.child_namespaces)();
    for ns in &chosen {
        report::say(&format!("{:<7} {}", ns.file(), ns.isolates()));
    }
    // ANCHOR: spawn
    let setup = || (ex.setup_inside)(hostname);
    let (child, gate) = namespaces::spawn(&chosen, &setup, cmd)?;
    // ANCHOR_END: spawn
    report::evidence(
        "child",
        &format!("PID {} as seen from the host (it will call itself PID 1)", child.pid()),
    );

    lab.step(&format!(
        "Compare /proc/{}/ns/* (host) with /proc/{}/ns/* (child)",
        std::process::id(),
        child.pid()
    ))?;
    report::say("Each link names a namespace and its inode: same inode, same namespace.");
    print_table(&namespaces::links("self")?, &namespaces::links(&child.pid().to_string())?);

    lab.step(&format!("Let the child set up and run {:?}", cmd[0]))?;
    report::say(&format!("Inside: sethostname({hostname:?}), then its own /proc, then exec."));
    gate.open()?;
    let exit = child.wait()?;
    report::evidence("child", &exit.to_string());

    lab.step("Back on the host")?;
    report::evidence(
        "hostname",
        &format!("{} (unchanged: the child's UTS namespace had its own)", sys::hostname()),
    );
    report::cleanup("the child's namespaces ended with their last process; its /proc mount went with its mount namespace");
    Ok(exit.code())
}

/// The two `ls -l /proc/PID/ns` listings side by side, differences marked.
fn print_table(host: &[namespaces::NsLink], child: &[namespaces::NsLink]) {
    println!("  {:<18} {:<24} {}", "NAMESPACE".bold(), "HOST".bold(), "CHILD".bold());
    for h in host {
        let c = child.iter().find(|c| c.file == h.file).map_or("?", |c| c.target.as_str());
        let mark = if c == h.target { "shared".dimmed() } else { "NEW".yellow().bold() };
        println!("  {:<18} {:<24} {:<24} {}", h.file, h.target, c, mark);
    }
}
