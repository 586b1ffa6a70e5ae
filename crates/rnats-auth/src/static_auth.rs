//! Authentication without JWTs: a single token, a single user/password, or a list of users with
//! passwords and/or nkeys, plus `no_auth_user` (nats-server `auth.go
//! processClientOrLeafAuthentication`, the non-operator branches, in the same order).
//!
//! [`StaticAuth::authenticate`] is a pure function of the configuration, what the client sent and
//! the nonce the server issued. It is slow only when a bcrypt hash is involved
//! ([`StaticAuth::may_be_slow`]); async callers run it off the reactor then.

use crate::nkey::{SigError, verify_nonce};
use crate::permissions::Permissions;
use crate::reason::AuthFailure;
use crate::secret::{is_bcrypt, verify};
use std::collections::BTreeMap;

/// A configured password user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub username: String,
    pub password: String,
    pub permissions: Option<Permissions>,
    pub account: Option<String>,
}

/// A configured nkey user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NkeyUser {
    pub nkey: String,
    pub permissions: Option<Permissions>,
    pub account: Option<String>,
}

/// The static authentication configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticAuth {
    /// `authorization { token }` / `--auth`.
    pub token: Option<String>,
    /// `authorization { user, password }` / `--user --pass`.
    pub user: Option<(String, String)>,
    /// `users [...]` with a password (or none).
    pub users: BTreeMap<String, User>,
    /// `users [...]` with an nkey.
    pub nkeys: BTreeMap<String, NkeyUser>,
    /// Clients without credentials authenticate as this user or nkey.
    pub no_auth_user: Option<String>,
}

/// What the client presented in CONNECT.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub user: Option<&'a str>,
    pub pass: Option<&'a str>,
    pub token: Option<&'a str>,
    pub nkey: Option<&'a str>,
    pub sig: Option<&'a str>,
    /// `verify_and_map`: the user names the client certificate stands for, in order of
    /// preference (empty when the connection has no certificate). `None`: no mapping.
    pub cert_names: Option<&'a [String]>,
}

/// Who the client is, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name or nkey (empty for token, anonymous and single-user identities without a
    /// list entry).
    pub name: Option<String>,
    pub account: Option<String>,
    pub permissions: Option<Permissions>,
}

/// What the reference's log line names when a client is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    User(String),
    Nkey(String),
    Token,
    /// A user JWT's public key (once the JWT decoded).
    JwtUser(String),
    Nothing,
}

impl std::fmt::Display for Presented {
    /// The suffix of `authentication error` (` - User "x"`, ` - Nkey "U…"`, ` - Token
    /// "[REDACTED]"`, or nothing). Never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::User(u) => write!(f, " - User {u:?}"),
            Presented::Nkey(k) => write!(f, " - Nkey {k:?}"),
            Presented::Token => f.write_str(" - Token \"[REDACTED]\""),
            Presented::JwtUser(k) => write!(f, " - JWT User {k:?}"),
            Presented::Nothing => Ok(()),
        }
    }
}

/// A rejection: the reason and what the client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: AuthFailure,
    pub presented: Presented,
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

impl StaticAuth {
    /// Whether clients must authenticate (INFO `auth_required`, before the `no_auth_user` rule).
    pub fn auth_required(&self) -> bool {
        self.token.is_some()
            || self.user.is_some()
            || !self.users.is_empty()
            || !self.nkeys.is_empty()
    }

    /// Whether INFO must carry a nonce.
    pub fn nonce_required(&self) -> bool {
        !self.nkeys.is_empty()
    }

    /// Whether checking these credentials may run bcrypt.
    pub fn may_be_slow(&self, c: &Credentials<'_>) -> bool {
        if let Some(t) = &self.token {
            return is_bcrypt(t);
        }
        if let Some((_, p)) = &self.user {
            return is_bcrypt(p);
        }
        // The same user choice as `authenticate`: a certificate name maps first; the
        // `no_auth_user` path compares no password.
        let name = match c.cert_names {
            Some(names) => names
                .iter()
                .map(String::as_str)
                .find(|n| self.users.contains_key(*n)),
            None => nonempty(c.user),
        };
        name.and_then(|n| self.users.get(n))
            .is_some_and(|u| is_bcrypt(&u.password))
    }

    /// Decide. `nonce` is the one sent in this connection's INFO.
    pub fn authenticate(
        &self,
        c: &Credentials<'_>,
        nonce: Option<&str>,
    ) -> Result<Identity, Rejection> {
        let (user_in, pass_in, token_in, nkey_in) = (
            nonempty(c.user),
            nonempty(c.pass),
            nonempty(c.token),
            nonempty(c.nkey),
        );
        let anonymous = user_in.is_none() && pass_in.is_none() && token_in.is_none();
        let reject = |reason, presented| Err(Rejection { reason, presented });
        // Nkey users first: an unknown nkey never falls back to other methods.
        let mut nkey_user = None;
        let mut nkey_name = nkey_in;
        if !self.nkeys.is_empty() {
            if anonymous
                && nkey_in.is_none()
                && let Some(n) = self.no_auth_user.as_deref()
                && self.nkeys.contains_key(n)
            {
                nkey_name = Some(n);
            }
            if let Some(k) = nkey_name {
                match self.nkeys.get(k) {
                    Some(u) => nkey_user = Some(u),
                    None => return reject(AuthFailure::NkeyUnknown, Presented::Nkey(k.into())),
                }
            }
        }
        if let Some(u) = nkey_user {
            if self.no_auth_user.as_deref() != Some(u.nkey.as_str()) {
                let nonce = nonce.unwrap_or("");
                if let Err(e) = verify_nonce(&u.nkey, nonce, c.sig) {
                    let reason = match e {
                        SigError::Missing => AuthFailure::NkeySignatureMissing,
                        e => AuthFailure::NkeySignatureInvalid(e),
                    };
                    return reject(reason, Presented::Nkey(u.nkey.clone()));
                }
            }
            return Ok(Identity {
                name: Some(u.nkey.clone()),
                account: u.account.clone(),
                permissions: u.permissions.clone(),
            });
        }
        if !self.users.is_empty() {
            let mut name = user_in;
            let mut pass = pass_in.unwrap_or("");
            let mut via_no_auth = false;
            if let Some(names) = c.cert_names {
                // The certificate names the user; a `user` in CONNECT is ignored, the password
                // is still compared (a passwordless user needs none), as the reference does.
                let Some(n) = names.iter().find(|n| self.users.contains_key(n.as_str())) else {
                    return reject(
                        AuthFailure::ClientCertUnmapped(format!("{names:?}")),
                        Presented::Nothing,
                    );
                };
                name = Some(n.as_str());
            } else if anonymous
                && let Some(n) = self.no_auth_user.as_deref()
                && let Some(u) = self.users.get(n)
            {
                name = Some(n);
                pass = &u.password;
                via_no_auth = true;
            }
            if let Some(n) = name {
                let Some(u) = self.users.get(n) else {
                    return reject(AuthFailure::UnknownUser, Presented::User(n.into()));
                };
                let ok = via_no_auth || verify(&u.password, pass);
                if !ok {
                    return reject(AuthFailure::BadPassword, Presented::User(n.into()));
                }
                return Ok(Identity {
                    name: Some(u.username.clone()),
                    account: u.account.clone(),
                    permissions: u.permissions.clone(),
                });
            }
        }
        if let Some(t) = &self.token {
            return if verify(t, token_in.unwrap_or("")) {
                Ok(Identity {
                    name: None,
                    account: None,
                    permissions: None,
                })
            } else if token_in.is_none() && anonymous {
                reject(AuthFailure::NoCredentials, Presented::Nothing)
            } else {
                reject(AuthFailure::TokenMismatch, Presented::Token)
            };
        }
        if let Some((u, p)) = &self.user {
            let Some(name) = user_in else {
                return reject(AuthFailure::NoCredentials, Presented::Nothing);
            };
            if name != u {
                return reject(AuthFailure::UnknownUser, Presented::User(name.into()));
            }
            return if verify(p, pass_in.unwrap_or("")) {
                Ok(Identity {
                    name: Some(u.clone()),
                    account: None,
                    permissions: None,
                })
            } else {
                reject(AuthFailure::BadPassword, Presented::User(name.into()))
            };
        }
        let presented = match (user_in, token_in) {
            (Some(u), _) => Presented::User(u.into()),
            (None, Some(_)) => Presented::Token,
            _ => Presented::Nothing,
        };
        let reason = if anonymous {
            AuthFailure::NoCredentials
        } else {
            AuthFailure::UnknownUser
        };
        reject(reason, presented)
    }
}

#[cfg(test)]
mod tests;
