//! `.creds` files: arbitrary text must give a JWT and a seed or an error, never a panic. What
//! is extracted is a trimmed line from the text (`ey…` for the JWT, `S…` for the seed), goes on
//! to the decoders as the server and tools use it, and survives a round trip through
//! `creds::format`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rnats_auth::jwt::{self, creds};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(j) = creds::jwt(&text) {
        assert!(!j.is_empty() && text.contains(j));
        // An operator JWT file (`operator:` in the configuration) is read this way.
        let _ = jwt::decode_operator(j);
    }
    let Ok((j, s)) = creds::parse(&text) else {
        return;
    };
    for x in [j, s] {
        assert!(
            x == x.trim() && !x.contains('\n') && text.contains(x),
            "{x:?}"
        );
    }
    assert!(j.starts_with("ey") && s.starts_with('S'));
    assert_eq!(creds::jwt(&text), Ok(j), "jwt() and parse() disagree");
    let again = creds::format(j, s);
    assert_eq!(creds::parse(&again), Ok((j, s)));
    assert_eq!(creds::jwt(&again), Ok(j));
    let _ = jwt::decode_user(j);
    if let Ok(kp) = nkeys::KeyPair::from_seed(s) {
        let sig = kp.sign(b"nonce").expect("a seed signs");
        assert!(kp.verify(b"nonce", &sig).is_ok());
        assert!(nkeys::KeyPair::from_public_key(&kp.public_key()).is_ok());
    }
});
