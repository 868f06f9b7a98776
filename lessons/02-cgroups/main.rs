//! Lesson 02 — limits on CPU, memory and processes, and the counters that show them work.
//!
//! The mechanism is in `src/cgroups/` (hierarchies, groups, limits, counters); this file only
//! narrates it. The lab sheet is `README.md` next to this file.

mod check;
#[path = "exercise.rs"]
mod mine;

use clap::Parser;
use minidocker::cgroups::{self, limits, solution, Cgroup, Controller, Layout, Limits};
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::process::{self, Exit};
use minidocker::{report, units, workload};
use nix::sched::CloneFlags;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Finds where each controller lives (v1, v2 or hybrid), makes a cgroup, writes the limits and
/// runs CMD in it, then reads back what the kernel measured. Without CMD it runs three demos
/// under the limits: a CPU burner held at its quota, a memory hog killed by the OOM killer, a
/// fork bomb stopped at the pids limit (defaults: --cpus 0.25 --memory 32m --pids-limit 20).
/// The cgroup is removed at the end.
#[derive(Parser)]
struct Args {
    /// CPU time per 100 ms period, in CPUs (0.25 = a quarter of one CPU)
    #[arg(long, value_name = "N", value_parser = units::parse_cpus, allow_hyphen_values = true)]
    cpus: Option<f64>,
    /// Memory limit such as 32m or 1g, no swap beyond it
    #[arg(short = 'm', long, value_name = "SIZE", value_parser = units::parse_size)]
    memory: Option<u64>,
    /// At most N processes and threads in the group
    #[arg(
        long,
        value_name = "N",
        value_parser = |s: &str| units::parse_count("--pids-limit", s),
        allow_hyphen_values = true
    )]
    pids_limit: Option<u64>,
    /// The command to run in the cgroup, with its arguments (put `--` before it)
    #[arg(value_name = "CMD", trailing_var_arg = true)]
    cmd: Vec<String>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str = "creating cgroups means writing to /sys/fs/cgroup, which only root may do";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let mut limits = Limits { cpus: args.cpus, memory: args.memory, pids: args.pids_limit };
    let cmd = args.cmd;
    let rules = lab.rules(&mine::RULES, &solution::RULES);
    if lab.check {
        return check::run(lab, rules);
    }
    if cmd.is_empty() {
        // The demos, each under its own limit.
        limits.cpus = limits.cpus.or(Some(0.25));
        limits.memory = limits.memory.or(Some(32 << 20));
        limits.pids = limits.pids.or(Some(20));
    }
    report::say(&format!("Exercise code: {}", lab.exercise_source()));

    lab.step("Find where each controller lives")?;
    let layout = Layout::detect()?;
    report::evidence("this host", layout.mode());
    let controllers = limits.controllers();
    for &c in &controllers {
        match layout.locate(c) {
            Some(h) => report::evidence(
                c.name(),
                &format!("{} hierarchy at {}", h.version, h.mountpoint.display()),
            ),
            None => report::evidence(c.name(), "not available here"),
        }
    }

    lab.step("Create the cgroup: one mkdir per hierarchy")?;
    let cg = Cgroup::create(
        &layout,
        &format!("minidocker/lesson02-{}", std::process::id()),
        &controllers,
    )?;
    for dir in cg.dirs() {
        report::evidence("created", &dir.display().to_string());
    }

    lab.step("Write the limits: a limit is a file")?;
    limits.apply(&cg, rules)?;
    for (file, value) in cg.written() {
        report::evidence("wrote", &format!("{value:<14} → {}", file.display()));
    }

    if !cmd.is_empty() {
        lab.step(&format!("Run {:?} inside the cgroup", cmd[0]))?;
        let (exit, _) = run_in(&cg, &cmd)?;
        report::evidence("command", &exit.to_string());
        lab.step("What the kernel measured")?;
        report_usage(&cg, &limits)?;
        return Ok(exit.code());
    }

    lab.step("A CPU burner under --cpus")?;
    report::say(
        "It spins for 3 seconds of wall time; the CFS quota lets it run only part of each 100 ms.",
    );
    let (exit, wall) = run_in(&cg, &workload::command("burn", "3"))?;
    report::evidence("burner", &exit.to_string());
    let used = limits::cpu_usage(&cg)?;
    report::evidence(
        "cpu used",
        &format!(
            "{:.2} s in {:.2} s = {:.1} % of one CPU (quota {:.0} %)",
            used.as_secs_f64(),
            wall.as_secs_f64(),
            percent(used, wall),
            limits.cpus.unwrap_or(0.0) * 100.0
        ),
    );

    lab.step("A memory hog under --memory")?;
    report::say("It allocates 200 MiB and touches every page; the group may hold only the limit.");
    let (exit, _) = run_in(&cg, &workload::command("hog", &(200u64 << 20).to_string()))?;
    report::evidence("hog", &exit.to_string());
    report_memory(&cg, &limits)?;

    lab.step("A fork bomb under --pids-limit")?;
    report::say(
        "It tries 200 forks; at the limit fork() fails with EAGAIN instead of exhausting the host.",
    );
    let (exit, _) = run_in(&cg, &workload::command("forkbomb", "200"))?;
    report::evidence("fork bomb", &exit.to_string());
    report::evidence("forks refused (pids.events max)", &limits::forks_refused(&cg)?.to_string());

    lab.step("Clean up")?;
    cg.destroy()?;
    Ok(0)
}

/// Start `argv` in the group — placed there before it runs a single instruction — and wait.
fn run_in(cg: &Cgroup, argv: &[String]) -> minidocker::Result<(Exit, Duration)> {
    // ANCHOR: run_in
    let (child, gate) = process::spawn(CloneFlags::empty(), &|| Ok(()), argv)?;
    cg.add(child.pid())?;
    let start = Instant::now();
    gate.open()?;
    let exit = child.wait()?;
    // ANCHOR_END: run_in
    Ok((exit, start.elapsed()))
}

fn percent(used: Duration, wall: Duration) -> f64 {
    100.0 * used.as_secs_f64() / wall.as_secs_f64().max(1e-9)
}

fn report_memory(cg: &Cgroup, limits: &Limits) -> minidocker::Result<()> {
    report::evidence("oom kills", &cgroups::limits::oom_kills(cg)?.to_string());
    if let Some(peak) = limits::memory_peak(cg)? {
        let limit = limits.memory.map(units::human).unwrap_or_default();
        report::evidence("peak memory", &format!("{} (limit {limit})", units::human(peak)));
    }
    Ok(())
}

fn report_usage(cg: &Cgroup, limits: &Limits) -> minidocker::Result<()> {
    report::evidence("cpu used", &format!("{:.2} s", limits::cpu_usage(cg)?.as_secs_f64()));
    if limits.memory.is_some() {
        report_memory(cg, limits)?;
    }
    if limits.pids.is_some() {
        report::evidence("pids.max", &cg.read(Controller::Pids, "pids.max")?);
        report::evidence(
            "forks refused (pids.events max)",
            &limits::forks_refused(cg)?.to_string(),
        );
    }
    Ok(())
}
