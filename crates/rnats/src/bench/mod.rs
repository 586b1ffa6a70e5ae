//! `rnats bench`: a raw-TCP load generator for NATS servers, and a side-by-side comparison.
//!
//! Model: clients speak the NATS protocol directly over blocking sockets, one OS thread per
//! connection, writing pre-built batches and parsing replies without allocating, so the
//! generator's CPU stays a small fraction of the server's (it is measured from
//! `/proc/self/stat` and reported as that fraction). Every run is lossless or fails: subscribers
//! count what they receive, and PING/PONG barriers prove nothing is still in flight before
//! counts are checked.
//!
//! # Usage
//!
//! One scenario against a running server:
//!
//! ```text
//! rnats bench run --url nats://127.0.0.1:4222 pub --size 16 --msgs 2000000
//! rnats bench run pubsub --size 1024
//! rnats bench run fanout 4 --size 65536          # 1 → 4 subscribers
//! rnats bench run queue 4                        # 1 → queue group of 4, each message once
//! rnats bench run many-subjects --pubs 2 --subs 2  # 10k subjects, `bench.ms.*` subscribers
//! rnats bench run reqrep --msgs 20000            # p50/p90/p99/p99.9 round trip
//! rnats bench run connect --user u --password p  # connections/s (also --nkey-seed, --creds,
//!                                                # --tls-ca for `connect tls`)
//! rnats bench run idle 1000 --pid $(pgrep -n nats-server)  # server RSS per idle connection
//! ```
//!
//! `--pid` (optional except for `idle`) adds the server's CPU time per message and the
//! generator's CPU as a fraction of it. Sizes: any; the issue's are 16, 128, 1024, 65536.
//!
//! Two binaries, side by side (writes the configs auth scenarios need):
//!
//! ```text
//! rnats bench compare --a "$(../shared/tools/reference-server)" \
//!     --b target/release/rnats-server --rounds 7 --out docs/BENCHMARKS.md
//! ```
//!
//! `--scenarios` takes specs `name[:arg][@size]`, comma-separated (default: every scenario at
//! 16 B, 1 KiB and 64 KiB where sizes matter — see [`scenario::DEFAULT_SET`]); `--msgs`
//! overrides every count (tests use tiny ones). Ratios are B ÷ A.

pub mod compare;
pub mod flow;
pub mod other;
pub mod proto;
pub mod scenario;
pub mod server;

use clap::{Args, Subcommand};
use proto::Auth;
use scenario::{Kind, Scenario, Target};
use std::path::PathBuf;
use std::process::ExitCode;

/// `rnats bench …`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub cmd: BenchCmd,
}

/// The bench subcommands.
#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Run one scenario against a running server.
    Run(RunArgs),
    /// Compare two server binaries in interleaved rounds.
    Compare(CompareArgs),
}

/// `rnats bench run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The server.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub url: String,
    /// pub, pubsub, fanout, queue, many-subjects, reqrep, connect, idle (or a spec like
    /// `fanout:4@1024`).
    pub scenario: String,
    /// N for fanout/queue/idle; the auth kind for connect (none, user, nkey, jwt).
    pub arg: Option<String>,
    /// Messages (round trips for reqrep, connections for connect).
    #[arg(long)]
    pub msgs: Option<u64>,
    /// Payload bytes.
    #[arg(long)]
    pub size: Option<usize>,
    /// Subscribers (fanout/queue members; many-subjects wildcard subscribers).
    #[arg(long)]
    pub subs: Option<usize>,
    /// Publishers (many-subjects).
    #[arg(long)]
    pub pubs: Option<usize>,
    /// The server's pid: adds server CPU per message; needed by idle.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Run this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// User name (with --password).
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// A file holding an nkey seed (SU…).
    #[arg(long)]
    pub nkey_seed: Option<PathBuf>,
    /// A .creds file (user JWT and seed).
    #[arg(long)]
    pub creds: Option<PathBuf>,
    /// Connect over TLS trusting this CA (PEM file): `connect tls`.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
}

/// `rnats bench compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Binary A (ratios are B ÷ A; put the reference here).
    #[arg(long)]
    pub a: PathBuf,
    /// Binary B.
    #[arg(long)]
    pub b: PathBuf,
    /// Label for A (default: its file name).
    #[arg(long)]
    pub a_name: Option<String>,
    /// Label for B (default: its file name).
    #[arg(long)]
    pub b_name: Option<String>,
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Comma-separated scenario specs `name[:arg][@size]`.
    #[arg(long, default_value = scenario::DEFAULT_SET)]
    pub scenarios: String,
    /// Override every scenario's message count (idle keeps its N).
    #[arg(long)]
    pub msgs: Option<u64>,
    /// Write the Markdown report here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Scratch directory (default: a fresh one under the temp dir).
    #[arg(long)]
    pub work: Option<PathBuf>,
}

/// Entry point for `rnats bench`.
pub fn main(args: BenchArgs) -> ExitCode {
    let r = match args.cmd {
        BenchCmd::Run(a) => run_cmd(a),
        BenchCmd::Compare(a) => compare_cmd(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rnats bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn read_trimmed(p: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

impl RunArgs {
    fn auth(&self) -> Result<Auth, String> {
        if let Some(ca) = &self.tls_ca {
            return Ok(Auth::Tls {
                ca: std::fs::read_to_string(ca).map_err(|e| format!("{}: {e}", ca.display()))?,
            });
        }
        if let Some(c) = &self.creds {
            let text = read_trimmed(c)?;
            let (jwt, seed) = rnats_auth::jwt::creds::parse(&text)
                .map_err(|e| format!("{}: {e}", c.display()))?;
            return Ok(Auth::Jwt {
                jwt: jwt.into(),
                seed: seed.into(),
            });
        }
        if let Some(s) = &self.nkey_seed {
            return Ok(Auth::Nkey {
                seed: read_trimmed(s)?,
            });
        }
        if let Some(user) = &self.user {
            return Ok(Auth::User {
                user: user.clone(),
                pass: self.password.clone().unwrap_or_default(),
            });
        }
        Ok(Auth::None)
    }

    fn scenario(&self, auth: &Auth) -> Result<Scenario, String> {
        let mut s = if self.scenario.contains([':', '@']) {
            Scenario::parse(&self.scenario)?
        } else {
            Scenario::new(Kind::parse(&self.scenario, self.arg.as_deref())?)
        };
        if let Kind::Connect(p) = s.kind {
            let given = Scenario::new(Kind::Connect(scenario::parse_profile(auth.kind())?));
            if self.arg.is_some() && given.kind != Kind::Connect(p) {
                return Err(format!(
                    "connect {} needs matching credentials (got {})",
                    self.arg.as_deref().unwrap_or(""),
                    auth.kind()
                ));
            }
            s.kind = given.kind;
        }
        if let Some(n) = self.subs {
            match &mut s.kind {
                Kind::Fanout(k) | Kind::Queue(k) => *k = n,
                _ => s.subs = n,
            }
        }
        if let Some(p) = self.pubs {
            s.pubs = p;
        }
        if let Some(z) = self.size {
            s.size = z;
        }
        s.msgs = self.msgs.or(s.msgs);
        Ok(s)
    }
}

fn run_cmd(a: RunArgs) -> Result<(), String> {
    let auth = a.auth()?;
    let s = a.scenario(&auth)?;
    let addr = a
        .url
        .trim_start_matches("nats://")
        .trim_end_matches('/')
        .to_string();
    let target = Target {
        addr,
        auth,
        pid: a.pid,
    };
    for _ in 0..a.repeat.max(1) {
        let out = s.run(&target)?;
        println!("{s:<18} {}", out.render());
    }
    Ok(())
}

fn compare_cmd(a: CompareArgs) -> Result<(), String> {
    let mut scenarios = Scenario::parse_list(&a.scenarios)?;
    if scenarios.is_empty() {
        return Err("no scenarios".into());
    }
    for s in &mut scenarios {
        s.msgs = a.msgs;
    }
    let name = |p: &PathBuf, given: &Option<String>| {
        given.clone().unwrap_or_else(|| {
            p.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string())
        })
    };
    let (mut an, bn) = (name(&a.a, &a.a_name), name(&a.b, &a.b_name));
    if an == bn {
        an.push_str(" (A)");
    }
    let work = a.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rnats-bench-{}", std::process::id()))
    });
    let plan = compare::Plan {
        a: compare::Side {
            name: an,
            bin: a.a.clone(),
        },
        b: compare::Side {
            name: bn,
            bin: a.b.clone(),
        },
        rounds: a.rounds.max(1),
        scenarios,
        work: work.clone(),
    };
    let report = compare::run(plan);
    if a.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let report = report?;
    print!("{}", report.table());
    if let Some(out) = &a.out {
        let command = std::env::args()
            .map(|s| shell_quote(&s))
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::write(out, report.markdown(&command))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
