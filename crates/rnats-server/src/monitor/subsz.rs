//! `/subsz` (also `/subscriptionsz`): subscription index statistics and, with `subs=1`, the
//! subscriptions themselves (nats-server `Subsz`, `SubszOptions`, `SubDetail`).
//!
//! Model: every account has its own index; the statistics are the sum over the accounts
//! selected (`acc=`) as the reference's `SublistStats.add` computes them — counts add up, the
//! maximum fanout is the largest, the average fanout and the cache hit rate are recomputed from
//! the summed totals. The list is every subscription of those accounts, filtered by `test=` (a
//! literal subject the subscription would match), then paged by `offset`/`limit`; `total` is the
//! count after filtering.

use super::{Query, rfc3339};
use crate::account::Account;
use crate::server::Server;
use crate::sublist::StatsSnapshot;
use rnats_proto::subject::{is_valid_literal_subject, matches};
use serde::{Deserialize, Serialize};

pub use super::connz::SubDetail;
use std::sync::atomic::Ordering;

/// The reference's `DefaultSubListSize`.
pub const DEFAULT_LIMIT: i64 = 1024;

/// What `/subsz` (and `$SYS.REQ.SERVER.PING.SUBSZ`, whose JSON is Go's `SubszEventOptions`)
/// asks for.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct SubszOptions {
    pub offset: i64,
    pub limit: i64,
    /// List the subscriptions (`subs=1`).
    pub subscriptions: bool,
    /// Only this account (`acc=`).
    pub account: String,
    /// Only subscriptions a message on this literal subject would reach (`test=`).
    pub test: String,
}

impl SubszOptions {
    /// From the HTTP query (`subs`, `offset`, `limit`, `test`, `acc`), with the reference's
    /// 400 texts for malformed values.
    pub fn from_query(q: &Query) -> Result<Self, String> {
        Ok(SubszOptions {
            subscriptions: q.bool("subs")?,
            offset: q.int_strict("offset")?,
            limit: q.int_strict("limit")?,
            test: q.get("test").unwrap_or_default().to_string(),
            account: q.get("acc").unwrap_or_default().to_string(),
        })
    }

    /// The reference refuses a `test` subject that is not a valid publish subject.
    pub fn validate(&self) -> Result<(), String> {
        if !self.test.is_empty() && !is_valid_literal_subject(self.test.as_bytes()) {
            return Err(format!(
                "invalid test subject, must be valid publish subject: {}",
                self.test
            ));
        }
        Ok(())
    }
}

/// nats-server `SublistStats` as JSON.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct SublistStatsJson {
    pub num_subscriptions: u64,
    pub num_cache: u64,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u64,
    pub avg_fanout: f64,
    #[serde(skip)]
    cache_hits: u64,
    #[serde(skip)]
    total_fanout: u64,
}

impl SublistStatsJson {
    /// Add one index's counters (`SublistStats.add`).
    pub fn add(&mut self, st: &StatsSnapshot) {
        self.num_subscriptions += st.subscriptions;
        self.num_cache += st.cache_len;
        self.num_inserts += st.inserts;
        self.num_removes += st.removes;
        self.num_matches += st.matches;
        self.cache_hits += st.cache_hits;
        self.max_fanout = self.max_fanout.max(st.max_fanout);
        self.total_fanout += st.total_fanout;
        if self.total_fanout > 0 && self.num_cache > 0 {
            self.avg_fanout = self.total_fanout as f64 / self.num_cache as f64;
        }
        if self.num_matches > 0 {
            self.cache_hit_rate = self.cache_hits as f64 / self.num_matches as f64;
        }
    }

    /// The statistics of one account's index.
    pub fn of(acc: &Account) -> Self {
        let mut s = SublistStatsJson::default();
        s.add(&acc.sublist.snapshot());
        s
    }
}

impl SubDetail {
    /// The detail of one subscription (`newSubDetail`); `msgs` is what it received.
    pub fn of(acc: &Account, tag: &str, sub: &crate::client::Subscription) -> Self {
        let max = sub.max.load(Ordering::Relaxed);
        let mut n = sub.delivered.load(Ordering::Relaxed);
        if max > 0 {
            n = n.min(max);
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        SubDetail {
            account: acc.name.clone(),
            account_tag: tag.to_string(),
            subject: text(&sub.subject),
            queue: sub.queue.as_deref().map(text).unwrap_or_default(),
            sid: text(&sub.sid),
            msgs: n,
            max,
            cid: sub.client.cid,
        }
    }
}

/// The `/subsz` answer.
#[derive(Debug, Serialize)]
pub struct Subsz {
    pub server_id: String,
    pub now: String,
    #[serde(flatten)]
    pub stats: SublistStatsJson,
    pub total: usize,
    pub offset: i64,
    pub limit: i64,
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Option::is_none")]
    pub subs: Option<Vec<SubDetail>>,
}

/// [`subsz`], refusing what the reference refuses (an invalid `test` subject).
pub fn checked(s: &Server, o: &SubszOptions) -> Result<Subsz, String> {
    o.validate()?;
    Ok(subsz(s, o))
}

/// The `/subsz` answer for `o` (an invalid `test` subject matches nothing; see
/// [`SubszOptions::validate`]).
pub fn subsz(s: &Server, o: &SubszOptions) -> Subsz {
    let offset = o.offset.max(0);
    let limit = if o.limit <= 0 { DEFAULT_LIMIT } else { o.limit };
    let accounts: Vec<_> = s
        .accounts()
        .into_iter()
        .filter(|a| o.account.is_empty() || a.name == o.account)
        .collect();
    let mut stats = SublistStatsJson::default();
    for a in &accounts {
        stats.add(&a.sublist.snapshot());
    }
    let mut sz = Subsz {
        server_id: s.id.clone(),
        now: rfc3339(std::time::SystemTime::now()),
        stats,
        total: 0,
        offset,
        limit,
        subs: None,
    };
    if !o.subscriptions {
        return sz;
    }
    let test = (!o.test.is_empty()).then_some(o.test.as_bytes());
    let valid_test = o.validate().is_ok();
    let mut details = Vec::new();
    for a in &accounts {
        let tag = super::accountz::name_tag(s, a);
        let mut subs = a.sublist.all();
        subs.sort_by_key(|x| x.id);
        for sub in subs {
            if let Some(t) = test
                && !(valid_test && matches(&sub.subject, t))
            {
                continue;
            }
            details.push(SubDetail::of(a, &tag, &sub));
        }
    }
    sz.total = details.len();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(details.len());
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    sz.subs = Some(details.into_iter().skip(start).take(take).collect());
    sz
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(subs: u64, cache: u64, matches: u64, hits: u64, max: u64, tot: u64) -> StatsSnapshot {
        StatsSnapshot {
            subscriptions: subs,
            cache_len: cache,
            inserts: subs + 1,
            removes: 1,
            matches,
            cache_hits: hits,
            max_fanout: max,
            total_fanout: tot,
        }
    }

    #[test]
    fn stats_add_like_the_reference() {
        let mut s = SublistStatsJson::default();
        s.add(&snap(3, 2, 4, 1, 2, 3));
        s.add(&snap(5, 2, 4, 3, 1, 1));
        assert_eq!(s.num_subscriptions, 8);
        assert_eq!(s.num_cache, 4);
        assert_eq!(s.num_inserts, 10);
        assert_eq!(s.num_removes, 2);
        assert_eq!(s.num_matches, 8);
        assert_eq!(s.cache_hit_rate, 0.5);
        assert_eq!(s.max_fanout, 2);
        assert_eq!(s.avg_fanout, 1.0);
        let v = serde_json::to_value(&s).unwrap_or_default();
        assert!(v.get("cache_hits").is_none(), "internal fields stay hidden");
    }

    #[test]
    fn options_from_query_and_json() {
        let q = Query::parse(Some("subs=1&offset=2&limit=3&test=a.b&acc=A"));
        let o = SubszOptions::from_query(&q).unwrap_or_default();
        assert_eq!(
            o,
            SubszOptions {
                offset: 2,
                limit: 3,
                subscriptions: true,
                account: "A".into(),
                test: "a.b".into()
            }
        );
        let bad = SubszOptions::from_query(&Query::parse(Some("subs=x")));
        assert_eq!(
            bad.err().as_deref(),
            Some(
                "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": invalid syntax"
            )
        );
        let j: SubszOptions = serde_json::from_str(
            r#"{"offset":1,"limit":2,"subscriptions":true,"account":"A","test":"x","server_name":"n"}"#,
        )
        .unwrap_or_default();
        assert_eq!((j.offset, j.limit, j.subscriptions), (1, 2, true));
        assert_eq!((j.account.as_str(), j.test.as_str()), ("A", "x"));
        let t = SubszOptions {
            test: "a.*".into(),
            ..Default::default()
        };
        assert_eq!(
            t.validate().err().as_deref(),
            Some("invalid test subject, must be valid publish subject: a.*")
        );
    }
}
