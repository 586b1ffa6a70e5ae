//! The user JWT's connection restrictions: `src` networks and `times` windows
//! (nats-io/jwt `types.go`, `jwt.go validateTimesAt`). Time zones come from the IANA database
//! bundled with `jiff`, so a window means the same hours on every host.

use super::claims::TimeRange;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/n` or `x::y/n`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, b) = s.trim().split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        // Decimal digits only, as Go's `net.ParseCIDR` (Rust's parser would take a `+`).
        if b.is_empty() || !b.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let bits: u8 = b.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (_, ip) => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// Parse `HH:MM:SS` into seconds after midnight.
pub fn parse_clock(s: &str) -> Option<u32> {
    let mut it = s.split(':');
    let (h, m, mut sec) = (it.next()?, it.next()?, it.next()?);
    // Go's parser takes a fractional second after the seconds (`09:00:00.5`, `09:00:00,5`)
    // even when the layout has none; it does not change the second.
    if let Some(at) = sec.find(['.', ',']) {
        let frac = &sec[at + 1..];
        if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        sec = &sec[..at];
    }
    // Go's "15:04:05": the hour has one or two digits, minutes and seconds exactly two; digits
    // only (Rust's integer parser would take a `+`).
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit())
    };
    if it.next().is_some() || !digits(h, 1..=2) || !digits(m, 2..=2) || !digits(sec, 2..=2) {
        return None;
    }
    let (h, m, sec): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    (h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

/// The IANA time zone of `times_location` (from the bundled database, so the answer does not
/// depend on the host); empty means UTC.
fn zone(loc: &str) -> Option<jiff::tz::TimeZone> {
    if loc.is_empty() {
        return Some(jiff::tz::TimeZone::UTC);
    }
    jiff::tz::db().get(loc).ok()
}

/// Whether `times_location` names a known time zone.
pub fn location_supported(loc: &str) -> bool {
    zone(loc).is_some()
}

/// If `now` is inside one of the windows (wall-clock times in `location`, UTC when empty), how
/// long it stays inside (to the latest end of a matching window); `None` when outside all of
/// them or the zone is unknown. Bounds are strict, as the reference's.
pub fn time_window(ranges: &[TimeRange], now: SystemTime, location: &str) -> Option<Duration> {
    let secs = now.duration_since(UNIX_EPOCH).ok()?;
    let day = 86_400u64;
    let ts = jiff::Timestamp::from_second(i64::try_from(secs.as_secs()).ok()?).ok()?;
    let local = ts.to_zoned(zone(location)?);
    let tod = u64::try_from(
        i64::from(local.hour()) * 3600 + i64::from(local.minute()) * 60 + i64::from(local.second()),
    )
    .ok()?;
    let frac = secs.subsec_nanos();
    let now_in_day = Duration::new(tod, frac);
    let mut best: Option<Duration> = None;
    for r in ranges {
        let (Some(start), Some(end)) = (parse_clock(&r.start), parse_clock(&r.end)) else {
            continue;
        };
        let (start, end) = (
            Duration::from_secs(start.into()),
            Duration::from_secs(end.into()),
        );
        let left = if start <= end {
            (start < now_in_day && now_in_day < end).then(|| end - now_in_day)
        } else if now_in_day < end {
            Some(end - now_in_day)
        } else if start < now_in_day {
            Some(end + Duration::from_secs(day) - now_in_day)
        } else {
            None
        };
        if let Some(l) = left {
            best = Some(best.map_or(l, |b| b.max(l)));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains("10.1.2.3".parse().expect("ip")));
        assert!(!c.contains("11.0.0.1".parse().expect("ip")));
        assert!(c.contains("::ffff:10.0.0.1".parse().expect("ip")));
        let all = Cidr::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains("1.2.3.4".parse().expect("ip")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
        assert!(Cidr::parse("10.0.0.0/+8").is_none());
        assert!(Cidr::parse("10.0.0.0/").is_none());
    }

    #[test]
    fn clocks_as_go_parses_15_04_05() {
        assert_eq!(parse_clock("09:05:07"), Some(9 * 3600 + 5 * 60 + 7));
        assert_eq!(parse_clock("9:05:07"), Some(9 * 3600 + 5 * 60 + 7));
        assert_eq!(parse_clock("09:05:07.5"), Some(9 * 3600 + 5 * 60 + 7));
        assert_eq!(
            parse_clock("09:05:07,123456789012"),
            Some(9 * 3600 + 5 * 60 + 7)
        );
        assert_eq!(parse_clock("09:05:07."), None);
        assert_eq!(parse_clock("09:05:07.5x"), None);
        for bad in [
            "+9:00:00",
            "09:+0:00",
            "09:00:+0",
            "09:0:00",
            "24:00:00",
            "009:00:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows() {
        let r = |s: &str, e: &str| TimeRange {
            start: s.into(),
            end: e.into(),
        };
        let at =
            |h: u64, m: u64| UNIX_EPOCH + Duration::from_secs(86_400 * 20_000 + h * 3600 + m * 60);
        let day = [r("09:00:00", "17:00:00")];
        assert_eq!(
            time_window(&day, at(16, 0), ""),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(time_window(&day, at(17, 0), "UTC"), None);
        assert_eq!(time_window(&day, at(8, 0), ""), None);
        let night = [r("22:00:00", "02:00:00")];
        assert_eq!(
            time_window(&night, at(23, 0), ""),
            Some(Duration::from_secs(3 * 3600))
        );
        assert_eq!(
            time_window(&night, at(1, 0), ""),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(time_window(&night, at(12, 0), ""), None);
        // 08:00 UTC on that day (2024-10-04, summer time) is 10:00 in Berlin.
        assert_eq!(
            time_window(&day, at(8, 0), "Europe/Berlin"),
            Some(Duration::from_secs(7 * 3600))
        );
        assert_eq!(time_window(&day, at(8, 0), "Nowhere/Atlantis"), None);
        assert!(location_supported("America/New_York") && !location_supported("Mars/Base"));
        assert_eq!(parse_clock("25:00:00"), None);
    }
}
