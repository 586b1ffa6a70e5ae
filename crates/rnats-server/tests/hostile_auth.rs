//! Hostile JWTs in operator mode, differentially: rnats-server and the reference nats-server 2.15
//! load the same operator configuration, every forged or replayed credential goes to both, and
//! the answers must be the same bytes (INFO masked): `-ERR 'Authorization Violation'` and a
//! close for each attack. rnats must also count the precise reason
//! (`rnats_auth_rejections_total{reason=…}` on `/metrics`), and an innocent user connected
//! before the attacks keeps its PING→PONG and pub/sub round trip.
//!
//! Cases `jwt_differential.rs` already covers are not repeated: an expired account JWT
//! ("account expired"), a user signed by a key that is not its account's ("wrong issuer"), a
//! nonce signature of garbage ("bad signature"), bearer tokens with and without a signature,
//! and revocation by `"*"`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rnats_auth::jwt::mint::{claims, encode};
use rnats_proto::wire;
use rnats_testkit::jwt::{Operator, User, now, operator_config};
use serde_json::{Value, json};

mod common;
use common::hostile::{Innocent, local};
use common::jwtdiff::{Case, run};

/// `base64url(header).base64url(payload)` signed by `kp` (any header, any payload).
fn forge(header: &Value, payload: &Value, kp: &nkeys::KeyPair) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = kp.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// [`forge`] with the payload as text (JSON serde_json would not build).
fn forge_text(header: &Value, payload: &str, kp: &nkeys::KeyPair) -> String {
    forge_bytes(header, payload.as_bytes(), kp)
}

/// [`forge`] with the payload as bytes (not even UTF-8).
fn forge_bytes(header: &Value, payload: &[u8], kp: &nkeys::KeyPair) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = kp.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The claims of a user of `acc` (signed by `issuer`, whose key becomes `iss`).
fn user_claims(user: &nkeys::KeyPair, issuer: &nkeys::KeyPair, extra: Value) -> Value {
    let mut c = claims(
        "user",
        &user.public_key(),
        "u",
        now(),
        json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
    );
    c["iss"] = json!(issuer.public_key());
    if let (Some(n), Some(e)) = (c["nats"].as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            n.insert(k.clone(), v.clone());
        }
    }
    c
}

/// A CONNECT presenting `jwt`, signing the nonce with `user` (`None`: no signature, a bearer).
fn present(jwt: String, user: Option<nkeys::KeyPair>) -> Box<dyn Fn(&str) -> String> {
    Box::new(move |nonce: &str| {
        let sig = user
            .as_ref()
            .map(|kp| URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).expect("sign")))
            .unwrap_or_default();
        format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"jwt\":\"{jwt}\",\"sig\":\"{sig}\",\"protocol\":1,\"headers\":true}}\r\n"
        )
    })
}

/// `user`'s keypair, copied (nkeys keypairs do not clone).
fn kp_of(user: &User) -> nkeys::KeyPair {
    nkeys::KeyPair::from_seed(&user.kp.seed().expect("seed")).expect("kp")
}

/// One attack: its case, and the reason rnats must count (`None`: accepted by both).
struct Attack {
    case: Case,
    reason: Option<&'static str>,
}

fn attack(name: &'static str, connect: Box<dyn Fn(&str) -> String>, reason: &str) -> Attack {
    Attack {
        case: Case {
            name,
            connect,
            then: "",
        },
        reason: Some(Box::leak(reason.to_string().into_boxed_str())),
    }
}

fn accept(name: &'static str, connect: Box<dyn Fn(&str) -> String>) -> Attack {
    Attack {
        case: Case {
            name,
            connect,
            then: "",
        },
        reason: None,
    }
}

fn rejections(metrics_port: u16) -> Vec<(String, u64)> {
    let body = common::http::get(metrics_port, "/metrics").1;
    body.lines()
        .filter_map(|l| l.strip_prefix("rnats_auth_rejections_total{reason=\""))
        .filter_map(|l| {
            let (reason, n) = l.split_once("\"} ")?;
            Some((reason.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

fn count(metrics: &[(String, u64)], reason: &str) -> u64 {
    metrics
        .iter()
        .find(|(r, _)| r == reason)
        .map_or(0, |(_, n)| *n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_replayed_jwts_are_refused_like_the_reference() {
    let t = now();
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let other = op.account("OTHER", json!({}));
    // A user key the account revoked at t - 50 (a JWT issued at or before that is revoked).
    let victim = nkeys::KeyPair::new_user();
    let revoking = op.account(
        "REVOKING",
        json!({"nats": {"revocations": {victim.public_key(): t - 50}}}),
    );
    // A second operator the server does not trust, with its own account.
    let op2 = Operator::new("OP2", json!({}));
    let foreign = op2.account("FOREIGN", json!({}));

    let ok = acc.user("ok", json!({}));
    let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
    let payload_of = |jwt: &str| -> Value {
        let p = jwt.split('.').nth(1).expect("payload");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
    };

    // Signature over the wrong bytes: the payload is changed, the signature kept.
    let tampered = {
        let mut p = payload_of(&ok.jwt);
        p["nats"]["pub"] = json!({"allow": ["admin.>"]});
        let parts: Vec<&str> = ok.jwt.split('.').collect();
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(p.to_string()),
            parts[2]
        )
    };
    // A valid token's signature moved onto another payload of the same issuer.
    let spliced = {
        let other_user = acc.user("other", json!({}));
        let parts: Vec<&str> = ok.jwt.split('.').collect();
        let theirs: Vec<&str> = other_user.jwt.split('.').collect();
        format!("{}.{}.{}", parts[0], theirs[1], parts[2])
    };
    let user_kp = nkeys::KeyPair::new_user();
    let u = || nkeys::KeyPair::from_seed(&user_kp.seed().expect("seed")).expect("kp");
    // A user JWT signed by a user key (claims to be its own issuer) and by the operator.
    let self_signed = {
        let c = user_claims(&user_kp, &user_kp, json!({}));
        forge(&header, &c, &user_kp)
    };
    let by_operator = {
        let c = user_claims(&user_kp, &op.kp, json!({"issuer_account": acc.key()}));
        forge(&header, &c, &op.kp)
    };
    // alg games: the same claims, signed by the account, under other headers.
    let good_claims = user_claims(&user_kp, &acc.kp, json!({}));
    let with_header = |h: Value| forge(&h, &good_claims, &acc.kp);
    let alg_none = {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(good_claims.to_string())
        );
        format!("{input}.")
    };
    let hs256 = {
        use sha2::Digest;
        // Not a real HMAC: a keyed digest where an ed25519 signature belongs.
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "HS256"}).to_string()),
            URL_SAFE_NO_PAD.encode(good_claims.to_string())
        );
        let mac = sha2::Sha256::digest(format!("{}{input}", acc.key()).as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
    };
    // Revocation: the same user key, issued before, at and after the revocation time.
    let at = |iat: i64| {
        let mut c = user_claims(&victim, &revoking.kp, json!({}));
        c["iat"] = json!(iat);
        encode(c, &revoking.kp).expect("jwt")
    };
    let victim_kp = || nkeys::KeyPair::from_seed(&victim.seed().expect("seed")).expect("kp");
    // Oversized claims: a tag list that makes the JWT over 1 MiB.
    let huge = {
        let tags: Vec<String> = (0..30_000).map(|i| format!("tag-{i:030}")).collect();
        let c = user_claims(&user_kp, &acc.kp, json!({"tags": tags}));
        encode(c, &acc.kp).expect("jwt")
    };
    assert!(huge.len() > 1024 * 1024, "{}", huge.len());
    // Bearer tokens replayed across trust boundaries.
    let foreign_bearer = foreign.user("f", json!({"nats": {"bearer_token": true}}));
    let foreign_as_trusted = User::signed_by(
        &foreign.kp,
        Some(&acc.key()),
        "f2",
        json!({"nats": {"bearer_token": true}}),
    );
    let other_as_acc = User::signed_by(
        &other.kp,
        Some(&acc.key()),
        "o",
        json!({"nats": {"bearer_token": true}}),
    );
    // A valid nonce signature, but for another connection's nonce.
    let replayed_sig = {
        let jwt = ok.jwt.clone();
        let kp = kp_of(&ok);
        Box::new(move |_nonce: &str| {
            let sig = URL_SAFE_NO_PAD.encode(kp.sign(b"an-earlier-nonce").expect("sign"));
            format!("CONNECT {{\"verbose\":false,\"jwt\":\"{jwt}\",\"sig\":\"{sig}\"}}\r\n")
        }) as Box<dyn Fn(&str) -> String>
    };

    // Claims Go decodes and serde_json alone does not: deep nesting, a lone surrogate,
    // invalid UTF-8.
    let nested = {
        let mut c = user_claims(&user_kp, &acc.kp, json!({}));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        c["x"] = Value::Null;
        let text = c
            .to_string()
            .replace("\"x\":null", &format!("\"x\":{deep}"));
        forge_text(&header, &text, &acc.kp)
    };
    let surrogate = {
        let c = user_claims(&user_kp, &acc.kp, json!({}));
        let text = c
            .to_string()
            .replace("\"name\":\"u\"", "\"name\":\"\\ud800\"");
        forge_text(&header, &text, &acc.kp)
    };
    let bad_utf8 = {
        let c = user_claims(&user_kp, &acc.kp, json!({}));
        let text = c
            .to_string()
            .replace("\"name\":\"u\"", "\"name\":\"u\u{1}\"");
        let raw = text.replace('\u{1}', "\u{fffd}").into_bytes();
        // The replacement character's bytes, then a lone 0xff: invalid UTF-8.
        let mut bytes = raw;
        let at = bytes
            .windows(3)
            .position(|w| w == "\u{fffd}".as_bytes())
            .expect("marker");
        bytes.splice(at..at + 3, [0xffu8]);
        forge_bytes(&header, &bytes, &acc.kp)
    };
    let attacks = vec![
        attack(
            "payload tampered, signature kept",
            present(tampered, Some(kp_of(&ok))),
            "jwt_required",
        ),
        attack(
            "signature from another token",
            present(spliced, Some(kp_of(&ok))),
            "jwt_required",
        ),
        attack(
            "user JWT signed by a user key",
            present(self_signed, Some(u())),
            "jwt_required",
        ),
        attack(
            "user JWT signed by the operator",
            present(by_operator, Some(u())),
            "jwt_required",
        ),
        attack("alg none", present(alg_none, Some(u())), "jwt_required"),
        attack("alg HS256", present(hs256, Some(u())), "jwt_required"),
        attack(
            "alg missing",
            present(with_header(json!({"typ": "JWT"})), Some(u())),
            "jwt_required",
        ),
        attack(
            "alg unknown",
            present(
                with_header(json!({"typ": "JWT", "alg": "ed448-nkey"})),
                Some(u()),
            ),
            "jwt_required",
        ),
        attack(
            "typ missing",
            present(with_header(json!({"alg": "ed25519-nkey"})), Some(u())),
            "jwt_required",
        ),
        attack(
            "typ JWS",
            present(
                with_header(json!({"typ": "JWS", "alg": "ed25519-nkey"})),
                Some(u()),
            ),
            "jwt_required",
        ),
        attack(
            "revoked: issued before the revocation",
            present(at(t - 100), Some(victim_kp())),
            "revoked",
        ),
        attack(
            "revoked: issued at the revocation time",
            present(at(t - 50), Some(victim_kp())),
            "revoked",
        ),
        attack(
            "foreign operator's bearer token",
            present(foreign_bearer.jwt.clone(), None),
            "account_unknown",
        ),
        attack(
            "foreign account claims a trusted issuer_account",
            present(foreign_as_trusted.jwt.clone(), None),
            "issuer_not_signing_key",
        ),
        attack(
            "trusted account claims another's issuer_account",
            present(other_as_acc.jwt.clone(), None),
            "issuer_not_signing_key",
        ),
        attack(
            "nonce signature replayed from another connection",
            replayed_sig,
            "nkey_signature_invalid",
        ),
        attack(
            "JWT over 1 MiB (past a 4 MB control line)",
            present(huge.clone(), Some(u())),
            "jwt_required",
        ),
        // Accepted by both: alg names compare case-insensitively, the legacy name is valid, a
        // JWT re-issued after the revocation time is not revoked, and claims Go's decoder reads.
        accept(
            "alg in upper case",
            present(
                with_header(json!({"typ": "jwt", "alg": "ED25519-NKEY"})),
                Some(u()),
            ),
        ),
        accept(
            "alg ed25519 (v1 name)",
            present(
                with_header(json!({"typ": "JWT", "alg": "ed25519"})),
                Some(u()),
            ),
        ),
        accept(
            "re-signed after the revocation",
            present(at(t - 10), Some(victim_kp())),
        ),
        accept("unknown claim nested 200 deep", present(nested, Some(u()))),
        accept("lone surrogate in the name", present(surrogate, Some(u()))),
        accept("invalid UTF-8 in the name", present(bad_utf8, Some(u()))),
    ];
    let conf = operator_config(&op, &sys, &[&acc, &other, &revoking]);
    // 1 MiB of JWT reaches the JWT decoder only past the default control line.
    let conf = format!("{conf}\nmax_control_line: 4MB\n");
    let ours = common::hostile::rnats("jwt-hostile", &conf, &["-m", "-1"]);
    let theirs = common::hostile::reference("jwt-hostile", &conf, &[]);
    let metrics_port = ours.http_port.expect("monitor");
    let mut innocents = Vec::new();
    for port in [ours.port, theirs.port] {
        innocents.push(innocent_user(port, &ok).await);
    }
    let mut failures = Vec::new();
    for a in &attacks {
        let before = rejections(metrics_port);
        let (p1, p2) = (ours.port, theirs.port);
        let (x, y) = (run(p1, &a.case), run(p2, &a.case));
        let after = rejections(metrics_port);
        match a.reason {
            Some(reason) => {
                let want = format!(
                    "{}<closed>",
                    String::from_utf8_lossy(&wire::err_line(wire::ERR_AUTHORIZATION_VIOLATION))
                );
                if x != want {
                    failures.push(format!("{}: rnats answered {x:?}", a.case.name));
                }
                let grew = count(&after, reason) - count(&before, reason);
                if grew != 1 {
                    failures.push(format!(
                        "{}: reason {reason} counted {grew} times; all: {after:?}",
                        a.case.name
                    ));
                }
            }
            None => {
                if !x.starts_with("PONG\r\n") {
                    failures.push(format!("{}: rnats refused: {x:?}", a.case.name));
                }
            }
        }
        if x != y {
            failures.push(format!("{}: rnats {x:?} vs reference {y:?}", a.case.name));
        }
        for i in &mut innocents {
            i.check().await;
        }
    }
    // The huge token against the default control line: cut before any JWT decoding.
    let default_conf = operator_config(&op, &sys, &[&acc]);
    let ours2 = common::hostile::rnats("jwt-huge", &default_conf, &[]);
    let theirs2 = common::hostile::reference("jwt-huge", &default_conf, &[]);
    let huge_case = Case {
        name: "1 MiB JWT, default max_control_line",
        connect: present(huge.clone(), Some(u())),
        then: "",
    };
    let (x, y) = (run(ours2.port, &huge_case), run(theirs2.port, &huge_case));
    assert_eq!(
        x,
        format!(
            "{}<closed>",
            String::from_utf8_lossy(&wire::err_line(wire::ERR_MAX_CONTROL_LINE))
        )
    );
    assert_eq!(x, y, "huge JWT");
    for i in &mut innocents {
        i.check().await;
        i.fresh().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// An innocent user logged in with `user`'s JWT (the [`Innocent`] checks).
async fn innocent_user(port: u16, user: &User) -> Innocent {
    let jwt = user.jwt.clone();
    let kp = kp_of(user);
    let connect = move |nonce: &str| {
        let sig = URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).expect("sign"));
        format!("{{\"verbose\":false,\"jwt\":\"{jwt}\",\"sig\":\"{sig}\"}}")
    };
    Innocent::with(local(port), std::sync::Arc::new(connect)).await
}
