//! A probe run inside a container by tests/security.rs, compiled there as a static binary
//! (`rustc -C target-feature=+crt-static`, no crates): each argument is `NAME:NR:A0:A1:…`;
//! the probe makes that system call with those arguments in a child process of its own (so a
//! call that succeeds, such as `unshare(CLONE_NEWUSER)`, changes nothing for the next one)
//! and prints `NAME ERRNO` (0: the call succeeded).

extern "C" {
    fn syscall(nr: i64, ...) -> i64;
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn getpid() -> i32;
    fn __errno_location() -> *mut i32;
}

fn main() {
    for spec in std::env::args().skip(1) {
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or("?").to_string();
        let nums: Vec<i64> = parts.map(|p| p.parse::<u64>().expect(&spec) as i64).collect();
        let a = |i: usize| nums.get(i + 1).copied().unwrap_or(0);
        // SAFETY: test code; the child only makes the call and exits.
        unsafe {
            let pid = fork();
            if pid == 0 {
                let me = getpid();
                let r = syscall(nums[0], a(0), a(1), a(2), a(3), a(4), a(5));
                if getpid() != me {
                    _exit(0); // the child a successful clone made
                }
                _exit(if r < 0 { *__errno_location() } else { 0 });
            }
            let mut status = 0;
            waitpid(pid, &mut status, 0);
            let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { 1000 + (status & 0x7f) };
            println!("{name} {code}");
        }
    }
}
