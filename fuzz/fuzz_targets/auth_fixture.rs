//! Fixed keys and tokens shared by the auth fuzz targets and their seed generator
//! (`cargo run --example auth_seeds` in `fuzz/`): a seed only reaches the checks behind a
//! signature if it is signed by the keys the targets trust, so both sides derive them from the
//! same constant bytes.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::{KeyPair, KeyPairType};
use rnats_auth::jwt::mint::{claims, encode};
use serde_json::{Value, json};

/// The fixed clock: 2027-01-15T08:00:00Z.
pub const NOW: i64 = 1_800_000_000;
/// The nonce the server sent in INFO.
pub const NONCE: &str = "fuzz-nonce-4kXq9wZ";
/// The header `mint` writes.
pub const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;
/// The header of version 1 claims.
pub const HEADER_V1: &str = r#"{"typ":"jwt","alg":"ed25519"}"#;

fn key(kind: KeyPairType, byte: u8) -> KeyPair {
    KeyPair::new_from_raw(kind, [byte; 32]).expect("raw key")
}

pub fn operator() -> KeyPair {
    key(KeyPairType::Operator, 1)
}
pub fn operator_signing_key() -> KeyPair {
    key(KeyPairType::Operator, 7)
}
pub fn account() -> KeyPair {
    key(KeyPairType::Account, 2)
}
/// A plain signing key of [`account`].
pub fn signing_key() -> KeyPair {
    key(KeyPairType::Account, 3)
}
/// A scoped signing key of [`account`], with a template.
pub fn scoped_key() -> KeyPair {
    key(KeyPairType::Account, 4)
}
/// The user whose seed signs [`NONCE`].
pub fn user() -> KeyPair {
    key(KeyPairType::User, 5)
}
pub fn revoked_user() -> KeyPair {
    key(KeyPairType::User, 6)
}

/// The account's `nats` object: both kinds of signing key, tags for the template, a
/// revocation and default permissions.
pub fn account_nats() -> Value {
    json!({
        "limits": {"subs": -1, "payload": -1, "conn": -1, "imports": -1, "exports": -1},
        "signing_keys": [
            signing_key().public_key(),
            {
                "kind": "user_scope",
                "key": scoped_key().public_key(),
                "role": "team",
                "template": {
                    "pub": {
                        "allow": ["u.{{name()}}.>", "t.{{tag(team)}}.{{account-tag(env)}}"],
                        "deny": ["x.{{subject()}}"]
                    },
                    "sub": {"allow": ["_INBOX.>", "a.{{account-name()}}.{{account-subject()}}"]},
                    "subs": 10
                }
            }
        ],
        "tags": ["env:prod", "env:dev"],
        "revocations": {revoked_user().public_key(): NOW - 50},
        "default_permissions": {"pub": {"allow": ["d.>"]}},
        "exports": [{"name": "s", "subject": "svc.*.x", "type": "service",
                     "account_token_position": 2}]
    })
}

pub fn account_jwt() -> String {
    encode(
        claims(
            "account",
            &account().public_key(),
            "ACC",
            NOW - 100,
            account_nats(),
        ),
        &operator(),
    )
    .expect("account jwt")
}

pub fn operator_jwt() -> String {
    encode(
        claims(
            "operator",
            &operator().public_key(),
            "OP",
            NOW - 1000,
            json!({"signing_keys": [operator_signing_key().public_key()]}),
        ),
        &operator(),
    )
    .expect("operator jwt")
}

/// The user's `nats` object for a user signed by `signer`: limits of its own unless the
/// signer is the scoped key (whose users carry none).
pub fn user_nats(signer: &KeyPair) -> Value {
    let mut n = if signer.public_key() == scoped_key().public_key() {
        json!({})
    } else {
        json!({
            "pub": {"allow": ["a.>"]}, "sub": {"deny": ["b"]},
            "src": "127.0.0.0/8, ::ffff:10.0.0.0/104",
            "subs": -1, "payload": -1
        })
    };
    n["tags"] = json!(["team:blue", "team:red"]);
    if signer.public_key() != account().public_key() {
        n["issuer_account"] = json!(account().public_key());
    }
    n
}

/// A user JWT for [`user`] signed by `signer`, valid at [`NOW`].
pub fn user_jwt(signer: &KeyPair) -> String {
    let mut c = claims(
        "user",
        &user().public_key(),
        "bob",
        NOW - 10,
        user_nats(signer),
    );
    c["exp"] = json!(NOW + 3600);
    encode(c, signer).expect("user jwt")
}

/// Sign `payload` as it is (no `iss` or `jti` rewriting) with `signer`: over
/// `header.payload`, or over the payload alone with the legacy header (`v1`).
pub fn sign_raw(payload: &[u8], signer: &KeyPair, v1: bool) -> String {
    let header = URL_SAFE_NO_PAD.encode(if v1 { HEADER_V1 } else { HEADER });
    let payload = URL_SAFE_NO_PAD.encode(payload);
    let input = format!("{header}.{payload}");
    let signed = if v1 { &payload } else { &input };
    let sig = signer.sign(signed.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The payload the re-signing modes sign: the fuzzer's bytes, with `iss` set to the signer's
/// key when they are a JSON object (so the signature check passes and the claims are read).
pub fn with_issuer(data: &[u8], signer: &KeyPair) -> Vec<u8> {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(mut o)) => {
            o.insert("iss".into(), json!(signer.public_key()));
            Value::Object(o).to_string().into_bytes()
        }
        _ => data.to_vec(),
    }
}
