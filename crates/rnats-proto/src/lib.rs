//! Sans-IO NATS client protocol, byte-compatible with nats-server 2.15.
//!
//! Layout:
//! - [`parser`]: the byte state machine that turns client bytes into [`ClientOp`]s. It owns no
//!   socket and no clock: the caller feeds bytes and acts on ops, so every split point and every
//!   error path can be tested deterministically and fuzzed.
//! - [`subject`]: subject and wildcard rules, the one definition shared by routing, permissions
//!   and (later) imports/exports.
//! - [`wire`]: the exact `-ERR` texts and which of them close the connection.
//! - [`encode`]: writers for the server-to-client ops (`MSG`, `HMSG`, `INFO`, ...).
//! - [`connect`] / [`info`]: the CONNECT options and the INFO document.
//! - [`json`]: JSON from peers (CONNECT, INFO, JWTs) read as Go's `encoding/json` reads it.
#![forbid(unsafe_code)]

pub mod connect;
pub mod encode;
pub mod info;
pub mod json;
pub mod parser;
pub mod subject;
pub mod wire;

pub use connect::ConnectOptions;
pub use info::ServerInfo;
pub use parser::{ClientOp, ParseError, Parser};
