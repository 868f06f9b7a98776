//! Docker's JSON profile format (`--security-opt seccomp=FILE`), the part Docker's own
//! default uses: `defaultAction`, `defaultErrnoRet`, and `syscalls[]` with `names`,
//! `action`, `errnoRet`, `args` (`SCMP_CMP_EQ`, `SCMP_CMP_NE`, `SCMP_CMP_MASKED_EQ`) and
//! `includes`/`excludes` by capability, architecture (`amd64` or `arm64`) and `minKernel`.

use super::{Action, Arg, Op, Profile, Rule};
use anyhow::{bail, Context};
use serde_json::Value;

/// The profile in `json` for a process with capabilities `caps` (`CAP_CHOWN`, …) on this
/// machine's architecture.
pub fn from_docker_json(json: &str, caps: &[&str]) -> crate::Result<Profile> {
    let v: Value = serde_json::from_str(json).context("the seccomp profile is not valid JSON")?;
    let errno_of = |v: &Value, default: u32| {
        v.get("errnoRet").and_then(Value::as_u64).map_or(default, |e| e as u32)
    };
    let default_errno = errno_of(&v, libc::EPERM as u32);
    let default_errno =
        v.get("defaultErrnoRet").and_then(Value::as_u64).map_or(default_errno, |e| e as u32);
    let default = action(v.get("defaultAction"), default_errno)
        .context("the seccomp profile's defaultAction")?;
    let mut rules = Vec::new();
    for (i, call) in v.get("syscalls").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let what = || format!("the seccomp profile's syscalls[{i}]");
        if !applies(call, caps) {
            continue;
        }
        let action =
            action(call.get("action"), errno_of(call, libc::EPERM as u32)).with_context(what)?;
        let mut args = Vec::new();
        for a in call.get("args").and_then(Value::as_array).into_iter().flatten() {
            let num = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
            let op = match a.get("op").and_then(Value::as_str).unwrap_or("") {
                "SCMP_CMP_EQ" => Op::Eq,
                "SCMP_CMP_NE" => Op::Ne,
                // Docker's MASKED_EQ: value is the mask, valueTwo what the masked bits equal.
                "SCMP_CMP_MASKED_EQ" => Op::MaskedEq(num("value")),
                other => bail!(
                    "{}: the operator {other:?} is not supported (minidocker knows SCMP_CMP_EQ, SCMP_CMP_NE and SCMP_CMP_MASKED_EQ)",
                    what()
                ),
            };
            let value = if let Op::MaskedEq(_) = op { num("valueTwo") } else { num("value") };
            let index = num("index");
            anyhow::ensure!(index < 6, "{}: argument index {index} (0 to 5)", what());
            args.push(Arg { index: index as u8, op, value });
        }
        let names = call.get("names").and_then(Value::as_array).cloned().unwrap_or_default();
        // The old format had one "name".
        let names = names.iter().chain(call.get("name")).filter_map(Value::as_str);
        for name in names {
            rules.push(Rule { name: name.to_string(), action, args: args.clone() });
        }
    }
    Ok(Profile { default, rules })
}

fn action(v: Option<&Value>, errno: u32) -> crate::Result<Action> {
    Ok(match v.and_then(Value::as_str).unwrap_or("") {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        other => {
            bail!("unknown action {other:?} (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, …)")
        }
    })
}

/// This machine's architecture in the names Docker's profiles use.
const ARCH: &str = if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" };

/// Does this rule apply here: every capability it `includes` is ours, none it `excludes`;
/// our architecture ([`ARCH`]) is among its `includes.arches` (if any), not its excludes;
/// the kernel is at least `includes.minKernel`.
fn applies(call: &Value, caps: &[&str]) -> bool {
    let list = |side: &str, key: &str| -> Vec<String> {
        call.get(side)
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    let have = |c: &String| caps.contains(&c.as_str());
    let ours = |a: &String| a == ARCH;
    let inc_arches = list("includes", "arches");
    let min_kernel = call.get("includes").and_then(|i| i.get("minKernel")).and_then(Value::as_str);
    list("includes", "caps").iter().all(have)
        && !list("excludes", "caps").iter().any(have)
        && (inc_arches.is_empty() || inc_arches.iter().any(ours))
        && !list("excludes", "arches").iter().any(ours)
        && min_kernel.is_none_or(kernel_at_least)
}

/// Is the running kernel at least `min` ("4.8")?
fn kernel_at_least(min: &str) -> bool {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let parse = |s: &str| -> (u32, u32) {
        let mut it = s.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok());
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    parse(&release) >= parse(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_kept_by_capability_and_architecture() {
        let json = r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
                {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}
            ]
        }"#;
        let p = from_docker_json(json, &["CAP_CHOWN"]).unwrap();
        let names: Vec<&str> = p.rules.iter().map(|r| r.name.as_str()).collect();
        let ours = if ARCH == "arm64" { "set_tls" } else { "arch_prctl" };
        assert_eq!(names, ["read", "write", "clone", "clone3", ours]);
        assert_eq!(p.default, Action::Errno(1));
        assert_eq!(p.rules[3].action, Action::Errno(38));
        assert_eq!(p.rules[2].args, [Arg { index: 0, op: Op::MaskedEq(0x7E02_0000), value: 0 }]);
        let admin = from_docker_json(json, &["CAP_SYS_ADMIN"]).unwrap();
        assert!(admin.rules.iter().any(|r| r.name == "mount"));
        assert!(!admin.rules.iter().any(|r| r.name == "clone"));
    }

    #[test]
    fn what_we_cannot_do_is_one_clear_error() {
        let bad = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GT"}]}]}"#;
        let e = format!("{:#}", from_docker_json(bad, &[]).unwrap_err());
        assert!(e.contains("SCMP_CMP_GT") && e.contains("syscalls[0]"), "{e}");
        let e = format!("{:#}", from_docker_json("{", &[]).unwrap_err());
        assert!(e.contains("not valid JSON"), "{e}");
    }
}
