//! Monitoring over the system account (nats-server `events.go`): the requests the `nats` CLI
//! sends (`$SYS.REQ.SERVER.PING[.<EP>]`, `$SYS.REQ.SERVER.<id>.<EP>`,
//! `$SYS.REQ.ACCOUNT.<acc>.<EP>`) answered with the same builders as the HTTP monitor, and the
//! periodic `$SYS.SERVER.<id>.STATSZ` broadcast.
//!
//! Answers are the reference's `{"server":{…},"data":{…}}` documents (or `"error"` with a
//! code), except `STATSZ` (`{"server":…,"statsz":…}`) and `IDZ` (bare). A request body carries
//! the endpoint's options plus the event filter (`server_name`, `host`, `cluster`,
//! `exact_match`, `tags`, `domain`); a server the filter excludes stays silent. Requests run on
//! their own task, never on the requesting client's reader.

use crate::monitor;
use crate::server::Server;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

/// The reference's `EventFilterOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    server_name: String,
    cluster: String,
    host: String,
    exact_match: bool,
    tags: Vec<String>,
    domain: String,
}

impl Filter {
    /// Whether this server is filtered out (`filterRequest`).
    fn excludes(&self, s: &Server) -> bool {
        let o = s.opts();
        let host = o.host.as_str();
        let mismatch = |want: &str, have: &str| {
            !want.is_empty()
                && if self.exact_match {
                    want != have
                } else {
                    !have.contains(want)
                }
        };
        mismatch(&self.server_name, &s.name)
            || mismatch(&self.host, host)
            // No cluster: a cluster filter matches only the empty name.
            || mismatch(&self.cluster, "")
            || self.tags.iter().any(|t| !o.server_tags.contains(t))
            || !self.domain.is_empty()
    }
}

/// `statsz` (`ServerStats`).
#[derive(Serialize)]
pub struct Statsz {
    start: String,
    mem: u64,
    cores: usize,
    cpu: f64,
    connections: usize,
    total_connections: u64,
    active_accounts: usize,
    subscriptions: usize,
    sent: MsgBytes,
    sent_to_clients: MsgBytes,
    received: MsgBytes,
    received_from_clients: MsgBytes,
    slow_consumers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    slow_consumer_stats: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale_connection_stats: Option<serde_json::Value>,
    active_servers: u64,
    gomaxprocs: usize,
}

#[derive(Serialize)]
struct MsgBytes {
    msgs: u64,
    bytes: u64,
}

/// The server's statistics now.
pub fn statsz(s: &Server) -> Statsz {
    let st = &s.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let (mem, cpu) = monitor::process_mem_and_cpu(s);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (slow, stale) = (load(&st.slow_consumers), load(&st.stale_connections));
    let kinds = |clients: u64| {
        (clients > 0).then(
            || serde_json::json!({"clients": clients, "routes": 0, "gateways": 0, "leafs": 0}),
        )
    };
    Statsz {
        start: monitor::rfc3339(s.start),
        mem,
        cores,
        cpu,
        connections: s.num_clients(),
        total_connections: load(&st.total_connections),
        active_accounts: s.active_accounts(),
        subscriptions: s.num_subscriptions(),
        sent: MsgBytes {
            msgs: load(&st.out_msgs),
            bytes: load(&st.out_bytes),
        },
        sent_to_clients: MsgBytes {
            msgs: load(&st.out_msgs),
            bytes: load(&st.out_bytes),
        },
        received: MsgBytes {
            msgs: load(&st.in_msgs),
            bytes: load(&st.in_bytes),
        },
        received_from_clients: MsgBytes {
            msgs: load(&st.in_msgs),
            bytes: load(&st.in_bytes),
        },
        slow_consumers: slow,
        slow_consumer_stats: kinds(slow),
        stale_connection_stats: kinds(stale),
        active_servers: 1,
        gomaxprocs: cores,
    }
}

/// Whether `subject` is a monitoring request this module answers.
pub fn is_monitor_request(subject: &[u8]) -> bool {
    subject.starts_with(b"$SYS.REQ.SERVER.")
        || (subject.starts_with(b"$SYS.REQ.ACCOUNT.")
            && !subject.windows(8).any(|w| w == b".CLAIMS."))
}

use monitor::SysAnswer as Answer;

impl Server {
    /// Handle a monitoring request published in the system account (on its own task).
    pub fn monitor_request(self: &Arc<Self>, subject: &[u8], reply: Option<&[u8]>, body: &[u8]) {
        let (Ok(subject), Some(Ok(reply))) = (
            std::str::from_utf8(subject),
            reply.filter(|r| !r.is_empty()).map(std::str::from_utf8),
        ) else {
            return;
        };
        let (s, subject, reply, body) = (
            self.clone(),
            subject.to_string(),
            reply.to_string(),
            body.to_vec(),
        );
        tokio::spawn(async move { s.answer(&subject, &reply, &body) });
    }

    fn answer(&self, subject: &str, reply: &str, body: &[u8]) {
        let toks: Vec<&str> = subject.split('.').collect();
        let ep = match toks[..] {
            ["$SYS", "REQ", "SERVER", "PING"] => "STATSZ",
            ["$SYS", "REQ", "SERVER", "PING", ep] => ep,
            ["$SYS", "REQ", "SERVER", id, ep] if id == self.id => ep,
            ["$SYS", "REQ", "ACCOUNT", acc, ep] if acc != "PING" => {
                return self.account_request(acc, ep, reply, body);
            }
            _ => return,
        };
        let filter: Result<Filter, _> = if body.is_empty() {
            Ok(Filter::default())
        } else {
            serde_json::from_slice(body)
        };
        let filter = match filter {
            Ok(f) => f,
            Err(e) => return self.respond_answer(reply, Err((400, e.to_string()))),
        };
        if filter.excludes(self) {
            return;
        }
        match ep {
            "STATSZ" => {
                let data = serde_json::to_string(&statsz(self)).unwrap_or_default();
                self.respond_system_raw(reply, "statsz", &data);
            }
            "IDZ" => {
                let o = self.opts();
                let id = serde_json::json!({"name": self.name, "host": o.host, "id": self.id});
                self.publish_system(reply, |_| id.to_string());
            }
            _ => {
                if let Some(a) = self.server_endpoint(ep, body) {
                    self.respond_answer(reply, a);
                }
            }
        }
    }

    /// `$SYS.REQ.SERVER.*.<EP>` for the HTTP monitor's endpoints.
    fn server_endpoint(&self, ep: &str, body: &[u8]) -> Option<Answer> {
        Some(match ep {
            "VARZ" => Ok(monitor::json(&monitor::varz(self))),
            _ => return monitor::endpoint_for_request(self, ep, body),
        })
    }

    /// `$SYS.REQ.ACCOUNT.<acc>.<EP>`.
    fn account_request(&self, acc: &str, ep: &str, reply: &str, body: &[u8]) {
        if let Some(a) = monitor::account_endpoint_for_request(self, acc, ep, body) {
            self.respond_answer(reply, a);
        }
    }

    fn respond_answer(&self, reply: &str, a: Answer) {
        match a {
            Ok(data) => self.respond_system_raw(reply, "data", &data),
            Err((code, description)) => {
                let e = serde_json::json!({"code": code, "description": description});
                self.respond_system_raw(reply, "error", &e.to_string());
            }
        }
    }

    /// Accounts with at least one client connection.
    pub fn active_accounts(&self) -> usize {
        self.accounts()
            .iter()
            .filter(|a| a.conns.load(Ordering::Relaxed) > 0)
            .count()
    }

    /// Broadcast `$SYS.SERVER.<id>.STATSZ` to whoever listens: every 250 ms at first, doubling
    /// up to every `max` (the reference's 10 s), until shutdown.
    pub async fn statsz_loop(self: Arc<Self>, max: Duration) {
        let mut shutdown = self.shutdown_signal();
        let mut every = Duration::from_millis(250).min(max);
        let subject = format!("$SYS.SERVER.{}.STATSZ", self.id);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            every = (every * 2).min(max);
            self.publish_system(&subject, |s| {
                let o = s.opts();
                let server = s.server_info_json(&o, SystemTime::now());
                let data = serde_json::to_string(&statsz(s)).unwrap_or_default();
                format!("{{\"server\":{server},\"statsz\":{data}}}")
            });
        }
    }
}
