//! rnats-auth: the sans-IO security core.
//!
//! Every security decision (passwords, nkeys, JWT chains, the time policy, permissions) will be a
//! pure function of its inputs and a [`Clock`], never of ambient time, so that expiry, leeway and
//! clock-skew behaviour can be tested to the second and explained offline. This crate has no
//! tokio and no sockets. It starts with the clock; the authentication issues fill the rest.
#![forbid(unsafe_code)]

pub mod clock;

pub use clock::{Clock, ManualClock, SystemClock};
