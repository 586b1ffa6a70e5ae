//! `clock_skew` (an rnats extension, see `docs/clock-skew.md`): how much disagreement between
//! a token issuer's clock and this server's the JWT checks tolerate.
//!
//! ```text
//! clock_skew { nbf: 5s, exp: 0s, iat_future: warn }   # the defaults
//! clock_skew: 5s                                      # short form: nbf and exp
//! ```
//!
//! Values above [`MAX_LEEWAY`] are errors naming the limit (a bigger tolerance would quietly
//! extend every token's life), and an integer is read as seconds, so the reference's trap of an
//! unquoted `2m` meaning 2,000,000 also fails here instead of opening a 23-day window.

use super::Ctx;
use crate::config::duration::parse_go_duration;
use rnats_auth::jwt::time::{IatPolicy, MAX_LEEWAY, TimePolicy};
use rnats_conf::{Entry, Item, Value};
use std::time::Duration;

/// One leeway value: a duration string or whole seconds, at most [`MAX_LEEWAY`].
fn leeway(cx: &mut Ctx, e: &Entry, item: &Item, what: &str) -> Option<Duration> {
    let d = match &item.value {
        Value::String(s) => match parse_go_duration(s) {
            Ok((_, true)) => {
                cx.err(
                    e,
                    format!("error parsing {what}: negative duration \"{s}\""),
                );
                return None;
            }
            Ok((d, false)) => d,
            Err(m) => {
                cx.err(e, format!("error parsing {what}: {m}"));
                return None;
            }
        },
        Value::Int(n) if *n < 0 => {
            cx.err(e, format!("error parsing {what}: negative duration {n}"));
            return None;
        }
        Value::Int(n) => Duration::from_secs(*n as u64),
        v => {
            cx.err(
                e,
                format!(
                    "error parsing {what}: expected a duration, got {}",
                    v.go_type_name()
                ),
            );
            return None;
        }
    };
    if d > MAX_LEEWAY {
        cx.err(
            e,
            format!(
                "{what} of {d:?} is above the limit of {}s: a larger leeway would extend every \
                 token's life",
                MAX_LEEWAY.as_secs()
            ),
        );
        return None;
    }
    Some(d)
}

/// Parse the `clock_skew` entry into `policy` (left unchanged where a value is invalid).
pub fn parse(cx: &mut Ctx, e: &Entry, policy: &mut TimePolicy) {
    let Value::Map(m) = &e.value.value else {
        if let Some(d) = leeway(cx, e, &e.value, "clock_skew") {
            policy.nbf_leeway = d;
            policy.exp_leeway = d;
        }
        return;
    };
    for x in m.iter() {
        match x.key.to_ascii_lowercase().as_str() {
            "nbf" => {
                if let Some(d) = leeway(cx, x, &x.value, "clock_skew.nbf") {
                    policy.nbf_leeway = d;
                }
            }
            "exp" => {
                if let Some(d) = leeway(cx, x, &x.value, "clock_skew.exp") {
                    policy.exp_leeway = d;
                }
            }
            "iat_future" => {
                let word = match &x.value.value {
                    Value::String(s) => Some(s.as_str()),
                    // `off` lexes as a boolean.
                    Value::Bool(false) => Some("off"),
                    _ => None,
                };
                match word.and_then(IatPolicy::parse) {
                    Some(p) => policy.iat_future = p,
                    None => cx.err(
                        x,
                        "error parsing clock_skew.iat_future: expected off, warn or reject",
                    ),
                }
            }
            k => cx.err(x, format!("unknown field \"{k}\" in clock_skew")),
        }
    }
}
