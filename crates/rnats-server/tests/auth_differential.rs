//! Authentication and permissions, differentially: for each configuration, the same CONNECT
//! scripts go to rnats-server and to the reference nats-server 2.15; the bytes that come back
//! must be identical after masking INFO lines (ids, nonces).

use rnats_testkit::{ServerProcess, exchange, reference_server_path};
use std::path::Path;

struct Case {
    name: &'static str,
    conf: &'static str,
    scripts: &'static [&'static [u8]],
}

const BCRYPT_PW: &str = "$2a$04$uk/.B0rM.1HIFoaji7Aw/.u/kIuyixSJCnn4.t0f0Ms7e951h5xFW"; // "pw"

const CASES: &[Case] = &[
    Case {
        name: "token",
        conf: "authorization { token: s3cr3t }",
        scripts: &[
            b"CONNECT {\"verbose\":false,\"auth_token\":\"s3cr3t\"}\r\nSUB a 1\r\nPUB a 1\r\nx\r\n",
            b"CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\n",
            b"CONNECT {\"verbose\":false}\r\n",
            b"PING\r\n",
            b"SUB a 1\r\n",
            b"CONNECT {\"auth_token\":\"s3cr3t\"}\r\n",
        ],
    },
    Case {
        name: "user/password",
        conf: "authorization { user: derek, password: porkchop }",
        scripts: &[
            b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"porkchop\"}\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"x\"}\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"porkchop\"}\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"porkchop\",\"account\":\"A\"}\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"porkchop\",\"protocol\":2}\r\n",
        ],
    },
    Case {
        name: "users with bcrypt and permissions",
        conf: "authorization {\n  users: [\n    {user: alice, password: \"$2a$04$uk/.B0rM.1HIFoaji7Aw/.u/kIuyixSJCnn4.t0f0Ms7e951h5xFW\"}\n    {user: bob, password: pw, permissions: {publish: {allow: [\"pub.>\"], deny: [\"pub.secret\"]}, subscribe: [\"sub.*\", \"q.x v1\"]}}\n    {user: guest, password: \"\"}\n  ]\n}",
        scripts: &[
            b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw\"}\r\nSUB x 1\r\nPUB x 1\r\n1\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"$2a$04$uk/.B0rM.1HIFoaji7Aw/.u/kIuyixSJCnn4.t0f0Ms7e951h5xFW\"}\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"guest\"}\r\nSUB x 1\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"nobody\",\"pass\":\"pw\"}\r\n",
            b"CONNECT {\"user\":\"bob\",\"pass\":\"pw\"}\r\nSUB sub.a 1\r\nSUB other 2\r\nSUB sub.> 3\r\nSUB q.x 4\r\nSUB q.x v1 5\r\nSUB q.x v2 6\r\nPUB pub.a 1\r\nx\r\nPUB pub.secret 1\r\nx\r\nPUB other 1\r\nx\r\n",
        ],
    },
    Case {
        name: "no_auth_user",
        conf: "authorization { users: [ {user: a, password: b}, {user: anon, password: \"\", permissions: {publish: [\"ok\"]}} ] }\nno_auth_user: anon",
        scripts: &[
            b"CONNECT {\"verbose\":false}\r\nPUB ok 1\r\nx\r\nPUB no 1\r\nx\r\n",
            b"PING\r\nPUB no 1\r\nx\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nPUB no 1\r\nx\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"x\"}\r\n",
        ],
    },
    Case {
        name: "allow_responses and delivery-time deny",
        conf: "authorization { users: [\n {user: svc, password: pw, permissions: {subscribe: {allow: [\"req.>\", \"a.>\"], deny: [\"a.hidden\"]}, allow_responses: {max: 2}}}\n {user: cli, password: pw}\n] }",
        scripts: &[
            b"CONNECT {\"verbose\":false,\"user\":\"svc\",\"pass\":\"pw\"}\r\nSUB a.* 1\r\nPUB anything 1\r\nx\r\n",
        ],
    },
    Case {
        name: "accounts with default permissions",
        conf: "accounts {\n  A { users: [{user: a, password: a}], default_permissions: {publish: [\"ok\"]} }\n  B { users: [{user: b, password: b}] }\n}",
        scripts: &[
            b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}\r\nSUB x 1\r\nPUB ok 1\r\nx\r\nPUB no 1\r\nx\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"b\"}\r\nSUB no 1\r\nPUB no 1\r\nx\r\n",
            b"CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"a\"}\r\n",
        ],
    },
    Case {
        name: "reserved subjects",
        conf: "port: 4222",
        scripts: &[
            b"CONNECT {\"verbose\":false}\r\nPUB _GR_.abc 1\r\nx\r\nPUB $NRG.x 1\r\nx\r\nPUB a _R_.abc 1\r\nx\r\nPUB a $JS.ACK.x 1\r\nx\r\nPUB a _GR_.x 1\r\nx\r\n",
        ],
    },
];

#[test]
fn auth_wire_matches_reference() {
    assert!(BCRYPT_PW.starts_with("$2a$04$"));
    let dir = std::env::temp_dir().join(format!("rnats-authdiff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let reference = reference_server_path();
    let mut failures = Vec::new();
    let mut total = 0;
    for (i, case) in CASES.iter().enumerate() {
        let conf = dir.join(format!("c{i}.conf"));
        std::fs::write(&conf, case.conf).expect("write");
        let c = conf.to_str().expect("path");
        let ours = ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_rnats-server")), &["-c", c])
            .unwrap_or_else(|e| panic!("{}: rnats: {e}", case.name));
        let theirs = ServerProcess::start(&reference, &["-c", c])
            .unwrap_or_else(|e| panic!("{}: reference: {e}", case.name));
        for script in case.scripts {
            total += 1;
            let a = exchange(ours.port, script);
            let b = exchange(theirs.port, script);
            if a != b {
                failures.push(format!(
                    "--- {}: {:?}\n rnats:     {a:?}\n reference: {b:?}",
                    case.name,
                    String::from_utf8_lossy(script)
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
