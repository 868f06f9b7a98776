//! The device controller: which device files the processes of a group may open or create.
//!
//! A container runs as root with `CAP_MKNOD`, so it can make a node for *any* device number
//! (`mknod /dev/k c 1 11` is the host's kernel log). What stops it from opening one is this
//! controller. Docker's rule list ([`DEFAULT_RULES`]) allows the few character devices every
//! program expects, allows `mknod` itself, and refuses everything else.
//!
//! The same list is applied two ways:
//! - **cgroup v1**: the `devices` hierarchy has files for it — `devices.deny` takes `a`
//!   (refuse all), then each allowed rule is one line written to `devices.allow`, in the very
//!   format of [`Rule`]'s `Display` (`c 1:3 rwm`).
//! - **cgroup v2** has no device files at all. Instead, a tiny eBPF program of type
//!   `BPF_PROG_TYPE_CGROUP_DEVICE` is attached to the group: the kernel runs it on every
//!   open or mknod of a device node and lets it through only if the program returns 1. We
//!   write that program here instruction by instruction ([`program`]), as runc does.

use super::{Cgroup, Controller, Version};
use crate::{report, sys};
use nix::errno::Errno;
use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Access bits, with the values the kernel's BPF context uses (`BPF_DEVCG_ACC_*`).
pub const MKNOD: u32 = 1;
pub const READ: u32 = 2;
pub const WRITE: u32 = 4;
pub const RWM: u32 = READ | WRITE | MKNOD;

/// One rule of a device list: `allow` (or refuse) `access` to the devices that match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    /// `'c'` character, `'b'` block, `'a'` both.
    pub kind: char,
    /// `None` is `*`: any number.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// [`READ`] | [`WRITE`] | [`MKNOD`].
    pub access: u32,
}

const fn allow(kind: char, major: Option<u32>, minor: Option<u32>, access: u32) -> Rule {
    Rule { allow: true, kind, major, minor, access }
}

/// Docker's default device rules (after "refuse everything"): mknod of any node, and read,
/// write and mknod of the standard character devices.
// ANCHOR: default_rules
pub const DEFAULT_RULES: [Rule; 11] = [
    allow('c', None, None, MKNOD), // c *:* m   mknod of any character device
    allow('b', None, None, MKNOD), // b *:* m   mknod of any block device
    allow('c', Some(1), Some(3), RWM), // /dev/null
    allow('c', Some(1), Some(5), RWM), // /dev/zero
    allow('c', Some(1), Some(7), RWM), // /dev/full
    allow('c', Some(1), Some(8), RWM), // /dev/random
    allow('c', Some(1), Some(9), RWM), // /dev/urandom
    allow('c', Some(5), Some(0), RWM), // /dev/tty
    allow('c', Some(5), Some(1), RWM), // /dev/console
    allow('c', Some(5), Some(2), RWM), // /dev/ptmx
    allow('c', Some(136), None, RWM), // /dev/pts/*
];
// ANCHOR_END: default_rules

impl fmt::Display for Rule {
    /// The v1 file format: `c 1:3 rwm`, `b *:* m`, `a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == 'a' && self.major.is_none() && self.minor.is_none() {
            return f.write_str("a");
        }
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let access: String = [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, c)| *c)
            .collect();
        write!(f, "{} {}:{} {access}", self.kind, num(self.major), num(self.minor))
    }
}

/// Put `rules` in force for `cg` (created with [`Controller::Devices`]): everything not
/// allowed by a rule is refused; of two rules that match, the later one wins.
pub fn apply(cg: &Cgroup, rules: &[Rule]) -> crate::Result<()> {
    match cg.version(Controller::Devices)? {
        // ANCHOR: v1
        Version::V1 => {
            cg.write(Controller::Devices, "devices.deny", "a")?;
            for rule in rules {
                let file = if rule.allow { "devices.allow" } else { "devices.deny" };
                cg.write(Controller::Devices, file, &rule.to_string())?;
            }
            Ok(())
        }
        // ANCHOR_END: v1
        Version::V2 => attach(cg, &program(rules)),
    }
}

/// One eBPF instruction (`struct bpf_insn`): opcode, two registers in one byte, a jump
/// offset and an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// Destination register in the low 4 bits, source register in the high 4.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// The opcodes used below: class | operation | source (K: the immediate, X: a register).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W     dst = *(u32 *)(src + off)
const AND_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K   dst &= imm
const RSH_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K   dst >>= imm
const MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K   dst = imm
const MOV_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X   dst = src
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K     if dst != imm: skip off instructions
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X     if dst != src: skip off instructions
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT            return r0

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: dst | (src << 4), off, imm }
}

/// The program for `rules`. Its input (register 1) points at the kernel's
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, where
/// `access_type` is `access << 16 | type` (type 1 block, 2 character). It returns 1 to allow.
///
/// ```text
///   r2 = ctx->access_type & 0xffff     the device type
///   r3 = ctx->access_type >> 16        the access asked for
///   r4 = ctx->major;  r5 = ctx->minor
///   for each rule, the last first:     (the first one that matches decides)
///     if r2 != type: next rule         (each check only where the rule is not a wildcard)
///     if r3 & access != r3: next rule  (something asked for is not in the rule)
///     if r4 != major: next rule
///     if r5 != minor: next rule
///     return rule.allow
///   return 0                           no rule matched: refused
/// ```
// ANCHOR: program
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        // The checks jump to the next rule: past the rest of this block, whose length is
        // known once it is built, so each jump's offset is filled in at the end.
        let mut block = Vec::new();
        match rule.kind {
            'c' => block.push(insn(JNE_K, 2, 0, 0, 2)),
            'b' => block.push(insn(JNE_K, 2, 0, 0, 1)),
            _ => {}
        }
        if rule.access & RWM != RWM {
            block.push(insn(MOV_X, 1, 3, 0, 0));
            block.push(insn(AND_K, 1, 0, 0, rule.access as i32));
            block.push(insn(JNE_X, 1, 3, 0, 0));
        }
        if let Some(major) = rule.major {
            block.push(insn(JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JNE_K, 5, 0, 0, minor as i32));
        }
        let unconditional = block.is_empty();
        block.push(insn(MOV_K, 0, 0, 0, rule.allow as i32));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                ins.off = (len - i - 1) as i16;
            }
        }
        prog.extend(block);
        if unconditional {
            // It matches every access: the rules before it could never decide, and the
            // verifier refuses code that cannot be reached.
            return prog;
        }
    }
    prog.push(insn(MOV_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}
// ANCHOR_END: program

// From linux/bpf.h.
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Let other programs stay attached too (to this group or its parents): all must allow.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The first fields of `union bpf_attr` for BPF_PROG_LOAD; the rest stays zero.
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    rest: [u64; 12],
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    rest: [u64; 4],
}

fn bpf<T>(cmd: libc::c_int, attr: &T) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a `#[repr(C)]` struct laid out as the start of `union bpf_attr`,
    // with every field the kernel may read initialised (the tail zero), and its size passed.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *const T, size_of::<T>()) };
    Errno::result(r)
}

/// Load `prog` into the kernel and attach it to the v2 group `cg`.
fn attach(cg: &Cgroup, prog: &[Insn]) -> crate::Result<()> {
    // No helper function is called, so no GPL-only one: any license string will do.
    let license = c"MIT OR Apache-2.0";
    let mut load = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    let call = format!("bpf(BPF_PROG_LOAD, CGROUP_DEVICE, {} instructions)", prog.len());
    let fd = match bpf(BPF_PROG_LOAD, &load) {
        Ok(fd) => fd,
        Err(e) => {
            // Load it again with the verifier's log, which says what it did not like.
            let mut log = vec![0u8; 1 << 16];
            (load.log_level, load.log_size, load.log_buf) =
                (1, log.len() as u32, log.as_mut_ptr() as u64);
            let _ = bpf(BPF_PROG_LOAD, &load);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            report::syscall(&call, &format!("-1 {e:?}"));
            return Err(sys::failure(&call, e).context(format!("the verifier said: {text}")));
        }
    };
    report::syscall(&call, &fd.to_string());
    // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let dir = cg.dir(Controller::Devices)?;
    let group = std::fs::File::open(dir)?;
    let at = AttachAttr {
        target_fd: group.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    let call = format!("bpf(BPF_PROG_ATTACH, {}, BPF_CGROUP_DEVICE, ALLOW_MULTI)", dir.display());
    bpf(BPF_PROG_ATTACH, &at).map_err(|e| {
        report::syscall(&call, &format!("-1 {e:?}"));
        sys::failure(&call, e)
    })?;
    report::syscall(&call, "0");
    // The group holds the program now; it goes away with the group's directory.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_in_the_v1_format() {
        let lines: Vec<String> = DEFAULT_RULES.iter().map(Rule::to_string).collect();
        assert_eq!(lines[0], "c *:* m");
        assert_eq!(lines[1], "b *:* m");
        assert_eq!(lines[2], "c 1:3 rwm");
        assert_eq!(lines[10], "c 136:* rwm");
        let all = Rule { allow: false, kind: 'a', major: None, minor: None, access: RWM };
        assert_eq!(all.to_string(), "a");
    }

    /// Run the program on one access, as the kernel would (only the opcodes it uses).
    fn interpret(prog: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = ctx[i.off as usize / 4] as u64,
                AND_K => r[dst] &= i.imm as u64,
                RSH_K => r[dst] >>= i.imm,
                MOV_K => r[dst] = i.imm as u64,
                MOV_X => r[dst] = r[src],
                JNE_K if r[dst] != i.imm as u64 => pc += i.off as usize,
                JNE_X if r[dst] != r[src] => pc += i.off as usize,
                JNE_K | JNE_X => {}
                EXIT => return r[0],
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn the_default_program_allows_what_docker_allows() {
        let p = program(&DEFAULT_RULES);
        assert_eq!(interpret(&p, 2, READ | WRITE, 1, 3), 1, "/dev/null");
        assert_eq!(interpret(&p, 2, READ, 136, 7), 1, "/dev/pts/7");
        assert_eq!(interpret(&p, 2, MKNOD, 1, 11), 1, "mknod of kmsg");
        assert_eq!(interpret(&p, 1, MKNOD, 8, 0), 1, "mknod of sda");
        assert_eq!(interpret(&p, 2, WRITE, 1, 11), 0, "writing /dev/kmsg");
        assert_eq!(interpret(&p, 2, READ, 10, 232), 0, "/dev/kvm");
        assert_eq!(interpret(&p, 1, READ, 8, 0), 0, "/dev/sda");
        assert_eq!(interpret(&p, 1, READ, 1, 3), 0, "a block device 1:3 is not /dev/null");
    }

    #[test]
    fn a_later_rule_wins_and_a_catch_all_ends_the_program() {
        let deny_all = Rule { allow: false, kind: 'a', major: None, minor: None, access: RWM };
        let p = program(&[deny_all, allow('c', Some(1), Some(3), READ)]);
        assert_eq!(interpret(&p, 2, READ, 1, 3), 1);
        assert_eq!(interpret(&p, 2, WRITE, 1, 3), 0);
        let p = program(&[allow('c', Some(1), Some(3), RWM), deny_all]);
        assert_eq!(interpret(&p, 2, READ, 1, 3), 0);
        assert_eq!(p.last().unwrap().code, EXIT);
        assert_eq!(p.len(), 6 + 2, "the catch-all alone, nothing after it");
    }
}
