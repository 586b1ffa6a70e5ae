//! The command line, with nats-server's flag names and forms.
//!
//! nats-server uses Go's `flag` package: `-port` and `--port` are the same flag, values may follow
//! `=` or a space, and multi-letter names such as `-DV`, `-sd` or `-js` are single flags, not
//! bundles of short ones. [`normalize`] rewrites the Go forms into what clap expects (a
//! multi-letter single-dash flag becomes `--name`), then clap does the parsing.

use crate::opts::Options;
use clap::{ArgAction, Parser};
use std::ffi::OsString;
use std::path::PathBuf;

/// Rewrite Go-style flags for clap: `-name[=v]` with a multi-letter name becomes `--name[=v]`.
pub fn normalize<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for (i, a) in args.into_iter().enumerate() {
        if i == 0 || rest {
            out.push(a);
            continue;
        }
        let Some(s) = a.to_str() else {
            out.push(a);
            continue;
        };
        if s == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        if let Some(body) = s.strip_prefix('-')
            && !body.starts_with('-')
        {
            let name = body.split('=').next().unwrap_or("");
            let numeric = name.chars().all(|c| c.is_ascii_digit());
            if name.len() > 1 && !numeric {
                out.push(OsString::from(format!("-{s}")));
                continue;
            }
        }
        out.push(a);
    }
    out
}

/// nats-server's flags. Bool flags also take `=true`/`=false` as Go's do.
#[derive(Debug, Parser, Default)]
#[command(
    name = "rnats-server",
    about = "rnats: a NATS server in Rust, drop-in for nats-server",
    disable_version_flag = true
)]
pub struct Cli {
    /// Port to listen on (-1 for a random port).
    #[arg(short = 'p', long = "port", allow_negative_numbers = true)]
    pub port: Option<i64>,
    /// Network host to listen on.
    #[arg(short = 'a', long = "addr", visible_alias = "net", alias = "host")]
    pub addr: Option<String>,
    /// Server name (default: the server id).
    #[arg(short = 'n', long = "name", visible_alias = "server_name")]
    pub name: Option<String>,
    /// HTTP monitoring port (-1 for random).
    #[arg(
        short = 'm',
        long = "http_port",
        visible_alias = "monitor_port",
        allow_negative_numbers = true
    )]
    pub http_port: Option<i64>,
    /// HTTP monitoring host:port.
    #[arg(long = "http")]
    pub http: Option<String>,
    /// HTTPS monitoring port.
    #[arg(long = "https_port", alias = "ms", allow_negative_numbers = true)]
    pub https_port: Option<i64>,
    /// Configuration file.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// Test the configuration file and exit.
    #[arg(short = 't', long = "test_config", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub test_config: Option<bool>,
    /// File to write the log to.
    #[arg(short = 'l', long = "log", alias = "log_file", alias = "logfile")]
    pub log: Option<PathBuf>,
    /// File to store the process id in.
    #[arg(short = 'P', long = "pid", alias = "pid_file")]
    pub pid: Option<PathBuf>,
    /// Directory to write `<exe>_<pid>.ports` to.
    #[arg(long = "ports_file_dir")]
    pub ports_file_dir: Option<PathBuf>,
    /// Enable debug logging.
    #[arg(short = 'D', long = "debug", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub debug: Option<bool>,
    /// Enable protocol tracing.
    #[arg(short = 'V', long = "trace", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub trace: Option<bool>,
    /// Trace including the system account.
    #[arg(long = "VV", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub trace_verbose: Option<bool>,
    /// Debug and trace.
    #[arg(long = "DV", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub debug_trace: Option<bool>,
    /// Debug and verbose trace.
    #[arg(long = "DVV", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub debug_trace_verbose: Option<bool>,
    /// Timestamp log entries (default true).
    #[arg(short = 'T', long = "logtime", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub logtime: Option<bool>,
    /// Timestamps in UTC.
    #[arg(long = "logtime_utc", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub logtime_utc: Option<bool>,
    /// Log to syslog (not supported: logs to stderr).
    #[arg(short = 's', long = "syslog", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub syslog: Option<bool>,
    /// Remote syslog address (not supported).
    #[arg(short = 'r', long = "remote_syslog")]
    pub remote_syslog: Option<String>,
    /// Log file size limit (not supported yet).
    #[arg(long = "log_size_limit")]
    pub log_size_limit: Option<String>,
    /// Max traced message length.
    #[arg(long = "max_traced_msg_len")]
    pub max_traced_msg_len: Option<i64>,
    /// Maximum payload size in bytes.
    #[arg(long = "max_payload", allow_negative_numbers = true)]
    pub max_payload: Option<i64>,
    /// Send a signal to a running server: stop, quit, term, reopen, reload, ldm [=pid|pidfile].
    #[arg(long = "signal", alias = "sl")]
    pub signal: Option<String>,
    /// User required for connections (static auth issue).
    #[arg(long = "user")]
    pub user: Option<String>,
    /// Password required for connections.
    #[arg(long = "pass")]
    pub pass: Option<String>,
    /// Authorization token required for connections.
    #[arg(long = "auth")]
    pub auth: Option<String>,
    /// Enable TLS (TLS issue).
    #[arg(long = "tls", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls: Option<bool>,
    #[arg(long = "tlscert")]
    pub tlscert: Option<PathBuf>,
    #[arg(long = "tlskey")]
    pub tlskey: Option<PathBuf>,
    #[arg(long = "tlscacert")]
    pub tlscacert: Option<PathBuf>,
    #[arg(long = "tlsverify", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tlsverify: Option<bool>,
    /// Routes to solicit (clustering: not supported yet).
    #[arg(long = "routes")]
    pub routes: Option<String>,
    #[arg(long = "cluster", alias = "cluster_listen")]
    pub cluster: Option<String>,
    #[arg(long = "cluster_name")]
    pub cluster_name: Option<String>,
    #[arg(long = "cluster_advertise")]
    pub cluster_advertise: Option<String>,
    #[arg(long = "no_advertise", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub no_advertise: Option<bool>,
    #[arg(long = "connect_retries")]
    pub connect_retries: Option<i64>,
    #[arg(long = "client_advertise")]
    pub client_advertise: Option<String>,
    #[arg(long = "profile")]
    pub profile: Option<i64>,
    /// Enable JetStream (accepted; not supported yet).
    #[arg(long = "jetstream", alias = "js", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub jetstream: Option<bool>,
    /// JetStream storage directory (accepted; not supported yet).
    #[arg(long = "store_dir", alias = "sd")]
    pub store_dir: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub version: bool,
    /// TLS help.
    #[arg(long = "help_tls", action = ArgAction::SetTrue)]
    pub help_tls: bool,
}

impl Cli {
    /// Parse the process arguments (Go forms accepted).
    pub fn parse_args<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalize(args))
    }

    /// Logging flags: `-DV` and `-DVV` set both debug and trace.
    pub fn debug_trace(&self) -> (Option<bool>, Option<bool>) {
        let dv = self.debug_trace.or(self.debug_trace_verbose);
        let debug = dv.or(self.debug);
        let trace = dv.or(self.trace_verbose).or(self.trace);
        (debug, trace)
    }

    /// Apply command-line values over `opts` (flags override the config file).
    pub fn apply(&self, o: &mut Options) {
        if let Some(p) = self.port {
            o.port = p;
        }
        if let Some(a) = &self.addr {
            o.host = a.clone();
        }
        if let Some(n) = &self.name {
            o.server_name = n.clone();
        }
        if let Some(p) = self.http_port {
            o.http_port = p;
        }
        if let Some(p) = self.https_port {
            o.https_port = p;
        }
        if let Some(h) = &self.http
            && let Some((host, port)) = h.rsplit_once(':')
            && let Ok(port) = port.parse::<i64>()
        {
            o.http_host = host.to_string();
            o.http_port = port;
        }
        if let Some(l) = &self.log {
            o.log_file = Some(l.clone());
        }
        if let Some(p) = &self.pid {
            o.pid_file = Some(p.clone());
        }
        if let Some(d) = &self.ports_file_dir {
            o.ports_file_dir = Some(d.clone());
        }
        let (debug, trace) = self.debug_trace();
        if let Some(d) = debug {
            o.debug = d;
        }
        if let Some(t) = trace {
            o.trace = t;
        }
        if let Some(t) = self.logtime {
            o.logtime = t;
        }
        if let Some(t) = self.logtime_utc {
            o.logtime_utc = t;
        }
        if let Some(m) = self.max_payload {
            o.max_payload = m;
        }
        if let Some(j) = self.jetstream {
            o.jetstream = j;
        }
        if let Some(s) = &self.store_dir {
            o.store_dir = Some(s.clone());
        }
        if let Some(u) = &self.user {
            o.auth.user = Some((u.clone(), self.pass.clone().unwrap_or_default()));
        }
        if let Some(t) = &self.auth {
            o.auth.token = Some(t.clone());
        }
        self.apply_tls(o);
    }

    /// `--tls*` (the reference's `overrideTLS`): any TLS flag replaces the file's TLS
    /// configuration with one made of the flags alone; the file's `timeout`, `handshake_first`,
    /// `pinned_certs` and `verify_and_map` stay. `--tls=false` turns TLS off.
    fn apply_tls(&self, o: &mut Options) {
        if self.tls == Some(false) {
            o.tls_options = None;
            return;
        }
        let any = self.tls.is_some()
            || self.tlscert.is_some()
            || self.tlskey.is_some()
            || self.tlscacert.is_some()
            || self.tlsverify.is_some();
        if !any {
            return;
        }
        let file = o.tls_options.take().unwrap_or_default();
        let verify = self.tlsverify.unwrap_or(false);
        o.tls_options = Some(crate::tls::TlsOptions {
            cert_file: self.tlscert.clone(),
            key_file: self.tlskey.clone(),
            ca_file: self.tlscacert.clone(),
            verify: verify || o.tls_map,
            verify_and_map: o.tls_map,
            timeout: file.timeout,
            handshake_first: file.handshake_first,
            pinned_certs: file.pinned_certs,
            ..Default::default()
        });
    }

    /// Security flags rnats cannot honour yet: the server refuses to start rather than run
    /// without the protection they ask for.
    pub fn refused(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Flags that are accepted for compatibility but not implemented yet, to warn about.
    pub fn unsupported(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.routes.is_some() || self.cluster.is_some() || self.cluster_name.is_some() {
            v.push("--routes/--cluster (clustering)");
        }
        if self.syslog == Some(true) || self.remote_syslog.is_some() {
            v.push("--syslog/--remote_syslog");
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let mut v = vec![OsString::from("rnats-server")];
        v.extend(args.iter().map(OsString::from));
        Cli::parse_args(v).expect("parse")
    }

    #[test]
    fn go_forms() {
        let c = parse(&["-p", "-1", "-a", "::1", "-m=8222", "--name", "x"]);
        assert_eq!(c.port, Some(-1));
        assert_eq!(c.addr.as_deref(), Some("::1"));
        assert_eq!(c.http_port, Some(8222));
        assert_eq!(c.name.as_deref(), Some("x"));
        let c = parse(&[
            "-port=4333",
            "-net",
            "127.0.0.1",
            "-DV",
            "-js",
            "-sd=/tmp/x",
        ]);
        assert_eq!(c.port, Some(4333));
        assert_eq!(c.addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.debug_trace(), (Some(true), Some(true)));
        assert_eq!(c.jetstream, Some(true));
        assert_eq!(c.store_dir, Some(PathBuf::from("/tmp/x")));
        let c = parse(&[
            "--server_name",
            "n",
            "-D",
            "-T=false",
            "-sd",
            "/tmp/y",
            "--signal",
            "ldm=12",
        ]);
        assert_eq!(c.name.as_deref(), Some("n"));
        assert_eq!(c.debug, Some(true));
        assert_eq!(c.logtime, Some(false));
        assert_eq!(c.signal.as_deref(), Some("ldm=12"));
        let c = parse(&["-sl", "reload", "-V", "--http_port", "-1"]);
        assert_eq!(c.signal.as_deref(), Some("reload"));
        assert_eq!(c.http_port, Some(-1));
        assert_eq!(c.debug_trace(), (None, Some(true)));
    }

    #[test]
    fn apply_overrides() {
        let c = parse(&["-p", "5000", "--max_payload", "2048"]);
        let mut o = Options::default();
        c.apply(&mut o);
        assert_eq!(o.port, 5000);
        assert_eq!(o.max_payload, 2048);
    }
}
