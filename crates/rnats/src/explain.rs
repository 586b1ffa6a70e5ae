//! `rnats explain`: why a credential would be accepted or rejected by a server, offline.
//!
//! It loads the server's configuration and account state exactly as `rnats-server` does
//! (read-only: nothing is written), then runs the server's own connect-time check
//! ([`rnats_auth::operator::authenticate_user_traced`]) at "now" (this machine's clock, or
//! `--at`), and reports each step it passed, the step that failed with its numbers and a hint,
//! and the verdict. With the user's seed (a `.creds` file or `--nkey-seed`) it signs a nonce
//! like a client would, so the signature step is real; without one that step is reported as not
//! checked. The verdict and reason code are the ones the server logs and counts for the same
//! credential at the same instant (a property test holds them equal).

use rnats_auth::AuthFailure;
use rnats_auth::jwt::time::{human, rfc3339};
use rnats_auth::operator::{Trace, UserConnect, authenticate_user_traced};
use rnats_server::Options;
use rnats_server::operator::OperatorState;
use serde::Serialize;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

/// What to explain.
#[derive(Debug, Clone)]
pub struct Request {
    pub config: PathBuf,
    pub creds: Option<PathBuf>,
    pub jwt: Option<PathBuf>,
    pub nkey_seed: Option<PathBuf>,
    /// The instant to judge at (default: this machine's clock).
    pub at: Option<SystemTime>,
    /// The client's address (for `src` restrictions).
    pub src: IpAddr,
}

/// Bad input: exit status 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("{0}")]
    Config(String),
    #[error("{path}: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("{0}")]
    Credentials(String),
    #[error("this configuration is not in operator mode: explain covers JWT credentials")]
    NotOperatorMode,
}

/// One step of the check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

/// The explanation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub now: String,
    /// `--at` was given (else: this machine's clock).
    pub at_given: bool,
    pub accepted: bool,
    /// The server's reason code when rejected (`expired`, `revoked`…).
    pub reason: Option<String>,
    /// What the client receives when rejected.
    pub wire: Option<String>,
    pub hint: Option<String>,
    pub steps: Vec<Step>,
    /// Caveats on an acceptance (e.g. the signature was not checked).
    pub notes: Vec<String>,
}

fn read(p: &PathBuf) -> Result<String, InputError> {
    std::fs::read_to_string(p).map_err(|err| InputError::Read {
        path: p.clone(),
        err,
    })
}

/// Load the server's options from `--config`, as the server does.
fn load_options(path: &std::path::Path) -> Result<Options, InputError> {
    let mut o = Options::default();
    match rnats_server::config::load_file(path, &mut o) {
        Ok(_) => {}
        Err(e) => return Err(InputError::Config(e.to_string())),
    }
    o.baseline();
    o.validate()
        .map_err(|e| InputError::Config(e.to_string()))?;
    Ok(o)
}

/// The user JWT and (optional) seed from the request's files.
fn credentials(r: &Request) -> Result<(String, Option<String>), InputError> {
    let bad = |e: rnats_auth::jwt::creds::CredsError| InputError::Credentials(e.to_string());
    let (mut jwt, mut seed) = (None, None);
    if let Some(p) = &r.creds {
        let text = read(p)?;
        let (j, s) = rnats_auth::jwt::creds::parse(&text).map_err(bad)?;
        jwt = Some(j.to_string());
        seed = Some(s.to_string());
    }
    if let Some(p) = &r.jwt {
        let text = read(p)?;
        jwt = Some(rnats_auth::jwt::creds::jwt(&text).map_err(bad)?.to_string());
    }
    if let Some(p) = &r.nkey_seed {
        let text = read(p)?;
        let s = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("SU"))
            .ok_or_else(|| InputError::Credentials("no user seed (SU…) in the file".into()))?;
        seed = Some(s.to_string());
    }
    let jwt =
        jwt.ok_or_else(|| InputError::Credentials("no user JWT: give --creds or --jwt".into()))?;
    Ok((jwt, seed))
}

/// Run the explanation.
pub fn explain(r: &Request) -> Result<Report, InputError> {
    let opts = load_options(&r.config)?;
    let at_given = r.at.is_some();
    let now = r.at.unwrap_or_else(SystemTime::now);
    let op = OperatorState::load(&opts, now, false)
        .map_err(|e| InputError::Config(e.to_string()))?
        .ok_or(InputError::NotOperatorMode)?;
    let (jwt, seed) = credentials(r)?;
    // A URL resolver fetches the account as the server would.
    if let Ok(u) = rnats_auth::jwt::decode_user(&jwt) {
        let key = u.account_id().to_string();
        if op.needs_fetch(&key)
            && let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        {
            rt.block_on(op.fetch(&key));
        }
    }
    let nonce = "rnats-explain-nonce";
    let kp = match &seed {
        Some(s) => Some(
            nkeys::KeyPair::from_seed(s)
                .map_err(|e| InputError::Credentials(format!("bad seed: {e}")))?,
        ),
        None => None,
    };
    let mut notes = Vec::new();
    if let (Some(kp), Ok(u)) = (&kp, rnats_auth::jwt::decode_user(&jwt))
        && kp.public_key() != u.data.sub
    {
        notes.push(format!(
            "the seed is for {}, not for the JWT's user {}: the signature will not verify",
            kp.public_key(),
            u.data.sub
        ));
    }
    let sig = kp
        .as_ref()
        .and_then(|k| k.sign(nonce.as_bytes()).ok())
        .map(|s| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        });
    let c = UserConnect {
        jwt: Some(&jwt),
        sig: sig.as_deref(),
        nonce: Some(nonce),
        ip: Some(r.src),
        connection_type: "STANDARD",
        skip_signature: kp.is_none(),
    };
    let mut trace = Trace::On(Vec::new());
    let verdict = authenticate_user_traced(&c, &op, &op.trust, now, &opts.clock_skew, &mut trace);
    let mut steps: Vec<Step> = match trace {
        Trace::On(v) => v
            .into_iter()
            .map(|(s, d)| Step {
                step: s.to_string(),
                ok: true,
                detail: d,
            })
            .collect(),
        Trace::Off => Vec::new(),
    };
    let skew = &opts.clock_skew;
    let policy = format!(
        "clock_skew: nbf {}, exp {}, iat_future {}",
        human(skew.nbf_leeway),
        human(skew.exp_leeway),
        skew.iat_future.as_str()
    );
    let mut report = Report {
        now: rfc3339(now),
        at_given,
        accepted: false,
        reason: None,
        wire: None,
        hint: None,
        steps: Vec::new(),
        notes,
    };
    match verdict {
        Ok(u) => {
            // The account's connection limit is the one more check the server makes.
            let conn = rnats_auth::jwt::claims::limit(
                u.account_claims.nats.limits.conn,
                u.account_claims.version,
            );
            if conn == 0 {
                steps.push(Step {
                    step: "account connections".into(),
                    ok: false,
                    detail: "the account's limits.conn is 0: no connection is allowed".into(),
                });
                report.reason = Some("max_account_connections".into());
                report.wire = Some(format!(
                    "-ERR '{}'",
                    rnats_proto::wire::ERR_MAX_ACCOUNT_CONNECTIONS
                ));
            } else {
                steps.push(Step {
                    step: "account connections".into(),
                    ok: true,
                    detail: if conn < 0 {
                        "no connection limit".into()
                    } else {
                        format!("limit {conn} (current connections are not known offline)")
                    },
                });
                report.accepted = true;
                if c.skip_signature && !u.claims.nats.limits.bearer_token {
                    report.notes.push(format!(
                        "accepted only if the client signs the nonce with the seed of {}",
                        u.claims.data.sub
                    ));
                }
            }
        }
        Err(e) => {
            steps.push(Step {
                step: failed_step(&e).into(),
                ok: false,
                detail: e.to_string(),
            });
            report.reason = Some(e.code().to_string());
            report.wire = Some(format!(
                "-ERR '{}'",
                rnats_proto::wire::ERR_AUTHORIZATION_VIOLATION
            ));
            report.hint = e.hint();
        }
    }
    steps.push(Step {
        step: "policy".into(),
        ok: true,
        detail: policy,
    });
    report.steps = steps;
    Ok(report)
}

/// The step a reason belongs to.
fn failed_step(e: &AuthFailure) -> &'static str {
    match e {
        AuthFailure::JwtRequired(_) => "user JWT",
        AuthFailure::UserTime(_) | AuthFailure::JwtInvalid(_) | AuthFailure::ProxyRequired => {
            "user times"
        }
        AuthFailure::AccountUnknown(_)
        | AuthFailure::AccountInvalid(_)
        | AuthFailure::AccountNotPinned(_) => "account",
        AuthFailure::IssuerNotSigningKey(_)
        | AuthFailure::ScopedUserHasLimits
        | AuthFailure::TemplateInvalid(_) => "user issuer",
        AuthFailure::AccountTime(_) => "account times",
        AuthFailure::BearerNotAllowed => "bearer",
        AuthFailure::ConnectionTypeNotAllowed => "connection type",
        AuthFailure::NkeySignatureMissing | AuthFailure::NkeySignatureInvalid(_) => {
            "nonce signature"
        }
        AuthFailure::Revoked => "revocation",
        AuthFailure::SourceNotAllowed => "source address",
        AuthFailure::OutsideTimes => "connect times",
        _ => "check",
    }
}

impl Report {
    /// The report for people.
    pub fn render(&self) -> String {
        let clock = if self.at_given {
            "(--at)"
        } else {
            "(this machine's clock)"
        };
        let mut out = format!("Explaining at {} {clock}\n", self.now);
        for s in &self.steps {
            let mark = if s.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("  [{mark}] {:<20} {}\n", s.step, s.detail));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        if self.accepted {
            out.push_str("Verdict: ACCEPTED\n");
        } else {
            out.push_str(&format!(
                "Verdict: REJECTED (reason {}); the client receives {}\n",
                self.reason.as_deref().unwrap_or("unknown"),
                self.wire.as_deref().unwrap_or("").trim_end()
            ));
        }
        out
    }
}

/// Parse `--at` (RFC 3339).
pub fn parse_at(s: &str) -> Result<SystemTime, String> {
    let ts: jiff::Timestamp = s
        .parse()
        .map_err(|e| format!("--at {s:?} is not an RFC 3339 time: {e}"))?;
    Ok(SystemTime::from(ts))
}
