//! Typed server options. Built from defaults, then the config file, then the command line
//! (which overrides the file, as in nats-server). Validation that the reference performs at
//! startup (`validateOptions`) lives in [`Options::validate`].

use crate::defaults as d;
use std::path::PathBuf;
use std::time::Duration;

/// The server's options.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub host: String,
    /// Client port; `-1` picks a random free port, `0` (unset) means the default 4222.
    pub port: i64,
    pub server_name: String,
    pub server_tags: Vec<String>,
    pub http_host: String,
    /// Monitoring port; 0 = off, -1 = random.
    pub http_port: i64,
    /// HTTPS monitoring port (`https`, `https_port`, `--https_port`); 0 = off, -1 = random.
    pub https_port: i64,
    pub max_payload: i64,
    pub max_pending: i64,
    pub max_control_line: i64,
    /// `-1` rejects every client (a config `max_connections: 0` maps to this).
    pub max_connections: i64,
    /// 0 = unlimited.
    pub max_subscriptions: i64,
    pub ping_interval: Duration,
    pub ping_max: i64,
    pub write_deadline: Duration,
    /// `authorization { timeout }` in seconds: unset or 0 = the default (2s), negative = every
    /// client times out at once (as the reference does; a warning is logged at startup).
    pub auth_timeout: Option<f64>,
    /// Accounts defined in the configuration (besides the global `$G`).
    pub accounts: Vec<String>,
    /// Exports and imports between those accounts.
    pub links: crate::imports::LinkConfig,
    /// `system_account`: the account whose users see the server's events (default `$SYS`).
    pub system_account: Option<String>,
    /// `no_system_account`: no system account at all.
    pub no_system_account: bool,
    /// `operator`: trusted operator JWTs (operator mode).
    pub operators: Vec<String>,
    /// `trusted_keys`: trusted operator public keys (operator mode without operator JWTs).
    pub trusted_keys: Vec<String>,
    /// `resolver`: where account JWTs come from.
    pub resolver: Option<Resolver>,
    /// `resolver_preload`: account public key → account JWT, in file order.
    pub resolver_preload: Vec<(String, String)>,
    /// `resolver_pinned_accounts`: the only accounts whose users may connect.
    pub resolver_pinned_accounts: Vec<String>,
    /// `default_sentinel`: the user JWT of clients that present none (operator mode).
    pub default_sentinel: Option<String>,
    /// `clock_skew` (rnats extension): the leeway of every JWT time check.
    pub clock_skew: rnats_auth::jwt::time::TimePolicy,
    /// Static authentication (token, user/password, users and nkeys).
    pub auth: rnats_auth::StaticAuth,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub no_header_support: bool,
    pub disable_sublist_cache: bool,
    pub debug: bool,
    pub trace: bool,
    pub logtime: bool,
    pub logtime_utc: bool,
    pub log_file: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    pub jetstream: bool,
    pub store_dir: Option<PathBuf>,
    pub max_closed_clients: usize,
    /// The `tls {}` block (or the `--tls*` flags).
    pub tls_options: Option<crate::tls::TlsOptions>,
    /// `tls_options` loaded and built ([`Options::build_tls`]).
    pub tls: Option<std::sync::Arc<crate::tls::Tls>>,
    /// `allow_non_tls`: TLS offered, plaintext accepted too.
    pub allow_non_tls: bool,
    /// `verify_and_map` was configured: users come from client certificates (kept even when
    /// `--tls=false` turns TLS off, so passwordless certificate users never become open).
    pub tls_map: bool,
}

/// An account resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolver {
    /// `MEMORY`: the accounts of `resolver_preload`.
    Memory,
    /// `{type: full|cache, dir: …}`: account JWTs stored in a directory and updated over the
    /// system account (a standalone server serves `cache` like `full`).
    Dir {
        dir: std::path::PathBuf,
        allow_delete: bool,
        /// Delete files instead of renaming them to `<key>.jwt.deleted`.
        hard_delete: bool,
    },
    /// `URL("http://…")`: account JWTs fetched over HTTP.
    Url(String),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            clock_skew: rnats_auth::jwt::time::TimePolicy::RNATS_DEFAULT,
            host: d::DEFAULT_HOST.to_string(),
            port: 0,
            server_name: String::new(),
            server_tags: Vec::new(),
            http_host: String::new(),
            http_port: 0,
            https_port: 0,
            max_payload: d::MAX_PAYLOAD,
            max_pending: d::MAX_PENDING,
            max_control_line: d::MAX_CONTROL_LINE,
            max_connections: d::MAX_CONNECTIONS,
            max_subscriptions: 0,
            ping_interval: d::PING_INTERVAL,
            ping_max: d::PING_MAX,
            write_deadline: d::WRITE_DEADLINE,
            auth_timeout: None,
            accounts: Vec::new(),
            links: Default::default(),
            system_account: None,
            no_system_account: false,
            operators: Vec::new(),
            trusted_keys: Vec::new(),
            resolver: None,
            resolver_preload: Vec::new(),
            resolver_pinned_accounts: Vec::new(),
            default_sentinel: None,
            auth: rnats_auth::StaticAuth::default(),
            lame_duck_duration: d::LAME_DUCK_DURATION,
            lame_duck_grace_period: d::LAME_DUCK_GRACE_PERIOD,
            no_header_support: false,
            disable_sublist_cache: false,
            debug: false,
            trace: false,
            logtime: true,
            logtime_utc: false,
            log_file: None,
            pid_file: None,
            ports_file_dir: None,
            jetstream: false,
            store_dir: None,
            max_closed_clients: d::MAX_CLOSED_CLIENTS,
            tls_options: None,
            tls: None,
            allow_non_tls: false,
            tls_map: false,
        }
    }
}

/// A startup validation failure; the text is the reference's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    #[error("max_payload ({payload}) cannot be higher than max_pending ({pending})")]
    PayloadOverPending { payload: i64, pending: i64 },
    #[error("invalid lame_duck_duration of {0:?}, minimum is 30 seconds")]
    LameDuckTooShort(Duration),
    #[error(
        "lame duck grace period ({grace:?}) should be strictly lower than lame duck duration ({duration:?})"
    )]
    LameDuckGrace { grace: Duration, duration: Duration },
    #[error("server name \"{0}\" can not contain spaces")]
    ServerNameSpaces(String),
    #[error("no_auth_user: \"{0}\" present, but users/nkeys are not defined")]
    NoAuthUserWithoutUsers(String),
    #[error(
        "no_auth_user: \"{0}\" not present as user or nkey in authorization block or account configuration"
    )]
    NoAuthUserUnknown(String),
    #[error("operators require an account resolver to be configured")]
    OperatorsNeedResolver,
    #[error("operators do not allow Accounts to be configured directly")]
    OperatorsWithAccounts,
    #[error("operators do not allow users to be configured directly")]
    OperatorsWithUsers,
    #[error("conflicting options for 'TrustedKeys' and 'TrustedOperators'")]
    KeysAndOperators,
    #[error("default sentinel requires operators and accounts")]
    SentinelWithoutOperators,
    #[error("default sentinel JWT not valid")]
    SentinelInvalid,
    #[error("default sentinel must be a bearer token")]
    SentinelNotBearer,
    #[error("system_account in config and operator JWT must be identical")]
    SystemAccountMismatch,
    #[error(
        "using nats based account resolver - the system account needs to be specified in configuration or the operator jwt"
    )]
    DirResolverNeedsSystemAccount,
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("can't specify both HTTP ({http}) and HTTPs ({https}) ports")]
    HttpAndHttps { http: i64, https: i64 },
    #[error("Can't start monitoring: TLS cert and key required for HTTPS")]
    HttpsWithoutTls,
}

impl Options {
    /// The system account's name: `system_account`, else `$SYS` if `accounts {}` defines it or
    /// by default, and none with `no_system_account`.
    pub fn system_account_name(&self) -> Option<String> {
        match &self.system_account {
            Some(n) => Some(n.clone()),
            None if self.operator_mode() => self.operator_system_account(),
            None if self.no_system_account => None,
            None => Some(d::SYSTEM_ACCOUNT.to_string()),
        }
    }

    /// The reference's `setBaselineOptions`: zero values mean "the default".
    pub fn baseline(&mut self) {
        if self.ping_interval.is_zero() {
            self.ping_interval = d::PING_INTERVAL;
        }
        if self.ping_max == 0 {
            self.ping_max = d::PING_MAX;
        }
        if self.max_payload == 0 {
            self.max_payload = d::MAX_PAYLOAD;
        }
        if self.max_control_line == 0 {
            self.max_control_line = d::MAX_CONTROL_LINE;
        }
        if self.max_pending == 0 {
            self.max_pending = d::MAX_PENDING;
        }
        if self.write_deadline.is_zero() {
            self.write_deadline = d::WRITE_DEADLINE;
        }
        if self.max_closed_clients == 0 {
            self.max_closed_clients = d::MAX_CLOSED_CLIENTS;
        }
        if self.lame_duck_duration.is_zero() {
            self.lame_duck_duration = d::LAME_DUCK_DURATION;
        }
        if self.lame_duck_grace_period.is_zero() {
            self.lame_duck_grace_period = d::LAME_DUCK_GRACE_PERIOD;
        }
    }

    /// The reference's `validateOptions` checks that apply to what rnats implements.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if self.max_payload > self.max_pending {
            return Err(OptionsError::PayloadOverPending {
                payload: self.max_payload,
                pending: self.max_pending,
            });
        }
        if self.server_name.contains(' ') {
            return Err(OptionsError::ServerNameSpaces(self.server_name.clone()));
        }
        if self.lame_duck_duration < Duration::from_secs(30) {
            return Err(OptionsError::LameDuckTooShort(self.lame_duck_duration));
        }
        if self.lame_duck_grace_period >= self.lame_duck_duration {
            return Err(OptionsError::LameDuckGrace {
                grace: self.lame_duck_grace_period,
                duration: self.lame_duck_duration,
            });
        }
        if self.operators.is_empty() && self.default_sentinel.is_some() {
            return Err(OptionsError::SentinelWithoutOperators);
        }
        if self.operator_mode() {
            self.validate_operator_mode()?;
        }
        if let Some(u) = &self.auth.no_auth_user {
            let a = &self.auth;
            if a.users.is_empty() && a.nkeys.is_empty() {
                return Err(OptionsError::NoAuthUserWithoutUsers(u.clone()));
            }
            if !a.users.contains_key(u) && !a.nkeys.contains_key(u) {
                return Err(OptionsError::NoAuthUserUnknown(u.clone()));
            }
        }
        Ok(())
    }

    /// The reference's `validateTrustedOperators` (the parts rnats supports).
    fn validate_operator_mode(&self) -> Result<(), OptionsError> {
        if let Some(s) = &self.default_sentinel {
            let u = rnats_auth::jwt::decode_user(s).map_err(|_| OptionsError::SentinelInvalid)?;
            let l = &u.nats.limits;
            let scoped_looking = !u.nats.issuer_account.is_empty() && l.permissions.is_empty();
            if !l.bearer_token && !scoped_looking {
                return Err(OptionsError::SentinelNotBearer);
            }
        }
        if self.resolver.is_none() {
            return Err(OptionsError::OperatorsNeedResolver);
        }
        if !self.accounts.is_empty() {
            return Err(OptionsError::OperatorsWithAccounts);
        }
        if !self.auth.users.is_empty() || !self.auth.nkeys.is_empty() {
            return Err(OptionsError::OperatorsWithUsers);
        }
        if !self.operators.is_empty() && !self.trusted_keys.is_empty() {
            return Err(OptionsError::KeysAndOperators);
        }
        if matches!(self.resolver, Some(Resolver::Dir { .. }))
            && self.system_account.is_none()
            && self.operator_system_account().is_none()
        {
            return Err(OptionsError::DirResolverNeedsSystemAccount);
        }
        if let Some(sys) = &self.system_account {
            let claimed: Vec<String> = self
                .operators
                .iter()
                .filter_map(|j| rnats_auth::jwt::decode_operator(j).ok())
                .map(|o| o.nats.system_account)
                .filter(|s| !s.is_empty())
                .collect();
            if !claimed.is_empty() && !claimed.contains(sys) {
                return Err(OptionsError::SystemAccountMismatch);
            }
        }
        Ok(())
    }

    /// In operator mode without `system_account`, the (first) operator JWT names it.
    pub fn operator_system_account(&self) -> Option<String> {
        let op = rnats_auth::jwt::decode_operator(self.operators.first()?).ok()?;
        (!op.nats.system_account.is_empty()).then_some(op.nats.system_account)
    }

    /// The auth timeout in force: the configured value, or 2s when unset or 0; zero when
    /// negative (the reference's timer then fires at once).
    /// Load the TLS material of `tls_options` (at start and at each reload).
    pub fn build_tls(&mut self) -> Result<(), OptionsError> {
        self.tls = match &self.tls_options {
            Some(t) => Some(std::sync::Arc::new(t.build()?)),
            None => None,
        };
        if self.http_port != 0 && self.https_port != 0 {
            return Err(OptionsError::HttpAndHttps {
                http: self.http_port,
                https: self.https_port,
            });
        }
        if self.https_port != 0 && self.tls.is_none() {
            return Err(OptionsError::HttpsWithoutTls);
        }
        Ok(())
    }

    /// The TLS handshake timeout (`/varz tls_timeout`).
    pub fn tls_timeout(&self) -> Duration {
        match &self.tls_options {
            Some(t) if !t.timeout.is_zero() => t.timeout,
            _ => d::TLS_TIMEOUT,
        }
    }

    /// The auth timeout when none is configured: 2 s, or the TLS timeout + 1 s with TLS (the
    /// handshake happens first and the reference gives it that much more room).
    fn default_auth_timeout(&self) -> Duration {
        if self.tls_options.is_some() {
            self.tls_timeout() + Duration::from_secs(1)
        } else {
            d::AUTH_TIMEOUT
        }
    }

    pub fn effective_auth_timeout(&self) -> Duration {
        match self.auth_timeout {
            None | Some(0.0) => self.default_auth_timeout(),
            Some(t) if t < 0.0 || !t.is_finite() => Duration::ZERO,
            Some(t) => Duration::from_secs_f64(t.min(1e9)),
        }
    }

    /// The auth timeout as `/varz` reports it (seconds).
    pub fn auth_timeout_secs(&self) -> f64 {
        match self.auth_timeout {
            Some(t) if t != 0.0 => t,
            _ => self.default_auth_timeout().as_secs_f64(),
        }
    }

    /// Whether clients must authenticate (before the `no_auth_user` rule hides it in INFO).
    pub fn auth_required(&self) -> bool {
        self.auth.auth_required() || self.operator_mode()
    }

    /// Decentralized (JWT) authentication: operators or trusted keys are configured.
    pub fn operator_mode(&self) -> bool {
        !self.operators.is_empty() || !self.trusted_keys.is_empty()
    }
}
