//! Events the server publishes in the system account (nats-server `events.go`): a client
//! connected, a client disconnected, a client failed to authenticate. Their subjects and JSON
//! (field names, order, omitted empties, RFC 3339 times with nanoseconds) are the reference's,
//! so `nats event`-style tools and existing subscribers read them unchanged.
//!
//! An event is encoded only when someone in the system account subscribes to its subject, so
//! a server nobody watches pays one index lookup per connection event.

use crate::client::{ClientShared, ClosedState};
use crate::route::{Delivery, Msg};
use crate::server::Server;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

const CONNECT_TYPE: &str = "io.nats.server.advisory.v1.client_connect";
const DISCONNECT_TYPE: &str = "io.nats.server.advisory.v1.client_disconnect";

#[derive(Serialize)]
struct ServerInfo<'a> {
    name: &'a str,
    host: &'a str,
    id: &'a str,
    ver: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    feature_flags: FeatureFlags,
    jetstream: bool,
    flags: u64,
    seq: u64,
    time: String,
}

/// The feature flags the reference 2.15 reports (none of them apply to rnats yet, and the
/// values are the reference's defaults so consumers comparing servers see no difference).
#[derive(Serialize)]
pub(crate) struct FeatureFlags {
    js_ack_fc_v2: bool,
    js_api_reply_v2: bool,
    js_raft_delete_range: bool,
    js_snapshot_sources: bool,
}

pub(crate) const FEATURE_FLAGS: FeatureFlags = FeatureFlags {
    js_ack_fc_v2: false,
    js_api_reply_v2: false,
    js_raft_delete_range: true,
    js_snapshot_sources: false,
};

#[derive(Serialize, Default)]
struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(skip_serializing_if = "is_zero")]
    id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    acc: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ver: String,
    #[serde(skip_serializing_if = "is_zero")]
    rtt: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    name_tag: String,
    kind: &'static str,
    client_type: &'static str,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct MsgBytes {
    msgs: u64,
    bytes: u64,
}

/// The fields every client advisory starts with.
#[derive(Serialize)]
struct Head<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    timestamp: String,
    server: ServerInfo<'a>,
    client: ClientInfo,
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// rnats' precise rejection reason (`AUTH.ERR` only; an added field, so consumers that
    /// read the reference's fields are unaffected).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<&'static str>,
}

/// Go's `time.RFC3339Nano` in UTC: nanoseconds with trailing zeros dropped. Any `SystemTime`
/// is accepted: dates past year 9999 (a far-future JWT `exp`) print with more year digits, as
/// Go does, rather than panicking.
pub fn rfc3339_nano(t: SystemTime) -> String {
    let (secs, ns) = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-s, 0),
                n => (-s - 1, 1_000_000_000 - n),
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if ns == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{ns:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), in i128 so no day count overflows.
fn civil_from_days(days: i64) -> (i128, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y, m, d)
}

/// A 22-character id like the reference's NUID-based event ids.
fn event_id() -> String {
    let mut v = Vec::with_capacity(22);
    crate::imports::push_random(&mut v, 22);
    String::from_utf8_lossy(&v).into_owned()
}

fn client_info(c: &ClientShared, stop: Option<SystemTime>, with_rtt: bool) -> ClientInfo {
    let m = c.meta.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let acc = c.account().name.clone();
    ClientInfo {
        start: Some(rfc3339_nano(c.start)),
        host: c.remote.ip().to_string(),
        id: c.cid,
        name_tag: acc.clone(),
        acc,
        user: m.user,
        name: m.name,
        lang: m.lang,
        ver: m.version,
        rtt: if with_rtt {
            c.rtt_ns.load(Ordering::Relaxed)
        } else {
            0
        },
        stop: stop.map(rfc3339_nano),
        kind: "Client",
        client_type: "nats",
    }
}

impl Server {
    /// Publish `payload()` on `subject` in the system account, if it exists and someone there
    /// subscribes to the subject.
    pub fn publish_system(&self, subject: &str, payload: impl FnOnce(&Server) -> String) {
        let Some(sys) = self.system_account() else {
            return;
        };
        let r = sys.sublist.match_subject(subject.as_bytes());
        if r.is_empty() {
            return;
        }
        let data = payload(self);
        let mut dl = Delivery::new(0);
        dl.deliver_result(
            &sys,
            &r,
            None,
            Msg {
                subject: subject.as_bytes(),
                // The reference's internal messages carry an empty (not absent) reply, which
                // shows on the wire as two spaces: `MSG <subject> <sid>  <size>`.
                reply: Some(b""),
                header_len: None,
                data: data.as_bytes(),
            },
        );
        dl.flush(&self.stats);
    }

    fn head<'a>(
        &'a self,
        kind: &'static str,
        client: ClientInfo,
        opts: &'a crate::Options,
        now: SystemTime,
    ) -> Head<'a> {
        Head {
            kind,
            id: event_id(),
            timestamp: rfc3339_nano(now),
            server: self.server_info(opts, now),
            client,
        }
    }

    fn server_info<'a>(&'a self, opts: &'a crate::Options, now: SystemTime) -> ServerInfo<'a> {
        ServerInfo {
            name: &self.name,
            host: &opts.host,
            id: &self.id,
            ver: crate::defaults::NATS_VERSION,
            tags: &opts.server_tags,
            feature_flags: FEATURE_FLAGS,
            jetstream: false,
            flags: 0,
            seq: self.event_seq.fetch_add(1, Ordering::Relaxed) + 1,
            time: rfc3339_nano(now),
        }
    }

    /// Answer a system request on `reply`: `{"server":{…}, <key>: <value>}`.
    pub fn respond_system(&self, reply: &str, key: &str, value: serde_json::Value) {
        self.respond_system_raw(reply, key, &value.to_string());
    }

    /// [`Self::respond_system`] with the value already encoded (keeps a struct's field order).
    pub fn respond_system_raw(&self, reply: &str, key: &str, value: &str) {
        self.publish_system(reply, |s| {
            let o = s.opts();
            // Written by hand to keep the reference's field order (server first).
            let server = s.server_info_json(&o, SystemTime::now());
            format!(
                "{{\"server\":{server},{}:{value}}}",
                serde_json::Value::from(key)
            )
        });
    }

    /// The `server` object of system answers and events.
    pub fn server_info_json(&self, opts: &crate::Options, now: SystemTime) -> String {
        serde_json::to_string(&self.server_info(opts, now)).unwrap_or_default()
    }

    /// Answer with `{"data": <value>, "server": {…}}` (the order of a Go map the reference
    /// encodes for list requests).
    pub fn respond_system_data_first(&self, reply: &str, value: serde_json::Value) {
        self.publish_system(reply, |s| {
            let o = s.opts();
            let server =
                serde_json::to_string(&s.server_info(&o, SystemTime::now())).unwrap_or_default();
            format!("{{\"data\":{value},\"server\":{server}}}")
        });
    }

    fn event<'a>(
        &'a self,
        kind: &'static str,
        client: ClientInfo,
        stats: Option<(&ClientShared, ClosedState)>,
        opts: &'a crate::Options,
        now: SystemTime,
        reason_code: Option<&'static str>,
    ) -> String {
        let (sent, received, reason) = match stats {
            Some((c, reason)) => {
                let out = c.out.lock().unwrap_or_else(|e| e.into_inner());
                (
                    Some(MsgBytes {
                        msgs: c.in_msgs.load(Ordering::Relaxed),
                        bytes: c.in_bytes.load(Ordering::Relaxed),
                    }),
                    Some(MsgBytes {
                        msgs: out.out_msgs,
                        bytes: out.out_bytes,
                    }),
                    Some(reason.as_str()),
                )
            }
            None => (None, None, None),
        };
        let e = Event {
            head: self.head(kind, client, opts, now),
            sent,
            received,
            reason,
            reason_code,
        };
        serde_json::to_string(&e).unwrap_or_default()
    }

    /// `$SYS.ACCOUNT.<acc>.CONNECT` after a client authenticated.
    pub fn event_connect(&self, c: &ClientShared) {
        let subject = format!("$SYS.ACCOUNT.{}.CONNECT", c.account().name);
        self.publish_system(&subject, |s| {
            let o = s.opts();
            let now = SystemTime::now();
            s.event(
                CONNECT_TYPE,
                client_info(c, None, false),
                None,
                &o,
                now,
                None,
            )
        });
    }

    /// `$SYS.ACCOUNT.<acc>.DISCONNECT` when a client's connection ended.
    pub fn event_disconnect(&self, c: &ClientShared, reason: ClosedState) {
        let subject = format!("$SYS.ACCOUNT.{}.DISCONNECT", c.account().name);
        self.publish_system(&subject, |s| {
            let o = s.opts();
            let now = SystemTime::now();
            let ci = client_info(c, Some(now), true);
            s.event(DISCONNECT_TYPE, ci, Some((c, reason)), &o, now, None)
        });
    }

    /// `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` when a client failed to authenticate, with the
    /// reason code added as `reason_code`.
    pub fn event_auth_error(&self, c: &ClientShared, code: &'static str) {
        let subject = format!("$SYS.SERVER.{}.CLIENT.AUTH.ERR", self.id);
        self.publish_system(&subject, |s| {
            let o = s.opts();
            let now = SystemTime::now();
            let ci = client_info(c, Some(now), true);
            let stats = Some((c, ClosedState::AuthenticationViolation));
            s.event(DISCONNECT_TYPE, ci, stats, &o, now, Some(code))
        });
    }
}

const EXPIRING_TYPE: &str = "io.rnats.server.advisory.v1.client_auth_expiring";

/// rnats' advisory before a connection's user JWT expires.
#[derive(Serialize)]
struct ExpiringEvent<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    /// When the connection will be cut (the JWT's `exp` plus any `clock_skew.exp`).
    expires: String,
    expires_in_secs: u64,
    /// `exp - iat` of the token, in seconds.
    lifetime_secs: u64,
}

impl Server {
    /// `$SYS.ACCOUNT.<acc>.CLIENT.AUTH.EXPIRING`: this connection's user JWT expires soon.
    pub fn event_auth_expiring(
        &self,
        c: &ClientShared,
        deadline: SystemTime,
        lifetime: std::time::Duration,
    ) {
        let subject = format!("$SYS.ACCOUNT.{}.CLIENT.AUTH.EXPIRING", c.account().name);
        self.publish_system(&subject, |s| {
            let o = s.opts();
            let now = s.clock.now();
            let e = ExpiringEvent {
                head: s.head(EXPIRING_TYPE, client_info(c, None, false), &o, now),
                expires: rfc3339_nano(deadline),
                expires_in_secs: deadline.duration_since(now).unwrap_or_default().as_secs(),
                lifetime_secs: lifetime.as_secs(),
            };
            serde_json::to_string(&e).unwrap_or_default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_like_go_rfc3339_nano() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20.12Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 0);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 1);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20.000000001Z");
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH - Duration::new(1, 500_000_000);
        assert_eq!(rfc3339_nano(t), "1969-12-31T23:59:58.5Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // a leap day
        assert_eq!(rfc3339_nano(t), "2000-02-29T00:00:00Z");
    }

    /// Past year 9999 (an operator JWT with `"exp": 999999999999`): Go prints the longer year;
    /// the formatter must not panic.
    #[test]
    fn far_future_times_do_not_panic() {
        let t = UNIX_EPOCH + Duration::from_secs(999_999_999_999);
        assert_eq!(rfc3339_nano(t), "33658-09-27T01:46:39Z");
        let t = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
        assert!(!rfc3339_nano(t).is_empty());
    }
}
