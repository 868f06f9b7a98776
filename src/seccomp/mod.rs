//! seccomp: a filter the kernel runs on every system call a process makes, which decides
//! whether the call goes ahead (`ALLOW`), fails with an errno (`ERRNO`) or kills the process.
//!
//! A container's root keeps powerful calls its capabilities do not guard well enough: the
//! kernel keyring (`keyctl`, `add_key`) is not namespaced, and `unshare(CLONE_NEWUSER)`
//! hands out a user namespace in which every capability is back. Docker's default profile
//! refuses these and ~50 more; [`docker_default`] is the same policy.
//!
//! A filter is a classic BPF program (the packet-filter language from 1992) over
//! `struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }`. [`Profile::compile`]
//! writes it, [`install`] hands it to the kernel with `seccomp(SECCOMP_SET_MODE_FILTER)` as
//! the last step before `execve`; the filter then holds for that process and every child,
//! and cannot be removed. `--security-opt seccomp=FILE` reads Docker's JSON format
//! ([`from_docker_json`]).

mod default;
mod docker;
pub mod syscalls;

pub use default::{docker_default, ALLOWED, CLONE_NAMESPACE_FLAGS};
pub use docker::from_docker_json;

use crate::{report, sys};
use nix::errno::Errno;
use std::collections::BTreeMap;

/// What the filter answers for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    /// Fail with this errno without running the call.
    Errno(u32),
    KillThread,
    KillProcess,
    /// Send SIGSYS.
    Trap,
    /// Allow, and log it to the kernel's audit log.
    Log,
}

impl Action {
    /// The filter's return value (`SECCOMP_RET_*` from linux/seccomp.h).
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | (e & 0xffff),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

/// How an argument is compared (the operators Docker's default profile uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    /// `arg & mask == value`.
    MaskedEq(u64),
}

/// A condition on argument `index` (0–5) of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// `action` for the call `name` when every condition in `args` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    pub args: Vec<Arg>,
}

/// The action for calls no rule matches, and the rules. Names this architecture does not
/// have are left out, as Docker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub default: Action,
    pub rules: Vec<Rule>,
}

/// One classic BPF instruction (`struct sock_filter`).
pub type Insn = libc::sock_filter;

// The opcodes the filter uses (linux/bpf_common.h): class | size/operation | source.
const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS    A = the 32-bit word at offset k
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K    A &= k
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K    if A == k: skip jt, else skip jf
const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K    if A > k: …
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K    if A >= k: …
const RET_K: u16 = 0x06; // BPF_RET | BPF_K              return k

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// `AUDIT_ARCH_X86_64`: the `arch` field of a call made through x86-64's 64-bit ABI.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `AUDIT_ARCH_AARCH64`: the same for arm64 (EM_AARCH64, 64-bit, little-endian).
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
/// This machine's: the only calls the filter answers with its rules.
pub const AUDIT_ARCH: u32 =
    if cfg!(target_arch = "aarch64") { AUDIT_ARCH_AARCH64 } else { AUDIT_ARCH_X86_64 };
/// x32 calls (32-bit pointers, 64-bit ABI) have this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
const fn arg_low(i: u8) -> u32 {
    16 + 8 * i as u32
}
/// A jump target not known yet: "this rule does not match", filled in when the rule is done.
const NEXT_RULE: u8 = u8::MAX;

impl Profile {
    /// The rules of each system call this architecture has, by number.
    fn by_number(&self) -> BTreeMap<u32, Vec<&Rule>> {
        let mut map: BTreeMap<u32, Vec<&Rule>> = BTreeMap::new();
        for rule in &self.rules {
            if let Some(nr) = syscalls::number(&rule.name) {
                map.entry(nr).or_default().push(rule);
            }
        }
        map
    }

    /// The filter, as a classic BPF program:
    ///
    /// ```text
    ///   A = arch;  if A != AUDIT_ARCH:        return ERRNO(ENOSYS)   (i386, arm32: not ours)
    ///   A = nr;    if A >= X32_SYSCALL_BIT:   return ERRNO(ENOSYS)
    ///   the numbers 0..=max in runs of the same action, lowest first:
    ///     if A <= last of the run: return its action            (2 instructions a run)
    ///   a call with argument rules gets a block of its own:
    ///     if A <= nr: for each rule: load, compare …, return its action; return the rest's
    ///   return ERRNO(ENOSYS)     a call newer than the profile: the C library falls back
    ///                            (unless the default is to allow: then that)
    /// ```
    // ANCHOR: compile
    pub fn compile(&self) -> crate::Result<Vec<Insn>> {
        // The numbers are x86-64's or arm64's: elsewhere the filter would fail every call,
        // so say so instead.
        anyhow::ensure!(
            cfg!(any(target_arch = "x86_64", target_arch = "aarch64")),
            "the seccomp filter knows the system calls of x86-64 and arm64, and this machine is \
             {}: containers cannot start here",
            std::env::consts::ARCH
        );
        let enosys = Action::Errno(libc::ENOSYS as u32).ret();
        let mut prog = vec![
            insn(LD_ABS, 0, 0, ARCH),
            insn(JEQ_K, 1, 0, AUDIT_ARCH),
            insn(RET_K, 0, 0, enosys),
            insn(LD_ABS, 0, 0, NR),
            insn(JGE_K, 0, 1, X32_SYSCALL_BIT),
            insn(RET_K, 0, 0, enosys),
        ];
        let rules = self.by_number();
        let max = rules.keys().last().copied().unwrap_or(0);
        let mut nr = 0;
        while nr <= max {
            let here = rules.get(&nr).map(Vec::as_slice).unwrap_or_default();
            if here.iter().any(|r| !r.args.is_empty()) {
                let block = self.arguments_block(here);
                anyhow::ensure!(
                    block.len() <= u8::MAX as usize,
                    "seccomp profile: too many argument rules for one system call ({})",
                    here[0].name
                );
                prog.push(insn(JGT_K, block.len() as u8, 0, nr));
                prog.extend(block);
                nr += 1;
                continue;
            }
            // A run: this number and the following ones with the same action.
            let action = self.simple_action(here);
            let mut last = nr;
            while last < max {
                let next = rules.get(&(last + 1)).map(Vec::as_slice).unwrap_or_default();
                if next.iter().any(|r| !r.args.is_empty()) || self.simple_action(next) != action {
                    break;
                }
                last += 1;
            }
            prog.push(insn(JGT_K, 1, 0, last));
            prog.push(insn(RET_K, 0, 0, action.ret()));
            nr = last + 1;
        }
        // A profile that allows what it does not list (an OCI config's "refuse these few")
        // allows the newer calls too.
        let newer = match self.default {
            Action::Allow | Action::Log => self.default.ret(),
            _ => enosys,
        };
        prog.push(insn(RET_K, 0, 0, newer));
        // The kernel's limit (BPF_MAXINSNS).
        anyhow::ensure!(
            prog.len() <= 4096,
            "seccomp profile: {} instructions, over 4096",
            prog.len()
        );
        Ok(prog)
    }
    // ANCHOR_END: compile

    /// The action of a call whose rules have no conditions: the first rule's, else the
    /// profile's default.
    fn simple_action(&self, rules: &[&Rule]) -> Action {
        rules.first().map_or(self.default, |r| r.action)
    }

    /// The instructions for one call with argument rules: each rule in turn, the first
    /// whose conditions all hold decides; else its rule without conditions, else the default.
    fn arguments_block(&self, rules: &[&Rule]) -> Vec<Insn> {
        let mut block = Vec::new();
        for rule in rules.iter().filter(|r| !r.args.is_empty()) {
            let mut checks = Vec::new();
            for a in &rule.args {
                // A 64-bit argument is two 32-bit words: high and low compared in turn.
                let (low, high) = (arg_low(a.index), arg_low(a.index) + 4);
                let (v_hi, v_lo) = ((a.value >> 32) as u32, a.value as u32);
                match a.op {
                    Op::Eq => checks.extend([
                        insn(LD_ABS, 0, 0, high),
                        insn(JEQ_K, 0, NEXT_RULE, v_hi),
                        insn(LD_ABS, 0, 0, low),
                        insn(JEQ_K, 0, NEXT_RULE, v_lo),
                    ]),
                    Op::Ne => checks.extend([
                        insn(LD_ABS, 0, 0, high),
                        insn(JEQ_K, 0, 2, v_hi), // high words differ: it holds
                        insn(LD_ABS, 0, 0, low),
                        insn(JEQ_K, NEXT_RULE, 0, v_lo),
                    ]),
                    Op::MaskedEq(mask) => checks.extend([
                        insn(LD_ABS, 0, 0, high),
                        insn(AND_K, 0, 0, (mask >> 32) as u32),
                        insn(JEQ_K, 0, NEXT_RULE, v_hi),
                        insn(LD_ABS, 0, 0, low),
                        insn(AND_K, 0, 0, mask as u32),
                        insn(JEQ_K, 0, NEXT_RULE, v_lo),
                    ]),
                }
            }
            checks.push(insn(RET_K, 0, 0, rule.action.ret()));
            let len = checks.len();
            for (i, ins) in checks.iter_mut().enumerate() {
                let to_next = (len - i - 1) as u8;
                if ins.jt == NEXT_RULE {
                    ins.jt = to_next;
                }
                if ins.jf == NEXT_RULE {
                    ins.jf = to_next;
                }
            }
            block.extend(checks);
        }
        let rest = rules.iter().find(|r| r.args.is_empty()).map_or(self.default, |r| r.action);
        block.push(insn(RET_K, 0, 0, rest.ret()));
        block
    }

    /// One line per kind of decision, for `--explain` and `inspect`-like summaries.
    pub fn describe(&self) -> Vec<String> {
        let mut by_action: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut conditional = Vec::new();
        for (_, rules) in self.by_number() {
            for r in rules {
                if r.args.is_empty() {
                    by_action.entry(format!("{:?}", r.action)).or_default().push(&r.name);
                } else {
                    let cond: Vec<String> = r
                        .args
                        .iter()
                        .map(|a| match a.op {
                            Op::Eq => format!("arg{} == {:#x}", a.index, a.value),
                            Op::Ne => format!("arg{} != {:#x}", a.index, a.value),
                            Op::MaskedEq(m) => {
                                format!("arg{} & {m:#x} == {:#x}", a.index, a.value)
                            }
                        })
                        .collect();
                    conditional.push(format!("{:?} {} if {}", r.action, r.name, cond.join(" && ")));
                }
            }
        }
        let mut lines: Vec<String> = by_action
            .into_iter()
            .map(|(action, names)| {
                let shown = if names.len() > 6 {
                    format!("{} … {}", names[..3].join(" "), names[names.len() - 2..].join(" "))
                } else {
                    names.join(" ")
                };
                format!("{action} {} calls: {shown}", names.len())
            })
            .collect();
        lines.extend(conditional);
        lines.push(format!("{:?} for every other call", self.default));
        lines
    }
}

/// Put `filter` in force for this process and its future children. The last step before
/// `execve`: from here on, every call the process makes passes through it.
// ANCHOR: install
pub fn install(profile: &Profile) -> crate::Result<()> {
    // Without CAP_SYS_ADMIN the kernel takes a filter only from a process with no_new_privs:
    // a set-uid program must not run under a filter its caller chose.
    // SAFETY: prctl with plain integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    Errno::result(r).map_err(|e| sys::failure("prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    install_filter(profile)
}

/// [`install`] without setting no_new_privs: for a process that still has CAP_SYS_ADMIN
/// (an OCI runtime's init whose config leaves `noNewPrivileges` false, as runc does).
pub fn install_filter(profile: &Profile) -> crate::Result<()> {
    let filter = profile.compile()?;
    let prog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr() as *mut Insn };
    let call = format!("seccomp(SECCOMP_SET_MODE_FILTER, 0, {{{} instructions}})", filter.len());
    // SAFETY: `prog` points at `filter`, which lives until the call returns; the kernel
    // copies the program.
    let r = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const _)
    };
    Errno::result(r).map_err(|e| sys::failure(&call, e))?;
    report::syscall(&call, "0");
    if report::explaining() {
        // What those instructions decide, one line per kind of answer.
        for line in profile.describe() {
            println!("      filter: {line}");
        }
    }
    Ok(())
}
// ANCHOR_END: install

/// The profile `--security-opt` values ask for: Docker's default unless one says
/// `seccomp=unconfined` (`None`: no filter) or `seccomp=<a JSON profile>`. `caps` are the
/// capabilities the process will have (a rule may depend on them).
pub fn from_security_opts(opts: &[String], caps: &[&str]) -> crate::Result<Option<Profile>> {
    let mut profile = Some(docker_default());
    for opt in opts {
        let Some(value) = opt.strip_prefix("seccomp=").or_else(|| opt.strip_prefix("seccomp:"))
        else {
            continue;
        };
        profile = match value {
            "unconfined" => None,
            json => Some(from_docker_json(json, caps)?),
        };
    }
    Ok(profile)
}

/// Run `prog` on one call, as the kernel would (only the opcodes [`Profile::compile`] uses):
/// its return value, e.g. `Action::Allow.ret()`. How the tests (and a curious reader) see
/// what a filter decides without installing it.
pub fn evaluate(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = vec![nr, arch, 0, 0];
    for a in args {
        data.extend([a as u32, (a >> 32) as u32]);
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        let jump = |cond: bool| if cond { i.jt as usize } else { i.jf as usize };
        match i.code {
            LD_ABS => acc = data[i.k as usize / 4],
            AND_K => acc &= i.k,
            JEQ_K => pc += jump(acc == i.k),
            JGT_K => pc += jump(acc > i.k),
            JGE_K => pc += jump(acc >= i.k),
            RET_K => return i.k,
            c => panic!("opcode {c:#x} is not one the compiler emits"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::evaluate as run;
    use super::*;

    fn nr(name: &str) -> u32 {
        syscalls::number(name).unwrap()
    }

    #[test]
    fn the_default_filter_decides_as_docker() {
        let p = docker_default().compile().unwrap();
        assert!(p.len() < 200, "{} instructions", p.len());
        let call = |name: &str, a0: u64| run(&p, AUDIT_ARCH, nr(name), [a0, 0, 0, 0, 0, 0]);
        let (allow, eperm) = (Action::Allow.ret(), Action::Errno(1).ret());
        let enosys = Action::Errno(38).ret();
        assert_eq!(call("read", 0), allow);
        assert_eq!(call("execve", 0), allow);
        assert_eq!(call("futex_waitv", 0), allow);
        assert_eq!(call("keyctl", 0), eperm);
        assert_eq!(call("add_key", 0), eperm);
        assert_eq!(call("mount", 0), eperm);
        assert_eq!(call("unshare", 0), eperm);
        assert_eq!(call("clone3", 0), enosys);
        assert_eq!(call("clone", 0x11), allow, "SIGCHLD|… without namespaces");
        assert_eq!(call("clone", 0x1000_0000 | 0x11), eperm, "CLONE_NEWUSER");
        assert_eq!(call("personality", 8), allow);
        assert_eq!(call("personality", 0xffff_ffff), allow);
        assert_eq!(call("personality", 0x0040_0000), eperm, "READ_IMPLIES_EXEC");
        assert_eq!(run(&p, AUDIT_ARCH, 460, [0; 6]), enosys, "newer than the profile");
        assert_eq!(run(&p, AUDIT_ARCH, X32_SYSCALL_BIT | 250, [0; 6]), enosys, "x32");
        assert_eq!(run(&p, 0x4000_0003, 0, [0; 6]), enosys, "i386");
    }

    #[test]
    fn a_profile_that_allows_by_default_allows_newer_calls_too() {
        let rule = Rule { name: "mkdir".into(), action: Action::Errno(1), args: vec![] };
        let p = Profile { default: Action::Allow, rules: vec![rule] }.compile().unwrap();
        let call = |name: &str| run(&p, AUDIT_ARCH_X86_64, nr(name), [0; 6]);
        assert_eq!(call("mkdir"), Action::Errno(1).ret());
        assert_eq!(call("statx"), Action::Allow.ret(), "a number above every rule's");
    }

    #[test]
    fn not_equal_and_fallbacks() {
        let profile = Profile {
            default: Action::Errno(1),
            rules: vec![
                Rule {
                    name: "socket".into(),
                    action: Action::Errno(97),
                    args: vec![Arg { index: 0, op: Op::Ne, value: 1 }],
                },
                Rule { name: "socket".into(), action: Action::Allow, args: vec![] },
            ],
        };
        let p = profile.compile().unwrap();
        let socket = |family: u64| run(&p, AUDIT_ARCH, nr("socket"), [family, 0, 0, 0, 0, 0]);
        assert_eq!(socket(1), Action::Allow.ret());
        assert_eq!(socket(2), Action::Errno(97).ret());
        assert_eq!(socket(1 << 32 | 1), Action::Errno(97).ret());
        assert_eq!(run(&p, AUDIT_ARCH, nr("read"), [0; 6]), Action::Errno(1).ret());
    }
}
