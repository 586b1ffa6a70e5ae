//! Encoding and signing claims (version 2), for test kits and tools. The server only verifies.
//!
//! `jti` is computed as nats-io/jwt does (base32 without padding of the SHA-512/256 of the claim
//! JSON with an empty `jti`); servers do not check it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

fn base32(data: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Sign `payload` with `issuer` (its `iss` is set to the issuer's public key and `jti`
/// computed). Returns the compact token.
pub fn encode(mut payload: Value, issuer: &nkeys::KeyPair) -> Result<String, String> {
    let obj = payload
        .as_object_mut()
        .ok_or_else(|| "claims must be a JSON object".to_string())?;
    obj.insert("iss".into(), json!(issuer.public_key()));
    obj.insert("jti".into(), json!(""));
    let digest = sha2::Sha512_256::digest(payload.to_string().as_bytes());
    if let Some(o) = payload.as_object_mut() {
        o.insert("jti".into(), json!(base32(&digest)));
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = issuer
        .sign(input.as_bytes())
        .map_err(|e| format!("signing failed: {e}"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// A claim skeleton: `sub`, `name`, `iat` and the `nats` object with `type` and `version: 2`.
pub fn claims(kind: &str, sub: &str, name: &str, iat: i64, nats: Value) -> Value {
    let mut n = nats;
    if let Some(o) = n.as_object_mut() {
        o.insert("type".into(), json!(kind));
        o.insert("version".into(), json!(2));
    }
    json!({ "sub": sub, "name": name, "iat": iat, "nats": n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_like_go() {
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}
