//! NATS JWTs. The first byte picks a mode (`b % 4`, so seeds can start with an ASCII digit):
//!
//! - `0` raw: the rest is a token; every decoder, the claims and the time rule (fixed clock)
//!   must return, never panic.
//! - `1` tamper: byte 1 picks a fixed minted token (user, account, operator), a part (header,
//!   payload, signature), whether to edit its base64 text or its decoded bytes, insert or
//!   overwrite, and whether to cut the part after the edit; bytes 2-3 are the offset; the rest
//!   is spliced in. A token verifies if and only if it is the original (so in particular its
//!   signed bytes are the original's).
//! - `2` user: the rest is a user claim's JSON, signed by the account, its plain or its scoped
//!   signing key (byte 1; bit 7 signs as version 1 does), through the whole connect-time check
//!   (`authenticate_user_traced`).
//! - `3` account: the rest is an account claim's JSON signed by the trusted operator, verified,
//!   then used to authenticate a fixed user (byte 1 picks the user's signer).
//!
//! Accepted users must not be already expired, and unless the token is a bearer token (or the
//! check is told to skip it) the user key must be the one that signed the nonce.
#![no_main]

mod auth_fixture;

use auth_fixture as fx;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use rnats_auth::AuthFailure;
use rnats_auth::jwt::claims::{AccountClaims, ClaimsData, SigningKey};
use rnats_auth::jwt::time::{IatPolicy, TimeFailure, TimePolicy, check, unix};
use rnats_auth::jwt::{self, Kind};
use rnats_auth::operator::{
    AccountSource, Trace, Trust, UserConnect, activation_valid, authenticate_user_traced,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

struct Fixture {
    op: nkeys::KeyPair,
    signers: [nkeys::KeyPair; 3],
    user_key: String,
    trust: Trust,
    account: Arc<AccountClaims>,
    /// Users for `fx::user`, signed by each of `signers`.
    users: [String; 3],
    /// What tamper mode edits: a user, an account and an operator token.
    originals: [String; 3],
    sig_url: String,
    sig_std: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let op = fx::operator();
        let signers = [fx::account(), fx::signing_key(), fx::scoped_key()];
        let trust = Trust::from_keys(&[op.public_key()]).expect("trust");
        let account = Arc::new(trust.verify_account(&fx::account_jwt()).expect("account"));
        let users = signers.each_ref().map(fx::user_jwt);
        let originals = [users[0].clone(), fx::account_jwt(), fx::operator_jwt()];
        let raw = fx::user().sign(fx::NONCE.as_bytes()).expect("sign");
        Fixture {
            op,
            user_key: fx::user().public_key(),
            signers,
            trust,
            account,
            users,
            originals,
            sig_url: URL_SAFE_NO_PAD.encode(&raw),
            sig_std: STANDARD.encode(&raw),
        }
    })
}

fn now() -> std::time::SystemTime {
    unix(fx::NOW)
}

fn policies() -> [TimePolicy; 3] {
    let wide = Duration::from_secs(30);
    [
        TimePolicy::default(),
        TimePolicy::RNATS_DEFAULT,
        TimePolicy {
            nbf_leeway: wide,
            exp_leeway: wide,
            iat_future: IatPolicy::Reject,
        },
    ]
}

/// The time rule under every policy, with the failure's message and hint.
fn times(d: &ClaimsData) {
    for p in policies() {
        match check(d, now(), &p) {
            Ok(v) => assert!(v.deadline.is_none_or(|t| t > now())),
            Err(e) => {
                let f = TimeFailure::new(e, d, now(), p, false);
                let _ = (f.to_string(), f.hint());
            }
        }
    }
}

fn raw(token: &str) {
    let f = fixture();
    for kind in [Kind::Operator, Kind::Account, Kind::User, Kind::Activation] {
        let _ = jwt::decode(token, kind);
    }
    if let Ok(v) = jwt::decode_generic(token) {
        let _ = serde_json::from_value::<ClaimsData>(v.payload);
    }
    if let Ok(u) = jwt::decode_user(token) {
        times(&u.data);
        let _ = u.nats.limits.permissions.to_permissions();
    }
    if let Ok(a) = jwt::decode_account(token) {
        times(&a.data);
        let _ = a.validation_issues();
    }
    if let Ok(o) = jwt::decode_operator(token) {
        times(&o.data);
    }
    let _ = Trust::from_operators(&[token.to_string()], now(), &TimePolicy::RNATS_DEFAULT);
    let _ = f.trust.verify_account(token);
    let revs = Default::default();
    let _ = activation_valid(
        token,
        &f.account,
        &revs,
        &f.account.data.sub,
        "service",
        "svc.a.x",
        now(),
        &TimePolicy::RNATS_DEFAULT,
    );
}

/// Insert `data` at `off` or overwrite from there; with `cut`, drop what follows it.
fn splice(buf: &mut Vec<u8>, off: usize, data: &[u8], insert: bool, cut: bool) {
    let off = off.min(buf.len());
    let end = if insert {
        off
    } else {
        (off + data.len()).min(buf.len())
    };
    buf.splice(off..end, data.iter().copied());
    if cut {
        buf.truncate(off + data.len());
    }
}

/// `ctl`: bits 0-1 the part (`% 3`), bit 2 cut, bit 4 decoded bytes, bit 5 insert, bits 6-7
/// the token (`% 3`).
fn tamper(ctl: u8, off: usize, data: &[u8]) {
    let f = fixture();
    let orig = &f.originals[usize::from(ctl >> 6) % 3];
    let mut parts: Vec<String> = orig.split('.').map(str::to_string).collect();
    let part = &mut parts[usize::from(ctl & 3) % 3];
    let (insert, cut) = (ctl & 0x20 != 0, ctl & 0x04 != 0);
    if ctl & 0x10 != 0 {
        let mut bytes = URL_SAFE_NO_PAD.decode(&*part).expect("minted base64");
        splice(&mut bytes, off, data, insert, cut);
        *part = URL_SAFE_NO_PAD.encode(bytes);
    } else {
        let mut bytes = part.clone().into_bytes();
        splice(&mut bytes, off, data, insert, cut);
        *part = String::from_utf8_lossy(&bytes).into_owned();
    }
    let token = parts.join(".");
    let verified = [Kind::Operator, Kind::Account, Kind::User, Kind::Activation]
        .into_iter()
        .any(|k| jwt::decode(&token, k).is_ok())
        || jwt::decode_generic(&token).is_ok();
    // Base64 is decoded strictly and ed25519 signatures are not malleable here, so the only
    // token that verifies is the original, byte for byte (its signed bytes included).
    assert_eq!(verified, token == *orig, "tampered: {token}");
    raw(&token);
}

/// A resolver that knows one account.
struct Source(Arc<AccountClaims>);

impl AccountSource for Source {
    fn account(&self, id: &str) -> Result<Arc<AccountClaims>, AuthFailure> {
        if id == self.0.data.sub {
            Ok(self.0.clone())
        } else {
            Err(AuthFailure::AccountUnknown(id.to_string()))
        }
    }
}

/// `flags`: bits 0-1 pick the signer (`% 3`), bit 2 skip the nonce signature, bit 3 the wide policy that rejects a future
/// `iat`, bit 4 a websocket connection, bit 5 an IPv6 client, bit 6 the signature in standard
/// base64.
fn connect(jwt: &str, flags: u8, account: Arc<AccountClaims>) {
    let f = fixture();
    let c = UserConnect {
        jwt: Some(jwt),
        sig: Some(if flags & 0x40 != 0 {
            &f.sig_std
        } else {
            &f.sig_url
        }),
        nonce: Some(fx::NONCE),
        ip: Some(if flags & 0x20 != 0 {
            "::ffff:10.1.2.3".parse().expect("ip")
        } else {
            "127.0.0.1".parse().expect("ip")
        }),
        connection_type: if flags & 0x10 != 0 {
            "WEBSOCKET"
        } else {
            "STANDARD"
        },
        skip_signature: flags & 0x04 != 0,
    };
    let policy = policies()[if flags & 0x08 != 0 { 2 } else { 1 }];
    let mut trace = Trace::On(Vec::new());
    match authenticate_user_traced(&c, &Source(account), &f.trust, now(), &policy, &mut trace) {
        Ok(u) => {
            assert!(u.deadline.is_none_or(|t| t > now()), "accepted, expired");
            assert!(u.account_deadline.is_none_or(|t| t > now()));
            let scoped_bearer = matches!(
                u.account_claims.signing_key(&u.claims.data.iss),
                Some(SigningKey::Scoped { template, .. }) if template.bearer_token
            );
            let bearer = u.claims.nats.limits.bearer_token || scoped_bearer;
            assert!(
                bearer || c.skip_signature || u.claims.data.sub == f.user_key,
                "accepted without the user's nonce signature"
            );
            let _ = u.permissions.map(|p| p.can_publish(b"a.b"));
        }
        Err(e) => {
            let _ = (e.to_string(), e.code(), e.hint());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    match mode % 4 {
        0 => raw(&String::from_utf8_lossy(rest)),
        1 => {
            if let [ctl, a, b, splice @ ..] = rest {
                tamper(*ctl, usize::from(u16::from_le_bytes([*a, *b])), splice);
            }
        }
        2 => {
            if let Some((&flags, claim)) = rest.split_first() {
                let signer = &f.signers[usize::from(flags & 3) % 3];
                let payload = fx::with_issuer(claim, signer);
                let token = fx::sign_raw(&payload, signer, flags & 0x80 != 0);
                raw(&token);
                connect(&token, flags, f.account.clone());
            }
        }
        _ => {
            if let Some((&flags, claim)) = rest.split_first() {
                let token = fx::sign_raw(&fx::with_issuer(claim, &f.op), &f.op, false);
                if let Ok(a) = f.trust.verify_account(&token) {
                    times(&a.data);
                    let _ = a.validation_issues();
                    let _ = a.is_revoked(&f.user_key, fx::NOW);
                    let _ = a.nats.default_permissions.to_permissions();
                    connect(&f.users[usize::from(flags & 3) % 3], flags, Arc::new(a));
                }
            }
        }
    }
});
