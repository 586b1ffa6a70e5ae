//! Requests the server answers in the system account (nats-server `events.go`, `accounts.go`
//! `DirAccResolver`). So far: account JWT updates (`$SYS.REQ.ACCOUNT.<A>.CLAIMS.UPDATE`, the
//! older `$SYS.ACCOUNT.<A>.CLAIMS.UPDATE`, and with a directory resolver `$SYS.REQ.CLAIMS.UPDATE`,
//! stored unless older than the stored one) and directory lookups
//! (`$SYS.REQ.ACCOUNT.<A>.CLAIMS.LOOKUP`), listings (`$SYS.REQ.CLAIMS.LIST`) and operator-signed
//! deletes (`$SYS.REQ.CLAIMS.DELETE`, with `allow_delete`). Updates apply live — revoked users are disconnected,
//! a new account expiry is armed, exports/imports are rebuilt — and are answered with the
//! reference's `{"server":…,"data"|"error":…}` document.

use crate::client::ClosedState;
use crate::server::Server;
use rnats_auth::jwt::time::check;
use rnats_proto::wire;
use serde_json::json;

impl Server {
    /// A message published in the system account: handle it if it is a request we serve.
    pub fn system_request(&self, subject: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
        let Some(op) = self.operator() else {
            return;
        };
        let Ok(subject) = std::str::from_utf8(subject) else {
            return;
        };
        let reply = reply
            .and_then(|r| std::str::from_utf8(r).ok())
            .filter(|r| !r.is_empty());
        let dir = op.dir.is_some();
        let toks: Vec<&str> = subject.split('.').collect();
        match toks[..] {
            ["$SYS", "REQ", "ACCOUNT", acc, "CLAIMS", "UPDATE"]
            | ["$SYS", "ACCOUNT", acc, "CLAIMS", "UPDATE"] => {
                self.claims_update(Some(acc), reply, payload);
            }
            ["$SYS", "REQ", "CLAIMS", "UPDATE"] if dir => self.claims_update(None, reply, payload),
            ["$SYS", "REQ", "CLAIMS", "DELETE"] if dir => self.claims_delete(reply, payload),
            ["$SYS", "REQ", "CLAIMS", "LIST"] if dir => {
                if let Some(r) = reply {
                    self.respond_system_data_first(r, serde_json::json!(op.stored_keys()));
                }
            }
            ["$SYS", "REQ", "ACCOUNT", acc, "CLAIMS", "LOOKUP"] if dir => {
                // The stored JWT, or an empty message when there is none.
                let valid = acc.starts_with('A') && nkeys::KeyPair::from_public_key(acc).is_ok();
                if let Some(r) = reply.filter(|_| valid) {
                    let jwt = op.stored_jwt(acc).unwrap_or_default();
                    self.publish_system(r, |_| jwt);
                }
            }
            _ => {}
        }
    }

    /// `$SYS.REQ.CLAIMS.DELETE`: a self-signed operator claim listing accounts to delete
    /// (`accounts.go handleDeleteRequest`); their clients are disconnected as expired.
    fn claims_delete(&self, reply: Option<&str>, payload: &[u8]) {
        let Some(op) = self.operator() else {
            return;
        };
        let respond = |message: String, err: Option<String>| {
            match &err {
                None => tracing::debug!("{message}"),
                Some(e) => tracing::error!("{message} - {e}"),
            }
            if let Some(r) = reply {
                match err {
                    None => {
                        self.respond_system(r, "data", json!({"code": 200, "message": message}));
                    }
                    Some(e) => self.respond_system(
                        r,
                        "error",
                        json!({"code": 500, "description": format!("{message} - {e}")}),
                    ),
                }
            }
        };
        let text = String::from_utf8_lossy(payload);
        let decoded = rnats_auth::jwt::decode_generic(text.trim());
        let subject = decoded
            .as_ref()
            .ok()
            .and_then(|v| v.payload.get("sub").and_then(|s| s.as_str()))
            .unwrap_or_default()
            .to_string();
        let sys = self
            .system_account()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let checked = decoded.map_err(|e| e.to_string()).and_then(|v| {
            if op.delete.is_none() {
                return Err("delete must be enabled in server config".to_string());
            }
            if subject != v.issuer {
                return Err("not self signed".to_string());
            }
            if !op.trust.is_trusted(&v.issuer) {
                return Err("not trusted".to_string());
            }
            let list = v
                .payload
                .get("nats")
                .and_then(|n| n.get("accounts"))
                .and_then(|a| a.as_array())
                .ok_or_else(|| "malformed request".to_string())?;
            let mut keys = Vec::new();
            for e in list {
                let k = e.as_str().unwrap_or_default();
                if !k.starts_with('A') || nkeys::KeyPair::from_public_key(k).is_err() {
                    return Err("malformed request".to_string());
                }
                if k == sys {
                    return Err("not allowed to delete system account".to_string());
                }
                keys.push(k.to_string());
            }
            Ok(keys)
        });
        let keys = match checked {
            Ok(k) => k,
            Err(e) => {
                return respond(
                    format!("delete accounts request by {subject} failed"),
                    Some(e),
                );
            }
        };
        let mut errs = Vec::new();
        for k in &keys {
            match op.delete_account(k) {
                Ok(()) => {
                    for c in self.clients() {
                        if c.account().name == *k {
                            c.enqueue_err(wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED);
                            c.close(ClosedState::AuthenticationExpired);
                        }
                    }
                }
                Err(e) => errs.push(e.to_string()),
            }
        }
        let passed = keys.len() - errs.len();
        if errs.is_empty() {
            respond(format!("deleted {passed} accounts"), None);
        } else {
            respond(
                format!("deleted {passed} accounts, failed for {}", errs.len()),
                Some(errs.join("\n")),
            );
        }
    }

    /// An account JWT update (for `account`, or for the JWT's own subject).
    fn claims_update(&self, account: Option<&str>, reply: Option<&str>, payload: &[u8]) {
        let Some(op) = self.operator() else {
            return;
        };
        let respond = |account: &str, message: &str, err: Option<String>| {
            match &err {
                None => tracing::debug!("{message} - {account}"),
                Some(e) => tracing::error!("{message} - {account} - {e}"),
            }
            if let Some(r) = reply {
                match err {
                    None => self.respond_system(
                        r,
                        "data",
                        json!({"account": account, "code": 200, "message": message}),
                    ),
                    Some(e) => self.respond_system(
                        r,
                        "error",
                        json!({"account": account, "code": 500, "description": format!("{message} - {e}")}),
                    ),
                }
            }
        };
        let key = account.unwrap_or("n/a");
        if payload.is_empty() && account.is_some() && op.dir.is_none() {
            return respond(
                key,
                "jwt update error",
                Some("request body is empty".into()),
            );
        }
        let jwt = String::from_utf8_lossy(payload);
        let jwt = jwt.trim();
        let claims = match rnats_auth::jwt::decode_account(jwt) {
            Ok(c) => c,
            Err(e) => return respond(key, "jwt update resulted in error", Some(e.to_string())),
        };
        let key = account.unwrap_or(&claims.data.sub);
        if claims.data.sub != key {
            return respond(
                key,
                "jwt update resulted in error",
                Some("subject does not match jwt content".into()),
            );
        }
        if op.dir.is_none() && !self.has_account(key) {
            return respond(key, "jwt update skipped", None);
        }
        let claims = match op.trust.verify_account(jwt) {
            Ok(c) => c,
            Err(_) if op.dir.is_some() => {
                return respond(
                    key,
                    "jwt validation failed",
                    Some("account validation failed".into()),
                );
            }
            Err(_) => {
                return respond(
                    key,
                    "jwt update resulted in error",
                    Some("account validation failed".into()),
                );
            }
        };
        match op.update(&claims, jwt) {
            Ok(true) => {}
            // An older JWT never replaces a newer one.
            Ok(false) => return respond(key, "jwt updated", None),
            Err(e) => return respond(key, "jwt update resulted in error", Some(e.to_string())),
        }
        // Apply the current claims, not necessarily ours: a concurrent newer update may have
        // replaced them since, and its clients must not get ours after its own.
        if self.has_account(key)
            && let Ok(current) = rnats_auth::operator::AccountSource::account(op, key)
        {
            self.apply_account_update(key, &current);
        }
        self.install_links();
        respond(key, "jwt updated", None);
    }

    /// Apply new account claims to the account's connected clients (`accounts.go
    /// updateAccountClaimsWithRefresh`): revoked users get `User Authentication Revoked`, bearer
    /// users of an account that now disallows them `Authorization Violation`, users whose signing
    /// key was removed are closed silently, users on the account's default permissions get the new
    /// ones, the newest connections beyond a lowered connection limit are closed, and a new
    /// account expiry is armed.
    fn apply_account_update(&self, account: &str, claims: &rnats_auth::jwt::AccountClaims) {
        let now = self.clock.now();
        let expiry = check(&claims.data, now, &self.opts().clock_skew);
        let strict = self
            .operator()
            .is_some_and(|op| op.trust.strict.contains(&claims.data.iss));
        let defaults = claims
            .nats
            .default_permissions
            .to_permissions()
            .map(std::sync::Arc::new);
        // A lowered connection limit closes the newest connections beyond it.
        let limit = rnats_auth::jwt::claims::limit(claims.nats.limits.conn, claims.version);
        let mut mine: Vec<_> = self
            .clients()
            .into_iter()
            .filter(|c| c.account().name == account && c.jwt.lock().is_ok_and(|j| j.is_some()))
            .collect();
        mine.sort_by_key(|c| c.cid);
        if limit >= 0 && mine.len() as i64 > limit {
            for c in mine.split_off(limit as usize) {
                crate::authlog::disconnected(
                    &c,
                    "max_account_connections",
                    &format!("the account update lowered limits.conn to {limit}"),
                );
                c.enqueue_err(wire::ERR_MAX_ACCOUNT_CONNECTIONS);
                c.close(ClosedState::MaxAccountConnectionsExceeded);
            }
        }
        for c in mine {
            let Some(j) = c.jwt.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
                continue;
            };
            if claims.is_revoked(&j.user, j.iat) {
                tracing::debug!(
                    "{} - {}",
                    c.log_prefix(),
                    wire::ERR_USER_AUTHENTICATION_REVOKED
                );
                crate::authlog::disconnected(
                    &c,
                    "revoked",
                    &format!(
                        "the account revoked tokens of this user issued at or before iat {}",
                        j.iat
                    ),
                );
                c.enqueue_err(wire::ERR_USER_AUTHENTICATION_REVOKED);
                c.close(ClosedState::Revocation);
                continue;
            }
            if j.bearer && claims.nats.limits.disallow_bearer {
                crate::authlog::disconnected(
                    &c,
                    "bearer_not_allowed",
                    "the account update disallows bearer tokens",
                );
                c.enqueue_err(wire::ERR_AUTHORIZATION_VIOLATION);
                c.close(ClosedState::AuthenticationViolation);
                continue;
            }
            let own_key = j.issuer == claims.data.sub && !strict;
            if !own_key && claims.signing_key(&j.issuer).is_none() {
                crate::authlog::disconnected(
                    &c,
                    "issuer_not_signing_key",
                    &format!(
                        "the account update removed signing key {} of this user",
                        j.issuer
                    ),
                );
                c.close(ClosedState::AuthenticationViolation);
                continue;
            }
            // A scoped key whose scope changed: the user's permissions came from the old
            // template, so the connection goes (the reference's `alteredScope`).
            if let Some(old) = &j.scope
                && claims.signing_key(&j.issuer) != Some(old)
            {
                crate::authlog::disconnected(
                    &c,
                    "scope_changed",
                    &format!(
                        "the account update changed the scope of signing key {}",
                        j.issuer
                    ),
                );
                c.close(ClosedState::AuthenticationViolation);
                continue;
            }
            if j.uses_account_defaults {
                self.apply_permissions(&c, defaults.clone());
            }
            match expiry {
                Err(e @ rnats_auth::jwt::time::TimeError::Expired { .. }) => {
                    crate::authlog::disconnected(
                        &c,
                        "account_expired",
                        &format!("account JWT {e}"),
                    );
                    c.enqueue_err(wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED);
                    c.close(ClosedState::AuthenticationExpired);
                }
                // Not yet valid or issued in the future: the policy decides whether new tokens
                // are accepted; connections admitted under the previous JWT stay (and keep its
                // expiry timer).
                Err(e) => tracing::warn!(
                    "{} - account update for {account} not applied to the expiry: account JWT {e}",
                    c.log_prefix()
                ),
                Ok(v) => match v.deadline {
                    Some(d) => c.close_at(
                        now,
                        d,
                        wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED,
                        "account_expired",
                    ),
                    None => c.cancel_account_expiry(),
                },
            }
            c.writer_wake.notify_one();
        }
    }
}
