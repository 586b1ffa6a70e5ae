//! Reload (SIGHUP, `--signal reload`): re-read the file, re-apply the command-line values over it
//! (flags keep winning), validate, and swap the options in one step. As in the reference, a file
//! that does not load or validate, or that changes an option that cannot change at runtime, is
//! refused as a whole: the old configuration stays and the log says why.
//!
//! What a reload changes: logging (debug, trace, logtime), limits and timers used by connections
//! accepted afterwards (max_connections, max_payload, max_control_line, max_subscriptions,
//! ping_interval, ping_max, write_deadline, max_pending), lame duck timings, tags, and the pid and
//! ports files, and `authorization` (users, passwords, tokens, nkeys, permissions, timeout):
//! live clients are re-checked with what they sent in CONNECT, as the reference does.

use super::{digest, load_file};
use crate::opts::Options;
use crate::server::Server;
use std::fmt::Debug;

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    #[error("no configuration file")]
    NoConfigFile,
    #[error("{0}")]
    Config(#[from] super::ConfigError),
    #[error("{0}")]
    Invalid(#[from] crate::opts::OptionsError),
    #[error("config reload not supported for {field}: old={old}, new={new}")]
    NotReloadable {
        field: &'static str,
        old: String,
        new: String,
    },
}

fn fixed<T: PartialEq + Debug>(field: &'static str, old: &T, new: &T) -> Result<(), ReloadError> {
    if old == new {
        Ok(())
    } else {
        Err(ReloadError::NotReloadable {
            field,
            old: format!("{old:?}"),
            new: format!("{new:?}"),
        })
    }
}

/// The changes between two option sets, as `key = value` lines; refuses fixed options.
pub fn diff(old: &Options, new: &Options) -> Result<Vec<String>, ReloadError> {
    fixed("Host", &old.host, &new.host)?;
    // Unset (0) and random (-1) ports in the new file keep whatever port is bound.
    if new.port != 0 && new.port != -1 {
        fixed("Port", &old.port, &new.port)?;
    }
    fixed("ServerName", &old.server_name, &new.server_name)?;
    fixed("HTTPHost", &old.http_host, &new.http_host)?;
    fixed("HTTPPort", &old.http_port, &new.http_port)?;
    fixed("HTTPSPort", &old.https_port, &new.https_port)?;
    fixed(
        "NoHeaderSupport",
        &old.no_header_support,
        &new.no_header_support,
    )?;
    fixed(
        "NoSublistCache",
        &old.disable_sublist_cache,
        &new.disable_sublist_cache,
    )?;
    fixed("JetStream", &old.jetstream, &new.jetstream)?;
    fixed("SystemAccount", &old.system_account, &new.system_account)?;
    fixed(
        "NoSystemAccount",
        &old.no_system_account,
        &new.no_system_account,
    )?;
    fixed("AllowNonTLS", &old.allow_non_tls, &new.allow_non_tls)?;
    fixed("TLSMap", &old.tls_map, &new.tls_map)?;
    let mut changes = Vec::new();
    // New TLS material reaches new connections; connected clients keep their sessions. As in
    // the reference, a configured TLS block is reported as reloaded every time.
    if new.tls_options.is_some() {
        changes.push("tls = enabled".to_string());
    } else if old.tls_options.is_some() {
        changes.push("tls = disabled".to_string());
    }
    macro_rules! reloadable {
        ($($field:ident => $name:literal),* $(,)?) => {$(
            if old.$field != new.$field {
                changes.push(format!("{} = {:?}", $name, new.$field));
            }
        )*};
    }
    reloadable!(
        debug => "debug",
        trace => "trace",
        logtime => "logtime",
        logtime_utc => "logtime_utc",
        log_file => "log_file",
        pid_file => "pid_file",
        ports_file_dir => "ports_file_dir",
        max_connections => "max_connections",
        max_payload => "max_payload",
        max_control_line => "max_control_line",
        max_subscriptions => "max_subscriptions",
        max_pending => "max_pending",
        ping_interval => "ping_interval",
        ping_max => "ping_max",
        write_deadline => "write_deadline",
        lame_duck_duration => "lame_duck_duration",
        lame_duck_grace_period => "lame_duck_grace_period",
        server_tags => "server_tags",
        max_closed_clients => "max_closed_clients",
        clock_skew => "clock_skew",
    );
    Ok(changes)
}

/// Reload the configuration file of `server`. On success returns the changed keys.
pub fn try_reload(server: &Server) -> Result<Vec<String>, ReloadError> {
    let old = server.opts();
    let path = old.config_file.clone().ok_or(ReloadError::NoConfigFile)?;
    let mut new = Options::default();
    for w in load_file(&path, &mut new)? {
        tracing::warn!("{w}");
    }
    server.apply_overrides(&mut new);
    new.baseline();
    new.validate()?;
    new.build_tls()?;
    let changes = diff(&old, &new)?;
    // Keep the effective port (a random one stays what it was bound to).
    new.port = old.port;
    let log = crate::logging::LogConfig {
        debug: new.debug,
        trace: new.trace,
        logtime: new.logtime,
        utc: new.logtime_utc,
        file: new.log_file.clone(),
    };
    let auth_changed = old.auth != new.auth || old.auth_timeout != new.auth_timeout;
    let links_changed = old.links != new.links || old.accounts != new.accounts;
    server.set_opts(new);
    crate::logging::reconfigure(&log);
    let mut changes = changes;
    if auth_changed {
        changes.push("authorization".to_string());
        let closed = server.reauthorize();
        if closed > 0 {
            tracing::info!("Closed {closed} client(s) whose credentials no longer authenticate");
        }
    }
    if links_changed {
        changes.push("accounts".to_string());
        server.install_links();
    }
    for c in &changes {
        tracing::info!("Reloaded: {c}");
    }
    tracing::info!("Reloaded server configuration ({})", digest(&path));
    Ok(changes)
}

/// SIGHUP handler: reload, or log why not and keep the old configuration.
pub fn reload(server: &Server) {
    if let Err(e) = try_reload(server) {
        tracing::error!("Failed to reload server configuration: {e}");
    }
}
