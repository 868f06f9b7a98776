//! Sizes and CPU counts as Docker's flags spell them.

use anyhow::{bail, Context};

/// `64m`, `1g`, `512k`, `1048576` or `100b` → bytes (binary units, like `docker run -m`).
pub fn parse_size(s: &str) -> crate::Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let digits_end = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let n: f64 = num.parse().with_context(|| format!("invalid size {s:?}: expected a number with an optional unit b, k, m or g (e.g. 64m)"))?;
    let mult: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => bail!("invalid size {s:?}: unknown unit {unit:?}, use b, k, m or g (e.g. 64m)"),
    };
    let bytes = n * mult as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        bail!("invalid size {s:?}: must be at least 1 byte");
    }
    Ok(bytes as u64)
}

/// `0.5`, `2` → CPUs, a positive number no larger than the CPUs this host has.
pub fn parse_cpus(s: &str) -> crate::Result<f64> {
    let n: f64 = s.trim().parse().with_context(|| format!("invalid --cpus {s:?}: expected a number such as 0.5"))?;
    let host = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    if !(n > 0.0 && n <= host) {
        bail!("invalid --cpus {s:?}: must be more than 0 and at most {host} (the CPUs this host has)");
    }
    Ok(n)
}

/// A positive whole number for flags such as `--pids-limit`.
pub fn parse_count(flag: &str, s: &str) -> crate::Result<u64> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("invalid {flag} {s:?}: expected a whole number greater than 0"),
    }
}

/// Bytes as `32.0 MiB`.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1048576 => format!("{:.1} KiB", b / 1024.0),
        1048576..1073741824 => format!("{:.1} MiB", b / 1048576.0),
        _ => format!("{:.1} GiB", b / 1073741824.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(parse_size("32m").unwrap(), 32 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("1.5m").unwrap(), 3 << 19);
        for bad in ["", "m", "12q", "-5m", "0"] {
            let e = parse_size(bad).unwrap_err().to_string();
            assert!(e.contains("invalid size"), "{bad}: {e}");
        }
    }

    #[test]
    fn cpus_and_counts() {
        assert_eq!(parse_cpus("0.25").unwrap(), 0.25);
        assert!(parse_cpus("0").is_err());
        assert!(parse_cpus("10000").unwrap_err().to_string().contains("at most"));
        assert!(parse_cpus("half").is_err());
        assert_eq!(parse_count("--pids-limit", "20").unwrap(), 20);
        assert!(parse_count("--pids-limit", "0").unwrap_err().to_string().contains("--pids-limit"));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(32 << 20), "32.0 MiB");
    }
}
