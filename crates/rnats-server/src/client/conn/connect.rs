//! CONNECT handling for the reader: options, authentication (inline, or off the reactor when
//! bcrypt is involved), and the checks the reference makes after it, in its order.

use super::{Conn, Stop};
use crate::client::ClosedState;
use rnats_auth::Rejection;
use rnats_auth::static_auth::Credentials;
use rnats_auth::static_auth::Presented;
use rnats_proto::{ConnectOptions, wire};
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Conn {
    pub(super) fn connect(&mut self, json: &[u8]) -> Result<(), Stop> {
        let opts = match ConnectOptions::parse(json) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!("{} - {e}", self.shared.log_prefix());
                self.shared.close(ClosedState::ProtocolViolation);
                return Err(Stop);
            }
        };
        if self.shared.rtt_ns.load(Ordering::Relaxed) == 0 {
            // First estimate of the round trip (the reference's): accept to CONNECT.
            let ns = self.shared.started.elapsed().as_nanos() as u64;
            self.shared.rtt_ns.store(ns.max(1), Ordering::Relaxed);
        }
        if self.connect_received {
            // A second CONNECT starts over: existing subscriptions are dropped.
            self.drop_all_subs();
        }
        self.connect_received = true;
        if !self.shared.connect_seen.swap(true, Ordering::AcqRel) {
            self.shared.writer_wake.notify_one();
        }
        let headers = !self.server.opts().no_header_support && opts.headers;
        self.parser.headers = headers;
        self.parser.pedantic = opts.pedantic;
        self.parser.expect_connect = false;
        self.shared.headers.store(headers, Ordering::Relaxed);
        self.shared.echo.store(opts.echo, Ordering::Relaxed);
        self.shared
            .proto_info
            .store(opts.protocol >= 1, Ordering::Relaxed);
        {
            let mut m = self.shared.meta.lock().unwrap_or_else(|e| e.into_inner());
            m.name = opts.name.clone().unwrap_or_default();
            m.lang = opts.lang.clone().unwrap_or_default();
            m.version = opts.version.clone().unwrap_or_default();
            m.user = opts
                .user
                .clone()
                .filter(|u| !u.is_empty())
                .or_else(|| opts.nkey.clone())
                .unwrap_or_default();
            let some = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
            m.jwt = some(&opts.jwt).unwrap_or_default();
            m.auth_user = some(&opts.nkey)
                .or_else(|| some(&opts.user))
                .or_else(|| {
                    (m.jwt.is_empty() && some(&opts.auth_token).is_some())
                        .then(|| "[REDACTED]".to_string())
                })
                .unwrap_or_default();
        }
        self.shared.touch_activity();
        if self.needs_auth && self.uses_jwt(&opts) {
            // An account the URL resolver must fetch first: finish off the read path.
            let o = self.server.opts();
            let sentinel = o.default_sentinel.as_deref();
            if let (Some(op), Some(key)) = (
                self.server.operator(),
                super::jwt::account_of(&opts, sentinel),
            ) && op.needs_fetch(&key)
            {
                self.pending = Some(opts);
                return Ok(());
            }
            let decision = self.jwt_authenticate(&opts);
            return self.finish_connect(opts, decision);
        }
        if self.needs_auth {
            let o = self.server.opts();
            let mut creds = credentials(&opts);
            creds.cert_names = self.shared.cert_names.get().map(Vec::as_slice);
            if o.auth.may_be_slow(&creds) {
                self.pending = Some(opts);
                return Ok(());
            }
            let decision = o.auth.authenticate(&creds, self.nonce.as_deref());
            return self.finish_connect(opts, decision);
        }
        self.finish_connect(opts, Ok(anonymous()))
    }

    /// Apply an authentication decision for a CONNECT, then the rest of its checks.
    pub(super) fn finish_connect(
        &mut self,
        opts: ConnectOptions,
        decision: Result<rnats_auth::Identity, Rejection>,
    ) -> Result<(), Stop> {
        self.opts = opts.clone();
        if self.needs_auth {
            self.authenticated(decision)?;
        } else {
            self.server.event_connect(&self.shared);
        }
        let account_requested = opts.account.is_some() || opts.new_account;
        let (protocol, no_responders) = (opts.protocol, opts.no_responders);
        let headers = self.parser.headers;
        if account_requested {
            tracing::error!(
                "{} - {}",
                self.shared.log_prefix(),
                wire::ERR_AUTHORIZATION_VIOLATION
            );
            return self.fail(
                wire::ERR_AUTHORIZATION_VIOLATION,
                ClosedState::AuthenticationViolation,
            );
        }
        if !(0..=1).contains(&protocol) {
            return self.fail(
                wire::ERR_INVALID_CLIENT_PROTOCOL,
                ClosedState::BadClientProtocolVersion,
            );
        }
        if no_responders && !headers {
            return self.fail(
                wire::ERR_NO_RESPONDERS_REQUIRES_HEADERS,
                ClosedState::NoRespondersRequiresHeaders,
            );
        }
        self.reply_ok();
        Ok(())
    }

    /// Record a successful authentication, or reject the client.
    pub(super) fn authenticated(
        &mut self,
        decision: Result<rnats_auth::Identity, Rejection>,
    ) -> Result<(), Stop> {
        match decision {
            Ok(id) => {
                self.needs_auth = false;
                self.parser.expect_connect = false;
                self.account = self.server.account(id.account.as_deref());
                self.shared.set_account(self.account.clone());
                self.in_sys = self
                    .server
                    .system_account()
                    .is_some_and(|s| Arc::ptr_eq(&s, &self.account));
                if let Some(prev) = self.counted.replace(self.account.clone()) {
                    prev.conns.fetch_sub(1, Ordering::AcqRel);
                }
                self.account.conns.fetch_add(1, Ordering::AcqRel);
                if let Some(u) = self.jwt_user.take() {
                    self.apply_jwt_user(u)?;
                }
                self.shared.set_permissions(id.permissions.map(Arc::new));
                self.refresh_perms();
                *self
                    .shared
                    .auth_snapshot
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) =
                    Some((self.opts.clone(), self.nonce.clone()));
                self.shared.authenticated.store(true, Ordering::Release);
                self.server.event_connect(&self.shared);
                Ok(())
            }
            Err(r) => {
                // The reference's error line, then rnats' precise reason (rate-limited per
                // reason, counted in the metrics). Never a secret.
                if let Some(suppressed) = crate::ratelog::AUTH_ERRORS.allow() {
                    let p = self.shared.log_prefix();
                    let more = if suppressed > 0 {
                        format!(" ({suppressed} similar lines suppressed)")
                    } else {
                        String::new()
                    };
                    tracing::error!("{p} - authentication error{}{more}", r.presented);
                }
                let o = self.server.opts();
                let jwt = (self.server.operator().is_some())
                    .then(|| {
                        self.opts
                            .jwt
                            .as_deref()
                            .filter(|j| !j.is_empty())
                            .or(o.default_sentinel.as_deref())
                    })
                    .flatten();
                let (account, user) = crate::authlog::jwt_identity(jwt);
                let user = user.or_else(|| match &r.presented {
                    Presented::User(u) | Presented::Nkey(u) | Presented::JwtUser(u) => {
                        Some(u.clone())
                    }
                    Presented::Token | Presented::Nothing => None,
                });
                crate::authlog::rejected(
                    &self.shared,
                    &r.reason,
                    account.as_deref(),
                    user.as_deref(),
                );
                let res = self.fail(
                    wire::ERR_AUTHORIZATION_VIOLATION,
                    ClosedState::AuthenticationViolation,
                );
                self.server.event_auth_error(&self.shared, r.reason.code());
                res
            }
        }
    }
}

pub(crate) fn credentials(o: &ConnectOptions) -> Credentials<'_> {
    Credentials {
        user: o.user.as_deref(),
        pass: o.pass.as_deref(),
        token: o.auth_token.as_deref(),
        nkey: o.nkey.as_deref(),
        sig: o.sig.as_deref(),
        cert_names: None,
    }
}

pub(super) fn anonymous() -> rnats_auth::Identity {
    rnats_auth::Identity {
        name: None,
        account: None,
        permissions: None,
    }
}
