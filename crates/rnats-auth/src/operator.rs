//! Operator mode (decentralized JWT authentication): which operators are trusted, how an
//! account JWT is verified, and the connect-time check of a user JWT in the reference's order
//! (nats-server `auth.go` JWT branch; `../shared/spec/nats-server-behaviour.md` §3.6.7).
//!
//! Everything here is a pure function of the tokens, the trust, the account source and `now`:
//! the server supplies the clock, the client's address and connection type, and the nonce it
//! sent. The verdict carries the user's deadline computed by the one time rule
//! ([`crate::jwt::time`]), so the server arms the expiry timer from the same instant that decided
//! acceptance.

use crate::jwt::claims::{AccountClaims, JwtPermissions, SigningKey, UserClaims, limit};
use crate::jwt::limits::{Cidr, location_supported, time_window};
use crate::jwt::template::{Context, expand_permission};
use crate::jwt::time::{TimeError, TimeFailure, TimePolicy, Valid, check};
use crate::jwt::{DecodeError, decode_account, decode_operator, decode_user};
use crate::{AuthFailure, Permissions};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// The operators (or raw keys) this server trusts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trust {
    /// Keys that may sign account JWTs.
    pub keys: Vec<String>,
    /// The signing keys of operators with `strict_signing_key_usage` (the reference's
    /// `strictSigningKeyUsage`): an account issued by one of them may not sign users with its
    /// own identity key, only with its signing keys.
    pub strict: Vec<String>,
    /// `resolver_pinned_accounts`: when not empty, only these accounts (and the system
    /// account, which the server adds) may have users.
    pub pinned: Vec<String>,
}

/// Why an operator JWT could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("operator JWT: {0}")]
    Decode(#[from] DecodeError),
    /// rnats refuses an operator JWT outside its validity (the reference ignores its times).
    #[error("operator JWT {name:?} is not valid now: {err}")]
    Time { name: String, err: TimeError },
    #[error("{0:?} is not a valid operator public key")]
    BadKey(String),
}

impl Trust {
    /// Trust from operator JWTs (identity key unless strict, plus signing keys), checked at
    /// `now`: an expired or not-yet-valid operator is refused.
    pub fn from_operators(
        jwts: &[String],
        now: SystemTime,
        policy: &TimePolicy,
    ) -> Result<(Trust, Vec<crate::jwt::OperatorClaims>), TrustError> {
        let mut t = Trust::default();
        let mut claims = Vec::new();
        for j in jwts {
            let oc = decode_operator(j)?;
            check(&oc.data, now, policy).map_err(|err| TrustError::Time {
                name: oc.data.name.clone(),
                err,
            })?;
            // Every trusted key must be an operator public key (the reference refuses to
            // start otherwise): an account key listed here would let that account issue
            // trusted accounts.
            if let Some(k) = oc.nats.signing_keys.iter().find(|k| !is_operator_key(k)) {
                return Err(TrustError::BadKey(k.clone()));
            }
            if oc.nats.strict_signing_key_usage {
                // The identity key is not trusted, so every account of this operator is issued
                // by one of its signing keys: those are what the strict rule keys on.
                t.strict.extend(oc.nats.signing_keys.iter().cloned());
            } else {
                t.keys.push(oc.data.sub.clone());
            }
            t.keys.extend(oc.nats.signing_keys.iter().cloned());
            claims.push(oc);
        }
        Ok((t, claims))
    }

    /// Trust from raw operator public keys (`trusted_keys`).
    pub fn from_keys(keys: &[String]) -> Result<Trust, TrustError> {
        if let Some(k) = keys.iter().find(|k| !is_operator_key(k)) {
            return Err(TrustError::BadKey(k.clone()));
        }
        Ok(Trust {
            keys: keys.to_vec(),
            ..Trust::default()
        })
    }

    /// Whether `issuer` may sign account JWTs.
    pub fn is_trusted(&self, issuer: &str) -> bool {
        self.keys.iter().any(|k| k == issuer)
    }

    /// Verify an account JWT: signature, trusted issuer. Times are checked separately (an
    /// expired account is known but unusable).
    pub fn verify_account(&self, jwt: &str) -> Result<AccountClaims, AuthFailure> {
        let ac = decode_account(jwt).map_err(|e| AuthFailure::AccountInvalid(e.to_string()))?;
        if !self.is_trusted(&ac.data.iss) {
            return Err(AuthFailure::AccountInvalid(format!(
                "issuer {} is not a trusted operator key",
                ac.data.iss
            )));
        }
        Ok(ac)
    }
}

/// `nkeys.IsValidPublicOperatorKey`.
fn is_operator_key(k: &str) -> bool {
    k.starts_with('O') && nkeys::KeyPair::from_public_key(k).is_ok()
}

/// Where account claims come from (a resolver).
pub trait AccountSource {
    /// The verified claims of account `id`.
    fn account(&self, id: &str) -> Result<Arc<AccountClaims>, AuthFailure>;
}

/// What a client presented, and facts about its connection.
#[derive(Debug, Clone, Copy)]
pub struct UserConnect<'a> {
    pub jwt: Option<&'a str>,
    pub sig: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// `STANDARD`, `WEBSOCKET`, `MQTT`, `LEAFNODE`…
    pub connection_type: &'a str,
    /// Offline explanations without the user's seed: the nonce signature is not checked (and
    /// the trace says so). The server always checks it.
    pub skip_signature: bool,
}

/// An authenticated JWT user.
#[derive(Debug, Clone)]
pub struct JwtUser {
    pub claims: UserClaims,
    /// The account's public key.
    pub account: String,
    pub account_claims: Arc<AccountClaims>,
    /// Permissions (`None`: unrestricted); from the JWT or the account's defaults.
    pub permissions: Option<Permissions>,
    /// The permissions came from the account's `default_permissions`.
    pub uses_account_defaults: bool,
    /// Subscription and payload limits (-1 = unlimited), the user's combined with the account's.
    pub max_subs: i64,
    pub max_payload: i64,
    /// When the user must be disconnected (`exp` or the end of its time window).
    pub deadline: Option<SystemTime>,
    /// When the account expires.
    pub account_deadline: Option<SystemTime>,
    /// `iat_future: warn`: how far the user's / account's `iat` is ahead of now.
    pub iat_ahead: Option<std::time::Duration>,
    pub account_iat_ahead: Option<std::time::Duration>,
}

const CONNECTION_TYPES: &[&str] = &[
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
    "IN_PROCESS",
];

/// `minLimit`: only -1 means unlimited.
fn min_limit(v: i64, limit: i64) -> i64 {
    if v == -1 || (limit != -1 && limit < v) {
        limit
    } else {
        v
    }
}

/// The one time rule for a user JWT: no `exp` leeway for bearer tokens.
fn user_times(
    data: &crate::jwt::ClaimsData,
    now: SystemTime,
    policy: &TimePolicy,
    bearer: bool,
) -> Result<Valid, AuthFailure> {
    let p = if bearer {
        policy.without_exp_leeway()
    } else {
        *policy
    };
    check(data, now, &p)
        .map_err(|e| AuthFailure::UserTime(Box::new(TimeFailure::new(e, data, now, p, bearer))))
}

/// The connect-time check of a user JWT, in the reference's order.
pub fn authenticate_user(
    c: &UserConnect<'_>,
    accounts: &dyn AccountSource,
    trust: &Trust,
    now: SystemTime,
    policy: &TimePolicy,
) -> Result<JwtUser, AuthFailure> {
    authenticate_user_traced(c, accounts, trust, now, policy, &mut Trace::Off)
}

/// The steps a check passed, for people (`rnats explain`). The server passes
/// [`Trace::Off`], which formats nothing.
#[derive(Debug, Default)]
pub enum Trace {
    #[default]
    Off,
    /// Each passed step: a short name and what was found.
    On(Vec<(&'static str, String)>),
}

impl Trace {
    fn pass(&mut self, step: &'static str, detail: impl FnOnce() -> String) {
        if let Trace::On(v) = self {
            v.push((step, detail()));
        }
    }
}

fn describe_times(data: &crate::jwt::ClaimsData, now: SystemTime, valid: &Valid) -> String {
    use crate::jwt::time::{human, rfc3339, unix};
    let mut parts = Vec::new();
    if data.iat > 0 {
        let age = crate::jwt::time::age_secs(data, now).unwrap_or_default();
        parts.push(if age >= 0.0 {
            format!(
                "iat {} ({} ago)",
                rfc3339(unix(data.iat)),
                human(std::time::Duration::from_secs_f64(age))
            )
        } else {
            format!(
                "iat {} ({} in the future)",
                rfc3339(unix(data.iat)),
                human(std::time::Duration::from_secs_f64(-age))
            )
        });
    }
    if data.nbf > 0 {
        parts.push(format!("nbf {}", rfc3339(unix(data.nbf))));
    }
    if data.exp > 0 {
        let exp = unix(data.exp);
        let mut e = format!(
            "exp {} (in {})",
            rfc3339(exp),
            human(exp.duration_since(now).unwrap_or_default())
        );
        if let Some(d) = valid.deadline
            && d > exp
        {
            e.push_str(&format!(
                ", accepted until {} with clock_skew.exp",
                rfc3339(d)
            ));
        }
        parts.push(e);
    } else {
        parts.push("never expires".into());
    }
    if let Some(a) = valid.iat_ahead {
        parts.push(format!("WARNING: issued {} in the future", human(a)));
    }
    parts.join(", ")
}

/// [`authenticate_user`], recording each passed step in `t`.
pub fn authenticate_user_traced(
    c: &UserConnect<'_>,
    accounts: &dyn AccountSource,
    trust: &Trust,
    now: SystemTime,
    policy: &TimePolicy,
    t: &mut Trace,
) -> Result<JwtUser, AuthFailure> {
    // 1. A decodable user JWT.
    let jwt = c
        .jwt
        .filter(|j| !j.is_empty())
        .ok_or_else(|| AuthFailure::JwtRequired("no JWT in CONNECT".into()))?;
    let uc = decode_user(jwt).map_err(|e| AuthFailure::JwtRequired(e.to_string()))?;
    t.pass("user JWT", || {
        format!(
            "user {} {:?}, issued by {}; signature valid{}",
            uc.data.sub,
            uc.data.name,
            uc.data.iss,
            if uc.nats.limits.bearer_token {
                "; bearer token"
            } else {
                ""
            }
        )
    });
    let lim = &uc.nats.limits;
    // 2. Proxies are not supported: a JWT that requires one cannot connect.
    if lim.proxy_required {
        return Err(AuthFailure::ProxyRequired);
    }
    // 3. Claim validity: times, then the restrictions' syntax.
    let mut user_valid = user_times(&uc.data, now, policy, lim.bearer_token)?;
    t.pass("user times", || describe_times(&uc.data, now, &user_valid));
    for s in &lim.src {
        if Cidr::parse(s).is_none() {
            return Err(AuthFailure::JwtInvalid(format!("invalid src CIDR {s:?}")));
        }
    }
    for r in &lim.times {
        if crate::jwt::limits::parse_clock(&r.start).is_none()
            || crate::jwt::limits::parse_clock(&r.end).is_none()
        {
            return Err(AuthFailure::JwtInvalid(format!(
                "invalid time range {:?}-{:?}",
                r.start, r.end
            )));
        }
    }
    if !location_supported(&lim.times_location) {
        return Err(AuthFailure::JwtInvalid(format!(
            "times_location {:?} is not a known time zone",
            lim.times_location
        )));
    }
    let ia = &uc.nats.issuer_account;
    let ia_ok = ia.starts_with('A') && nkeys::KeyPair::from_public_key(ia).is_ok();
    if !ia.is_empty() && !ia_ok {
        return Err(AuthFailure::JwtInvalid(
            "issuer_account is not an account key".into(),
        ));
    }
    // 4-6. The account (pinned, if a pin list is set), still trusted.
    let account = uc.account_id().to_string();
    if !trust.pinned.is_empty() && !trust.pinned.contains(&account) {
        return Err(AuthFailure::AccountNotPinned(account));
    }
    let ac = accounts.account(&account)?;
    if let Some(issue) = ac.validation_issues().into_iter().next() {
        return Err(AuthFailure::AccountInvalid(issue));
    }
    if !trust.is_trusted(&ac.data.iss) {
        return Err(AuthFailure::AccountInvalid(
            "account JWT not signed by a trusted operator".into(),
        ));
    }
    t.pass("account", || {
        format!(
            "account {} {:?}, signed by trusted key {}",
            ac.data.sub, ac.data.name, ac.data.iss
        )
    });
    // 7. The user's issuer is one of the account's signing keys (or the account itself, unless
    // its operator is strict).
    let iss = &uc.data.iss;
    let own_key_ok = *iss == ac.data.sub && !trust.strict.contains(&ac.data.iss);
    let sk = ac.signing_key(iss);
    if !own_key_ok && sk.is_none() {
        return Err(AuthFailure::IssuerNotSigningKey(iss.clone()));
    }
    t.pass("user issuer", || {
        if own_key_ok {
            "signed by the account's own key".into()
        } else if matches!(sk, Some(SigningKey::Scoped { .. })) {
            format!("signed by scoped signing key {iss}")
        } else {
            format!("signed by signing key {iss}")
        }
    });
    // 8. A scoped key: the user carries nothing of its own; the template applies.
    let mut limits = lim.clone();
    let mut scoped = false;
    if let Some(SigningKey::Scoped { template, .. }) = sk {
        if !lim.is_empty() {
            return Err(AuthFailure::ScopedUserHasLimits);
        }
        let cx = Context {
            user_name: &uc.data.name,
            user_key: &uc.data.sub,
            account_name: &ac.data.name,
            account_key: &account,
            user_tags: &uc.nats.tags,
            account_tags: &ac.nats.tags,
        };
        limits = (**template).clone();
        limits.permissions.publish = expand_permission(&template.permissions.publish, &cx)
            .map_err(AuthFailure::TemplateInvalid)?;
        limits.permissions.subscribe = expand_permission(&template.permissions.subscribe, &cx)
            .map_err(AuthFailure::TemplateInvalid)?;
        scoped = true;
        // A scoped key can make the user a bearer: no `exp` leeway then either.
        if limits.bearer_token && !lim.bearer_token {
            user_valid = user_times(&uc.data, now, policy, true)?;
        }
    }
    // 9. The account's own validity.
    let account_valid = check(&ac.data, now, policy).map_err(|e| {
        AuthFailure::AccountTime(Box::new(TimeFailure::new(e, &ac.data, now, *policy, false)))
    })?;
    t.pass("account times", || {
        describe_times(&ac.data, now, &account_valid)
    });
    // 10. Bearer tokens.
    if limits.bearer_token && ac.nats.limits.disallow_bearer {
        return Err(AuthFailure::BearerNotAllowed);
    }
    t.pass("bearer", || {
        if limits.bearer_token {
            "bearer token; the account allows them".into()
        } else {
            "not a bearer token".into()
        }
    });
    // 11. Connection types: unknown names are dropped; all unknown refuses.
    if !limits.allowed_connection_types.is_empty() {
        let known: Vec<&String> = limits
            .allowed_connection_types
            .iter()
            .filter(|t| CONNECTION_TYPES.contains(&t.as_str()))
            .collect();
        if known.is_empty() || !known.iter().any(|t| t.as_str() == c.connection_type) {
            return Err(AuthFailure::ConnectionTypeNotAllowed);
        }
    }
    t.pass("connection type", || {
        format!("{} allowed", c.connection_type)
    });
    // 12. The nonce signature by the user key (`sub`), unless a bearer token.
    if !limits.bearer_token && !c.skip_signature {
        let nonce = c.nonce.unwrap_or_default();
        crate::nkey::verify_nonce(&uc.data.sub, nonce, c.sig).map_err(|e| match e {
            crate::nkey::SigError::Missing => AuthFailure::NkeySignatureMissing,
            e => AuthFailure::NkeySignatureInvalid(e),
        })?;
    }
    t.pass("nonce signature", || {
        if limits.bearer_token {
            "not needed (bearer token)".into()
        } else if c.skip_signature {
            format!(
                "NOT CHECKED: no seed given; a client must sign the server's nonce with the \
                 seed of {}",
                uc.data.sub
            )
        } else {
            format!("server nonce signed by {}", uc.data.sub)
        }
    });
    // 13. Revocation.
    if ac.is_revoked(&uc.data.sub, uc.data.iat) {
        return Err(AuthFailure::Revoked);
    }
    t.pass("revocation", || "not revoked".into());
    let mut deadline = user_valid.deadline;
    // 14. Source networks.
    if !limits.src.is_empty() {
        let inside = c.ip.is_some_and(|ip| {
            limits
                .src
                .iter()
                .filter_map(|s| Cidr::parse(s))
                .any(|n| n.contains(ip))
        });
        if !inside {
            return Err(AuthFailure::SourceNotAllowed);
        }
    }
    t.pass("source address", || {
        if limits.src.is_empty() {
            "no src restriction".into()
        } else {
            format!("{:?} inside {:?}", c.ip, limits.src)
        }
    });
    // 15. Connect-time windows.
    if !limits.times.is_empty() {
        let left = time_window(&limits.times, now, &limits.times_location)
            .ok_or(AuthFailure::OutsideTimes)?;
        let end = now + left;
        deadline = Some(deadline.map_or(end, |d| d.min(end)));
    }
    t.pass("connect times", || {
        if limits.times.is_empty() {
            "no time windows".into()
        } else {
            "inside a time window".into()
        }
    });
    // 16. Permissions (the JWT's, else the account's defaults) and limits.
    let (permissions, uses_account_defaults) = if limits.permissions.is_empty() {
        (ac.nats.default_permissions.to_permissions(), true)
    } else {
        (limits.permissions.to_permissions(), false)
    };
    let version = if scoped { 2 } else { uc.version };
    let max_subs = min_limit(
        limit(limits.subs, version),
        limit(ac.nats.limits.subs, ac.version),
    );
    let max_payload = min_limit(
        limit(limits.payload, version),
        limit(ac.nats.limits.payload, ac.version),
    );
    Ok(JwtUser {
        claims: uc,
        account,
        account_claims: ac,
        permissions,
        uses_account_defaults,
        max_subs,
        max_payload,
        deadline,
        account_deadline: account_valid.deadline,
        iat_ahead: user_valid.iat_ahead,
        account_iat_ahead: account_valid.iat_ahead,
    })
}

/// Default account permissions as the server's model (for live updates).
pub fn default_permissions(p: &JwtPermissions) -> Option<Permissions> {
    p.to_permissions()
}

#[cfg(test)]
mod tests;

/// Whether an activation token lets `importer` import `subject` (an import of type `kind`,
/// `stream` or `service`) from `exporter`: signed by the exporter (or one of its signing keys,
/// naming it in `issuer_account`), issued to `importer`, for the same import type, covering the
/// subject, valid now, and not revoked by the export's `revocations` (the importer's entry or
/// `"*"`, as `accounts.go isRevoked`).
#[allow(clippy::too_many_arguments)]
pub fn activation_valid(
    token: &str,
    exporter: &AccountClaims,
    export_revocations: &std::collections::BTreeMap<String, i64>,
    importer: &str,
    kind: &str,
    subject: &str,
    now: SystemTime,
    policy: &TimePolicy,
) -> bool {
    let Ok(v) = crate::jwt::decode(token, crate::jwt::Kind::Activation) else {
        return false;
    };
    let Ok(data) = serde_json::from_value::<crate::jwt::ClaimsData>(v.payload.clone()) else {
        return false;
    };
    let nats = v.payload.get("nats");
    let field = |k: &str| {
        nats.and_then(|n| n.get(k))
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let issuer_ok = data.iss == exporter.data.sub
        || (field("issuer_account") == exporter.data.sub
            && exporter.signing_key(&data.iss).is_some());
    let granted = field("subject");
    let revoked = |key: &str| export_revocations.get(key).is_some_and(|&t| t >= data.iat);
    issuer_ok
        && data.sub == importer
        && field("kind") == kind
        && rnats_proto::subject::is_subset(subject.as_bytes(), granted.as_bytes())
        && check(&data, now, policy).is_ok()
        && !revoked(importer)
        && !revoked("*")
}
