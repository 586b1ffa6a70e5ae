use super::*;

fn load(src: &str) -> Result<(Options, Vec<String>), ConfigError> {
    let map = rnats_conf::parse_str(src).map_err(|e| ConfigError::Parse(e.to_string()))?;
    let mut o = Options::default();
    let w = apply_map(&map, &mut o)?;
    Ok((o, w))
}

#[test]
fn core_keys() {
    let (o, w) = load(
        "listen: localhost:4333\nserver_name: srv\nmax_payload: 2MB\nmax_control_line: 2048\n\
         max_connections: 10\nmax_subscriptions: 5\nping_interval: \"30s\"\nping_max: 3\n\
         no_header_support: true\nlame_duck_duration: \"45s\"\nlame_duck_grace_period: \"5s\"\n\
         write_deadline: \"2s\"\nhttp_port: 8333\n",
    )
    .expect("loads");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!((o.host.as_str(), o.port), ("localhost", 4333));
    assert_eq!(o.server_name, "srv");
    assert_eq!(o.max_payload, 2 * 1024 * 1024);
    assert_eq!(o.max_control_line, 2048);
    assert_eq!(o.max_connections, 10);
    assert_eq!(o.max_subscriptions, 5);
    assert_eq!(o.ping_interval, Duration::from_secs(30));
    assert_eq!(o.ping_max, 3);
    assert!(o.no_header_support);
    assert_eq!(o.lame_duck_duration, Duration::from_secs(45));
    assert_eq!(o.lame_duck_grace_period, Duration::from_secs(5));
    assert_eq!(o.write_deadline, Duration::from_secs(2));
    assert_eq!(o.http_port, 8333);
}

#[test]
fn quirks() {
    // max_connections 0 refuses everyone.
    let (o, w) = load("max_connections: 0").expect("loads");
    assert_eq!(o.max_connections, -1);
    assert_eq!(w.len(), 1);
    // An integer duration is seconds, with a warning; unquoted 2m is 2,000,000.
    let (o, w) = load("ping_interval: 2m").expect("loads");
    assert_eq!(o.ping_interval, Duration::from_secs(2_000_000));
    assert!(
        w[0].ends_with("ping_interval should be converted to a duration"),
        "{w:?}"
    );
    let (o, _) = load("ping_interval: 10s").expect("loads");
    assert_eq!(o.ping_interval, Duration::from_secs(10));
    let (o, _) = load("host: 127.0.0.1\nport: -1").expect("loads");
    assert_eq!(o.port, -1);
}

#[test]
fn errors_are_positioned_and_all_reported() {
    let err = load("port: 4222\nfoo: 1\nbar: 2\n").expect_err("unknown");
    let ConfigError::Invalid(errs) = err else {
        panic!("{err}")
    };
    assert_eq!(
        errs,
        vec!["2:1: unknown field \"foo\"", "3:1: unknown field \"bar\""]
    );
    let err = load("port: \"x\"").expect_err("type");
    assert!(
        err.to_string()
            .ends_with("interface conversion: interface {} is string, not int64"),
        "{err}"
    );
    let err = load("lame_duck_duration: \"10s\"").expect_err("short");
    assert!(
        err.to_string()
            .ends_with("invalid lame_duck_duration of 10s, minimum is 30 seconds"),
        "{err}"
    );
}

#[test]
fn later_blocks_warn_once() {
    let (_, w) = load(
        "cluster { name: c, listen: 127.0.0.1:-1 }\njetstream { store_dir: /tmp/x }\n\
         store_dir: /tmp/y\nwebsocket { port: -1, no_tls: true }",
    )
    .expect("loads");
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].ends_with("not supported yet: cluster"));
}

#[test]
fn used_variables_are_not_unknown() {
    let (o, _) = load("PORT = 4555\nport: $PORT").expect("loads");
    assert_eq!(o.port, 4555);
    let err = load("UNUSED = 1\nport: 4222").expect_err("unused variable");
    assert!(
        err.to_string().contains("unknown field \"UNUSED\""),
        "{err}"
    );
}

#[test]
fn security_features_are_refused_not_ignored() {
    for src in [
        "tls { cert_file: a, key_file: b, ocsp_peer: true }",
        "tls { cert_file: a, key_file: b, connection_rate_limit: 10 }",
        "resolver: URL(\"https://localhost:9090/jwt/v1/accounts/\")",
        "resolver_tls { }",
        "authorization { auth_callout { issuer: x } }",
    ] {
        let err = load(src).expect_err(src).to_string();
        assert!(
            err.contains("refuses to start") || err.contains("refusing to start"),
            "{err}"
        );
    }
}

#[test]
fn authorization_block() {
    let (o, _) = load(
        "authorization {\n  timeout: 1.5\n  users: [\n    {user: a, password: b, permissions: {publish: [\"x.>\"], subscribe: {deny: [\"y\"]}}}\n    {nkey: UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK}\n  ]\n  default_permissions: {publish: [\"d\"]}\n}\nno_auth_user: a",
    )
    .expect("loads");
    assert_eq!(o.auth_timeout, Some(1.5));
    assert_eq!(o.auth.users.len(), 1);
    assert_eq!(o.auth.nkeys.len(), 1);
    assert_eq!(o.auth.no_auth_user.as_deref(), Some("a"));
    let p = o.auth.users["a"].permissions.clone().expect("perms");
    assert!(p.can_publish(b"x.1") && !p.can_publish(b"d"));
    // The nkey user inherits the default permissions.
    let d = o
        .auth
        .nkeys
        .values()
        .next()
        .and_then(|u| u.permissions.clone())
        .expect("default");
    assert!(d.can_publish(b"d") && !d.can_publish(b"x.1"));
    let (o, _) = load("authorization { timeout: \"100ms\" }").expect("duration string");
    assert_eq!(o.auth_timeout, Some(0.1));
    for (src, msg) in [
        (
            "authorization { user: a, password: b, token: c }",
            "Cannot have a user/pass and token",
        ),
        (
            "authorization { token: c, users: [{user: x}] }",
            "Can not have a token and a users array",
        ),
        (
            "authorization { users: [{password: x}] }",
            "User entry requires a user",
        ),
        (
            "authorization { users: [{nkey: Ubad}] }",
            "Not a valid public nkey for a user",
        ),
        (
            "authorization { users: [{user: x}, {user: x}] }",
            "Duplicate user \"x\" detected",
        ),
        (
            "authorization { timeout: true }",
            "error parsing authorization config, 'timeout' wrong type",
        ),
        (
            "authorization { users: [{user: x, permissions: {publish: [\"a..b\"]}}] }",
            "subject \"a..b\" is not a valid subject",
        ),
        ("authorization { bogus: 1 }", "unknown field \"bogus\""),
    ] {
        let err = load(src).expect_err(src).to_string();
        assert!(err.contains(msg), "{src}: {err}");
    }
}

#[test]
fn accounts_block() {
    let (o, _) = load(
        "accounts {\n  A { users: [{user: a, password: p}], default_permissions: {publish: [\"x\"]} }\n  B: { users: [{user: b, password: p, permissions: {publish: [\"y\"]}}] }\n}\nauthorization { users: [{user: g, password: p}] }",
    )
    .expect("loads");
    assert_eq!(o.accounts, vec!["A".to_string(), "B".to_string()]);
    assert_eq!(o.auth.users["a"].account.as_deref(), Some("A"));
    assert_eq!(o.auth.users["b"].account.as_deref(), Some("B"));
    assert_eq!(o.auth.users["g"].account, None);
    assert!(
        o.auth.users["a"]
            .permissions
            .as_ref()
            .is_some_and(|p| p.can_publish(b"x"))
    );
    assert!(
        o.auth.users["b"]
            .permissions
            .as_ref()
            .is_some_and(|p| !p.can_publish(b"x"))
    );
    for (src, msg) in [
        (
            "accounts { $G { users: [] } }",
            "\"$G\" is a Reserved Account",
        ),
        (
            "accounts { A { users: [{user: a}] }, B { users: [{user: a}] } }",
            "Duplicate user \"a\" detected",
        ),
        (
            "accounts { A { users: [{user: a}] } }\nauthorization { token: t }",
            "Can not have a token and accounts",
        ),
        ("accounts { A { bogus: 1 } }", "unknown field \"bogus\""),
    ] {
        let err = load(src).expect_err(src).to_string();
        assert!(err.contains(msg), "{src}: {err}");
    }
}

#[test]
fn clock_skew_block_short_form_and_cap() {
    use rnats_auth::jwt::time::{IatPolicy, TimePolicy};
    let (o, _) = load("").expect("loads");
    assert_eq!(o.clock_skew, TimePolicy::RNATS_DEFAULT);
    let (o, w) = load("clock_skew { nbf: 10s, exp: \"2s\", iat_future: reject }").expect("loads");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(o.clock_skew.nbf_leeway, Duration::from_secs(10));
    assert_eq!(o.clock_skew.exp_leeway, Duration::from_secs(2));
    assert_eq!(o.clock_skew.iat_future, IatPolicy::Reject);
    let (o, _) = load("clock_skew: 3s").expect("short form");
    assert_eq!(o.clock_skew.nbf_leeway, Duration::from_secs(3));
    assert_eq!(o.clock_skew.exp_leeway, Duration::from_secs(3));
    assert_eq!(o.clock_skew.iat_future, IatPolicy::Warn);
    let (o, _) = load("clock_skew { nbf: 0s, exp: 0s, iat_future: off }").expect("reference");
    assert_eq!(o.clock_skew, TimePolicy::default());
    let (o, _) = load("clock_skew: 30").expect("integer seconds");
    assert_eq!(o.clock_skew.nbf_leeway, Duration::from_secs(30));
    for (bad, want) in [
        ("clock_skew: 31s", "above the limit of 30s"),
        ("clock_skew { exp: 1m }", "above the limit of 30s"),
        ("clock_skew: 2m", "above the limit of 30s"),
        ("clock_skew { nbf: \"-1s\" }", "negative duration"),
        (
            "clock_skew { iat_future: maybe }",
            "expected off, warn or reject",
        ),
        (
            "clock_skew { leeway: 1s }",
            "unknown field \"leeway\" in clock_skew",
        ),
        ("clock_skew: true", "expected a duration"),
    ] {
        let err = load(bad).map(|_| ()).expect_err(bad).to_string();
        assert!(err.contains(want), "{bad}: {err}");
        assert!(err.contains("1:"), "{bad}: position in {err}");
    }
}

#[test]
fn service_import_cycles_are_left_out_of_jwt_links() {
    use crate::imports::{Import, Kind};
    let imp = |account: &str, subject: &str| Import {
        kind: Kind::Service,
        account: account.into(),
        subject: subject.into(),
        to: None,
        prefix: None,
        pos: String::new(),
    };
    let mut m = rustc_hash::FxHashMap::default();
    m.insert("A".to_string(), vec![imp("B", "q.>"), imp("C", "other")]);
    m.insert("B".to_string(), vec![imp("A", "q.>")]);
    m.insert("C".to_string(), vec![imp("B", "zzz")]);
    links::drop_cycles(&mut m);
    // A's imports come first (name order); B's import of A closes the cycle and goes.
    assert_eq!(m["A"].len(), 2);
    assert!(m["B"].is_empty());
    assert_eq!(m["C"].len(), 1, "no cycle through unrelated subjects");
}
