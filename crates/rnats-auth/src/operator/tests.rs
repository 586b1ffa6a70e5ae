//! Decision table for the connect-time JWT check: one minted chain, one case per reason.

use super::*;
use crate::jwt::mint::{claims, encode};
use crate::jwt::time::{IatPolicy, unix};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

mod time_tables;

const NOW: i64 = 1_800_000_000;
const NONCE: &str = "abcdefghijklmno";

struct Chain {
    op: nkeys::KeyPair,
    acc: nkeys::KeyPair,
    sk: nkeys::KeyPair,
    user: nkeys::KeyPair,
    trust: Trust,
    accounts: HashMap<String, Arc<AccountClaims>>,
}

impl AccountSource for Chain {
    fn account(&self, id: &str) -> Result<Arc<AccountClaims>, AuthFailure> {
        self.accounts
            .get(id)
            .cloned()
            .ok_or_else(|| AuthFailure::AccountUnknown(id.to_string()))
    }
}

impl Chain {
    fn new(account_nats: Value) -> Chain {
        let op = nkeys::KeyPair::new_operator();
        let acc = nkeys::KeyPair::new_account();
        let sk = nkeys::KeyPair::new_account();
        let user = nkeys::KeyPair::new_user();
        let mut c = Chain {
            trust: Trust {
                keys: vec![op.public_key()],
                ..Trust::default()
            },
            op,
            acc,
            sk,
            user,
            accounts: HashMap::new(),
        };
        c.set_account(account_nats);
        c
    }

    fn set_account(&mut self, mut nats: Value) {
        if nats.get("signing_keys").is_none() {
            nats["signing_keys"] = json!([self.sk.public_key()]);
        }
        let jwt = encode(
            claims("account", &self.acc.public_key(), "ACC", NOW - 100, nats),
            &self.op,
        )
        .expect("account");
        let ac = self.trust.verify_account(&jwt).expect("verifies");
        self.accounts.insert(self.acc.public_key(), Arc::new(ac));
    }

    fn user_jwt(&self, extra: Value, signer: &nkeys::KeyPair) -> String {
        let mut c = claims(
            "user",
            &self.user.public_key(),
            "bob",
            NOW - 10,
            json!({"subs": -1, "payload": -1}),
        );
        if let (Some(o), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                if k == "nats" {
                    for (nk, nv) in v.as_object().into_iter().flatten() {
                        o["nats"][nk] = nv.clone();
                    }
                } else {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        encode(c, signer).expect("user")
    }

    fn sig(&self) -> String {
        let s = self.user.sign(NONCE.as_bytes()).expect("sign");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn connect(&self, jwt: &str, sig: Option<&str>, at: i64) -> Result<JwtUser, AuthFailure> {
        self.connect_with(jwt, sig, unix(at), &TimePolicy::default())
    }

    fn connect_with(
        &self,
        jwt: &str,
        sig: Option<&str>,
        at: SystemTime,
        policy: &TimePolicy,
    ) -> Result<JwtUser, AuthFailure> {
        let c = UserConnect {
            jwt: Some(jwt),
            sig,
            nonce: Some(NONCE),
            ip: Some("127.0.0.1".parse().expect("ip")),
            connection_type: "STANDARD",
            skip_signature: false,
        };
        authenticate_user(&c, self, &self.trust, at, policy)
    }
}

fn ok_account() -> Value {
    json!({"limits": {"conn": -1, "subs": -1, "payload": -1}})
}

#[test]
fn valid_user_and_its_deadline() {
    let c = Chain::new(ok_account());
    let jwt = c.user_jwt(
        json!({"exp": NOW + 60, "nats": {"pub": {"allow": ["a.>"]}}}),
        &c.acc,
    );
    let u = c.connect(&jwt, Some(&c.sig()), NOW).expect("accepted");
    assert_eq!(u.account, c.acc.public_key());
    assert_eq!(u.deadline, Some(unix(NOW + 60)));
    assert_eq!((u.max_subs, u.max_payload), (-1, -1));
    assert!(u.permissions.expect("perms").can_publish(b"a.x"));
}

#[test]
fn each_reason() {
    let c = Chain::new(ok_account());
    let sig = c.sig();
    let s = Some(sig.as_str());
    let expired = c.user_jwt(json!({"exp": NOW}), &c.acc);
    let err = c
        .connect(&expired, s, NOW)
        .map(|_| ())
        .expect_err("rejected");
    assert_eq!(err.code(), "expired");
    assert_eq!(
        err.time().map(|t| t.err),
        Some(TimeError::Expired { by: Duration::ZERO })
    );
    let early = c.user_jwt(json!({"nbf": NOW + 3}), &c.acc);
    let err = c.connect(&early, s, NOW).map(|_| ()).expect_err("rejected");
    assert_eq!(err.code(), "not_yet_valid");
    assert_eq!(
        err.time().map(|t| t.err),
        Some(TimeError::NotYetValid {
            in_: Duration::from_secs(3)
        })
    );
    assert!(matches!(
        c.connect("garbage", s, NOW),
        Err(AuthFailure::JwtRequired(_))
    ));
    // Signed by a key the account does not list.
    let stranger = nkeys::KeyPair::new_account();
    let by_stranger = c.user_jwt(
        json!({"nats": {"issuer_account": c.acc.public_key()}}),
        &stranger,
    );
    assert!(matches!(
        c.connect(&by_stranger, s, NOW),
        Err(AuthFailure::IssuerNotSigningKey(_))
    ));
    // A signing key without issuer_account: the key is taken for the account id.
    let no_ia = c.user_jwt(json!({}), &c.sk);
    assert!(matches!(
        c.connect(&no_ia, s, NOW),
        Err(AuthFailure::AccountUnknown(_))
    ));
    let via_sk = c.user_jwt(
        json!({"nats": {"issuer_account": c.acc.public_key()}}),
        &c.sk,
    );
    assert!(c.connect(&via_sk, s, NOW).is_ok());
    // Signatures.
    let plain = c.user_jwt(json!({}), &c.acc);
    assert_eq!(
        c.connect(&plain, None, NOW).map(|_| ()),
        Err(AuthFailure::NkeySignatureMissing)
    );
    let other = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        nkeys::KeyPair::new_user()
            .sign(NONCE.as_bytes())
            .expect("s"),
    );
    assert!(matches!(
        c.connect(&plain, Some(&other), NOW),
        Err(AuthFailure::NkeySignatureInvalid(_))
    ));
    // Bearer: no signature needed, a wrong one ignored.
    let bearer = c.user_jwt(json!({"nats": {"bearer_token": true}}), &c.acc);
    assert!(c.connect(&bearer, None, NOW).is_ok());
    assert!(c.connect(&bearer, Some(&other), NOW).is_ok());
    // Connection types, sources, windows.
    let ws_only = c.user_jwt(
        json!({"nats": {"allowed_connection_types": ["WEBSOCKET"]}}),
        &c.acc,
    );
    assert_eq!(
        c.connect(&ws_only, s, NOW).map(|_| ()),
        Err(AuthFailure::ConnectionTypeNotAllowed)
    );
    let bogus_types = c.user_jwt(
        json!({"nats": {"allowed_connection_types": ["BOGUS"]}}),
        &c.acc,
    );
    assert_eq!(
        c.connect(&bogus_types, s, NOW).map(|_| ()),
        Err(AuthFailure::ConnectionTypeNotAllowed)
    );
    let far = c.user_jwt(json!({"nats": {"src": "10.0.0.0/8"}}), &c.acc);
    assert_eq!(
        c.connect(&far, s, NOW).map(|_| ()),
        Err(AuthFailure::SourceNotAllowed)
    );
    let near = c.user_jwt(
        json!({"nats": {"src": ["10.0.0.0/8", "127.0.0.0/8"]}}),
        &c.acc,
    );
    assert!(c.connect(&near, s, NOW).is_ok());
    // NOW is 2027-01-15T08:00:00Z.
    let window = c.user_jwt(
        json!({"nats": {"times": [{"start": "07:00:00", "end": "09:00:00"}]}}),
        &c.acc,
    );
    let u = c.connect(&window, s, NOW).expect("inside the window");
    assert_eq!(u.deadline, Some(unix(NOW + 3600)));
    let closed = c.user_jwt(
        json!({"nats": {"times": [{"start": "10:00:00", "end": "11:00:00"}]}}),
        &c.acc,
    );
    assert_eq!(
        c.connect(&closed, s, NOW).map(|_| ()),
        Err(AuthFailure::OutsideTimes)
    );
}

#[test]
fn missing_limits_are_zero_and_account_limits_cap() {
    let c = Chain::new(json!({"limits": {"subs": 10}}));
    let bare = encode(
        claims("user", &c.user.public_key(), "u", NOW, json!({})),
        &c.acc,
    )
    .expect("u");
    let u = c.connect(&bare, Some(&c.sig()), NOW).expect("accepted");
    assert_eq!((u.max_subs, u.max_payload), (0, 0));
    let unlimited = c.user_jwt(json!({}), &c.acc);
    let u = c
        .connect(&unlimited, Some(&c.sig()), NOW)
        .expect("accepted");
    assert_eq!((u.max_subs, u.max_payload), (10, 0));
}

#[test]
fn revocations_bearer_policy_and_account_expiry() {
    let mut c = Chain::new(ok_account());
    let jwt = c.user_jwt(json!({}), &c.acc);
    let sig = c.sig();
    // Revoked when iat <= the revocation time (the same second included).
    c.set_account(json!({"limits": {"conn": -1}, "revocations": {c.user.public_key(): NOW - 10}}));
    assert_eq!(
        c.connect(&jwt, Some(&sig), NOW).map(|_| ()),
        Err(AuthFailure::Revoked)
    );
    c.set_account(json!({"limits": {"conn": -1}, "revocations": {"*": NOW - 11}}));
    assert!(c.connect(&jwt, Some(&sig), NOW).is_ok());
    c.set_account(json!({"limits": {"disallow_bearer": true}}));
    let bearer = c.user_jwt(json!({"nats": {"bearer_token": true}}), &c.acc);
    assert_eq!(
        c.connect(&bearer, None, NOW).map(|_| ()),
        Err(AuthFailure::BearerNotAllowed)
    );
    // An expired account.
    let mut nats = ok_account();
    nats["signing_keys"] = json!([]);
    let jwt_a = encode(
        {
            let mut cl = claims("account", &c.acc.public_key(), "ACC", NOW - 100, nats);
            cl["exp"] = json!(NOW - 1);
            cl
        },
        &c.op,
    )
    .expect("a");
    let ac = c.trust.verify_account(&jwt_a).expect("verifies");
    c.accounts.insert(c.acc.public_key(), Arc::new(ac));
    let err = c
        .connect(&jwt, Some(&sig), NOW)
        .map(|_| ())
        .expect_err("rejected");
    assert_eq!(err.code(), "account_expired");
    assert_eq!(
        err.time().map(|t| t.err),
        Some(TimeError::Expired {
            by: Duration::from_secs(1)
        })
    );
}

#[test]
fn scoped_signing_keys_apply_their_template() {
    let mut c = Chain::new(ok_account());
    let scope = json!([{ "kind": "user_scope", "key": c.sk.public_key(), "role": "dev",
        "template": {"pub": {"allow": ["scoped.>", "{{name()}}.>"]}, "subs": 3, "payload": 50} }]);
    c.set_account(
        json!({"limits": {"conn": -1, "subs": -1, "payload": -1}, "signing_keys": scope}),
    );
    let ia = json!({"nats": {"issuer_account": c.acc.public_key()}});
    let bare = encode(
        {
            let mut cl = claims("user", &c.user.public_key(), "bob", NOW, json!({}));
            cl["nats"]["issuer_account"] = json!(c.acc.public_key());
            cl
        },
        &c.sk,
    )
    .expect("u");
    let u = c
        .connect(&bare, Some(&c.sig()), NOW)
        .expect("scoped user accepted");
    let p = u.permissions.expect("template permissions");
    assert!(p.can_publish(b"scoped.x") && p.can_publish(b"bob.x") && !p.can_publish(b"other"));
    assert_eq!((u.max_subs, u.max_payload), (3, 50));
    // A scoped user may not bring its own limits.
    let with_limits = c.user_jwt(ia, &c.sk);
    assert_eq!(
        c.connect(&with_limits, Some(&c.sig()), NOW).map(|_| ()),
        Err(AuthFailure::ScopedUserHasLimits)
    );
}

#[test]
fn strict_operators_and_untrusted_accounts() {
    // A strict operator: only its signing key is trusted, and an account it issues may sign
    // users only with the account's signing keys (nats-server `strictSigningKeyUsage`).
    let mut c = Chain::new(ok_account());
    let o = nkeys::KeyPair::new_operator();
    let osk = nkeys::KeyPair::new_operator();
    let op_jwt = encode(
        claims(
            "operator",
            &o.public_key(),
            "OP",
            NOW - 100,
            json!({"signing_keys": [osk.public_key()], "strict_signing_key_usage": true}),
        ),
        &o,
    )
    .expect("operator");
    let (trust, _) =
        Trust::from_operators(&[op_jwt], unix(NOW), &TimePolicy::default()).expect("trusted");
    assert_eq!(trust.keys, [osk.public_key()]);
    c.trust = trust;
    c.op = osk;
    c.set_account(ok_account());
    let sig = c.sig();
    let own = c.user_jwt(json!({}), &c.acc);
    assert!(matches!(
        c.connect(&own, Some(&sig), NOW),
        Err(AuthFailure::IssuerNotSigningKey(_))
    ));
    let by_sk = c.user_jwt(
        json!({"nats": {"issuer_account": c.acc.public_key()}}),
        &c.sk,
    );
    assert!(c.connect(&by_sk, Some(&sig), NOW).is_ok());
    // An account signed by an unknown operator does not verify.
    let rogue = nkeys::KeyPair::new_operator();
    let a = encode(
        claims("account", &c.acc.public_key(), "A", NOW, json!({})),
        &rogue,
    )
    .expect("a");
    assert!(matches!(
        c.trust.verify_account(&a),
        Err(AuthFailure::AccountInvalid(_))
    ));
}

#[test]
fn pinned_accounts() {
    let mut c = Chain::new(ok_account());
    let jwt = c.user_jwt(json!({}), &c.acc);
    let sig = c.sig();
    c.trust.pinned = vec!["AOTHER".into()];
    assert!(matches!(
        c.connect(&jwt, Some(&sig), NOW),
        Err(AuthFailure::AccountNotPinned(_))
    ));
    c.trust.pinned.push(c.acc.public_key());
    assert!(c.connect(&jwt, Some(&sig), NOW).is_ok());
}

#[test]
fn activation_revocations_and_kind() {
    let (exporter, ex) = exporter_account(NOW - 500);
    let importer = nkeys::KeyPair::new_account().public_key();
    let token = |kind: &str| {
        encode(
            claims(
                "activation",
                &importer,
                "a",
                NOW - 100,
                json!({"subject": "svc.>", "kind": kind}),
            ),
            &exporter,
        )
        .expect("act")
    };
    let valid = |token: &str, kind: &str, revs: &[(&str, i64)]| {
        let revs = revs.iter().map(|(k, t)| (k.to_string(), *t)).collect();
        activation_valid(
            token,
            &ex,
            &revs,
            &importer,
            kind,
            "svc.x",
            unix(NOW),
            &TimePolicy::default(),
        )
    };
    let service = token("service");
    assert!(valid(&service, "service", &[]));
    // An older own entry does not hide a newer "*".
    assert!(!valid(
        &service,
        "service",
        &[(&importer, NOW - 200), ("*", NOW - 50)]
    ));
    assert!(!valid(
        &service,
        "service",
        &[(&importer, NOW - 50), ("*", NOW - 200)]
    ));
    assert!(valid(
        &service,
        "service",
        &[(&importer, NOW - 200), ("*", NOW - 150)]
    ));
    // The token's kind must be the import's.
    assert!(!valid(&service, "stream", &[]));
    assert!(!valid(&token("stream"), "service", &[]));
    assert!(!valid(&token(""), "service", &[]));
}

/// An operator JWT whose `signing_keys` lists something other than an operator public key is
/// refused (nats-server will not start: "trusted Keys ... are required to be a valid public
/// operator nkey").
#[test]
fn operator_signing_keys_must_be_operator_keys() {
    let o = nkeys::KeyPair::new_operator();
    let jwt_with = |keys: Value| {
        encode(
            claims(
                "operator",
                &o.public_key(),
                "OP",
                NOW - 100,
                json!({"signing_keys": keys}),
            ),
            &o,
        )
        .expect("o")
    };
    let account = nkeys::KeyPair::new_account().public_key();
    for bad in [json!([account]), json!(["OBOGUS"]), json!([""])] {
        assert!(
            matches!(
                Trust::from_operators(&[jwt_with(bad.clone())], unix(NOW), &TimePolicy::default()),
                Err(TrustError::BadKey(_))
            ),
            "{bad}"
        );
    }
    let good = nkeys::KeyPair::new_operator().public_key();
    let (t, _) = Trust::from_operators(
        &[jwt_with(json!([good]))],
        unix(NOW),
        &TimePolicy::default(),
    )
    .expect("trusted");
    assert!(t.is_trusted(&good));
}

/// An account (the exporter) with no exports declared, verified under a fresh operator.
fn exporter_account(iat: i64) -> (nkeys::KeyPair, AccountClaims) {
    let op = nkeys::KeyPair::new_operator();
    let exporter = nkeys::KeyPair::new_account();
    let trust = Trust {
        keys: vec![op.public_key()],
        ..Trust::default()
    };
    let jwt = encode(
        claims("account", &exporter.public_key(), "EX", iat, json!({})),
        &op,
    )
    .expect("ex");
    let ex = trust.verify_account(&jwt).expect("verifies");
    (exporter, ex)
}
