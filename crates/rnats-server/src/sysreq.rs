//! Requests the server answers in the system account (nats-server `events.go`). So far: account
//! JWT updates (`$SYS.REQ.ACCOUNT.<A>.CLAIMS.UPDATE`, and the older
//! `$SYS.ACCOUNT.<A>.CLAIMS.UPDATE`), which apply live — revoked users are disconnected and a new account
//! expiry is armed — and are answered
//! with the reference's `{"server":…,"data"|"error":…}` document.

use crate::client::ClosedState;
use crate::server::Server;
use rnats_auth::jwt::time::check;
use rnats_proto::wire;
use serde_json::json;

impl Server {
    /// A message published in the system account: handle it if it is a request we serve.
    pub fn system_request(&self, subject: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
        let Ok(subject) = std::str::from_utf8(subject) else {
            return;
        };
        let toks: Vec<&str> = subject.split('.').collect();
        let account = match toks[..] {
            ["$SYS", "REQ", "ACCOUNT", acc, "CLAIMS", "UPDATE"] => acc,
            ["$SYS", "ACCOUNT", acc, "CLAIMS", "UPDATE"] => acc,
            _ => return,
        };
        let reply = reply.and_then(|r| std::str::from_utf8(r).ok());
        let respond = |message: &str, err: Option<String>| {
            match &err {
                None => tracing::debug!("{message} - {account}"),
                Some(e) => tracing::error!("{message} - {account} - {e}"),
            }
            if let Some(r) = reply.filter(|r| !r.is_empty()) {
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
        let Some(op) = self.operator() else {
            return;
        };
        if payload.is_empty() {
            return respond(
                "jwt update error",
                Some("request body is empty".to_string()),
            );
        }
        let jwt = String::from_utf8_lossy(payload);
        let claims = match rnats_auth::jwt::decode_account(jwt.trim()) {
            Ok(c) => c,
            Err(e) => return respond("jwt update resulted in error", Some(e.to_string())),
        };
        if claims.data.sub != account {
            return respond(
                "jwt update resulted in error",
                Some("subject does not match jwt content".to_string()),
            );
        }
        if !self.has_account(account) {
            return respond("jwt update skipped", None);
        }
        let claims = match op.trust.verify_account(jwt.trim()) {
            Ok(c) => c,
            Err(_) => {
                return respond(
                    "jwt update resulted in error",
                    Some("account validation failed".to_string()),
                );
            }
        };
        op.set_account(claims.clone());
        self.apply_account_update(account, &claims);
        self.install_links();
        respond("jwt updated", None);
    }

    /// Apply new account claims to the account's connected clients.
    fn apply_account_update(&self, account: &str, claims: &rnats_auth::jwt::AccountClaims) {
        let now = std::time::SystemTime::now();
        let expiry = check(&claims.data, now, &Default::default());
        for c in self.clients() {
            if c.account().name != account {
                continue;
            }
            let Some((user, iat)) = c.jwt.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
                continue;
            };
            if claims.is_revoked(&user, iat) {
                tracing::debug!(
                    "{} - {}",
                    c.log_prefix(),
                    wire::ERR_USER_AUTHENTICATION_REVOKED
                );
                c.enqueue_err(wire::ERR_USER_AUTHENTICATION_REVOKED);
                c.close(ClosedState::Revocation);
                continue;
            }
            match expiry {
                Err(_) => {
                    c.enqueue_err(wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED);
                    c.close(ClosedState::AuthenticationExpired);
                }
                Ok(Some(d)) => c.close_at(d, wire::ERR_ACCOUNT_AUTHENTICATION_EXPIRED),
                Ok(None) => {}
            }
        }
    }
}
