//! The server: listener, accept loop, the set of live connections, shutdown and lame duck mode.
//!
//! [`Server::start`] binds every listener before it returns (so a caller knows the real ports when
//! `-1` asked for random ones) and logs the lines client harnesses wait for, in the reference's
//! order: the banner, `Starting http monitor on …`, `Listening for client connections on …`,
//! `Server is ready`.

use crate::account::Account;
use crate::client::conn::Conn;
use crate::client::writer::{self, WriterConfig};
use crate::client::{ClientShared, ClosedState};
use crate::defaults as d;
use crate::opts::Options;
use rnats_proto::{ServerInfo, wire};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Server-wide counters (`/varz`).
#[derive(Debug, Default)]
pub struct ServerStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
    pub stale_connections: AtomicU64,
    pub total_connections: AtomicU64,
    /// Authentication metrics (rejections, disconnects, token ages).
    pub auth: crate::metrics::AuthMetrics,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    opts: RwLock<Arc<Options>>,
    /// Command-line values, re-applied over the file on every reload (flags win).
    overrides: Option<Overrides>,
    pub id: String,
    pub name: String,
    pub start: SystemTime,
    pub stats: Arc<ServerStats>,
    gacc: Arc<Account>,
    /// Accounts by name (`$G` included); created on first use after a reload adds one.
    accounts: RwLock<FxHashMap<String, Arc<Account>>>,
    /// The system account (events are published there), unless `no_system_account`.
    sys: Option<Arc<Account>>,
    /// Operator mode: trust and account resolver.
    operator: Option<crate::operator::OperatorState>,
    /// The clock of every security time decision.
    pub clock: Arc<dyn rnats_auth::Clock>,
    /// Sequence number of the events this server published.
    pub(crate) event_seq: AtomicU64,
    clients: Mutex<FxHashMap<u64, Arc<ClientShared>>>,
    /// The last `max_closed_clients` closed connections (`/connz?state=closed`).
    pub closed: crate::monitor::ClosedRing,
    /// Requests served per monitor path (`/varz` `http_req_stats`).
    pub http_req_stats: Mutex<std::collections::BTreeMap<String, u64>>,
    next_cid: AtomicU64,
    next_sid: AtomicU64,
    /// The bound client address.
    pub client_addr: SocketAddr,
    /// The bound monitoring address, if enabled.
    pub http_addr: Mutex<Option<SocketAddr>>,
    lame_duck: AtomicBool,
    stop_accept: tokio::sync::Notify,
    /// TLS handshakes in progress: they count against `max_connections`, as the reference
    /// registers a client before its handshake.
    handshakes: AtomicUsize,
    shutdown_tx: watch::Sender<bool>,
    ports_file: Mutex<Option<PathBuf>>,
}

/// A function re-applying command-line values over options loaded from the file.
pub struct Overrides(pub Box<dyn Fn(&mut Options) + Send + Sync>);

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Overrides")
    }
}

/// Why the server failed to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Options(#[from] crate::opts::OptionsError),
    /// Operator mode could not start (an operator JWT is not valid now, a bad key…).
    #[error(transparent)]
    Operator(#[from] crate::operator::OperatorError),
    /// The URL resolver's base URL did not answer at startup.
    #[error("{0}")]
    UrlResolver(String),
    /// `system_account` names an account that is not defined (the reference's text).
    #[error("error resolving system account: account missing")]
    SystemAccountMissing,
    #[error("Error listening on port: {addr}, {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// A connection nonce: 11 random bytes, base64url without padding (15 characters).
fn new_nonce() -> String {
    use base64::Engine;
    let mut b = [0u8; 11];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: fall back to the process PRNG rather than a constant.
        for x in &mut b {
            *x = fastrand::u8(..);
        }
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The listen backlog asked for. The kernel caps it at `net.core.somaxconn`, the backlog Go
/// (hence nats-server) listens with. `TcpListener::bind` asks for 128: a burst of connects
/// overflowed the accept queue, and the clients past it waited for SYN retransmits (1 s, 3 s,
/// 7 s…) where the reference accepts them at once.
const LISTEN_BACKLOG: u32 = 65_535;

fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server can bind again at once.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

pub(crate) async fn bind(host: &str, port: i64) -> Result<TcpListener, StartError> {
    let port = if port < 0 { 0 } else { port as u16 };
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let fail = |source| StartError::Listen {
        addr: join_host_port(h, port),
        source,
    };
    // Every address the host resolves to, in order, until one binds (as `TcpListener::bind`).
    let mut last = None;
    for addr in tokio::net::lookup_host((h, port)).await.map_err(fail)? {
        match listen_on(addr) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    })))
}

impl Server {
    /// Validate options, bind listeners, log the startup lines and start serving.
    pub async fn start(opts: Options) -> Result<Arc<Server>, StartError> {
        Self::start_with(opts, None).await
    }

    /// Like [`Server::start`], with the clock every security time decision reads (JWT
    /// validity, expiry deadlines). Tests and `rnats explain` use a manual clock.
    pub async fn start_with_clock(
        opts: Options,
        clock: Arc<dyn rnats_auth::Clock>,
    ) -> Result<Arc<Server>, StartError> {
        Self::start_inner(opts, None, clock).await
    }

    /// Like [`Server::start`], with command-line overrides that reloads re-apply.
    pub async fn start_with(
        opts: Options,
        overrides: Option<Overrides>,
    ) -> Result<Arc<Server>, StartError> {
        Self::start_inner(opts, overrides, Arc::new(rnats_auth::SystemClock)).await
    }

    async fn start_inner(
        mut opts: Options,
        overrides: Option<Overrides>,
        clock: Arc<dyn rnats_auth::Clock>,
    ) -> Result<Arc<Server>, StartError> {
        opts.baseline();
        opts.validate()?;
        opts.build_tls()?;
        if opts.port == 0 {
            opts.port = d::DEFAULT_PORT as i64;
        }
        let kp = nkeys::KeyPair::new_server();
        let id = kp.public_key();
        let name = if opts.server_name.is_empty() {
            id.clone()
        } else {
            opts.server_name.clone()
        };
        tracing::info!("Starting nats-server");
        tracing::info!("  Version:  {}", d::NATS_VERSION);
        tracing::info!("  Git:      [rnats {}]", d::RNATS_VERSION);
        tracing::info!("  Name:     {name}");
        tracing::info!("  ID:       {id}");
        if let Some(f) = &opts.config_file {
            tracing::info!("Using configuration file: {}", f.display());
        }
        if opts.jetstream {
            tracing::warn!("JetStream is not supported yet by rnats: -js is accepted and ignored");
        }
        if crate::config::auth::has_plaintext(&opts.auth) {
            tracing::warn!("Plaintext passwords detected, use nkeys or bcrypt");
        }
        if opts.auth_timeout.is_some_and(|t| t < 0.0) {
            tracing::warn!(
                "authorization timeout is negative: every client will time out before it can authenticate (as nats-server does)"
            );
        }
        if opts.max_payload > d::MAX_PAYLOAD_WARN {
            tracing::warn!(
                "Maximum payloads over {} are generally discouraged and could lead to poor performance",
                d::MAX_PAYLOAD_WARN
            );
        }
        let https = opts.https_port != 0;
        let http = if opts.http_port != 0 || https {
            let host = if opts.http_host.is_empty() {
                opts.host.clone()
            } else {
                opts.http_host.clone()
            };
            let port = if https {
                opts.https_port
            } else {
                opts.http_port
            };
            let l = bind(&host, port).await?;
            let addr = l.local_addr().map_err(|source| StartError::Listen {
                addr: host.clone(),
                source,
            })?;
            tracing::info!(
                "Starting {} monitor on {}",
                if https { "https" } else { "http" },
                join_host_port(&host, addr.port())
            );
            Some((l, addr))
        } else {
            None
        };
        let operator = crate::operator::OperatorState::new(&opts, clock.now())?;
        if let Some(url) = operator.as_ref().and_then(|o| o.url.as_deref()) {
            crate::urlresolver::probe(url)
                .await
                .map_err(|e| StartError::UrlResolver(format!("could not fetch <{url:?}>: {e}")))?;
        }
        if let Some(n) = &opts.system_account
            && n != d::SYSTEM_ACCOUNT
            && !opts.accounts.contains(n)
            && !opts.operator_mode()
        {
            return Err(StartError::SystemAccountMissing);
        }
        let listener = bind(&opts.host, opts.port).await?;
        let client_addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: opts.host.clone(),
            source,
        })?;
        let (shutdown_tx, _) = watch::channel(false);
        let cache = !opts.disable_sublist_cache;
        let gacc = Account::new(d::GLOBAL_ACCOUNT, cache);
        let mut accounts = FxHashMap::default();
        accounts.insert(d::GLOBAL_ACCOUNT.to_string(), gacc.clone());
        for name in &opts.accounts {
            accounts.insert(name.clone(), Account::new(name, cache));
        }
        let sys = opts.system_account_name().map(|n| {
            accounts
                .entry(n.clone())
                .or_insert_with(|| Account::new(&n, cache))
                .clone()
        });
        let server = Arc::new(Server {
            gacc,
            accounts: RwLock::new(accounts),
            sys,
            operator,
            clock,
            event_seq: AtomicU64::new(0),
            id,
            name,
            start: SystemTime::now(),
            stats: Arc::new(ServerStats::default()),
            clients: Mutex::new(FxHashMap::default()),
            closed: Default::default(),
            http_req_stats: Default::default(),
            next_cid: AtomicU64::new(1),
            next_sid: AtomicU64::new(1),
            client_addr,
            http_addr: Mutex::new(http.as_ref().map(|h| h.1)),
            lame_duck: AtomicBool::new(false),
            stop_accept: tokio::sync::Notify::new(),
            handshakes: AtomicUsize::new(0),
            shutdown_tx,
            ports_file: Mutex::new(None),
            opts: RwLock::new(Arc::new(opts)),
            overrides,
        });
        server.install_links();
        if server.system_account().is_some() {
            tokio::spawn(server.clone().statsz_loop(crate::defaults::STATSZ_INTERVAL));
        }
        if let Some((l, _)) = http {
            tokio::spawn(crate::monitor::serve(server.clone(), l, https));
        }
        tracing::info!(
            "Listening for client connections on {}",
            join_host_port(&server.opts().host, client_addr.port())
        );
        server.write_pid_and_ports();
        tracing::info!("Server is ready");
        tokio::spawn(server.clone().accept_loop(listener));
        Ok(server)
    }

    /// The options in force (replaced as a whole by a reload).
    pub fn opts(&self) -> Arc<Options> {
        self.opts.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_opts(&self, o: Options) {
        *self.opts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(o);
    }

    pub(crate) fn apply_overrides(&self, o: &mut Options) {
        if let Some(f) = &self.overrides {
            (f.0)(o);
        }
    }

    /// The global account `$G`.
    pub fn global_account(&self) -> Arc<Account> {
        self.gacc.clone()
    }

    /// Operator mode state, if the server runs in operator mode.
    pub fn operator(&self) -> Option<&crate::operator::OperatorState> {
        self.operator.as_ref()
    }

    /// The system account, unless disabled.
    pub fn system_account(&self) -> Option<Arc<Account>> {
        self.sys.clone()
    }

    /// Whether INFO says clients must authenticate: auth is configured and no `no_auth_user`
    /// stands in for clients without credentials (the auth timer runs either way).
    pub fn auth_required(&self) -> bool {
        let o = self.opts();
        o.auth_required() && o.auth.no_auth_user.is_none()
    }

    /// The account named `name` (`None`: the global account), created if a reload added it.
    pub fn account(&self, name: Option<&str>) -> Arc<Account> {
        let name = name.unwrap_or(d::GLOBAL_ACCOUNT);
        if let Some(a) = self
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return a.clone();
        }
        let cache = !self.opts().disable_sublist_cache;
        self.accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_string())
            .or_insert_with(|| Account::new(name, cache))
            .clone()
    }

    /// (Re)install the exports and imports between accounts from the options in force.
    pub fn install_links(&self) {
        let o = self.opts();
        for name in &o.accounts {
            self.account(Some(name));
        }
        // Operator mode: the links the account JWTs declare (accounts are named by key).
        let skew = self.opts().clock_skew;
        let jwt_links = self.operator().map(|op| op.links(self.clock.now(), &skew));
        if let Some(l) = &jwt_links {
            for name in l.exports.keys().chain(l.imports.keys()) {
                if l.exports.get(name).is_some_and(|x| !x.is_empty())
                    || l.imports.contains_key(name)
                {
                    self.account(Some(name));
                }
            }
        }
        let map = self
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        crate::imports::install(&map, jwt_links.as_ref().unwrap_or(&o.links));
    }

    /// Every loaded account (`$G` and the system account included), by name.
    pub fn accounts(&self) -> Vec<Arc<Account>> {
        let mut v: Vec<_> = self
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// A loaded account by name (without creating it).
    pub fn lookup_account(&self, name: &str) -> Option<Arc<Account>> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Whether an account of that name is loaded (without creating it).
    pub fn has_account(&self, name: &str) -> bool {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(name)
    }

    /// A fresh subscription id.
    pub fn next_sub_id(&self) -> u64 {
        self.next_sid.fetch_add(1, Ordering::Relaxed)
    }

    /// Number of live client connections.
    pub fn num_clients(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Snapshot of live connections.
    pub fn clients(&self) -> Vec<Arc<ClientShared>> {
        self.clients
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Total subscriptions across accounts.
    pub fn num_subscriptions(&self) -> usize {
        self.accounts
            .read()
            .map(|a| a.values().map(|acc| acc.sublist.count()).sum())
            .unwrap_or(0)
    }

    pub(crate) fn remove_client(&self, cid: u64) {
        if let Ok(mut c) = self.clients.lock() {
            c.remove(&cid);
        }
    }

    /// The base INFO document.
    pub fn info(&self) -> ServerInfo {
        let o = self.opts();
        ServerInfo {
            server_id: self.id.clone(),
            server_name: self.name.clone(),
            version: d::NATS_VERSION.to_string(),
            proto: d::PROTO,
            git_commit: String::new(),
            go: format!("rnats {}", d::RNATS_VERSION),
            host: o.host.clone(),
            port: self.client_addr.port(),
            headers: !o.no_header_support,
            auth_required: self.auth_required(),
            max_payload: o.max_payload,
            tls_required: o.tls.is_some() && !o.allow_non_tls,
            tls_verify: o.tls.as_ref().is_some_and(|t| t.verify()),
            tls_available: o.tls.is_some() && o.allow_non_tls,
            api_lvl: d::API_LEVEL,
            rnats_version: d::RNATS_VERSION.to_string(),
            ..Default::default()
        }
    }

    /// The INFO line for one client, after `edit`.
    pub fn client_info(&self, c: &ClientShared, edit: impl FnOnce(&mut ServerInfo)) -> Vec<u8> {
        let mut info = self.info();
        info.client_id = c.cid;
        info.client_ip = c.remote.ip().to_string();
        edit(&mut info);
        info.to_wire()
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut shutdown = self.shutdown_tx.subscribe();
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = shutdown.changed() => break,
                _ = self.stop_accept.notified() => break,
            };
            match accepted {
                Ok((stream, addr)) => {
                    if self.lame_duck.load(Ordering::Acquire) {
                        break;
                    }
                    self.clone().spawn_client(stream, addr);
                }
                Err(e) => {
                    tracing::error!("Error accepting client connection: {e}");
                    // Back off on resource exhaustion (EMFILE) instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(listener);
    }

    fn spawn_client(self: Arc<Self>, stream: TcpStream, addr: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let cid = self.next_cid.fetch_add(1, Ordering::Relaxed);
        let o = self.opts();
        let shared = Arc::new(ClientShared::new(
            cid,
            addr,
            o.max_pending.max(0) as usize,
            self.stats.clone(),
        ));
        let nonce = (o.auth.nonce_required() || o.operator_mode()).then(new_nonce);
        let info = {
            let (server, shared, nonce) = (self.clone(), shared.clone(), nonce.clone());
            move |tls_first: bool| {
                server.client_info(&shared, |i| {
                    if let Some(n) = &nonce {
                        i.nonce = n.clone();
                    }
                    if tls_first {
                        i.tls_required = true;
                    }
                })
            }
        };
        let Some(tls) = o.tls.clone() else {
            if o.tls_map {
                // Certificate identities configured and TLS off: nobody maps.
                let _ = shared.cert_names.set(Vec::new());
            }
            shared.enqueue(&info(false));
            let (rd, wr) = crate::tls::accept::plain(stream);
            self.run_client(shared, rd, wr, nonce);
            return;
        };
        let allow_non_tls = o.allow_non_tls;
        if self.over_max_connections(self.handshakes.load(Ordering::Acquire)) {
            // Refused before the handshake, in plaintext, as the reference does.
            tracing::error!("{} - {}", shared.log_prefix(), wire::ERR_MAX_CONNECTIONS);
            let mut out = Vec::new();
            if matches!(tls.opts.handshake_first, crate::tls::HandshakeFirst::Off) {
                out = info(false);
            }
            out.extend_from_slice(&wire::err_line(wire::ERR_MAX_CONNECTIONS));
            tokio::spawn(async move {
                let mut stream = stream;
                let wait = Duration::from_secs(1);
                let _ = tokio::time::timeout(wait, stream.write_all(&out)).await;
                let _ = tokio::time::timeout(wait, stream.shutdown()).await;
            });
            return;
        }
        let slot = HandshakeSlot::take(&self);
        tokio::spawn(async move {
            use crate::tls::accept::negotiate;
            let negotiated = negotiate(stream, &tls, allow_non_tls, &info).await;
            match negotiated {
                Ok(None) => {}
                Err(reason) => {
                    tracing::debug!("{} - TLS handshake error: {reason}", shared.log_prefix());
                    crate::authlog::rejected(&shared, &reason, None, None);
                }
                Ok(Some(n)) => {
                    if tls.opts.verify_and_map || o.tls_map {
                        let names = n
                            .peer_certs
                            .first()
                            .map(|d| crate::tls::identity::candidates(d))
                            .unwrap_or_default();
                        let _ = shared.cert_names.set(names);
                    }
                    if let Some(s) = n.session {
                        tracing::debug!(
                            "{} - TLS handshake complete, version {}, cipher suite {}",
                            shared.log_prefix(),
                            s.version,
                            s.cipher_suite
                        );
                        let _ = shared.tls.set(s);
                    }
                    if n.info_pending {
                        shared.enqueue(&info(true));
                    }
                    self.run_client_after(shared, n.rd, n.wr, nonce, Some(slot));
                }
            }
        });
    }

    /// Whether one more client (beyond the registered ones and `pending` others) passes
    /// `max_connections`.
    fn over_max_connections(&self, pending: usize) -> bool {
        let n = self.clients.lock().unwrap_or_else(|e| e.into_inner()).len();
        over_max(self.opts().max_connections, n.saturating_add(pending))
    }

    /// Start a connection's writer and reader (after the TLS step, so the auth timer starts
    /// after the handshake, as in the reference).
    fn run_client(
        self: Arc<Self>,
        shared: Arc<ClientShared>,
        rd: crate::tls::accept::Reader,
        wr: crate::tls::accept::Writer,
        nonce: Option<String>,
    ) {
        self.run_client_after(shared, rd, wr, nonce, None);
    }

    /// [`Server::run_client`] for a client whose TLS handshake held `slot` (released once the
    /// client is registered or refused).
    fn run_client_after(
        self: Arc<Self>,
        shared: Arc<ClientShared>,
        rd: crate::tls::accept::Reader,
        wr: crate::tls::accept::Writer,
        nonce: Option<String>,
        slot: Option<HandshakeSlot>,
    ) {
        let o = self.opts();
        let cid = shared.cid;
        let cfg = WriterConfig {
            write_deadline: o.write_deadline,
            ping_interval: o.ping_interval,
            ping_max: o.ping_max,
            first_ping: d::FIRST_PING_INTERVAL,
            auth_timeout: o.auth_required().then(|| o.effective_auth_timeout()),
        };
        tokio::spawn(writer::run(shared.clone(), wr, cfg));
        let (stopped, too_many) = {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            // Under the lock: shutdown sets its flag before it takes the lock to close
            // everyone, so a client either is closed by it or sees the flag here.
            let stopped = self.is_shutdown() || self.is_lame_duck();
            let full = over_max(o.max_connections, clients.len());
            if !stopped && !full {
                clients.insert(cid, shared.clone());
            }
            drop(slot);
            (stopped, full)
        };
        if stopped {
            // The server stopped taking clients while this one was accepted or negotiated.
            shared.close(ClosedState::ServerShutdown);
            return;
        }
        if too_many {
            tracing::error!("{} - {}", shared.log_prefix(), wire::ERR_MAX_CONNECTIONS);
            shared.enqueue_err(wire::ERR_MAX_CONNECTIONS);
            shared.close(ClosedState::MaxConnectionsExceeded);
            return;
        }
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{} - Client connection created", shared.log_prefix());
        shared.writer_wake.notify_one();
        let conn = Conn::new(self.clone(), shared, nonce);
        tokio::spawn(conn.run(rd));
    }

    /// After a reload changed `authorization`: re-check every authenticated client with what it
    /// sent in CONNECT against the new rules (as the reference does). Clients that no longer
    /// authenticate get `Authorization Violation` and are closed; the others get their new
    /// permissions, and subscriptions those no longer allow are removed with the reference's
    /// `(sid "…")` error. Returns how many clients were closed.
    pub fn reauthorize(&self) -> usize {
        let o = self.opts();
        let mut closed = 0;
        for c in self.clients() {
            let snap = c
                .auth_snapshot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let Some((copts, nonce)) = snap else {
                // Still authenticating: it will be checked against the new rules.
                continue;
            };
            let decision = if o.auth_required() {
                let mut creds = crate::client::conn::credentials(&copts);
                creds.cert_names = c.cert_names.get().map(Vec::as_slice);
                o.auth.authenticate(&creds, nonce.as_deref())
            } else {
                Ok(rnats_auth::Identity {
                    name: None,
                    account: None,
                    permissions: None,
                })
            };
            match decision {
                Err(r) => {
                    tracing::error!("{} - authentication error{}", c.log_prefix(), r.presented);
                    crate::authlog::disconnected(
                        &c,
                        r.reason.code(),
                        &format!("credentials no longer valid after reload: {}", r.reason),
                    );
                    c.enqueue_err(wire::ERR_AUTHORIZATION_VIOLATION);
                    c.close(ClosedState::AuthenticationViolation);
                    closed += 1;
                }
                Ok(id) => {
                    let current = c.account();
                    if current.name != id.account.as_deref().unwrap_or(d::GLOBAL_ACCOUNT) {
                        // The user moved to another account: closed without an error.
                        c.close(ClosedState::AuthenticationViolation);
                        closed += 1;
                        continue;
                    }
                    self.apply_permissions(&c, id.permissions.map(Arc::new));
                    c.writer_wake.notify_one();
                }
            }
        }
        closed
    }

    /// Install new permissions on a live client; subscriptions they no longer allow are
    /// removed with the reference's `(sid "…")` error.
    pub fn apply_permissions(&self, c: &ClientShared, perms: Option<Arc<rnats_auth::Permissions>>) {
        c.set_permissions(perms.clone());
        let Some(p) = perms else {
            return;
        };
        let subs: Vec<_> = c
            .subs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let account = c.account();
        for sub in subs {
            if p.can_subscribe(&sub.subject, sub.queue.as_deref()) {
                continue;
            }
            crate::client::conn::remove_sub(&account, &sub);
            c.enqueue_err(&format!(
                "{} (sid {})",
                wire::permissions_violation_subscription(&sub.subject, sub.queue.as_deref()),
                wire::go_quote(&sub.sid)
            ));
        }
    }

    /// A receiver that flips to `true` when the server shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Whether shutdown has begun.
    pub fn is_shutdown(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    /// Close every client and stop accepting.
    pub async fn shutdown(&self) {
        if self.shutdown_tx.send_replace(true) {
            return;
        }
        tracing::info!("Initiating Shutdown...");
        for c in self.clients() {
            c.close(ClosedState::ServerShutdown);
        }
        // Let writers flush their last bytes.
        for _ in 0..50 {
            if self.num_clients() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.remove_pid_and_ports();
        tracing::info!("Server Exiting..");
    }

    /// Whether lame duck mode is on.
    pub fn is_lame_duck(&self) -> bool {
        self.lame_duck.load(Ordering::Acquire)
    }

    /// Lame duck mode: stop accepting, tell protocol-1 clients (`"ldm":true`), wait the grace
    /// period, then close clients spread over the rest of the lame duck duration, then shut down.
    pub async fn lame_duck_mode(self: &Arc<Self>) {
        if self.lame_duck.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::info!("Entering lame duck mode, stop accepting new clients");
        // The accept loop drops the listener, so new connections are refused.
        self.stop_accept.notify_one();
        let mut ldm = self.info();
        ldm.ldm = true;
        for c in self.clients() {
            if c.proto_info.load(Ordering::Relaxed) {
                let mut i = ldm.clone();
                i.client_id = c.cid;
                i.client_ip = c.remote.ip().to_string();
                c.send_now(&i.to_wire());
            }
        }
        let o = self.opts();
        let grace = o.lame_duck_grace_period;
        let mut shutdown = self.shutdown_signal();
        tokio::select! {
            _ = tokio::time::sleep(grace) => {}
            _ = shutdown.changed() => return,
        }
        let clients = self.clients();
        if !clients.is_empty() {
            tracing::info!("Closing existing clients");
            let spread = o.lame_duck_duration.saturating_sub(grace);
            let step = spread / (clients.len() as u32).max(1);
            for c in clients {
                c.close(ClosedState::ServerShutdown);
                tokio::select! {
                    _ = tokio::time::sleep(step.min(Duration::from_secs(1))) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
        self.shutdown().await;
    }

    fn ports_urls(&self) -> serde_json::Value {
        let o = self.opts();
        let url = |scheme: &str, host: &str, port: u16| {
            let h = match host {
                "0.0.0.0" | "" => "127.0.0.1",
                "::" | "[::]" => "[::1]",
                h => h,
            };
            format!(
                "{scheme}://{}",
                join_host_port(h.trim_matches(['[', ']']), port)
            )
        };
        let mut v = serde_json::json!({
            "nats": [url("nats", &o.host, self.client_addr.port())],
        });
        if let Some(a) = *self.http_addr.lock().unwrap_or_else(|e| e.into_inner()) {
            let host = if o.http_host.is_empty() {
                &o.host
            } else {
                &o.http_host
            };
            let scheme = if o.https_port != 0 { "https" } else { "http" };
            v["monitoring"] = serde_json::json!([url(scheme, host, a.port())]);
        }
        v
    }

    fn write_pid_and_ports(&self) {
        let o = self.opts();
        if let Some(p) = &o.pid_file
            && let Err(e) = std::fs::write(p, std::process::id().to_string())
        {
            tracing::error!("Could not write pidfile: {e}");
        }
        if let Some(dir) = &o.ports_file_dir {
            let exe = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "rnats-server".into());
            let path = dir.join(format!("{exe}_{}.ports", std::process::id()));
            match std::fs::write(&path, self.ports_urls().to_string()) {
                Ok(()) => *self.ports_file.lock().unwrap_or_else(|e| e.into_inner()) = Some(path),
                Err(e) => tracing::error!("Error writing ports file ({}): {e}", path.display()),
            }
        }
    }

    fn remove_pid_and_ports(&self) {
        if let Some(p) = self
            .ports_file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = std::fs::remove_file(p);
        }
        if let Some(p) = &self.opts().pid_file {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A TLS handshake in progress, counted against `max_connections` until dropped (also when
/// the handshake task ends early or panics).
struct HandshakeSlot(Arc<Server>);

impl HandshakeSlot {
    fn take(server: &Arc<Server>) -> HandshakeSlot {
        server.handshakes.fetch_add(1, Ordering::AcqRel);
        HandshakeSlot(server.clone())
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.0.handshakes.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `max_connections` with `n` clients present: negative refuses everyone, zero is no limit.
fn over_max(max: i64, n: usize) -> bool {
    max < 0 || (max > 0 && i64::try_from(n).unwrap_or(i64::MAX) >= max)
}
