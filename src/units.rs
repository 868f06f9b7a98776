//! Sizes and CPU counts as Docker's flags spell them.

use anyhow::{bail, Context};

/// `64m`, `1g`, `512k`, `1048576` or `100b` → bytes (binary units, like `docker run -m`).
pub fn parse_size(s: &str) -> crate::Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let digits_end = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let n: f64 = num.parse().with_context(|| {
        format!(
            "invalid size {s:?}: expected a number with an optional unit b, k, m or g (e.g. 64m)"
        )
    })?;
    let mult: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => bail!("invalid size {s:?}: unknown unit {unit:?}, use b, k, m or g (e.g. 64m)"),
    };
    let bytes = n * mult as f64;
    // The kernel's limits are signed 64-bit counts: 8 EiB is the most any of them takes.
    if bytes >= i64::MAX as f64 {
        bail!("invalid size {s:?}: too large, the largest is 8589934591g (8 EiB)");
    }
    if bytes < 1.0 {
        bail!("invalid size {s:?}: must be at least 1 byte");
    }
    Ok(bytes as u64)
}

/// `0.5`, `2` → CPUs, a positive number no larger than the CPUs this host has.
pub fn parse_cpus(s: &str) -> crate::Result<f64> {
    let n: f64 = s
        .trim()
        .parse()
        .with_context(|| format!("invalid --cpus {s:?}: expected a number such as 0.5"))?;
    let host = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    if !(n > 0.0 && n <= host) {
        bail!(
            "invalid --cpus {s:?}: must be more than 0 and at most {host} (the CPUs this host has)"
        );
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

/// Bytes the way `docker images` shows them: decimal units, three significant digits (`4.26MB`).
pub fn docker_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    // Go's %.3g: three significant digits, trailing zeros dropped.
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s}{}", units[i])
}

/// Now as RFC 3339 in UTC with nanoseconds, as image configs record `created`.
pub fn rfc3339_now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_string()
    };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Seconds since the epoch of an RFC 3339 time (`2024-05-01T10:00:00.5+02:00`), if it is one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, sec) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (oh, om) =
                (rest.get(1..3)?.parse::<i64>().ok()?, rest.get(4..6)?.parse::<i64>().ok()?);
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset)
}

/// How long ago, in the words of `docker images`' CREATED column (`2 weeks ago`).
pub fn ago(secs: i64) -> String {
    let minutes = secs / 60;
    let hours = (secs as f64 / 3600.0 + 0.5) as i64;
    let when = match secs {
        ..1 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        2..60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    };
    format!("{when} ago")
}

// Howard Hinnant's days/civil conversions (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
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
        for huge in ["99999999999g", "8589934592g", "99999999999999999999"] {
            let e = parse_size(huge).unwrap_err().to_string();
            assert!(e.contains("too large") && !e.contains("at least"), "{huge}: {e}");
        }
        assert_eq!(parse_size("8589934591g").unwrap(), 8589934591 << 30);
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

    #[test]
    fn docker_shapes() {
        assert_eq!(docker_size(4_261_000), "4.26MB");
        assert_eq!(docker_size(125_000_000), "125MB");
        assert_eq!(docker_size(999), "999B");
        assert_eq!(docker_size(1_200_000_000), "1.2GB");
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000, 500_000_000), "2023-11-14T22:13:20.5Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.5Z"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(ago(30), "30 seconds ago");
        assert_eq!(ago(3 * 86400), "3 days ago");
        assert_eq!(ago(20 * 86400), "2 weeks ago");
    }
}
