//! rnats-server: a NATS server in Rust, a drop-in replacement for nats-server 2.15.
//!
//! Layout:
//! - [`server`]: listeners, accept loop, live connections, shutdown, lame duck mode.
//! - [`client`]: one connection = a reader task (parse + route inline) and a writer task
//!   (drain the outbound buffer, PINGs); see its docs for the flush-batching model.
//! - [`sublist`]: the subject trie with `*`/`>` and a generation-stamped result cache.
//! - [`account`]: subject namespaces (each with its own sublist); [`imports`]: the exports and
//!   imports that link them; [`route`]: delivery shared by readers and internal publishers.
//! - [`opts`], [`defaults`], [`config`], [`cli`]: options from the `.conf` file and the command
//!   line with nats-server's names and precedence.
//! - [`monitor`]: the HTTP monitoring endpoints.
//! - [`tls`]: TLS for client connections (rustls), certificate identities.
//! - [`logging`], [`signals`]: nats-server's log format and signal handling.
//!
//! Wire protocol parsing lives in the sans-IO `rnats-proto` crate.

pub mod account;
pub mod authlog;
pub mod cli;
pub mod client;
pub mod config;
pub mod defaults;
pub mod events;
pub mod imports;
pub mod logging;
pub mod memtrim;
pub mod metrics;
pub mod monitor;
pub mod operator;
pub mod opts;
pub mod ratelog;
pub mod route;
pub mod server;
pub mod signals;
pub mod sublist;
pub mod sysmon;
pub mod sysreq;
pub mod tls;
pub mod urlresolver;

pub use opts::Options;
pub use server::Server;
