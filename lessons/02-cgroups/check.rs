//! The automatic check of exercise 02: `02-cgroups --check`.
//!
//! On this host it limits a fresh cgroup with the exercise's `limit_cpus` and `limit_memory`,
//! reads the files back, and measures what the kernel then does: a CPU burner held at its
//! quota, a memory hog killed by the OOM killer. Then it runs the same two functions against a
//! directory laid out as the *other* cgroup version's files (v1 on a v2 host, v2 on a v1 or
//! hybrid one): the text must be right there too, though this kernel does not enforce it.
//!
//! Both groups start as if an earlier limit had left a 250 ms CPU period (as `docker update
//! --cpus` finds it), so an answer that writes the quota and forgets the period fails.

use minidocker::cgroups::{limits, Cgroup, Controller, Hierarchy, Layout, Rules, Version};
use minidocker::lesson::{CheckDir, Lab};
use minidocker::process::{self, Exit};
use minidocker::{report, workload};
use nix::sched::CloneFlags;
use std::time::Instant;

const CPUS: f64 = 0.25;
const MEMORY: u64 = 32 << 20;
/// The period an earlier limit left in the group, in µs.
const OLD_PERIOD: u64 = 250_000;

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let layout = Layout::detect()?;
    let cg = Cgroup::create(
        &layout,
        &format!("minidocker/check02-{}", std::process::id()),
        &[Controller::Cpu, Controller::Cpuacct, Controller::Memory],
    )?;
    let here = cg.version(Controller::Cpu)?;
    lab.step(&format!("--cpus {CPUS} --memory 32m on this host ({here})"))?;
    match here {
        Version::V2 => cg.write(Controller::Cpu, "cpu.max", &format!("max {OLD_PERIOD}"))?,
        Version::V1 => cg.write(Controller::Cpu, "cpu.cfs_period_us", &OLD_PERIOD.to_string())?,
    }
    limit_and_read_back(lab, &cg, rules)?;

    lab.step("A CPU burner for 2 s in the group")?;
    let (exit, wall) = run_in(&cg, &workload::command("burn", "2"))?;
    let used = limits::cpu_usage(&cg)?;
    let pct = 100.0 * used.as_secs_f64() / wall.max(1e-9);
    let throttled =
        minidocker::cgroups::keyed(&cg.read(Controller::Cpu, "cpu.stat")?, "nr_throttled");
    lab.expect(
        exit.success() && pct <= 35.0,
        format!(
            "the kernel holds it near {:.0} % of one CPU: it used {pct:.1} % ({:.2} s in {wall:.2} s, \
             throttled {} times)",
            CPUS * 100.0,
            used.as_secs_f64(),
            throttled.unwrap_or(0)
        ),
    );

    lab.step("A memory hog of 200 MiB in the group")?;
    let (exit, _) = run_in(&cg, &workload::command("hog", &(200u64 << 20).to_string()))?;
    let kills = limits::oom_kills(&cg)?;
    lab.expect(
        exit == Exit::Signal(nix::sys::signal::Signal::SIGKILL) && kills > 0,
        format!("the OOM killer kills it inside the group: {exit}, oom_kill = {kills}"),
    );
    cg.destroy()?;

    let other = match here {
        Version::V1 => Version::V2,
        Version::V2 => Version::V1,
    };
    lab.step(&format!("The same limits on {other}'s files (laid out in a directory)"))?;
    report::say(
        "The text your code writes there must be the kernel's format; nothing enforces it.",
    );
    let dir = CheckDir::new("check02");
    let fake = fake_group(&dir.0, other)?;
    limit_and_read_back(lab, &fake, rules)?;
    for d in fake.dirs() {
        std::fs::remove_dir_all(d)?;
    }
    drop(fake);
    Ok(lab.check_outcome())
}

/// Call the exercise's functions on `cg` and compare its files with what the kernel expects.
fn limit_and_read_back(lab: &mut Lab, cg: &Cgroup, rules: &Rules) -> minidocker::Result<()> {
    let read = |c, f: &str| cg.read(c, f).unwrap_or_else(|_| "(missing)".into());
    let r = (rules.limit_cpus)(cg, CPUS);
    lab.expect(r.is_ok(), format!("limit_cpus({CPUS}) succeeds{}", error(&r)));
    let (cpu, mem) = (Controller::Cpu, Controller::Memory);
    match cg.version(cpu)? {
        Version::V2 => {
            let max = read(cpu, "cpu.max");
            lab.expect(
                max == "25000 100000",
                format!("cpu.max is \"25000 100000\" (found {max:?})"),
            );
        }
        Version::V1 => {
            let (quota, period) = (read(cpu, "cpu.cfs_quota_us"), read(cpu, "cpu.cfs_period_us"));
            lab.expect(
                quota == "25000" && period == "100000",
                format!(
                    "cpu.cfs_quota_us is 25000 and cpu.cfs_period_us 100000 (found {quota:?} and \
                     {period:?})"
                ),
            );
        }
    }
    let r = (rules.limit_memory)(cg, MEMORY);
    lab.expect(r.is_ok(), format!("limit_memory(32 MiB) succeeds{}", error(&r)));
    let (file, swap_file, no_swap) = match cg.version(mem)? {
        Version::V2 => ("memory.max", "memory.swap.max", "0".to_string()),
        Version::V1 => ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", MEMORY.to_string()),
    };
    let found = read(mem, file);
    lab.expect(found == MEMORY.to_string(), format!("{file} is {MEMORY} (found {found:?})"));
    if cg.has(mem, swap_file) {
        let found = read(mem, swap_file);
        lab.expect(
            found == no_swap,
            format!("{swap_file} is {no_swap}: no swap (found {found:?})"),
        );
    }
    Ok(())
}

fn error(r: &minidocker::Result<()>) -> String {
    r.as_ref().err().map(|e| format!(" (failed: {e:#})")).unwrap_or_default()
}

/// Start `argv` in the group and wait: its exit and the wall time it took, in seconds.
fn run_in(cg: &Cgroup, argv: &[String]) -> minidocker::Result<(Exit, f64)> {
    let (child, gate) = process::spawn(CloneFlags::empty(), &|| Ok(()), argv)?;
    cg.add(child.pid())?;
    let start = Instant::now();
    gate.open()?;
    let exit = child.wait()?;
    Ok((exit, start.elapsed().as_secs_f64()))
}

/// A group in `root` laid out as `version`'s cgroupfs lays out the cpu and memory files, with
/// the values a fresh group has — and the period an earlier limit left.
fn fake_group(root: &std::path::Path, version: Version) -> minidocker::Result<Cgroup> {
    let unlimited = "9223372036854771712";
    let (layout, files): (Layout, Vec<(&str, String)>) = match version {
        Version::V2 => {
            std::fs::create_dir_all(root)?;
            std::fs::write(root.join("cgroup.subtree_control"), "")?;
            let layout = Layout::v2_at(root, &["cpu", "memory"]);
            let files = vec![
                ("g/cpu.max", format!("max {OLD_PERIOD}")),
                ("g/memory.max", "max".into()),
                ("g/memory.swap.max", "max".into()),
            ];
            (layout, files)
        }
        Version::V1 => {
            let h = |dir: &str, c: &[&str]| Hierarchy {
                version: Version::V1,
                mountpoint: root.join(dir),
                controllers: c.iter().map(|s| s.to_string()).collect(),
            };
            for d in ["cpu,cpuacct", "memory"] {
                std::fs::create_dir_all(root.join(d))?;
            }
            let layout = Layout {
                hierarchies: vec![h("cpu,cpuacct", &["cpu", "cpuacct"]), h("memory", &["memory"])],
            };
            let files = vec![
                ("cpu,cpuacct/g/cpu.cfs_period_us", OLD_PERIOD.to_string()),
                ("cpu,cpuacct/g/cpu.cfs_quota_us", "-1".into()),
                ("memory/g/memory.limit_in_bytes", unlimited.into()),
                ("memory/g/memory.memsw.limit_in_bytes", unlimited.into()),
            ];
            (layout, files)
        }
    };
    let cg = Cgroup::create(&layout, "g", &[Controller::Cpu, Controller::Memory])?.quietly();
    for (file, value) in files {
        std::fs::write(root.join(file), value)?;
    }
    Ok(cg)
}
