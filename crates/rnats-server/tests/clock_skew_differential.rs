//! `clock_skew` against the reference. With `clock_skew { nbf: 0s, exp: 0s, iat_future: off }`
//! rnats accepts and refuses what nats-server does (byte for byte on the wire); with its
//! defaults it differs only where documented (5 s before `nbf`), and `exp` leeway never helps a
//! bearer token.

use rnats_testkit::jwt::{Operator, now, operator_config};
use serde_json::json;

mod common;
use common::jwtdiff::*;

#[test]
fn zero_leeway_is_the_reference_and_the_defaults_differ_only_as_documented() {
    let op = Operator::new("OP", json!({}));
    let sys = op.account("SYS", json!({}));
    let acc = op.account("ACC", json!({}));
    let text = operator_config(&op, &sys, &[&acc]);
    let user = |name: &str, extra: serde_json::Value| connect_as(&acc.user(name, extra), None);
    let bearer = |name: &str, extra: serde_json::Value| {
        let u = acc.user(name, extra);
        let j = u.jwt.clone();
        Box::new(move |_: &str| format!("CONNECT {{\"jwt\":\"{j}\",\"verbose\":false}}\r\n"))
            as Box<dyn Fn(&str) -> String>
    };
    // (case, whether rnats with this extra config must equal the reference). Minted right
    // before each run (`t` is the time then), so slow server starts cannot shift a boundary.
    let runs = |t: i64| -> Vec<(&str, Vec<(Case, bool)>)> {
        vec![
            (
                "clock_skew { nbf: 0s, exp: 0s, iat_future: off }",
                vec![
                    (
                        Case {
                            name: "nbf in 3s",
                            connect: user("n3", json!({"nbf": t + 3})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "nbf passed",
                            connect: user("n0", json!({"nbf": t - 1})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "exp in 3s",
                            connect: user("e3", json!({"exp": t + 3})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "exp 2s ago",
                            connect: user("e2", json!({"exp": t - 2})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "iat 20s ahead",
                            connect: user("i20", json!({"iat": t + 20})),
                            then: "",
                        },
                        true,
                    ),
                ],
            ),
            (
                "",
                vec![
                    // rnats' default: 5 s of nbf leeway (documented), the rest as the reference.
                    (
                        Case {
                            name: "default: nbf in 3s",
                            connect: user("dn3", json!({"nbf": t + 3})),
                            then: "",
                        },
                        false,
                    ),
                    (
                        Case {
                            name: "default: nbf in 60s",
                            connect: user("dn60", json!({"nbf": t + 60})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "default: exp 2s ago",
                            connect: user("de2", json!({"exp": t - 2})),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "default: iat 20s ahead (warn)",
                            connect: user("di20", json!({"iat": t + 20})),
                            then: "",
                        },
                        true,
                    ),
                ],
            ),
            (
                "clock_skew { exp: 5s }",
                vec![
                    (
                        Case {
                            name: "exp leeway: exp 2s ago",
                            connect: user("l2", json!({"exp": t - 2})),
                            then: "",
                        },
                        false,
                    ),
                    (
                        Case {
                            name: "exp leeway: bearer exp 2s ago",
                            connect: bearer(
                                "b2",
                                json!({"exp": t - 2, "nats": {"bearer_token": true}}),
                            ),
                            then: "",
                        },
                        true,
                    ),
                    (
                        Case {
                            name: "exp leeway: exp 20s ago",
                            connect: user("l20", json!({"exp": t - 20})),
                            then: "",
                        },
                        true,
                    ),
                ],
            ),
        ]
    };
    let mut failures = Vec::new();
    for i in 0..runs(now()).len() {
        let extra = runs(now())[i].0;
        let (ours, theirs) = start_with_extra(&format!("skewdiff{i}"), &text, extra);
        let (_, cases) = runs(now()).swap_remove(i);
        for (case, same) in &cases {
            let (a, b) = (run(ours.port, case), run(theirs.port, case));
            if *same && a != b {
                failures.push(format!(
                    "{}:\n  rnats: {a:?}\n  nats-server: {b:?}",
                    case.name
                ));
            }
            if !*same && (a == b || !a.contains("PONG")) {
                failures.push(format!(
                    "{} should be accepted by rnats only:\n  rnats: {a:?}\n  nats-server: {b:?}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
