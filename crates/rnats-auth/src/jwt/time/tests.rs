use super::*;

fn claims(nbf: i64, exp: i64, iat: i64) -> ClaimsData {
    ClaimsData {
        nbf,
        exp,
        iat,
        ..Default::default()
    }
}

const T: i64 = 1_800_000_000;
const S: Duration = Duration::from_secs(1);

fn at(s: i64, ms: u64) -> SystemTime {
    unix(s) + Duration::from_millis(ms)
}

fn policy(nbf: u64, exp: u64, iat: IatPolicy) -> TimePolicy {
    TimePolicy {
        nbf_leeway: Duration::from_secs(nbf),
        exp_leeway: Duration::from_secs(exp),
        iat_future: iat,
    }
}

fn ok(deadline: Option<SystemTime>) -> Result<Valid, TimeError> {
    Ok(Valid {
        deadline,
        iat_ahead: None,
    })
}

#[test]
fn exp_boundary_table_with_and_without_leeway() {
    for l in [0i64, 1, 5, 30] {
        let p = policy(0, l as u64, IatPolicy::Off);
        let c = claims(0, T, 0);
        let d = Some(unix(T + l));
        let expired = |by: i64| {
            Err(TimeError::Expired {
                by: Duration::from_secs(by as u64),
            })
        };
        // exp-1, exp, exp+L-1, exp+L, exp+L+1.
        let cases = [
            (T - 1, ok(d)),
            (T, if l == 0 { expired(0) } else { ok(d) }),
            (T + l - 1, ok(d)),
            (T + l, expired(l)),
            (T + l + 1, expired(l + 1)),
        ];
        for (now, want) in cases {
            assert_eq!(check(&c, unix(now), &p), want, "L={l} now=exp{:+}", now - T);
        }
        // Just before the deadline is still valid; the deadline itself is not.
        assert_eq!(check(&c, at(T + l - 1, 999), &p), ok(d));
    }
}

#[test]
fn nbf_boundary_table_with_and_without_leeway() {
    for l in [0i64, 1, 5, 30] {
        let p = policy(l as u64, 0, IatPolicy::Off);
        let c = claims(T, 0, 0);
        // Valid from nbf - L on; the error counts from nbf itself.
        for (now, valid) in [
            (T - l - 1, false),
            (T - l, true),
            (T - l + 1, true),
            (T - 1, l >= 1),
            (T, true),
            (T + 1, true),
        ] {
            let got = check(&c, unix(now), &p);
            if valid {
                assert_eq!(got, ok(None), "L={l} now=nbf{:+}", now - T);
            } else {
                assert_eq!(
                    got,
                    Err(TimeError::NotYetValid {
                        in_: Duration::from_secs((T - now) as u64)
                    }),
                    "L={l} now=nbf{:+}",
                    now - T
                );
            }
        }
        assert_eq!(
            check(&c, at(T - l - 1, 999), &p),
            Err(TimeError::NotYetValid {
                in_: Duration::from_secs(l as u64) + Duration::from_millis(1)
            })
        );
    }
}

#[test]
fn iat_in_the_future_follows_the_policy() {
    let c = claims(0, 0, T + 8);
    let now = unix(T);
    assert_eq!(
        check(&c, now, &policy(5, 0, IatPolicy::Off)),
        ok(None),
        "off ignores iat"
    );
    assert_eq!(
        check(&c, now, &policy(5, 0, IatPolicy::Warn)),
        Ok(Valid {
            deadline: None,
            iat_ahead: Some(Duration::from_secs(8))
        })
    );
    assert_eq!(
        check(&c, now, &policy(5, 0, IatPolicy::Reject)),
        Err(TimeError::IssuedInFuture {
            by: Duration::from_secs(8)
        })
    );
    // Within the nbf leeway: not reported.
    assert_eq!(check(&c, now, &policy(10, 0, IatPolicy::Reject)), ok(None));
    assert_eq!(
        check(&c, unix(T + 3), &policy(5, 0, IatPolicy::Reject)),
        ok(None)
    );
}

#[test]
fn bearer_policy_drops_exp_leeway_only() {
    let p = policy(5, 10, IatPolicy::Reject).without_exp_leeway();
    assert_eq!(p, policy(5, 0, IatPolicy::Reject));
    assert_eq!(
        check(&claims(0, T, 0), unix(T + 1), &p),
        Err(TimeError::Expired { by: S })
    );
}

#[test]
fn ages_are_signed() {
    assert_eq!(age_secs(&claims(0, 0, T), at(T + 2, 500)), Some(2.5));
    assert_eq!(age_secs(&claims(0, 0, T + 8), unix(T)), Some(-8.0));
    assert_eq!(age_secs(&claims(0, 0, 0), unix(T)), None);
}

#[test]
fn failures_read_well_and_hint_where_certain() {
    let p = TimePolicy::RNATS_DEFAULT;
    let early = TimeFailure::new(
        TimeError::NotYetValid {
            in_: Duration::from_secs(8),
        },
        &claims(T + 8, 0, T + 8),
        unix(T),
        p,
        false,
    );
    assert_eq!(
        early.to_string(),
        "not yet valid for another 8s (nbf 2027-01-15T08:00:08Z, iat 2027-01-15T08:00:08Z, \
         now 2027-01-15T08:00:00Z, clock_skew.nbf 5s)"
    );
    let hint = early.hint().unwrap_or_default();
    assert!(hint.contains("issuer's clock is ahead"), "{hint}");
    assert!(hint.contains("clock_skew.nbf"), "{hint}");
    let short = TimeFailure::new(
        TimeError::Expired { by: 3 * S },
        &claims(0, T, T - 2),
        unix(T + 3),
        p,
        false,
    );
    assert!(
        short.hint().unwrap_or_default().contains("lived only 2s"),
        "{:?}",
        short.hint()
    );
    let bearer = TimeFailure::new(
        TimeError::Expired { by: 3 * S },
        &claims(0, T, T - 3600),
        unix(T + 3),
        p,
        true,
    );
    assert_eq!(bearer.hint(), None, "no leeway advice for bearer tokens");
    assert!(bearer.to_string().contains("clock_skew.exp 0s (bearer)"));
    let long_gone = TimeFailure::new(
        TimeError::Expired { by: 3600 * S },
        &claims(0, T, T - 86400),
        unix(T + 3600),
        p,
        false,
    );
    assert_eq!(long_gone.hint(), None);
}

#[test]
fn human_durations() {
    assert_eq!(human(Duration::ZERO), "0s");
    assert_eq!(human(Duration::from_millis(850)), "850ms");
    assert_eq!(human(Duration::from_secs(3)), "3s");
    assert_eq!(human(Duration::from_secs(192)), "3m12s");
    assert_eq!(human(Duration::from_secs(180)), "3m");
    assert_eq!(human(Duration::from_secs(7500)), "2h5m");
    assert_eq!(human(Duration::from_secs(4 * 86400 + 3 * 3600)), "4d3h");
}

#[test]
fn far_future_times_never_overflow() {
    let c = claims(0, i64::MAX, i64::MIN);
    let p = policy(30, 30, IatPolicy::Reject);
    assert!(check(&c, unix(T), &p).is_ok());
    let f = TimeFailure::new(
        TimeError::Expired { by: S },
        &claims(0, i64::MAX, i64::MIN + 1),
        unix(T),
        p,
        false,
    );
    let _ = (f.to_string(), f.hint());
}
