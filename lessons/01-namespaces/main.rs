//! Lesson 01 — a process in new namespaces, and the `/proc/PID/ns` files that prove it.
//!
//! The mechanism is in `src/namespaces.rs` (and the `clone(2)` call in `src/process.rs`);
//! this file only narrates it. The lab sheet is `README.md` next to this file.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use colored::Colorize;
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::namespaces::{self, solution, Rules};
use minidocker::{report, sys};
use std::process::ExitCode;

/// Starts CMD (default: a short demo script) with clone() as PID 1 of new UTS, PID, mount, IPC,
/// network and cgroup namespaces, with its own /proc. Shows the PID inside and outside, the
/// hostname inside and on the host, and the host's and the child's /proc/PID/ns links side by
/// side, marking the ones that differ.
#[derive(Parser)]
struct Args {
    /// Hostname inside the new UTS namespace
    #[arg(long, value_name = "NAME", default_value = "box1")]
    hostname: String,
    /// The command to run in the new namespaces, with its arguments (put `--` before it)
    #[arg(value_name = "CMD", trailing_var_arg = true)]
    cmd: Vec<String>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str = "creating namespaces and mounting /proc require CAP_SYS_ADMIN";

/// The demo the child runs when no command is given: shell builtins only, so what it prints
/// comes from the kernel and not from a tool that might not be installed.
const DEMO: &str = r#"read h < /proc/sys/kernel/hostname
echo "inside: hostname is $h, my PID is $$"
printf 'inside: processes in /proc:'
for p in /proc/[0-9]*; do printf ' %s' "${p#/proc/}"; done; echo
printf 'inside: network interfaces:'
while read -r l; do case $l in *:*) printf ' %s' "${l%%:*}";; esac; done < /proc/net/dev; echo"#;

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    let mut cmd = args.cmd;
    if cmd.is_empty() {
        cmd = vec!["/bin/sh".into(), "-c".into(), DEMO.into()];
    }
    demo(lab, rules, &args.hostname, &cmd)
}

fn demo(lab: &mut Lab, rules: &Rules, hostname: &str, cmd: &[String]) -> minidocker::Result<i32> {
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("The host, before")?;
    report::evidence("this process", &format!("PID {}", std::process::id()));
    report::evidence("hostname", &sys::hostname());

    lab.step("clone() a child into new namespaces")?;
    let chosen = (rules.child_namespaces)();
    for ns in &chosen {
        report::say(&format!("{:<7} {}", ns.file(), ns.isolates()));
    }
    // ANCHOR: spawn
    let setup = || (rules.setup_inside)(hostname);
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
