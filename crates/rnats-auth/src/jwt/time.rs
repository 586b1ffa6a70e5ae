//! The one time rule for every JWT kind (user, account, activation, operator).
//!
//! A claim is valid at `now` when `now >= nbf - nbf_leeway` and `now < exp + exp_leeway`
//! (RFC 7519: a token is not valid on or after its `exp`; `0` means "no such bound"). The
//! deadline returned with a valid verdict is `exp + exp_leeway`: the connection's expiry timer
//! is armed from exactly that instant, so a token can never be accepted and then expired at once
//! by a differently computed timer. nats-server differs at the boundary: it accepts `exp == now`
//! (whole seconds) and then expires the connection immediately; rnats rejects it (see
//! `docs/parity.md`). `iat` is not a validity bound.

use super::ClaimsData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tolerances for clock differences between the token's issuer and this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimePolicy {
    /// Accept a token this long before its `nbf`.
    pub nbf_leeway: Duration,
    /// Accept a token this long after its `exp`.
    pub exp_leeway: Duration,
}

/// Why a claim is not valid now, with the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// `exp` (plus leeway) passed this long ago.
    #[error("claim is expired (by {by:?})")]
    Expired { by: Duration },
    /// `nbf` (minus leeway) comes in this long.
    #[error("claim is not yet valid (for another {in_:?})")]
    NotYetValid { in_: Duration },
}

/// A Unix time in seconds as a `SystemTime` (negative clamps to the epoch).
pub fn unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// Check the claim's times at `now`; on success, the deadline (if the claim expires).
pub fn check(
    data: &ClaimsData,
    now: SystemTime,
    policy: &TimePolicy,
) -> Result<Option<SystemTime>, TimeError> {
    if data.nbf > 0 {
        let from = unix(data.nbf)
            .checked_sub(policy.nbf_leeway)
            .unwrap_or(UNIX_EPOCH);
        if let Ok(in_) = from.duration_since(now)
            && !in_.is_zero()
        {
            return Err(TimeError::NotYetValid { in_ });
        }
    }
    if data.exp > 0 {
        let deadline = unix(data.exp) + policy.exp_leeway;
        return match now.duration_since(deadline) {
            Ok(by) => Err(TimeError::Expired { by }),
            Err(_) => Ok(Some(deadline)),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(nbf: i64, exp: i64) -> ClaimsData {
        ClaimsData {
            nbf,
            exp,
            ..Default::default()
        }
    }

    const T: i64 = 1_800_000_000;

    #[test]
    fn boundaries() {
        let p = TimePolicy::default();
        let at = |s: i64, ms: u64| unix(s) + Duration::from_millis(ms);
        // exp: valid strictly before, expired at and after.
        assert_eq!(check(&claims(0, T), at(T - 1, 999), &p), Ok(Some(unix(T))));
        assert_eq!(
            check(&claims(0, T), at(T, 0), &p),
            Err(TimeError::Expired { by: Duration::ZERO })
        );
        assert_eq!(
            check(&claims(0, T), at(T, 250), &p),
            Err(TimeError::Expired {
                by: Duration::from_millis(250)
            })
        );
        // nbf: valid from nbf on.
        assert_eq!(check(&claims(T, 0), at(T, 0), &p), Ok(None));
        assert_eq!(
            check(&claims(T, 0), at(T - 1, 500), &p),
            Err(TimeError::NotYetValid {
                in_: Duration::from_millis(500)
            })
        );
        // Leeway moves both bounds, and the deadline with it.
        let l = TimePolicy {
            nbf_leeway: Duration::from_secs(5),
            exp_leeway: Duration::from_secs(2),
        };
        assert_eq!(check(&claims(T, 0), at(T - 5, 0), &l), Ok(None));
        assert_eq!(
            check(&claims(0, T), at(T + 1, 0), &l),
            Ok(Some(unix(T + 2)))
        );
        // No bounds at all.
        assert_eq!(check(&claims(0, 0), at(T, 0), &p), Ok(None));
    }
}
