//! Go's `time.ParseDuration`, which nats-server uses for every duration option: a sequence of
//! decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (`"1h2m3.5s"`, `"300ms"`);
//! `"0"` alone is allowed; a leading sign is allowed (negative durations are returned as errors
//! by callers that cannot use them).

use std::time::Duration;

/// Parse a Go duration string. Returns the magnitude and whether it was negative.
pub fn parse_go_duration(s: &str) -> Result<(Duration, bool), String> {
    let orig = s;
    let err = || format!("time: invalid duration \"{orig}\"");
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok((Duration::ZERO, neg));
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_len = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return Err(err());
        }
        let num: f64 = s[..num_len].parse().map_err(|_| err())?;
        s = &s[num_len..];
        let unit_len = s
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration \"{orig}\"")),
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{orig}\"")),
        };
        total += num * nanos_per;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return Err(err());
    }
    Ok((Duration::from_nanos(total as u64), neg))
}

/// Go's `Duration.String()`: `1m30s`, `500ms`, `2h0m0s`, `0s`.
pub fn go_duration_string(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000_000_000 {
        return if n < 1_000 {
            format!("{n}ns")
        } else if n < 1_000_000 {
            trim_float(n as f64 / 1e3, "µs")
        } else {
            trim_float(n as f64 / 1e6, "ms")
        };
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let sec_str = if frac == 0 {
        format!("{s}s")
    } else {
        trim_float(s as f64 + f64::from(frac) / 1e9, "s")
    };
    if h > 0 {
        format!("{h}h{m}m{sec_str}")
    } else if m > 0 {
        format!("{m}m{sec_str}")
    } else {
        sec_str
    }
}

fn trim_float(v: f64, unit: &str) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        let ok = |s: &str| parse_go_duration(s).expect(s).0;
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("100ms"), Duration::from_millis(100));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("0"), Duration::ZERO);
        assert!(parse_go_duration("-1s").expect("neg").1);
        for bad in ["", "1", "abc", "1x", "s", "1.s.2"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(go_duration_string(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration_string(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration_string(Duration::from_secs(7200)), "2h0m0s");
        assert_eq!(go_duration_string(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration_string(Duration::from_millis(1500)), "1.5s");
    }
}
