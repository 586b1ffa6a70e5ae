//! Scenarios: what is measured, how it is named, and what a run reports.
//!
//! Model: a [`Scenario`] is a [`Kind`] plus a payload size and an optional message count, named
//! by a compact spec (`pub@16`, `fanout:4@1024`, `queue:4`, `many-subjects`, `reqrep@128`,
//! `connect:jwt`, `idle:1000`). [`Scenario::run`] drives one run against a [`Target`] and
//! returns an [`Outcome`]: the count of work units (messages, round trips, connections), the
//! metrics (primary first) and the generator's own CPU time. A run that loses a message, gets
//! an `-ERR` or stalls returns an error: there are no partial results.

use super::proto::Auth;
use super::server::{Profile, cpu_seconds, self_cpu_seconds};
use super::{flow, other};
use std::fmt;
use std::time::Duration;

/// What a scenario does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One publisher, no subscribers; completion by a final PING/PONG.
    Pub,
    /// One publisher, one subscriber.
    PubSub,
    /// One publisher, N subscribers on the same subject.
    Fanout(usize),
    /// One publisher, a queue group of N members: each message delivered once.
    Queue(usize),
    /// Publishers over 10 000 subjects, wildcard subscribers (`bench.ms.*`).
    ManySubjects,
    /// Closed-loop request/reply through a responder client.
    ReqRep,
    /// Connections per second with one kind of authentication.
    Connect(Profile),
    /// N idle connections: server RSS per connection.
    Idle(usize),
    /// One publisher over TLS, no subscribers (the server's decryption and parsing).
    TlsPub,
}

/// One scenario: kind, payload size, message count (None: a size-dependent default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub kind: Kind,
    pub size: usize,
    pub msgs: Option<u64>,
    /// Subscribers for many-subjects; publishers for many-subjects.
    pub subs: usize,
    pub pubs: usize,
}

/// The scenarios `compare` runs when none are named.
pub const DEFAULT_SET: &str = "pub@16,pub@1024,pub@65536,pubsub@16,pubsub@1024,pubsub@65536,\
fanout:4@16,fanout:4@1024,fanout:4@65536,queue:4@16,queue:4@1024,queue:4@65536,\
many-subjects@16,reqrep@16,connect:none,connect:user,connect:nkey,connect:jwt,connect:tls,\
tlspub@1024,idle:1000";

/// Payload sizes the issue asks for (others are accepted too).
pub const SIZES: [usize; 4] = [16, 128, 1024, 65536];

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Plain => "none",
        Profile::User => "user",
        Profile::Nkey => "nkey",
        Profile::Jwt => "jwt",
        Profile::Tls => "tls",
    }
}

/// Parse an auth kind name.
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    match s {
        "none" | "" => Ok(Profile::Plain),
        "user" | "userpass" => Ok(Profile::User),
        "nkey" => Ok(Profile::Nkey),
        "jwt" => Ok(Profile::Jwt),
        "tls" => Ok(Profile::Tls),
        o => Err(format!(
            "unknown auth kind {o:?} (none, user, nkey, jwt, tls)"
        )),
    }
}

impl Kind {
    /// Parse `name` and its optional argument (`fanout` + `4`).
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Kind, String> {
        let n = |default: usize| -> Result<usize, String> {
            match arg {
                None => Ok(default),
                Some(a) => a
                    .parse::<usize>()
                    .ok()
                    .filter(|&v| v > 0)
                    .ok_or_else(|| format!("{name}: {a:?} is not a positive count")),
            }
        };
        let none = || match arg {
            None => Ok(()),
            Some(a) => Err(format!("{name} takes no argument (got {a:?})")),
        };
        Ok(match name {
            "pub" => none().map(|_| Kind::Pub)?,
            "pubsub" => none().map(|_| Kind::PubSub)?,
            "fanout" => Kind::Fanout(n(4)?),
            "queue" => Kind::Queue(n(4)?),
            "many-subjects" => none().map(|_| Kind::ManySubjects)?,
            "reqrep" => none().map(|_| Kind::ReqRep)?,
            "connect" => Kind::Connect(parse_profile(arg.unwrap_or("none"))?),
            "idle" => Kind::Idle(n(1000)?),
            "tlspub" => none().map(|_| Kind::TlsPub)?,
            o => return Err(format!("unknown scenario {o:?}")),
        })
    }
}

impl Scenario {
    /// A scenario with defaults for everything but the kind.
    pub fn new(kind: Kind) -> Scenario {
        Scenario {
            kind,
            size: 16,
            msgs: None,
            subs: 2,
            pubs: 2,
        }
    }

    /// Parse a spec: `name[:arg][@size]`.
    pub fn parse(spec: &str) -> Result<Scenario, String> {
        let (head, size) = match spec.split_once('@') {
            Some((h, s)) => (
                h,
                Some(
                    s.parse::<usize>()
                        .map_err(|_| format!("{spec}: bad size {s:?}"))?,
                ),
            ),
            None => (spec, None),
        };
        let (name, arg) = match head.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (head, None),
        };
        let mut s = Scenario::new(Kind::parse(name.trim(), arg)?);
        if let Some(z) = size {
            s.size = z;
        }
        Ok(s)
    }

    /// Parse a comma-separated list of specs.
    pub fn parse_list(list: &str) -> Result<Vec<Scenario>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scenario::parse)
            .collect()
    }

    /// The server configuration this scenario needs.
    pub fn profile(&self) -> Profile {
        match self.kind {
            Kind::Connect(p) => p,
            Kind::TlsPub => Profile::Tls,
            _ => Profile::Plain,
        }
    }

    /// The number of work units: messages, round trips, connections.
    pub fn count(&self) -> u64 {
        if let Kind::Idle(n) = self.kind {
            return n as u64;
        }
        if let Some(m) = self.msgs {
            return m.max(1);
        }
        match self.kind {
            Kind::ReqRep => 20_000,
            Kind::Connect(_) => 2_000,
            // About 1 GiB of payload, between 20k and 5M messages: long enough for the
            // 10 ms CPU ticks of /proc to resolve a few percent.
            _ => ((1u64 << 30) / (self.size as u64 + 32)).clamp(20_000, 5_000_000),
        }
    }

    /// Run once against `target`.
    pub fn run(&self, target: &Target) -> Result<Outcome, String> {
        let server0 = target.pid.and_then(cpu_seconds);
        let gen0 = self_cpu_seconds();
        let (elapsed, metrics) = match self.kind {
            Kind::Pub | Kind::PubSub | Kind::Fanout(_) | Kind::Queue(_) | Kind::ManySubjects => {
                flow::run(self, target)?
            }
            Kind::ReqRep => other::reqrep(self, target)?,
            Kind::Connect(_) => other::connect(self, target)?,
            Kind::Idle(n) => other::idle(n, target)?,
            Kind::TlsPub => other::tls_pub(self, target)?,
        };
        let gen_cpu = self_cpu_seconds() - gen0;
        let server_cpu = match (server0, target.pid.and_then(cpu_seconds)) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        Ok(Outcome {
            count: self.count(),
            elapsed,
            metrics,
            gen_cpu,
            server_cpu,
        })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Pub => write!(f, "pub@{}", self.size),
            Kind::PubSub => write!(f, "pubsub@{}", self.size),
            Kind::Fanout(n) => write!(f, "fanout:{n}@{}", self.size),
            Kind::Queue(n) => write!(f, "queue:{n}@{}", self.size),
            Kind::ManySubjects => write!(f, "many-subjects@{}", self.size),
            Kind::ReqRep => write!(f, "reqrep@{}", self.size),
            Kind::Connect(p) => write!(f, "connect:{}", profile_name(p)),
            Kind::TlsPub => write!(f, "tlspub@{}", self.size),
            Kind::Idle(n) => write!(f, "idle:{n}"),
        }
    }
}

/// Where a run goes: the server address, the credentials, and (when known) its pid.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port`.
    pub addr: String,
    pub auth: Auth,
    /// The server's pid, for CPU time and RSS.
    pub pid: Option<u32>,
}

/// One measured quantity.
#[derive(Clone, Debug)]
pub struct Metric {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// Whether a larger value is better (throughput) or worse (latency, memory).
    pub higher_is_better: bool,
}

impl Metric {
    /// A throughput-like metric.
    pub fn rate(name: &'static str, value: f64, unit: &'static str) -> Metric {
        Metric {
            name,
            value,
            unit,
            higher_is_better: true,
        }
    }

    /// A cost-like metric (latency, memory).
    pub fn cost(name: &'static str, value: f64, unit: &'static str) -> Metric {
        Metric {
            name,
            value,
            unit,
            higher_is_better: false,
        }
    }
}

/// Less server CPU than this (5 ticks) is too coarse to report per unit.
pub const MIN_CPU: f64 = 0.05;

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Work units done (all verified).
    pub count: u64,
    pub elapsed: Duration,
    /// Primary metric first.
    pub metrics: Vec<Metric>,
    /// The load generator's CPU seconds.
    pub gen_cpu: f64,
    /// The server's CPU seconds, when its pid is known.
    pub server_cpu: Option<f64>,
}

impl Outcome {
    /// The server's CPU seconds if the run was long enough for 10 ms ticks to resolve it.
    fn measurable_server_cpu(&self) -> Option<f64> {
        self.server_cpu.filter(|&c| c >= MIN_CPU)
    }

    /// Server CPU nanoseconds per work unit.
    pub fn server_ns_per_unit(&self) -> Option<f64> {
        self.measurable_server_cpu()
            .map(|c| c * 1e9 / self.count as f64)
    }

    /// The generator's CPU as a fraction of the server's.
    pub fn gen_fraction(&self) -> Option<f64> {
        self.measurable_server_cpu().map(|c| self.gen_cpu / c)
    }

    /// One line for humans.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for m in &self.metrics {
            s.push_str(&format!("{}={}{}  ", m.name, human(m.value), m.unit));
        }
        s.push_str(&format!(
            "n={} in {:.3}s  gen_cpu={:.2}s",
            self.count,
            self.elapsed.as_secs_f64(),
            self.gen_cpu
        ));
        if let Some(c) = self.server_cpu {
            s.push_str(&format!(" server_cpu={c:.2}s"));
        }
        if let Some(ns) = self.server_ns_per_unit() {
            s.push_str(&format!(" server_cpu/unit={ns:.0}ns"));
        }
        if let Some(f) = self.gen_fraction() {
            s.push_str(&format!(" gen/server={:.0}%", f * 100.0));
        }
        s
    }
}

/// A number with a k/M suffix and 3 significant digits.
pub fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.3}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip() {
        for spec in Scenario::parse_list(DEFAULT_SET).expect("default set parses") {
            let again = Scenario::parse(&spec.to_string()).expect("display parses");
            assert_eq!(spec, again);
        }
        assert_eq!(
            Scenario::parse("fanout@1024").expect("parse").kind,
            Kind::Fanout(4)
        );
        assert!(Scenario::parse("fanout:0").is_err());
        assert!(Scenario::parse("pub:3").is_err());
        assert!(Scenario::parse("connect:x509").is_err());
    }

    #[test]
    fn default_counts_scale_with_size() {
        let s = |spec| Scenario::parse(spec).expect("parse").count();
        assert_eq!(s("pub@16"), 5_000_000);
        assert_eq!(s("pub@1024"), 1_016_800);
        assert_eq!(s("pub@65536"), 20_000);
        assert_eq!(s("reqrep"), 20_000);
    }
}
