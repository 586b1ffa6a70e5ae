//! Operator mode for the reader: run the connect-time user JWT check, then apply what it
//! decided — the account, permissions, per-connection limits (`subs`, `payload`), the account's
//! connection limit, and the expiry timers armed from the same deadlines that accepted the token.

use super::{Conn, Stop};
use crate::client::ClosedState;
use rnats_auth::operator::{JwtUser, UserConnect, authenticate_user};
use rnats_auth::static_auth::Presented;
use rnats_auth::{Identity, Rejection};
use rnats_proto::{ConnectOptions, wire};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

/// The expiry warning window: `max(30s, 10% of the token's lifetime)`.
pub fn warning_window(lifetime: Duration) -> Duration {
    (lifetime / 10).max(Duration::from_secs(30))
}

/// `minLimit` with the server's option (0 there means unlimited).
fn with_server_limit(v: i64, server: i64) -> i64 {
    let server = if server <= 0 { -1 } else { server };
    if v == -1 || (server != -1 && server < v) {
        server
    } else {
        v
    }
}

/// The account a CONNECT's user JWT names (before verification; only used to fetch it).
pub(super) fn account_of(opts: &ConnectOptions, sentinel: Option<&str>) -> Option<String> {
    let jwt = opts.jwt.as_deref().filter(|j| !j.is_empty()).or(sentinel)?;
    let u = rnats_auth::jwt::decode_user(jwt).ok()?;
    Some(u.account_id().to_string())
}

impl Conn {
    /// Whether this CONNECT goes through the JWT check (operator mode, and the client sent a
    /// JWT or no other authentication is configured).
    pub(super) fn uses_jwt(&self, opts: &ConnectOptions) -> bool {
        self.server.operator().is_some()
            && (opts.jwt.as_deref().is_some_and(|j| !j.is_empty())
                || !self.server.opts().auth.auth_required())
    }

    /// The connect-time user JWT check; on success the decision is kept for
    /// [`Self::apply_jwt_user`].
    pub(super) fn jwt_authenticate(
        &mut self,
        opts: &ConnectOptions,
    ) -> Result<Identity, Rejection> {
        let Some(op) = self.server.operator() else {
            return Err(Rejection {
                reason: rnats_auth::AuthFailure::JwtRequired("not in operator mode".into()),
                presented: Presented::Nothing,
            });
        };
        let o = self.server.opts();
        // No JWT: the configured default sentinel stands in.
        let jwt = opts
            .jwt
            .as_deref()
            .filter(|j| !j.is_empty())
            .or(o.default_sentinel.as_deref());
        let c = UserConnect {
            jwt,
            sig: opts.sig.as_deref(),
            nonce: self.nonce.as_deref(),
            ip: Some(self.shared.remote.ip()),
            connection_type: "STANDARD",
            skip_signature: false,
        };
        let now = self.server.clock.now();
        let verdict = authenticate_user(&c, op, &op.trust, now, &o.clock_skew);
        // Token ages at verify time (signature checked): the user's and, once known, the
        // account's. A time rejection still tells how far the issuer's clock is off.
        let auth = &self.shared.stats.auth;
        match &verdict {
            Ok(u) => {
                for (kind, data) in [
                    ("user", &u.claims.data),
                    ("account", &u.account_claims.data),
                ] {
                    if let Some(age) = rnats_auth::jwt::time::age_secs(data, now) {
                        auth.observe_age(kind, age, now);
                    }
                }
            }
            // Only a trusted token's age counts (an account refused for its times was verified
            // against the operator; a user refused for its times was not verified yet).
            Err(rnats_auth::AuthFailure::AccountTime(t)) => {
                let iat = rnats_auth::jwt::ClaimsData {
                    iat: t.iat,
                    ..Default::default()
                };
                if let Some(age) = rnats_auth::jwt::time::age_secs(&iat, now) {
                    auth.observe_age("account", age, now);
                }
            }
            Err(_) => {}
        }
        match verdict {
            Ok(u) => {
                let id = Identity {
                    name: Some(u.claims.data.sub.clone()),
                    account: Some(u.account.clone()),
                    permissions: u.permissions.clone(),
                };
                self.jwt_user = Some(u);
                Ok(id)
            }
            Err(reason) => {
                let presented = opts
                    .jwt
                    .as_deref()
                    .and_then(|j| rnats_auth::jwt::decode_user(j).ok())
                    .map_or(Presented::Nothing, |u| Presented::JwtUser(u.data.sub));
                Err(Rejection { reason, presented })
            }
        }
    }

    /// Apply an accepted JWT user's limits and timers (after the account is bound).
    pub(super) fn apply_jwt_user(&mut self, u: JwtUser) -> Result<(), Stop> {
        let o = self.server.opts();
        let conn_limit = rnats_auth::jwt::claims::limit(
            u.account_claims.nats.limits.conn,
            u.account_claims.version,
        );
        let current = self.account.conns.load(Ordering::Acquire);
        if conn_limit != -1 && current > conn_limit {
            crate::authlog::rejected(
                &self.shared,
                &rnats_auth::AuthFailure::MaxAccountConnections,
                Some(&u.account),
                Some(&u.claims.data.sub),
            );
            tracing::error!(
                "{} - {}",
                self.shared.log_prefix(),
                wire::ERR_MAX_ACCOUNT_CONNECTIONS
            );
            return self.fail(
                wire::ERR_MAX_ACCOUNT_CONNECTIONS,
                ClosedState::MaxAccountConnectionsExceeded,
            );
        }
        let subs = with_server_limit(u.max_subs, o.max_subscriptions);
        let payload = with_server_limit(u.max_payload, o.max_payload);
        self.parser.max_payload = if payload == -1 {
            o.max_payload
        } else {
            payload
        };
        // The reference: a limit of zero means the connection is already over it.
        self.subs_at_zero = subs == 0;
        self.max_subs = if subs == -1 { 0 } else { subs };
        let now = self.server.clock.now();
        if let Some(d) = u.deadline {
            self.shared
                .close_at(now, d, wire::ERR_USER_AUTHENTICATION_EXPIRED, "expired");
            self.warn_before_expiry(now, d, &u);
        }
        if let Some(d) = u.account_deadline {
            self.shared.close_at(
                now,
                d,
                wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED,
                "account_expired",
            );
        }
        for (kind, ahead) in [("user", u.iat_ahead), ("account", u.account_iat_ahead)] {
            if let Some(a) = ahead {
                tracing::warn!(
                    "{} - {kind} JWT issued {} in the future (iat later than this server's now \
                     beyond clock_skew.nbf): the issuer's clock runs ahead; a future iat also \
                     escapes revocations (clock_skew.iat_future: reject refuses such tokens)",
                    self.shared.log_prefix(),
                    rnats_auth::jwt::time::human(a)
                );
            }
        }
        *self.shared.jwt.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(crate::client::JwtSession {
                user: u.claims.data.sub.clone(),
                iat: u.claims.data.iat,
                issuer: u.claims.data.iss.clone(),
                bearer: u.claims.nats.limits.bearer_token,
                uses_account_defaults: u.uses_account_defaults,
                scope: u
                    .account_claims
                    .signing_key(&u.claims.data.iss)
                    .filter(|k| matches!(k, rnats_auth::jwt::claims::SigningKey::Scoped { .. }))
                    .cloned(),
                name: u.claims.data.name.clone(),
                tags: u.claims.nats.tags.clone(),
                account_name: u.account_claims.data.name.clone(),
            });
        Ok(())
    }

    /// Once per connection, when its user JWT enters the last `max(30s, 10% of its lifetime)`:
    /// the `$SYS.ACCOUNT.<acc>.CLIENT.AUTH.EXPIRING` advisory and the expiring-soon gauge.
    fn warn_before_expiry(&self, now: SystemTime, deadline: SystemTime, u: &JwtUser) {
        let d = &u.claims.data;
        let lifetime = match d.exp.checked_sub(d.iat).and_then(|l| u64::try_from(l).ok()) {
            Some(l) if d.iat > 0 && l > 0 => Duration::from_secs(l),
            _ => deadline.duration_since(now).unwrap_or_default(),
        };
        let warn_at = deadline
            .checked_sub(warning_window(lifetime))
            .unwrap_or(deadline);
        let wait = warn_at.duration_since(now).unwrap_or_default();
        let server = Arc::clone(&self.server);
        self.shared.after(wait, move |c| {
            if !c.expiring_warned.swap(true, Ordering::AcqRel) {
                c.stats.auth.expiring(true);
                // The connection may have closed in between: its cleanup saw no flag.
                if c.is_closed() && c.expiring_warned.swap(false, Ordering::AcqRel) {
                    c.stats.auth.expiring(false);
                    return;
                }
                server.event_auth_expiring(c, deadline, lifetime);
            }
        });
    }
}
