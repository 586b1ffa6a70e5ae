//! One INFO line per authentication rejection and per forced disconnect, with the connection
//! id, remote address, account and user public keys, the reason code, the numbers behind a time
//! reason (`exp`/`nbf`/`iat`, the server's now, the leeway in force) and a hint where the cause
//! is certain. Lines are rate-limited per reason (a flood of one kind cannot hide another) and
//! never carry a secret or a whole JWT: only public keys and claim times. Every line is also
//! counted in the metrics, whether or not the limiter let it through.

use crate::client::ClientShared;
use rnats_auth::AuthFailure;
use rustc_hash::FxHashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Lines per second and per reason.
const PER_REASON_PER_SEC: u64 = 20;

/// Per reason: (second, lines in it, suppressed since the last line out).
type Limits = FxHashMap<&'static str, (u64, u64, u64)>;
static LIMITS: Mutex<Option<Limits>> = Mutex::new(None);

/// Whether a line for `code` may go out now; `Some(n)`: yes, `n` were suppressed before it.
fn allow(code: &'static str) -> Option<u64> {
    let sec = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut g = LIMITS.lock().unwrap_or_else(|e| e.into_inner());
    let e = g
        .get_or_insert_with(FxHashMap::default)
        .entry(code)
        .or_insert((sec, 0, 0));
    if e.0 != sec {
        e.0 = sec;
        e.1 = 0;
    }
    e.1 += 1;
    if e.1 <= PER_REASON_PER_SEC {
        Some(std::mem::take(&mut e.2))
    } else {
        e.2 += 1;
        None
    }
}

fn suppressed(n: u64) -> String {
    if n > 0 {
        format!(" ({n} similar lines suppressed)")
    } else {
        String::new()
    }
}

/// The account and user public keys a presented user JWT claims (signature checked; a token
/// that does not verify names nobody).
pub fn jwt_identity(jwt: Option<&str>) -> (Option<String>, Option<String>) {
    match jwt.and_then(|j| rnats_auth::jwt::decode_user(j).ok()) {
        Some(u) => (Some(u.account_id().to_string()), Some(u.data.sub)),
        None => (None, None),
    }
}

/// A name for a log line: a public key as it is; anything else (a user name from CONNECT, a
/// field of an unverified token) quoted and escaped, so no input can forge a line.
fn printable(v: Option<&str>) -> String {
    match v {
        None => "-".into(),
        Some(k) if nkeys::KeyPair::from_public_key(k).is_ok() => k.to_string(),
        Some(other) => format!("{other:?}"),
    }
}

/// `text` on one line: control characters escaped (reasons can quote token fields).
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<char>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Log and count a rejection.
pub fn rejected(c: &ClientShared, reason: &AuthFailure, account: Option<&str>, user: Option<&str>) {
    let code = reason.code();
    c.stats.auth.rejected(code);
    let Some(n) = allow(code) else {
        return;
    };
    let hint = reason
        .hint()
        .map(|h| format!("; hint: {h}"))
        .unwrap_or_default();
    let reason = one_line(&reason.to_string());
    tracing::info!(
        "{} - authentication rejected: reason={code} account={} user={}: {reason}{hint}{}",
        c.log_prefix(),
        printable(account),
        printable(user),
        suppressed(n)
    );
}

/// Log and count a forced disconnect (`expired`, `account_expired`, `revoked`).
pub fn disconnected(c: &ClientShared, code: &'static str, detail: &str) {
    c.stats.auth.disconnected(code);
    let Some(n) = allow(code) else {
        return;
    };
    let (account, user) = match c.jwt.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(j) => (c.account().name.to_string(), j.user.clone()),
        None => (c.account().name.to_string(), "-".to_string()),
    };
    tracing::info!(
        "{} - disconnected: reason={code} account={account} user={user}: {}{}",
        c.log_prefix(),
        one_line(detail),
        suppressed(n)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_a_client_can_forge_a_line() {
        let key = nkeys::KeyPair::new_user().public_key();
        assert_eq!(printable(Some(&key)), key);
        assert_eq!(printable(None), "-");
        assert_eq!(printable(Some("AX\n[INF] fake")), "\"AX\\n[INF] fake\"");
        assert_eq!(one_line("a\nb\rc\u{1b}"), "a\\nb\\rc\\u{1b}");
    }
}
