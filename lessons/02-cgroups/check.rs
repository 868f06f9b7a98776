//! The automatic check of exercise 02: `02-cgroups --check`.
//!
//! It gives a fresh cgroup the exercise's pids limit, runs a bounded fork bomb in it and
//! compares what the exercise reports with what the kernel counted.

use minidocker::cgroups::{keyed, Cgroup, Controller, Layout, Rules};
use minidocker::lesson::Lab;
use minidocker::process;
use minidocker::{report, workload};
use nix::sched::CloneFlags;

const LIMIT: u64 = 10;

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    lab.step(&format!("Limit a fresh cgroup to {LIMIT} processes"))?;
    let layout = Layout::detect()?;
    let cg = Cgroup::create(
        &layout,
        &format!("minidocker/check02-{}", std::process::id()),
        &[Controller::Pids],
    )?;
    (rules.limit_pids)(&cg, LIMIT)?;
    let max = cg.read(Controller::Pids, "pids.max")?;
    lab.expect(max == LIMIT.to_string(), format!("pids.max is {LIMIT} (found {max:?})"));

    lab.step("Run a fork bomb of 50 forks in it")?;
    let (child, gate) =
        process::spawn(CloneFlags::empty(), &|| Ok(()), &workload::command("forkbomb", "50"))?;
    cg.add(child.pid())?;
    gate.open()?;
    let exit = child.wait()?;
    lab.expect(exit.success(), format!("the fork bomb finished ({exit})"));
    let kernel = keyed(&cg.read(Controller::Pids, "pids.events")?, "max").unwrap_or(0);
    lab.expect(
        kernel > 0,
        format!("the kernel refused forks at the limit (pids.events max = {kernel})"),
    );
    let reported = (rules.forks_refused)(&cg)?;
    lab.expect(
        reported == kernel && kernel > 0,
        format!("forks_refused() reports the kernel's count ({reported} vs {kernel})"),
    );
    cg.destroy()?;
    Ok(lab.check_outcome())
}
