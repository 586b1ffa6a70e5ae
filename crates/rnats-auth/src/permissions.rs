//! Per-user publish/subscribe permissions (nats-server `client.go` `pubAllowedFullCheck`,
//! `canSubscribe`, `checkDenySub`).
//!
//! Rules are subjects, possibly with wildcards; a rule matches a subject exactly as a subscription
//! would (`rnats_proto::subject::matches`, the router's own definition). Subscribe rules may carry
//! a queue (`"foo v1"`). An absent allow list allows everything; a present-but-empty one allows
//! nothing (it only arises from `allow_responses`, as in the reference).

use rnats_proto::subject::{has_wildcard, matches};
use std::time::Duration;

/// One rule: a subject and, for subscribe rules, an optional queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub subject: String,
    pub queue: Option<String>,
}

impl Rule {
    /// Parse `"subject"` or `"subject queue"`.
    pub fn parse(s: &str) -> Rule {
        let mut it = s.split_whitespace();
        let subject = it.next().unwrap_or("").to_string();
        let queue = it.next().map(str::to_string);
        Rule { subject, queue }
    }
}

/// Allow and deny lists for one direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectPermission {
    /// `None`: no allow list (everything allowed unless denied).
    pub allow: Option<Vec<Rule>>,
    pub deny: Vec<Rule>,
}

/// `allow_responses`: a connection that received a request may publish up to `max` replies to
/// its reply subject within `expires`. Negative values mean unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePermission {
    pub max: i64,
    pub expires: Option<Duration>,
}

impl Default for ResponsePermission {
    /// `allow_responses: true` = one reply within two minutes.
    fn default() -> Self {
        ResponsePermission {
            max: 1,
            expires: Some(Duration::from_secs(120)),
        }
    }
}

/// A user's permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    pub publish: Option<SubjectPermission>,
    pub subscribe: Option<SubjectPermission>,
    pub response: Option<ResponsePermission>,
}

fn queue_matches(rule: &str, queue: &str) -> bool {
    if has_wildcard(rule.as_bytes()) {
        matches(rule.as_bytes(), queue.as_bytes())
    } else {
        rule == queue
    }
}

impl Permissions {
    /// The static publish check (dynamic reply grants are the caller's state).
    pub fn can_publish(&self, subject: &[u8]) -> bool {
        let Some(p) = &self.publish else {
            return true;
        };
        let allowed = p
            .allow
            .as_ref()
            .is_none_or(|a| a.iter().any(|r| matches(r.subject.as_bytes(), subject)));
        allowed
            && !p
                .deny
                .iter()
                .any(|r| matches(r.subject.as_bytes(), subject))
    }

    /// May this connection subscribe to `subject` (with `queue`)?
    pub fn can_subscribe(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let Some(p) = &self.subscribe else {
            return true;
        };
        let queue = queue.map(|q| String::from_utf8_lossy(q).into_owned());
        if let Some(allow) = &p.allow {
            let plain_ok = allow
                .iter()
                .filter(|r| r.queue.is_none())
                .any(|r| matches(r.subject.as_bytes(), subject));
            let ok = match &queue {
                None => plain_ok,
                Some(q) => {
                    let mut qrules = allow
                        .iter()
                        .filter(|r| r.queue.is_some() && matches(r.subject.as_bytes(), subject))
                        .peekable();
                    if qrules.peek().is_some() {
                        qrules.any(|r| queue_matches(r.queue.as_deref().unwrap_or(""), q))
                    } else {
                        plain_ok
                    }
                }
            };
            if !ok {
                return false;
            }
        }
        for r in &p.deny {
            if !matches(r.subject.as_bytes(), subject) {
                continue;
            }
            match (&r.queue, &queue) {
                (None, _) => return false,
                (Some(rq), Some(q)) if queue_matches(rq, q) => return false,
                _ => {}
            }
        }
        true
    }

    /// Whether a message on `subject` must not be delivered to this connection (subscribe deny
    /// rules applied at delivery time, for wildcard subscriptions that overlap a deny rule).
    pub fn deny_delivery(&self, subject: &[u8]) -> bool {
        self.subscribe.as_ref().is_some_and(|p| {
            p.deny
                .iter()
                .any(|r| r.queue.is_none() && matches(r.subject.as_bytes(), subject))
        })
    }

    /// Whether any subscribe deny rule exists (so deliveries need [`Self::deny_delivery`]).
    pub fn has_sub_deny(&self) -> bool {
        self.subscribe.as_ref().is_some_and(|p| !p.deny.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(allow: Option<&[&str]>, deny: &[&str]) -> SubjectPermission {
        SubjectPermission {
            allow: allow.map(|a| a.iter().map(|s| Rule::parse(s)).collect()),
            deny: deny.iter().map(|s| Rule::parse(s)).collect(),
        }
    }

    #[test]
    fn publish_rules() {
        let p = Permissions {
            publish: Some(perm(Some(&["foo.>", "bar"]), &["foo.secret"])),
            ..Default::default()
        };
        assert!(p.can_publish(b"foo.a"));
        assert!(p.can_publish(b"bar"));
        assert!(!p.can_publish(b"baz"));
        assert!(!p.can_publish(b"foo.secret"));
        let none = Permissions {
            publish: Some(perm(Some(&[]), &[])),
            ..Default::default()
        };
        assert!(!none.can_publish(b"x"));
    }

    #[test]
    fn subscribe_rules_with_queues() {
        let plain = Permissions {
            subscribe: Some(perm(Some(&["foo"]), &[])),
            ..Default::default()
        };
        assert!(plain.can_subscribe(b"foo", None));
        assert!(plain.can_subscribe(b"foo", Some(b"any")));
        assert!(!plain.can_subscribe(b"foo.*", None));
        let qonly = Permissions {
            subscribe: Some(perm(Some(&["foo v1"]), &[])),
            ..Default::default()
        };
        assert!(!qonly.can_subscribe(b"foo", None));
        assert!(qonly.can_subscribe(b"foo", Some(b"v1")));
        assert!(!qonly.can_subscribe(b"foo", Some(b"v2")));
        let both = Permissions {
            subscribe: Some(perm(Some(&["foo", "foo v1"]), &[])),
            ..Default::default()
        };
        assert!(both.can_subscribe(b"foo", None));
        assert!(!both.can_subscribe(b"foo", Some(b"v2")));
        let wide = Permissions {
            subscribe: Some(perm(Some(&["a.>"]), &["a.hidden", "a.q bad"])),
            ..Default::default()
        };
        assert!(wide.can_subscribe(b"a.*", None));
        assert!(!wide.can_subscribe(b"a.hidden", None));
        assert!(!wide.can_subscribe(b"a.q", Some(b"bad")));
        assert!(wide.can_subscribe(b"a.q", Some(b"good")));
        assert!(wide.deny_delivery(b"a.hidden"));
        assert!(!wide.deny_delivery(b"a.vis"));
    }
}
