//! Why an authentication failed: the precise, loggable reason behind the one text clients see
//! (`-ERR 'Authorization Violation'`). Each reason has a stable snake_case code for logs and
//! metrics. Reasons never carry a secret.

use crate::jwt::time::{TimeError, TimeFailure};

/// A rejection reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The client sent no usable credentials.
    #[error("no credentials presented")]
    NoCredentials,
    /// `user` is not a configured user.
    #[error("unknown user")]
    UnknownUser,
    /// The password did not match.
    #[error("bad password")]
    BadPassword,
    /// The token did not match.
    #[error("token mismatch")]
    TokenMismatch,
    /// `nkey` is not a configured nkey user.
    #[error("unknown nkey")]
    NkeyUnknown,
    /// An nkey user sent no signature.
    #[error("nkey signature missing")]
    NkeySignatureMissing,
    /// The signature did not verify (or did not decode).
    #[error("nkey signature invalid: {0}")]
    NkeySignatureInvalid(crate::nkey::SigError),
    /// The legacy CONNECT `account`/`new_account` fields are always refused.
    #[error("account selection in CONNECT is not allowed")]
    AccountFieldNotAllowed,
    /// The client did not authenticate within the auth timeout.
    #[error("authentication timeout")]
    AuthTimeout,
    /// A non-CONNECT first op while authentication is required.
    #[error("first op was not CONNECT")]
    ConnectRequired,
    /// The user's allowed connection types exclude this connection.
    #[error("connection type not allowed")]
    ConnectionTypeNotAllowed,
    /// Operator mode and no (decodable) user JWT in CONNECT.
    #[error("a user JWT is required: {0}")]
    JwtRequired(String),
    /// The user JWT's claims are not valid (src, times, issuer_account…).
    #[error("user JWT not valid: {0}")]
    JwtInvalid(String),
    /// The user JWT's times rule it out now (expired, not yet valid, issued in the future).
    #[error("user JWT {0}")]
    UserTime(Box<TimeFailure>),
    /// The user's account is not known to the resolver.
    #[error("account {0} not found")]
    AccountUnknown(String),
    /// The account JWT failed verification (untrusted issuer, signature, claims).
    #[error("account JWT not valid: {0}")]
    AccountInvalid(String),
    /// The account JWT's times rule it out now.
    #[error("account JWT {0}")]
    AccountTime(Box<TimeFailure>),
    /// The user JWT was signed by a key the account does not list.
    #[error("user JWT issuer {0} is not a signing key of its account")]
    IssuerNotSigningKey(String),
    /// A user of a scoped signing key carries its own permissions or limits.
    #[error("scoped users require no permissions or limits set")]
    ScopedUserHasLimits,
    /// A scoped signing key's template did not expand.
    #[error("scoped signing key template: {0}")]
    TemplateInvalid(String),
    /// A bearer token where the account disallows them.
    #[error("account does not allow bearer tokens")]
    BearerNotAllowed,
    /// The user JWT was revoked by its account.
    #[error("user JWT revoked")]
    Revoked,
    /// The client's address is outside the JWT's `src` networks.
    #[error("source address not allowed")]
    SourceNotAllowed,
    /// Outside the JWT's connect-time windows.
    #[error("outside connect times")]
    OutsideTimes,
    /// `resolver_pinned_accounts` does not list the account.
    #[error("account {0} not listed as operator pinned account")]
    AccountNotPinned(String),
    /// The account's `limits.conn` is reached (the client gets the reference's
    /// `maximum account active connections exceeded`).
    #[error("account connection limit reached")]
    MaxAccountConnections,
    /// The JWT requires a trusted proxy.
    #[error("proxy connection required")]
    ProxyRequired,
    /// A client spoke plaintext (or nothing) where TLS is required.
    #[error("TLS required: the client did not start a TLS handshake")]
    TlsRequired,
    /// The TLS handshake failed (the rustls error, or a timeout).
    #[error("TLS handshake failed: {0}")]
    TlsHandshakeFailed(String),
    /// `verify`: the client presented no certificate.
    #[error("TLS handshake failed: the client did not provide a certificate")]
    ClientCertMissing,
    /// `pinned_certs`: the client's key is not pinned.
    #[error("TLS handshake failed: certificate not pinned (key {0})")]
    ClientCertNotPinned(String),
    /// `verify_and_map`: no configured user matches the certificate.
    #[error("no user matches the client certificate (tried {0})")]
    ClientCertUnmapped(String),
}

impl AuthFailure {
    /// The time failure behind a time reason.
    pub fn time(&self) -> Option<&TimeFailure> {
        match self {
            AuthFailure::UserTime(t) | AuthFailure::AccountTime(t) => Some(t),
            _ => None,
        }
    }

    /// A hint for the operator, where the cause is certain enough to name one.
    pub fn hint(&self) -> Option<String> {
        match self {
            AuthFailure::UserTime(t) | AuthFailure::AccountTime(t) => t.hint(),
            AuthFailure::IssuerNotSigningKey(_) => Some(
                "the user was signed by a key its account JWT does not list: push the \
                 account JWT that has this signing key, or reissue the user"
                    .into(),
            ),
            AuthFailure::AccountUnknown(_) => Some(
                "the resolver has no JWT for this account: push it (nsc push) or preload it".into(),
            ),
            AuthFailure::Revoked => Some(
                "the account revoked this user key for tokens issued at or before the \
                 revocation time: issue a new user JWT"
                    .into(),
            ),
            AuthFailure::AuthTimeout => Some(
                "no valid CONNECT within authorization.timeout: a client stuck before CONNECT \
                 (a slow URL resolver fetch or TLS handshake counts too), or not a NATS client"
                    .into(),
            ),
            AuthFailure::AccountNotPinned(_) => {
                Some("add the account to resolver_pinned_accounts".into())
            }
            AuthFailure::TlsRequired => Some(
                "the server requires TLS: use a tls:// URL or enable TLS in the client".into(),
            ),
            AuthFailure::ClientCertMissing => Some(
                "tls.verify requires a client certificate signed by the ca_file's CA".into(),
            ),
            AuthFailure::ClientCertUnmapped(_) => Some(
                "verify_and_map takes the user from the certificate's email, DNS or URI SAN                  or its subject: add a user with one of the names tried"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => "no_credentials",
            AuthFailure::UnknownUser => "unknown_user",
            AuthFailure::BadPassword => "bad_password",
            AuthFailure::TokenMismatch => "token_mismatch",
            AuthFailure::NkeyUnknown => "nkey_unknown",
            AuthFailure::NkeySignatureMissing => "nkey_signature_missing",
            AuthFailure::NkeySignatureInvalid(_) => "nkey_signature_invalid",
            AuthFailure::AccountFieldNotAllowed => "account_field_not_allowed",
            AuthFailure::AuthTimeout => "auth_timeout",
            AuthFailure::ConnectRequired => "connect_required",
            AuthFailure::ConnectionTypeNotAllowed => "connection_type_not_allowed",
            AuthFailure::JwtRequired(_) => "jwt_required",
            AuthFailure::JwtInvalid(_) => "jwt_invalid",
            AuthFailure::UserTime(t) => t.err.code(),
            AuthFailure::AccountUnknown(_) => "account_unknown",
            AuthFailure::AccountInvalid(_) => "account_jwt_invalid",
            AuthFailure::AccountTime(t) => match t.err {
                TimeError::Expired { .. } => "account_expired",
                TimeError::NotYetValid { .. } => "account_not_yet_valid",
                TimeError::IssuedInFuture { .. } => "account_issued_in_future",
            },
            AuthFailure::IssuerNotSigningKey(_) => "issuer_not_signing_key",
            AuthFailure::ScopedUserHasLimits => "scoped_user_has_limits",
            AuthFailure::TemplateInvalid(_) => "template_invalid",
            AuthFailure::BearerNotAllowed => "bearer_not_allowed",
            AuthFailure::Revoked => "revoked",
            AuthFailure::SourceNotAllowed => "source_not_allowed",
            AuthFailure::OutsideTimes => "outside_connect_times",
            AuthFailure::ProxyRequired => "proxy_required",
            AuthFailure::AccountNotPinned(_) => "account_not_pinned",
            AuthFailure::MaxAccountConnections => "max_account_connections",
            AuthFailure::TlsRequired => "tls_required",
            AuthFailure::TlsHandshakeFailed(_) => "tls_handshake_failed",
            AuthFailure::ClientCertMissing => "client_cert_missing",
            AuthFailure::ClientCertNotPinned(_) => "client_cert_not_pinned",
            AuthFailure::ClientCertUnmapped(_) => "client_cert_unmapped",
        }
    }
}
