//! The automatic check of exercise 05: `05-run-and-port --check`.
//!
//! 64 threads ask for an address at the same moment, as 64 `minidocker run` could; each
//! must get its own, recorded under its own ID, and never the network, gateway or broadcast
//! address. Then the small subnet is exhausted and must say so.

use minidocker::lesson::{CheckDir, Lab};
use minidocker::network::{Rules, Subnet};
use minidocker::report;
use std::collections::BTreeSet;
use std::sync::Barrier;

const THREADS: usize = 64;

pub fn run(lab: &mut Lab, rules: &Rules) -> minidocker::Result<i32> {
    report::say(&format!("Checking {}", lab.exercise_source()));
    let dir = CheckDir::new("check05");
    let subnet = Subnet::parse("10.123.0.0/24")?;

    lab.step(&format!("{THREADS} containers ask for an address at the same moment"))?;
    let barrier = Barrier::new(THREADS);
    let got: Vec<(String, minidocker::Result<std::net::Ipv4Addr>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (barrier, dir, subnet) = (&barrier, &dir.0, &subnet);
                s.spawn(move || {
                    let id = format!("container{i:02}");
                    barrier.wait();
                    let ip = (rules.allocate)(dir, subnet, &id);
                    (id, ip)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("an allocating thread panicked")).collect()
    });
    let ok: Vec<_> =
        got.iter().filter_map(|(id, ip)| ip.as_ref().ok().map(|ip| (id.clone(), *ip))).collect();
    lab.expect(
        ok.len() == THREADS,
        format!("every request got an address ({} of {THREADS})", ok.len()),
    );
    let distinct: BTreeSet<_> = ok.iter().map(|(_, ip)| *ip).collect();
    lab.expect(
        distinct.len() == ok.len(),
        format!("no address was handed out twice ({} distinct of {})", distinct.len(), ok.len()),
    );
    let reserved = [subnet.network, subnet.gateway(), subnet.broadcast()];
    lab.expect(
        !ok.iter().any(|(_, ip)| reserved.contains(ip)),
        "never the network, gateway or broadcast address",
    );
    let recorded = ok.iter().all(|(id, ip)| {
        std::fs::read_to_string(dir.0.join(ip.to_string())).is_ok_and(|owner| &owner == id)
    });
    lab.expect(recorded, "each address's file holds the ID of the container that got it");

    lab.step("Fill the subnet: the last request must fail, clearly")?;
    let mut last = None;
    for i in 0..300 {
        if let Err(e) = (rules.allocate)(&dir.0, &subnet, &format!("filler{i}")) {
            last = Some(e.to_string());
            break;
        }
    }
    lab.expect(
        last.is_some(),
        format!("an exhausted subnet is an error ({})", last.unwrap_or_else(|| "none".into())),
    );
    Ok(lab.check_outcome())
}
