//! rnats-auth: the sans-IO security core.
//!
//! Every security decision (passwords, nkeys, JWT chains, the time policy, permissions) is a pure
//! function of its inputs and a [`Clock`], never of ambient time, so that expiry, leeway and
//! clock-skew behaviour can be tested to the second and explained offline. This crate has no
//! tokio and no sockets.
//!
//! - [`secret`]: bcrypt or constant-time comparison of passwords and tokens.
//! - [`nkey`]: the nonce challenge.
//! - [`static_auth`]: token, user/password, users and nkeys, `no_auth_user`, in the reference's
//!   decision order.
//! - [`jwt`]: NATS JWT decoding and signatures, claims, the time rule, creds files.
//! - [`operator`]: operator mode: trust, account verification, the connect-time user JWT check.
//! - [`permissions`]: publish/subscribe allow and deny rules.
//! - [`reason`]: why a client was rejected, with stable codes.
#![forbid(unsafe_code)]

pub mod clock;
pub mod jwt;
pub mod nkey;
pub mod operator;
pub mod permissions;
pub mod reason;
pub mod secret;
pub mod static_auth;

pub use clock::{Clock, ManualClock, SystemClock};
pub use permissions::Permissions;
pub use reason::AuthFailure;
pub use static_auth::{Credentials, Identity, Rejection, StaticAuth};
