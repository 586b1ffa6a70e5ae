use super::*;

const USER: &str = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
const SIG: &str =
    "BFqgAdhpmdT7AcI_hxTszAUiqdm5bBqbwMALxRCGOBYMSx9jTHq7RISqFue3wTE53jdrCFSiYMMcaXDUnZp1Bg";
const NONCE: &str = "abcdefghijklmno";

fn creds<'a>(
    user: Option<&'a str>,
    pass: Option<&'a str>,
    token: Option<&'a str>,
) -> Credentials<'a> {
    Credentials {
        user,
        pass,
        token,
        ..Default::default()
    }
}

fn reason(r: Result<Identity, Rejection>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.reason.code(),
    }
}

#[test]
fn token_mode() {
    let a = StaticAuth {
        token: Some("s3cr3t".into()),
        ..Default::default()
    };
    assert!(a.auth_required() && !a.nonce_required());
    assert_eq!(
        reason(a.authenticate(&creds(None, None, Some("s3cr3t")), None)),
        "ok"
    );
    assert_eq!(
        reason(a.authenticate(&creds(None, None, Some("nope")), None)),
        "token_mismatch"
    );
    assert_eq!(
        reason(a.authenticate(&creds(None, None, None), None)),
        "no_credentials"
    );
    let r = a
        .authenticate(&creds(None, None, Some("nope")), None)
        .expect_err("bad");
    assert_eq!(r.presented.to_string(), " - Token \"[REDACTED]\"");
}

#[test]
fn single_user_mode() {
    let a = StaticAuth {
        user: Some(("derek".into(), "porkchop".into())),
        ..Default::default()
    };
    assert_eq!(
        reason(a.authenticate(&creds(Some("derek"), Some("porkchop"), None), None)),
        "ok"
    );
    assert_eq!(
        reason(a.authenticate(&creds(Some("derek"), Some("x"), None), None)),
        "bad_password"
    );
    assert_eq!(
        reason(a.authenticate(&creds(Some("alice"), Some("porkchop"), None), None)),
        "unknown_user"
    );
    assert_eq!(
        reason(a.authenticate(&creds(None, None, None), None)),
        "no_credentials"
    );
}

#[test]
fn users_and_nkeys_and_no_auth_user() {
    let mut a = StaticAuth::default();
    a.users.insert(
        "alice".into(),
        User {
            username: "alice".into(),
            password: bcrypt_hash("pw"),
            ..Default::default()
        },
    );
    a.users.insert(
        "guest".into(),
        User {
            username: "guest".into(),
            ..Default::default()
        },
    );
    a.nkeys.insert(
        USER.into(),
        NkeyUser {
            nkey: USER.into(),
            ..Default::default()
        },
    );
    assert!(a.nonce_required());
    assert!(a.may_be_slow(&creds(Some("alice"), Some("pw"), None)));
    assert_eq!(
        reason(a.authenticate(&creds(Some("alice"), Some("pw"), None), None)),
        "ok"
    );
    assert_eq!(
        reason(a.authenticate(&creds(Some("alice"), Some("no"), None), None)),
        "bad_password"
    );
    assert_eq!(
        reason(a.authenticate(&creds(Some("bob"), None, None), None)),
        "unknown_user"
    );
    // A user with an empty password authenticates with no password (empty == empty).
    assert_eq!(
        reason(a.authenticate(&creds(Some("guest"), None, None), None)),
        "ok"
    );
    let nk = |nkey, sig| Credentials {
        nkey,
        sig,
        ..Default::default()
    };
    assert_eq!(
        reason(a.authenticate(&nk(Some(USER), Some(SIG)), Some(NONCE))),
        "ok"
    );
    assert_eq!(
        reason(a.authenticate(&nk(Some(USER), None), Some(NONCE))),
        "nkey_signature_missing"
    );
    assert_eq!(
        reason(a.authenticate(&nk(Some(USER), Some(SIG)), Some("otherNonce12345"))),
        "nkey_signature_invalid"
    );
    // An unknown nkey never falls back to user/password.
    let mixed = Credentials {
        nkey: Some("UNKNOWN"),
        user: Some("alice"),
        pass: Some("pw"),
        ..Default::default()
    };
    assert_eq!(reason(a.authenticate(&mixed, Some(NONCE))), "nkey_unknown");
    assert_eq!(
        reason(a.authenticate(&creds(None, None, None), None)),
        "no_credentials"
    );
    // no_auth_user: an anonymous client becomes that user.
    a.no_auth_user = Some("guest".into());
    let id = a
        .authenticate(&creds(None, None, None), None)
        .expect("no_auth_user");
    assert_eq!(id.name.as_deref(), Some("guest"));
    a.no_auth_user = Some(USER.into());
    let id = a
        .authenticate(&creds(None, None, None), None)
        .expect("nkey no_auth_user");
    assert_eq!(id.name.as_deref(), Some(USER));
}

fn bcrypt_hash(pw: &str) -> String {
    bcrypt::hash(pw, 4).expect("hash")
}

#[test]
fn may_be_slow_follows_the_user_that_authenticate_picks() {
    let mut a = StaticAuth::default();
    for (name, pw) in [("alice", bcrypt_hash("pw")), ("bob", "plain".to_string())] {
        a.users.insert(
            name.into(),
            User {
                username: name.into(),
                password: pw,
                ..Default::default()
            },
        );
    }
    let mapped = |names: &'static [String], user| Credentials {
        cert_names: Some(names),
        user,
        pass: Some("pw"),
        ..Default::default()
    };
    static ALICE_CERT: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["CN=nobody".into(), "alice".into()]);
    static BOB_CERT: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["bob".into()]);
    // A certificate that maps to a bcrypt user is slow even when CONNECT names another user.
    assert!(a.may_be_slow(&mapped(&ALICE_CERT, Some("bob"))));
    // A certificate that maps to a plain user is fast even when CONNECT names a bcrypt user.
    assert!(!a.may_be_slow(&mapped(&BOB_CERT, Some("alice"))));
    assert!(a.may_be_slow(&creds(Some("alice"), Some("pw"), None)));
    // no_auth_user compares no password.
    a.no_auth_user = Some("alice".into());
    assert!(!a.may_be_slow(&creds(None, None, None)));
}
