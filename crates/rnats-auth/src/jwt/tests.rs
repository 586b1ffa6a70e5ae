//! Decoding and verification against tokens minted here and the async-nats fixture.

use super::mint::{claims, encode};
use super::*;
use serde_json::json;

fn op() -> nkeys::KeyPair {
    nkeys::KeyPair::new_operator()
}

#[test]
fn operator_account_user_round_trip() {
    let o = op();
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let ojwt = encode(claims("operator", &o.public_key(), "O", 1, json!({})), &o).expect("o");
    let oc = decode_operator(&ojwt).expect("operator decodes");
    assert_eq!(oc.data.sub, o.public_key());
    let ajwt = encode(
        claims(
            "account",
            &a.public_key(),
            "A",
            1,
            json!({"limits": {"conn": -1}}),
        ),
        &o,
    )
    .expect("a");
    let ac = decode_account(&ajwt).expect("account decodes");
    assert_eq!(ac.data.iss, o.public_key());
    assert_eq!(claims::limit(ac.nats.limits.conn, ac.version), -1);
    // Missing limits are 0 in v2.
    assert_eq!(claims::limit(ac.nats.limits.subs, ac.version), 0);
    let ujwt = encode(
        claims(
            "user",
            &u.public_key(),
            "U",
            1,
            json!({"pub": {"allow": ["a.>"]}, "src": "10.0.0.0/8, 127.0.0.1/32"}),
        ),
        &a,
    )
    .expect("u");
    let uc = decode_user(&ujwt).expect("user decodes");
    assert_eq!(uc.account_id(), a.public_key());
    assert_eq!(uc.nats.limits.src, ["10.0.0.0/8", "127.0.0.1/32"]);
    let p = uc.nats.limits.permissions.to_permissions().expect("perms");
    assert!(p.can_publish(b"a.b") && !p.can_publish(b"b"));
    // Wrong kinds and issuers.
    assert!(matches!(decode_user(&ajwt), Err(DecodeError::Kind { .. })));
    let by_user = encode(claims("user", &u.public_key(), "U", 1, json!({})), &u).expect("x");
    assert_eq!(
        decode_user(&by_user),
        Err(DecodeError::IssuerRole("account"))
    );
}

#[test]
fn tampering_and_encoding_are_rejected() {
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let t = encode(claims("user", &u.public_key(), "U", 1, json!({})), &a).expect("u");
    let parts: Vec<&str> = t.split('.').collect();
    // Payload changed after signing.
    let forged = URL_SAFE_NO_PAD.encode(
        json!({"sub": u.public_key(), "iss": a.public_key(), "name": "root", "nats": {"type": "user", "version": 2}}).to_string(),
    );
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(decode_user(&tampered), Err(DecodeError::Signature));
    // Padding, a fourth chunk, a foreign algorithm.
    assert!(matches!(
        decode_user(&format!("{t}=")),
        Err(DecodeError::Base64(_))
    ));
    assert_eq!(decode_user(&format!("{t}.x")), Err(DecodeError::Chunks));
    let es = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ES256"}"#);
    let es_token = format!("{es}.{}.{}", parts[1], parts[2]);
    assert_eq!(
        decode_user(&es_token),
        Err(DecodeError::HeaderAlg("ES256".into()))
    );
    // Version 0 (missing) and newer versions.
    let v0 = encode(json!({"sub": u.public_key(), "nats": {"type": "user"}}), &a).expect("v0");
    assert_eq!(decode_user(&v0), Err(DecodeError::Version(0)));
    let v3 = encode(
        json!({"sub": u.public_key(), "nats": {"type": "user", "version": 3}}),
        &a,
    )
    .expect("v3");
    assert_eq!(decode_user(&v3), Err(DecodeError::NewerVersion));
}

#[test]
fn version_one_signs_the_payload_only() {
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"jwt","alg":"ed25519"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        json!({"sub": u.public_key(), "iss": a.public_key(), "type": "user", "nats": {}})
            .to_string(),
    );
    let sig = a.sign(payload.as_bytes()).expect("sign");
    let t = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
    let uc = decode_user(&t).expect("v1 decodes");
    assert_eq!(uc.version, 1);
    // v1: missing limits are unlimited.
    assert_eq!(claims::limit(uc.nats.limits.subs, uc.version), -1);
}

#[test]
fn the_async_nats_fixture_decodes() {
    let op = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJVWlhRWjVXR1VGSUY0S0ZKS1dFRUhSTU5PM0RQVUdZMzUyM1QyNk1IQU1KTENDVzVZVjdRIiwiaWF0IjoxNjUxNzkwOTcwLCJpc3MiOiJPQjVYQ0U0NVdFVkYyRjVWWUZOM1Q3NEpJRVpFT1JaVzYzSEJFSVdVWEpHWU9HS0VBSVVLM0FMTSIsIm5hbWUiOiJUZXN0T3BlcmF0b3IiLCJzdWIiOiJPQjVYQ0U0NVdFVkYyRjVWWUZOM1Q3NEpJRVpFT1JaVzYzSEJFSVdVWEpHWU9HS0VBSVVLM0FMTSIsIm5hdHMiOnsic3lzdGVtX2FjY291bnQiOiJBQlJFSk5ZQVNXR1MyQTVFVlhQVlhHR0NPSzJMSlhUN0taTllCQlpBWFVUVUJJMlZTTUFWN0RITiIsInR5cGUiOiJvcGVyYXRvciIsInZlcnNpb24iOjJ9fQ.RN7AkgTATcx9E_ykTQHI0wM3OE8BwKPb3aPj7ojLGiNpjIRP-ehvSiUUkfWPh6rcO709TKspfQgTxcRxLoq5Bg";
    let oc = decode_operator(op).expect("decodes");
    assert_eq!(oc.data.name, "TestOperator");
    assert_eq!(
        oc.nats.system_account,
        "ABREJNYASWGS2A5EVXPVXGGCOK2LJXT7KZNYBBZAXUTUBI2VSMAV7DHN"
    );
}

/// Claims Go's decoder reads and serde_json alone refuses: an unknown member nested 500 deep,
/// a lone surrogate escape and invalid UTF-8 in a string (both become U+FFFD).
#[test]
fn claims_decode_as_go_does() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let mut c = claims("user", &u.public_key(), "NAME", 1, json!({}));
    c["iss"] = json!(a.public_key());
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let text = c
        .to_string()
        .replace("\"NAME\"", &format!("\"\\ud800\u{1}\",\"x\":{deep}"));
    let mut payload = text.into_bytes();
    let at = payload.iter().position(|&b| b == 1).expect("marker");
    payload[at] = 0xff;
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&payload));
    let sig = URL_SAFE_NO_PAD.encode(a.sign(input.as_bytes()).expect("sign"));
    let uc = decode_user(&format!("{input}.{sig}")).expect("decodes as in Go");
    assert_eq!(uc.data.name, "\u{fffd}\u{fffd}");
    assert_eq!(uc.data.iss, a.public_key());
}
