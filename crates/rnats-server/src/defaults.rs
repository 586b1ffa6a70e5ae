//! Every default in one place, matching nats-server's `const.go` / `setBaselineOptions`.

use std::time::Duration;

/// The nats-server version whose behaviour rnats implements (clients gate features on it).
pub const NATS_VERSION: &str = "2.15.0";
/// rnats' own version.
pub const RNATS_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Protocol level advertised in INFO.
pub const PROTO: i64 = 1;
/// JetStream API level advertised in INFO (the reference always sends it).
pub const API_LEVEL: i64 = 5;
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const DEFAULT_PORT: u16 = 4222;
pub const DEFAULT_HTTP_PORT: u16 = 8222;
pub const MAX_PAYLOAD: i64 = 1024 * 1024;
pub const MAX_PENDING: i64 = 64 * 1024 * 1024;
pub const MAX_CONTROL_LINE: i64 = 4096;
pub const MAX_CONNECTIONS: i64 = 64 * 1024;
pub const PING_INTERVAL: Duration = Duration::from_secs(120);
/// The first server PING after connect comes sooner (`firstClientPingInterval`).
pub const FIRST_PING_INTERVAL: Duration = Duration::from_secs(2);
pub const PING_MAX: i64 = 2;
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(2);
pub const TLS_TIMEOUT: Duration = Duration::from_secs(2);
pub const LAME_DUCK_DURATION: Duration = Duration::from_secs(120);
pub const LAME_DUCK_GRACE_PERIOD: Duration = Duration::from_secs(10);
pub const MAX_CLOSED_CLIENTS: usize = 10_000;
/// Warn when `max_payload` is set above this.
pub const MAX_PAYLOAD_WARN: i64 = 8 * 1024 * 1024;
/// The default global account.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// The default system account.
pub const SYSTEM_ACCOUNT: &str = "$SYS";

/// The longest interval between `$SYS.SERVER.<id>.STATSZ` broadcasts (`statsHBInterval`).
pub const STATSZ_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
