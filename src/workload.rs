//! Small, predictable workloads the lessons put under limits: a CPU burner, a memory hog and a
//! (bounded) fork bomb. They are this same binary, started as `BINARY __workload KIND ARG`, so a
//! lesson needs no tool (stress, python) on the host.

use std::time::{Duration, Instant};

/// The argv that runs workload `kind` with `arg` in a child process.
pub fn command(kind: &str, arg: &str) -> Vec<String> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/proc/self/exe".into());
    vec![exe, "__workload".into(), kind.into(), arg.into()]
}

/// If this process was started as a workload, run it and exit.
pub fn run_if_requested() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("__workload") {
        return;
    }
    let arg = args.get(3).map(String::as_str).unwrap_or("");
    let code = match args.get(2).map(String::as_str) {
        Some("burn") => burn(Duration::from_secs_f64(arg.parse().unwrap_or(3.0))),
        Some("hog") => hog(arg.parse().unwrap_or(200 << 20)),
        Some("forkbomb") => forkbomb(arg.parse().unwrap_or(200)),
        other => {
            eprintln!("unknown workload {other:?}");
            2
        }
    };
    std::process::exit(code);
}

/// Spin on the CPU for `wall` of wall-clock time.
fn burn(wall: Duration) -> i32 {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < wall {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    0
}

/// Allocate `bytes` and touch every page, reporting every 16 MiB so the last line printed
/// shows how far it got before the OOM killer struck.
fn hog(bytes: u64) -> i32 {
    const CHUNK: usize = 1 << 20;
    let mut held: Vec<Vec<u8>> = Vec::new();
    for i in 1..=bytes.div_ceil(CHUNK as u64) {
        // vec![1; n] writes every byte, so the pages are really backed by memory.
        held.push(vec![1u8; CHUNK]);
        if i % 16 == 0 {
            println!("hog: {i} MiB allocated and touched");
        }
    }
    println!("hog: all {} MiB allocated", bytes >> 20);
    0
}

/// Try to fork `n` children that each sleep 2 s; count the forks the kernel refuses.
fn forkbomb(n: u32) -> i32 {
    let (mut made, mut refused) = (0, 0);
    for _ in 0..n {
        // SAFETY: a single-threaded process; the child only sleeps and _exits.
        match unsafe { libc::fork() } {
            // SAFETY: in the child, only async-signal-safe calls before _exit.
            0 => unsafe {
                libc::sleep(2);
                libc::_exit(0)
            },
            -1 => refused += 1,
            _ => made += 1,
        }
    }
    println!("forkbomb: {made} forks succeeded, {refused} refused (EAGAIN: Resource temporarily unavailable)");
    // SAFETY: wait(2) with a null status pointer writes nothing.
    while unsafe { libc::wait(std::ptr::null_mut()) } > 0 {}
    0
}
