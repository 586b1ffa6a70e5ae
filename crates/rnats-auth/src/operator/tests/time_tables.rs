//! Boundary tables for each token kind through the code that checks it: user JWTs (with and
//! without bearer), account JWTs, activation tokens and operator JWTs, at
//! `exp-1, exp, exp+L-1, exp+L, exp+L+1` and the same around `nbf`, with a manual "now".

use super::*;

const L: i64 = 5;
const EXP: i64 = NOW + 100;

fn leeway() -> TimePolicy {
    TimePolicy {
        nbf_leeway: Duration::from_secs(L as u64),
        exp_leeway: Duration::from_secs(L as u64),
        iat_future: IatPolicy::Reject,
    }
}

/// (now, accepted?) around `exp` with leeway `l`.
fn exp_table(l: i64) -> [(i64, bool); 5] {
    [
        (EXP - 1, true),
        (EXP, l > 0),
        (EXP + l - 1, true),
        (EXP + l, false),
        (EXP + l + 1, false),
    ]
}

/// (now, accepted?) around `nbf` with leeway `l` (valid from `nbf - l`).
fn nbf_table(nbf: i64, l: i64) -> [(i64, bool); 5] {
    [
        (nbf - l - 1, false),
        (nbf - l, true),
        (nbf - 1, l > 0),
        (nbf, true),
        (nbf + 1, true),
    ]
}

#[test]
fn user_tokens() {
    let c = Chain::new(ok_account());
    let sig = c.sig();
    for (policy, l) in [(TimePolicy::default(), 0), (leeway(), L)] {
        let jwt = c.user_jwt(json!({"exp": EXP}), &c.acc);
        for (now, ok) in exp_table(l) {
            let got = c.connect_with(&jwt, Some(&sig), unix(now), &policy);
            assert_eq!(got.is_ok(), ok, "exp{:+} L={l}: {got:?}", now - EXP);
            if let Ok(u) = got {
                assert_eq!(
                    u.deadline,
                    Some(unix(EXP + l)),
                    "timer armed from the same rule"
                );
            } else {
                assert_eq!(got.map(|_| ()).expect_err("rejected").code(), "expired");
            }
        }
        let nbf = NOW + 50;
        let jwt = c.user_jwt(json!({"nbf": nbf, "iat": nbf}), &c.acc);
        for (now, ok) in nbf_table(nbf, l) {
            let got = c.connect_with(&jwt, Some(&sig), unix(now), &policy);
            assert_eq!(got.is_ok(), ok, "nbf{:+} L={l}: {got:?}", now - nbf);
            if let Err(e) = got {
                assert_eq!(e.code(), "not_yet_valid");
            }
        }
    }
}

#[test]
fn bearer_user_tokens_get_no_exp_leeway() {
    let c = Chain::new(ok_account());
    let jwt = c.user_jwt(json!({"exp": EXP, "nats": {"bearer_token": true}}), &c.acc);
    for (now, ok) in exp_table(0) {
        let got = c.connect_with(&jwt, None, unix(now), &leeway());
        assert_eq!(got.is_ok(), ok, "bearer exp{:+}: {got:?}", now - EXP);
        if let Ok(u) = got {
            assert_eq!(u.deadline, Some(unix(EXP)));
        }
    }
    // The nbf leeway still applies (it cannot extend a token's life).
    let nbf = NOW + 50;
    let jwt = c.user_jwt(json!({"nbf": nbf, "nats": {"bearer_token": true}}), &c.acc);
    for (now, ok) in nbf_table(nbf, L) {
        let got = c.connect_with(&jwt, None, unix(now), &leeway());
        assert_eq!(got.is_ok(), ok, "bearer nbf{:+}: {got:?}", now - nbf);
    }
}

#[test]
fn scoped_keys_that_make_bearers_get_no_exp_leeway() {
    let mut c = Chain::new(ok_account());
    let scope = json!([{ "kind": "user_scope", "key": c.sk.public_key(), "role": "b",
        "template": {"bearer_token": true} }]);
    c.set_account(
        json!({"limits": {"conn": -1, "subs": -1, "payload": -1}, "signing_keys": scope}),
    );
    let jwt = c.user_jwt(
        json!({"exp": EXP, "nats": {"subs": 0, "payload": 0}}),
        &c.sk,
    );
    // Strip the user's own limits: a scoped user carries none.
    let jwt = {
        let _ = jwt;
        let mut cl = claims("user", &c.user.public_key(), "bob", NOW - 10, json!({}));
        cl["exp"] = json!(EXP);
        cl["nats"]["issuer_account"] = json!(c.acc.public_key());
        encode(cl, &c.sk).expect("user")
    };
    let got = c.connect_with(&jwt, None, unix(EXP), &leeway());
    assert_eq!(got.map(|_| ()).map_err(|e| e.code()), Err("expired"));
    assert!(c.connect_with(&jwt, None, unix(EXP - 1), &leeway()).is_ok());
}

#[test]
fn account_tokens() {
    for (policy, l) in [(TimePolicy::default(), 0), (leeway(), L)] {
        let mut c = Chain::new(ok_account());
        let jwt_a = encode(
            {
                let mut cl = claims(
                    "account",
                    &c.acc.public_key(),
                    "ACC",
                    NOW - 100,
                    ok_account(),
                );
                cl["exp"] = json!(EXP);
                cl
            },
            &c.op,
        )
        .expect("a");
        let ac = c.trust.verify_account(&jwt_a).expect("verifies");
        c.accounts.insert(c.acc.public_key(), Arc::new(ac));
        let sig = c.sig();
        let user = c.user_jwt(json!({}), &c.acc);
        for (now, ok) in exp_table(l) {
            let got = c.connect_with(&user, Some(&sig), unix(now), &policy);
            assert_eq!(got.is_ok(), ok, "account exp{:+} L={l}: {got:?}", now - EXP);
            match got {
                Ok(u) => assert_eq!(u.account_deadline, Some(unix(EXP + l))),
                Err(e) => assert_eq!(e.code(), "account_expired"),
            }
        }
    }
}

#[test]
fn activation_tokens() {
    let (exporter, ex) = exporter_account(NOW - 100);
    let importer = nkeys::KeyPair::new_account().public_key();
    let mut act = claims(
        "activation",
        &importer,
        "a",
        NOW - 10,
        json!({"subject": "svc.>", "kind": "service"}),
    );
    act["exp"] = json!(EXP);
    let token = encode(act, &exporter).expect("act");
    let revs = std::collections::BTreeMap::new();
    for (policy, l) in [(TimePolicy::default(), 0), (leeway(), L)] {
        for (now, ok) in exp_table(l) {
            let got = activation_valid(
                &token,
                &ex,
                &revs,
                &importer,
                "service",
                "svc.x",
                unix(now),
                &policy,
            );
            assert_eq!(got, ok, "activation exp{:+} L={l}", now - EXP);
        }
    }
}

#[test]
fn operator_tokens() {
    let o = nkeys::KeyPair::new_operator();
    let mut cl = claims(
        "operator",
        &o.public_key(),
        "OP",
        NOW - 100,
        json!({"signing_keys": []}),
    );
    cl["exp"] = json!(EXP);
    let jwt = encode(cl, &o).expect("o");
    for (policy, l) in [(TimePolicy::default(), 0), (leeway(), L)] {
        for (now, ok) in exp_table(l) {
            let got = Trust::from_operators(std::slice::from_ref(&jwt), unix(now), &policy);
            assert_eq!(got.is_ok(), ok, "operator exp{:+} L={l}", now - EXP);
        }
    }
}

#[test]
fn future_iat_is_refused_or_reported() {
    let c = Chain::new(ok_account());
    let sig = c.sig();
    let jwt = c.user_jwt(json!({"iat": NOW + 8}), &c.acc);
    let err = c
        .connect_with(&jwt, Some(&sig), unix(NOW), &leeway())
        .map(|_| ())
        .expect_err("rejected");
    assert_eq!(err.code(), "issued_in_future");
    let warn = TimePolicy {
        iat_future: IatPolicy::Warn,
        ..leeway()
    };
    let u = c
        .connect_with(&jwt, Some(&sig), unix(NOW), &warn)
        .expect("warn accepts");
    assert_eq!(u.iat_ahead, Some(Duration::from_secs(8)));
    // The reference's policy ignores it.
    assert!(
        c.connect_with(&jwt, Some(&sig), unix(NOW), &TimePolicy::default())
            .is_ok()
    );
}

#[test]
fn the_trace_lists_every_passed_step() {
    let c = Chain::new(ok_account());
    let sig = c.sig();
    let jwt = c.user_jwt(json!({"exp": EXP}), &c.acc);
    let conn = UserConnect {
        jwt: Some(&jwt),
        sig: Some(&sig),
        nonce: Some(NONCE),
        ip: Some("127.0.0.1".parse().expect("ip")),
        connection_type: "STANDARD",
        skip_signature: false,
    };
    let mut t = Trace::On(Vec::new());
    let r = authenticate_user_traced(&conn, &c, &c.trust, unix(NOW), &leeway(), &mut t);
    assert!(r.is_ok());
    let Trace::On(steps) = t else { panic!("trace") };
    let names: Vec<&str> = steps.iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        [
            "user JWT",
            "user times",
            "account",
            "user issuer",
            "account times",
            "bearer",
            "connection type",
            "nonce signature",
            "revocation",
            "source address",
            "connect times"
        ]
    );
    assert!(
        steps[1]
            .1
            .contains("exp 2027-01-15T08:01:40Z (in 1m40s), accepted until 2027-01-15T08:01:45Z"),
        "{}",
        steps[1].1
    );
}
