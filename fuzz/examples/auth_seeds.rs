//! Writes the seeds of the `jwt`, `creds` and `nkey` fuzz targets into `fuzz/seeds/`, minted
//! with the fixed keys the targets trust: `cargo run --example auth_seeds` (in `fuzz/`).
//! The output is deterministic (ed25519 signatures are), so rerunning it changes nothing.

#[path = "../fuzz_targets/auth_fixture.rs"]
mod auth_fixture;

use auth_fixture as fx;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rnats_auth::jwt::creds;
use rnats_auth::jwt::mint::{claims, encode};
use serde_json::{Value, json};
use std::path::PathBuf;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// A `jwt` target input: the mode byte, then the mode's bytes.
fn jwt_seed(name: &str, mode: u8, head: &[u8], body: &[u8]) {
    let mut v = vec![mode];
    v.extend_from_slice(head);
    v.extend_from_slice(body);
    write("jwt", name, &v);
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// A user claim for the fixed user (its key signs the nonce), as the `user` mode signs it.
fn user_claim(nats: Value, extra: Value) -> Vec<u8> {
    let mut c = claims("user", &fx::user().public_key(), "bob", fx::NOW - 10, nats);
    for (k, v) in extra.as_object().expect("object") {
        c[k] = v.clone();
    }
    c.to_string().into_bytes()
}

fn jwt_seeds() {
    let (acc, sk, scoped) = (fx::account(), fx::signing_key(), fx::scoped_key());
    let user_by_acc = fx::user_jwt(&acc);
    // Mode 0: tokens as they come.
    let raw: Vec<(&str, String)> = {
        let parts: Vec<&str> = user_by_acc.split('.').collect();
        let forged = b64(
            &json!({"sub": fx::user().public_key(), "iss": acc.public_key(),
            "name": "root", "nats": {"type": "user", "version": 2}})
            .to_string(),
        );
        let v1_payload = b64(
            &json!({"sub": fx::user().public_key(), "iss": acc.public_key(),
            "type": "user", "nats": {}})
            .to_string(),
        );
        let v1_sig = URL_SAFE_NO_PAD.encode(acc.sign(v1_payload.as_bytes()).expect("sign"));
        let activation = encode(
            claims(
                "activation",
                &acc.public_key(),
                "act",
                fx::NOW - 5,
                json!({"subject": "svc.*.x", "kind": "service"}),
            ),
            &acc,
        )
        .expect("activation");
        vec![
            ("user_by_account", user_by_acc.clone()),
            ("user_by_signing_key", fx::user_jwt(&sk)),
            ("user_by_scoped_key", fx::user_jwt(&scoped)),
            ("account", fx::account_jwt()),
            ("operator", fx::operator_jwt()),
            ("activation", activation),
            (
                "user_v1",
                format!("{}.{v1_payload}.{v1_sig}", b64(fx::HEADER_V1)),
            ),
            (
                "near_forged_payload",
                format!("{}.{forged}.{}", parts[0], parts[2]),
            ),
            ("near_padded", format!("{user_by_acc}=")),
            ("near_four_chunks", format!("{user_by_acc}.x")),
            (
                "near_es256",
                format!(
                    "{}.{}.{}",
                    b64(r#"{"typ":"JWT","alg":"ES256"}"#),
                    parts[1],
                    parts[2]
                ),
            ),
            ("near_no_signature", format!("{}.{}.", parts[0], parts[1])),
            (
                "near_v3",
                fx::sign_raw(
                    json!({"sub": fx::user().public_key(), "iss": acc.public_key(),
                        "nats": {"type": "user", "version": 3}})
                    .to_string()
                    .as_bytes(),
                    &acc,
                    false,
                ),
            ),
        ]
    };
    for (name, token) in raw {
        jwt_seed(&format!("raw_{name}"), b'0', b"", token.as_bytes());
    }
    // Mode 1: control byte (token << 6 | 0x20 insert | 0x10 decoded | 0x04 cut | part),
    // offset, bytes.
    let tamper: [(&str, u8, u16, &[u8]); 9] = [
        ("identity", 0x00, 0, b""),
        ("user_payload_name", 0x11, 2, br#""name":"root","#),
        ("user_header_alg", 0x30, 1, br#""alg":"ed25519","#),
        ("user_sig_byte", 0x12, 7, b"\x00"),
        ("user_sig_text", 0x02, 0, b"A"),
        (
            "account_payload_insert",
            0x71,
            1,
            br#""nats":{"signing_keys":["x"]},"#,
        ),
        ("operator_payload_text", 0x81, 40, b"AAAA"),
        ("user_sig_empty", 0x06, 0, b""),
        ("user_payload_cut", 0x15, 20, b"}"),
    ];
    for (name, ctl, off, bytes) in tamper {
        let mut head = vec![ctl];
        head.extend_from_slice(&off.to_le_bytes());
        jwt_seed(&format!("tamper_{name}"), b'1', &head, bytes);
    }
    // Mode 2: flags (signer = (flags & 3) % 3, 0x04 skip sig, 0x08 wide policy, 0x10 websocket,
    // 0x20 IPv6, 0x40 standard base64 sig, 0x80 version 1
    // signature), then the user claim.
    let lim = json!({"pub": {"allow": ["a.>"]}, "subs": -1, "payload": -1});
    let with = |extra: Value| {
        let mut n = lim.clone();
        for (k, v) in extra.as_object().expect("object") {
            n[k] = v.clone();
        }
        n
    };
    let ia = json!({"issuer_account": acc.public_key()});
    let users: Vec<(&str, u8, Vec<u8>)> = vec![
        ("valid", 0, user_claim(lim.clone(), json!({"exp": fx::NOW + 60}))),
        ("valid_std_sig", 0x40, user_claim(lim.clone(), json!({}))),
        ("signing_key", 1, user_claim(with(ia.clone()), json!({}))),
        (
            "scoped",
            2,
            user_claim(
                json!({"issuer_account": acc.public_key(), "tags": ["team:blue", "team:red"]}),
                json!({}),
            ),
        ),
        (
            "scoped_with_limits",
            2,
            user_claim(with(ia.clone()), json!({})),
        ),
        (
            "bearer_other_key",
            0,
            claims(
                "user",
                &fx::revoked_user().public_key(),
                "b",
                fx::NOW,
                json!({"bearer_token": true}),
            )
            .to_string()
            .into_bytes(),
        ),
        (
            "src_v6",
            0x20,
            user_claim(with(json!({"src": ["::ffff:10.0.0.0/104", "bad/99"]})), json!({})),
        ),
        (
            "times_berlin",
            0,
            user_claim(
                with(json!({"times": [{"start": "08:00:00", "end": "17:00:00"},
                    {"start": "22:00:00", "end": "02:00:00"}], "times_location": "Europe/Berlin"})),
                json!({}),
            ),
        ),
        (
            "websocket_only",
            0x10,
            user_claim(with(json!({"allowed_connection_types": ["WEBSOCKET", "X"]})), json!({})),
        ),
        ("expired", 0, user_claim(lim.clone(), json!({"exp": fx::NOW - 1}))),
        (
            "exp_within_leeway",
            0x08,
            user_claim(lim.clone(), json!({"exp": fx::NOW - 10})),
        ),
        ("not_yet", 0, user_claim(lim.clone(), json!({"nbf": fx::NOW + 3}))),
        (
            "iat_future_reject",
            0x08,
            user_claim(lim.clone(), json!({"iat": fx::NOW + 3600})),
        ),
        (
            "far_future_exp",
            0,
            user_claim(lim.clone(), json!({"exp": i64::MAX, "nbf": 1})),
        ),
        ("proxy", 0, user_claim(with(json!({"proxy_required": true})), json!({}))),
        (
            "resp_perms",
            0x04,
            user_claim(with(json!({"resp": {"max": 0, "ttl": 1_000_000_000}, "sub": {"deny": ["x"]}})), json!({})),
        ),
        (
            "v1",
            0x80,
            json!({"sub": fx::user().public_key(), "type": "user", "nats": {"pub": {"allow": ["a"]}}})
                .to_string()
                .into_bytes(),
        ),
        ("not_json", 0, b"{\"sub\": ".to_vec()),
    ];
    for (name, flags, claim) in users {
        jwt_seed(&format!("user_{name}"), b'2', &[flags], &claim);
    }
    // Mode 3: flags (the user's signer = (flags & 3) % 3, the rest as mode 2), then the account claim.
    let nats = fx::account_nats();
    let with_acc = |f: &dyn Fn(&mut Value)| {
        let mut n = nats.clone();
        f(&mut n);
        claims("account", &acc.public_key(), "ACC", fx::NOW - 100, n)
            .to_string()
            .into_bytes()
    };
    let activation = encode(
        claims(
            "activation",
            &acc.public_key(),
            "act",
            fx::NOW - 5,
            json!({"subject": "svc.*.x", "kind": "stream"}),
        ),
        &acc,
    )
    .expect("activation");
    let accounts: Vec<(&str, u8, Vec<u8>)> = vec![
        ("fixture", 0, with_acc(&|_| {})),
        ("fixture_scoped", 2, with_acc(&|_| {})),
        (
            "disallow_bearer",
            2,
            with_acc(&|n| {
                n["limits"]["disallow_bearer"] = json!(true);
                n["signing_keys"][1]["template"]["bearer_token"] = json!(true);
            }),
        ),
        (
            "template_tags",
            2,
            with_acc(&|n| {
                n["signing_keys"][1]["template"]["sub"]["deny"] = json!([
                    "{{tag(team)}}.{{tag(team)}}.{{account-tag(env)}}",
                    "{{tag(none)}}"
                ]);
            }),
        ),
        (
            "revoked_all",
            0,
            with_acc(&|n| n["revocations"] = json!({"*": fx::NOW})),
        ),
        (
            "imports_over_limit",
            1,
            with_acc(&|n| {
                n["limits"]["imports"] = json!(0);
                n["imports"] = json!([{"subject": "svc.a.x", "account": acc.public_key(),
                    "token": activation, "type": "service"}]);
            }),
        ),
        (
            "bad_token_position",
            0,
            with_acc(&|n| n["exports"][0]["account_token_position"] = json!(9)),
        ),
        (
            "no_signing_keys_v2_limits",
            1,
            with_acc(&|n| {
                n["signing_keys"] = json!([]);
                n["limits"] = json!({});
            }),
        ),
    ];
    for (name, flags, claim) in accounts {
        jwt_seed(&format!("account_{name}"), b'3', &[flags], &claim);
    }
    let mut e: Value = serde_json::from_slice(&with_acc(&|_| {})).expect("json");
    e["exp"] = json!(fx::NOW - 1);
    jwt_seed("account_expired_exp", b'3', &[0], e.to_string().as_bytes());
}

fn creds_seeds() {
    let u = fx::user();
    let seed = u.seed().expect("seed");
    let jwt = fx::user_jwt(&fx::account());
    let good = creds::format(&jwt, &seed);
    let seeds: Vec<(&str, String)> = vec![
        ("nsc", good.clone()),
        ("crlf", good.replace('\n', "\r\n")),
        ("bare_jwt", format!("  {jwt}\n")),
        (
            "operator_decorated",
            format!(
                "-----BEGIN NATS OPERATOR JWT-----\n{}\n------END NATS OPERATOR JWT------\n",
                fx::operator_jwt()
            ),
        ),
        (
            "seed_first",
            format!(
                "-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\
                 -----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n"
            ),
        ),
        (
            "no_end_lines",
            format!("-----BEGIN NATS USER JWT-----\n\n  {jwt}  \n-----BEGIN USER NKEY SEED-----\n{seed}"),
        ),
        (
            "empty_blocks",
            "-----BEGIN NATS USER JWT-----\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\n\n------END".into(),
        ),
        ("bad_seed_checksum", creds::format(&jwt, &seed.replace('A', "B"))),
        ("account_seed", creds::format(&jwt, &fx::account().seed().expect("seed"))),
        ("no_seed", good.lines().take(3).collect::<Vec<_>>().join("\n")),
    ];
    for (name, text) in seeds {
        write("creds", name, text.as_bytes());
    }
}

fn nkey_seeds() {
    let u = fx::user();
    let public = u.public_key();
    let raw = u.sign(fx::NONCE.as_bytes()).expect("sign");
    let url = URL_SAFE_NO_PAD.encode(&raw);
    let std = STANDARD.encode(&raw);
    // The spec's test vector (nkey.rs): the user of seed bytes 00..1f.
    let spec = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK\nabcdefghijklmno\n\
                BFqgAdhpmdT7AcI_hxTszAUiqdm5bBqbwMALxRCGOBYMSx9jTHq7RISqFue3wTE53jdrCFSiYMMcaXDUnZp1Bg";
    let seeds: Vec<(&str, String)> = vec![
        ("valid_url", format!("{public}\n{}\n{url}", fx::NONCE)),
        (
            "valid_std_padded",
            format!("{public}\n{}\n{std}", fx::NONCE),
        ),
        ("spec_vector", spec.into()),
        ("wrong_nonce", format!("{public}\n{}x\n{url}", fx::NONCE)),
        ("empty_nonce", format!("{public}\n\n{url}")),
        (
            "account_key",
            format!("{}\n{}\n{url}", fx::account().public_key(), fx::NONCE),
        ),
        (
            "bad_checksum",
            format!("{}\n{}\n{url}", public.replace('A', "B"), fx::NONCE),
        ),
        ("bad_base64", format!("{public}\n{}\n!!{url}", fx::NONCE)),
        (
            "short_sig",
            format!("{public}\n{}\n{}", fx::NONCE, &url[..40]),
        ),
        ("no_sig", format!("{public}\n{}\n", fx::NONCE)),
    ];
    for (name, text) in seeds {
        write("nkey", name, text.as_bytes());
    }
}

fn main() {
    jwt_seeds();
    creds_seeds();
    nkey_seeds();
}
