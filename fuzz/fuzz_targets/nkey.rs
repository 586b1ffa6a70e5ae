//! The nonce challenge (CONNECT `nkey`/`sig` against the INFO nonce): the input is
//! `key \n nonce \n sig`. Verification must return, never panic. A signature by a fixed seed
//! over the nonce verifies over that nonce and not over any other, and a fuzzed signature that
//! verifies for the fixed key is byte for byte the one the seed makes.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use nkeys::{KeyPair, KeyPairType};
use rnats_auth::nkey::{SigError, decode_sig, is_valid_user_key, verify_nonce};
use std::sync::OnceLock;

fn user() -> &'static (KeyPair, String) {
    static U: OnceLock<(KeyPair, String)> = OnceLock::new();
    U.get_or_init(|| {
        let kp = KeyPair::new_from_raw(KeyPairType::User, [5; 32]).expect("raw key");
        let public = kp.public_key();
        (kp, public)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut it = data.splitn(3, |&b| b == b'\n');
    let key = String::from_utf8_lossy(it.next().unwrap_or_default());
    let nonce = String::from_utf8_lossy(it.next().unwrap_or_default());
    let sig = String::from_utf8_lossy(it.next().unwrap_or_default());

    let _ = is_valid_user_key(&key);
    let decoded = decode_sig(&sig);
    let verdict = verify_nonce(&key, &nonce, Some(&sig));
    assert_eq!(verify_nonce(&key, &nonce, None), Err(SigError::Missing));
    if verdict.is_ok() {
        assert!(decoded.is_ok());
    }

    let (kp, public) = user();
    let good = kp.sign(nonce.as_bytes()).expect("sign");
    let good_b64 = URL_SAFE_NO_PAD.encode(&good);
    assert_eq!(verify_nonce(public, &nonce, Some(&good_b64)), Ok(()));
    let mut shorter = nonce.to_string();
    shorter.pop();
    let longer = format!("{nonce}\0");
    for other in [&*key, &*sig, &shorter, &longer] {
        if other != nonce {
            assert_eq!(
                verify_nonce(public, other, Some(&good_b64)),
                Err(SigError::NotVerified),
                "a signature over {nonce:?} verified over {other:?}"
            );
        }
    }
    if verdict.is_ok() && *key == **public {
        assert_eq!(
            decoded.as_deref(),
            Ok(&good[..]),
            "another signature verified"
        );
    }
});
