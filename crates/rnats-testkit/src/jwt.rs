//! Minting NATS JWT chains for tests: an [`Operator`] signs [`Account`]s, an account (or one of
//! its signing keys) signs [`User`]s. Each takes a JSON value of extra claims, merged into the
//! defaults: top-level fields (`exp`, `nbf`, `iat`, `name`…) as given, and the `nats` object
//! merged key by key. Defaults are what `nsc` writes: unlimited (-1) limits.

use base64::Engine;
use rnats_auth::jwt::mint::{claims, encode};
use serde_json::{Value, json};

/// Seconds since the Unix epoch now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn merge(mut base: Value, extra: &Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k == "nats" {
                if let (Some(bn), Some(en)) = (
                    b.get_mut("nats").and_then(Value::as_object_mut),
                    v.as_object(),
                ) {
                    for (nk, nv) in en {
                        bn.insert(nk.clone(), nv.clone());
                    }
                }
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

fn sign(c: Value, kp: &nkeys::KeyPair) -> String {
    encode(c, kp).expect("claims are a JSON object")
}

/// An operator: its key and JWT.
pub struct Operator {
    pub kp: nkeys::KeyPair,
    pub jwt: String,
}

impl Operator {
    /// A self-signed operator with extra claims.
    pub fn new(name: &str, extra: Value) -> Operator {
        let kp = nkeys::KeyPair::new_operator();
        let c = merge(
            claims("operator", &kp.public_key(), name, now(), json!({})),
            &extra,
        );
        let jwt = sign(c, &kp);
        Operator { kp, jwt }
    }

    /// An account signed by this operator (identity key), with one signing key.
    pub fn account(&self, name: &str, extra: Value) -> Account {
        Account::signed_by(&self.kp, name, extra)
    }
}

/// An account: its key, a signing key, and its JWT.
pub struct Account {
    pub kp: nkeys::KeyPair,
    pub signing: nkeys::KeyPair,
    pub jwt: String,
}

impl Account {
    /// An account signed by `issuer`; `signing_keys` defaults to its signing key.
    pub fn signed_by(issuer: &nkeys::KeyPair, name: &str, extra: Value) -> Account {
        let kp = nkeys::KeyPair::new_account();
        let signing = nkeys::KeyPair::new_account();
        let nats = json!({
            "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                       "wildcards": true, "conn": -1, "leaf": -1},
            "signing_keys": [signing.public_key()],
            "default_permissions": {"pub": {}, "sub": {}},
        });
        let c = merge(
            claims("account", &kp.public_key(), name, now(), nats),
            &extra,
        );
        let jwt = sign(c, issuer);
        Account { kp, signing, jwt }
    }

    /// The same account re-issued with other claims (an update).
    pub fn reissue(&self, issuer: &nkeys::KeyPair, name: &str, extra: Value) -> String {
        let nats = json!({
            "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                       "wildcards": true, "conn": -1, "leaf": -1},
            "signing_keys": [self.signing.public_key()],
        });
        let c = merge(
            claims("account", &self.kp.public_key(), name, now(), nats),
            &extra,
        );
        sign(c, issuer)
    }

    /// A user signed by the account's identity key.
    pub fn user(&self, name: &str, extra: Value) -> User {
        User::signed_by(&self.kp, None, name, extra)
    }

    /// A user signed by the account's signing key (with `issuer_account`).
    pub fn user_via_signing_key(&self, name: &str, extra: Value) -> User {
        User::signed_by(&self.signing, Some(&self.kp.public_key()), name, extra)
    }

    /// The public key.
    pub fn key(&self) -> String {
        self.kp.public_key()
    }
}

/// A user: its key and JWT.
pub struct User {
    pub kp: nkeys::KeyPair,
    pub jwt: String,
}

impl User {
    /// A user JWT signed by `issuer`.
    pub fn signed_by(
        issuer: &nkeys::KeyPair,
        issuer_account: Option<&str>,
        name: &str,
        extra: Value,
    ) -> User {
        let kp = nkeys::KeyPair::new_user();
        let mut nats = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1});
        if let Some(a) = issuer_account {
            nats["issuer_account"] = json!(a);
        }
        let c = merge(claims("user", &kp.public_key(), name, now(), nats), &extra);
        let jwt = sign(c, issuer);
        User { kp, jwt }
    }

    /// The nonce signature, base64url.
    pub fn sign_nonce(&self, nonce: &str) -> String {
        let s = self.kp.sign(nonce.as_bytes()).expect("sign");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    /// A CONNECT line presenting this user for `nonce`.
    pub fn connect_line(&self, nonce: &str) -> String {
        format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"jwt\":\"{}\",\"sig\":\"{}\",\"protocol\":1,\"headers\":true}}\r\n",
            self.jwt,
            self.sign_nonce(nonce)
        )
    }

    /// A `.creds` file text.
    pub fn creds(&self) -> String {
        let seed = self.kp.seed().expect("seed");
        rnats_auth::jwt::creds::format(&self.jwt, &seed)
    }
}

/// `operator` + `resolver: MEMORY` + preloads, as configuration text.
pub fn operator_config(op: &Operator, system: &Account, accounts: &[&Account]) -> String {
    let mut s = format!(
        "operator: {}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {}\n",
        op.jwt,
        system.key(),
        system.key(),
        system.jwt
    );
    for a in accounts {
        s.push_str(&format!("  {}: {}\n", a.key(), a.jwt));
    }
    s.push_str("}\n");
    s
}

/// The `nonce` of an INFO line.
pub fn nonce_of(info: &[u8]) -> String {
    let text = String::from_utf8_lossy(info);
    let json = text.trim_start_matches("INFO ").trim();
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| v.get("nonce").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}
