//! Why an authentication failed: the precise, loggable reason behind the one text clients see
//! (`-ERR 'Authorization Violation'`). Each reason has a stable snake_case code for logs and
//! metrics. Reasons never carry a secret.

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
}

impl AuthFailure {
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
        }
    }
}
