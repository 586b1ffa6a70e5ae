//! The one time rule for every JWT kind (user, account, activation, operator).
//!
//! A claim is valid at `now` when `now >= nbf - nbf_leeway` and `now < exp + exp_leeway`
//! (RFC 7519: a token is not valid on or after its `exp`; `0` means "no such bound"). The
//! deadline returned with a valid verdict is `exp + exp_leeway`: the connection's expiry timer
//! is armed from exactly that instant, so a token can never be accepted and then expired at once
//! by a differently computed timer. nats-server differs at the boundary: it accepts `exp == now`
//! (whole seconds) and then expires the connection immediately; rnats rejects it (see
//! `docs/parity.md`).
//!
//! `iat` is not a validity bound in the reference. Here an `iat` later than `now + nbf_leeway`
//! (the issuer's clock runs ahead, or the token was minted to outlive a revocation, which
//! compares against `iat`) is ignored, reported, or refused, as [`IatPolicy`] says.
//!
//! Leeway is capped at [`MAX_LEEWAY`] and `exp` leeway never applies to bearer tokens (they
//! carry no key proof, so nothing may extend their life): callers use
//! [`TimePolicy::without_exp_leeway`] for them. The error numbers are raw distances from the
//! claim's own bound (not net of leeway), which is what a person comparing clocks needs.

use super::ClaimsData;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest leeway a configuration may set.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// What to do with a token issued "in the future" (`iat` beyond `now + nbf_leeway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IatPolicy {
    /// Ignore `iat` (the reference's behaviour).
    #[default]
    Off,
    /// Accept, but report it (the verdict carries how far ahead `iat` is).
    Warn,
    /// Refuse the token.
    Reject,
}

impl IatPolicy {
    /// Parse `off | warn | reject`.
    pub fn parse(s: &str) -> Option<IatPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Some(IatPolicy::Off),
            "warn" => Some(IatPolicy::Warn),
            "reject" => Some(IatPolicy::Reject),
            _ => None,
        }
    }

    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            IatPolicy::Off => "off",
            IatPolicy::Warn => "warn",
            IatPolicy::Reject => "reject",
        }
    }
}

/// Tolerances for clock differences between the token's issuer and this server.
/// `Default` is the reference's zero tolerance; [`TimePolicy::RNATS_DEFAULT`] is rnats'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimePolicy {
    /// Accept a token this long before its `nbf`.
    pub nbf_leeway: Duration,
    /// Accept a token this long after its `exp`.
    pub exp_leeway: Duration,
    /// How an `iat` in the future is treated.
    pub iat_future: IatPolicy,
}

impl TimePolicy {
    /// rnats' default: 5 s before `nbf`, none after `exp`, warn on a future `iat`.
    pub const RNATS_DEFAULT: TimePolicy = TimePolicy {
        nbf_leeway: Duration::from_secs(5),
        exp_leeway: Duration::ZERO,
        iat_future: IatPolicy::Warn,
    };

    /// The policy for a bearer token: no leeway after `exp`.
    pub fn without_exp_leeway(self) -> TimePolicy {
        TimePolicy {
            exp_leeway: Duration::ZERO,
            ..self
        }
    }
}

/// Why a claim is not valid now, with the numbers (raw distances from the claim's own bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// `exp` passed this long ago (beyond the leeway).
    #[error("expired {} ago", human(*by))]
    Expired { by: Duration },
    /// `nbf` comes in this long (beyond the leeway).
    #[error("not yet valid for another {}", human(*in_))]
    NotYetValid { in_: Duration },
    /// `iat` is this far ahead of now (beyond the `nbf` leeway), and the policy refuses that.
    #[error("issued {} in the future", human(*by))]
    IssuedInFuture { by: Duration },
}

impl TimeError {
    /// Stable code (without a token-kind prefix).
    pub fn code(&self) -> &'static str {
        match self {
            TimeError::Expired { .. } => "expired",
            TimeError::NotYetValid { .. } => "not_yet_valid",
            TimeError::IssuedInFuture { .. } => "issued_in_future",
        }
    }
}

/// A valid verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valid {
    /// When the claim stops being valid (`exp + exp_leeway`), if it expires.
    pub deadline: Option<SystemTime>,
    /// With [`IatPolicy::Warn`]: how far `iat` is ahead of now, when beyond the `nbf` leeway.
    pub iat_ahead: Option<Duration>,
}

/// A Unix time in seconds as a `SystemTime` (negative clamps to the epoch).
pub fn unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// Check the claim's times at `now`.
pub fn check(data: &ClaimsData, now: SystemTime, policy: &TimePolicy) -> Result<Valid, TimeError> {
    if data.nbf > 0 {
        let nbf = unix(data.nbf);
        if let Ok(in_) = nbf.duration_since(now)
            && in_ > policy.nbf_leeway
        {
            return Err(TimeError::NotYetValid { in_ });
        }
    }
    let mut deadline = None;
    if data.exp > 0 {
        let exp = unix(data.exp);
        // A far-future `exp` plus leeway must not overflow (it never expires then).
        let end = exp.checked_add(policy.exp_leeway).unwrap_or(exp);
        if now >= end {
            let by = now.duration_since(exp).unwrap_or_default();
            return Err(TimeError::Expired { by });
        }
        deadline = Some(end);
    }
    let mut iat_ahead = None;
    if data.iat > 0
        && policy.iat_future != IatPolicy::Off
        && let Ok(by) = unix(data.iat).duration_since(now)
        && by > policy.nbf_leeway
    {
        if policy.iat_future == IatPolicy::Reject {
            return Err(TimeError::IssuedInFuture { by });
        }
        iat_ahead = Some(by);
    }
    Ok(Valid {
        deadline,
        iat_ahead,
    })
}

/// `now - iat` in seconds (negative when the issuer's clock runs ahead); `None` without `iat`.
pub fn age_secs(data: &ClaimsData, now: SystemTime) -> Option<f64> {
    if data.iat <= 0 {
        return None;
    }
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    Some(now - data.iat as f64)
}

/// A time failure with everything a person needs to act on it: the claim's bounds, the
/// server's now and the policy in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeFailure {
    pub err: TimeError,
    pub nbf: i64,
    pub exp: i64,
    pub iat: i64,
    pub now: SystemTime,
    pub policy: TimePolicy,
    /// Whether the token is a bearer token (no `exp` leeway applied).
    pub bearer: bool,
}

impl TimeFailure {
    /// Wrap a [`TimeError`] with the claim and the context.
    pub fn new(
        err: TimeError,
        data: &ClaimsData,
        now: SystemTime,
        policy: TimePolicy,
        bearer: bool,
    ) -> Self {
        TimeFailure {
            err,
            nbf: data.nbf,
            exp: data.exp,
            iat: data.iat,
            now,
            policy,
            bearer,
        }
    }

    /// A hint when the cause is certain enough to name.
    pub fn hint(&self) -> Option<String> {
        match self.err {
            TimeError::NotYetValid { in_ } => Some(format!(
                "token not yet valid for {}: the issuer's clock is ahead of this server's, or \
                 raise clock_skew.nbf (now {})",
                human(in_),
                human(self.policy.nbf_leeway)
            )),
            TimeError::IssuedInFuture { by } => Some(format!(
                "token issued {} in the future: the issuer's clock is ahead of this server's \
                 (a future iat also escapes revocations); fix the issuer's clock or set \
                 clock_skew.iat_future to warn",
                human(by)
            )),
            TimeError::Expired { by } => {
                let lifetime = (self.exp > 0 && self.iat > 0)
                    .then(|| self.exp.checked_sub(self.iat))
                    .flatten()
                    .and_then(|l| u64::try_from(l).ok())
                    .map(Duration::from_secs);
                match lifetime {
                    Some(l) if l <= Duration::from_secs(60) && by <= Duration::from_secs(60) => {
                        Some(format!(
                            "the token lived only {} (exp - iat): its exp is set too short, \
                             or this server's clock is ahead of the issuer's",
                            human(l)
                        ))
                    }
                    _ if by <= MAX_LEEWAY && !self.bearer => Some(format!(
                        "expired only {} ago: if the issuer's clock is behind this server's, \
                         clock_skew.exp (now {}) tolerates it",
                        human(by),
                        human(self.policy.exp_leeway)
                    )),
                    _ => None,
                }
            }
        }
    }
}

impl fmt::Display for TimeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.err)?;
        let mut sep = "";
        for (k, v) in [("nbf", self.nbf), ("exp", self.exp), ("iat", self.iat)] {
            if v > 0 {
                write!(f, "{sep}{k} {}", rfc3339(unix(v)))?;
                sep = ", ";
            }
        }
        let leeway = match self.err {
            TimeError::Expired { .. } if self.bearer => "clock_skew.exp 0s (bearer)".to_string(),
            TimeError::Expired { .. } => {
                format!("clock_skew.exp {}", human(self.policy.exp_leeway))
            }
            _ => format!("clock_skew.nbf {}", human(self.policy.nbf_leeway)),
        };
        write!(f, "{sep}now {}, {leeway})", rfc3339(self.now))
    }
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// A duration for people: `850ms`, `3s`, `3m12s`, `2h5m`, `4d3h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return if d.is_zero() {
            "0s".into()
        } else {
            format!("{}ms", d.as_millis())
        };
    }
    let (days, h, m, sec) = (s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    match (days, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) if sec == 0 => format!("{m}m"),
        (0, 0, _) => format!("{m}m{sec}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{days}d{h}h"),
    }
}

#[cfg(test)]
mod tests;
