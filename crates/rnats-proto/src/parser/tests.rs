use super::*;

/// Feed `input` split at the given points; collect ops as owned debug strings.
fn run(p: &mut Parser, chunks: &[&[u8]]) -> (Vec<String>, Option<ParseError>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut ops = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match p.parse(&buf) {
                Ok(Step::Op(op, n)) => {
                    ops.push(format!("{op:?}"));
                    buf.drain(..n);
                }
                Ok(Step::NeedMore(n)) => {
                    buf.drain(..n);
                    break;
                }
                Err(e) => return (ops, Some(e)),
            }
        }
    }
    (ops, None)
}

fn all(input: &[u8]) -> (Vec<String>, Option<ParseError>) {
    run(&mut Parser::default(), &[input])
}

#[test]
fn basic_ops() {
    let (ops, err) =
        all(b"PING\r\nPONG\r\n+OK\r\nSUB foo 1\r\nSUB foo q 2\r\nUNSUB 1\r\nUNSUB 2 5\r\n");
    assert!(err.is_none());
    assert_eq!(ops.len(), 7);
    assert_eq!(ops[0], "Ping");
    assert!(ops[3].contains("queue: None"));
}

#[test]
fn pub_and_payload() {
    let mut p = Parser {
        pedantic: false,
        ..Parser::default()
    };
    let mut buf = b"PUB foo.bar reply 5\r\nhello\r\n".to_vec();
    buf.extend_from_slice(b"PUB x 0\r\n\r\n");
    match p.parse(&buf).expect("ok") {
        Step::Op(
            ClientOp::Pub {
                subject,
                reply,
                header_len,
                data,
            },
            n,
        ) => {
            assert_eq!(subject, b"foo.bar");
            assert_eq!(reply, Some(&b"reply"[..]));
            assert_eq!(header_len, None);
            assert_eq!(data, b"hello");
            assert_eq!(n, 28);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_split_point_gives_the_same_ops() {
    let input: &[u8] = b"CONNECT {\"verbose\":false}\r\nPUB a 3\r\nabc\r\nHPUB h r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nsub\tx  q\t9\nPING\nunsub 9 2\r\nPONG xyz\r\n";
    let mut reference = Parser {
        headers: true,
        ..Parser::default()
    };
    let want = run(&mut reference, &[input]);
    assert!(want.1.is_none(), "{:?}", want.1);
    assert_eq!(want.0.len(), 7, "{:?}", want.0);
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let mut p = Parser {
                headers: true,
                ..Parser::default()
            };
            let got = run(&mut p, &[&input[..i], &input[i..j], &input[j..]]);
            assert_eq!(got, want, "split at {i},{j}");
        }
    }
}

#[test]
fn case_insensitive_and_tabs() {
    let (ops, err) = all(b"pub\tfoo\t1\r\nx\r\ncOnNeCt {}\r\nSuB a 1\r\nping\r\n");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(ops.len(), 4);
}

#[test]
fn bare_newlines() {
    let (ops, err) = all(b"PING\nSUB x 1\n");
    assert!(err.is_none());
    assert_eq!(
        ops,
        vec![
            "Ping".to_string(),
            "Sub { subject: [120], queue: None, sid: [49] }".to_string()
        ]
    );
}

#[test]
fn unknown_ops() {
    for bad in [
        &b"\tPUB x 1\r\n"[..],
        b"\r\n",
        b"MSG x 1 1\r\n",
        b"PUBX x 1\r\n",
        b"PUB\r\n",
        b"UNSUB\r\n",
        b"RS+ x\r\n",
        b"XYZ",
        b"PUB foo 2\r\nabc\r\n",
    ] {
        let (_, err) = all(bad);
        assert!(
            matches!(err, Some(ParseError::UnknownOp { .. })),
            "{bad:?} -> {err:?}"
        );
    }
}

#[test]
fn argument_errors_are_silent() {
    for (bad, hdrs) in [
        (&b"PUB foo\r\n"[..], false),
        (b"PUB foo bar baz 1\r\n", false),
        (b"PUB foo -1\r\n", false),
        (b"PUB foo 1234567890\r\n", false),
        (b"SUB foo\r\n", false),
        (b"SUB a b c d\r\n", false),
        (b"UNSUB 1 2 3\r\n", false),
        (b"PUB \r\n", false),
        (b"HPUB foo 1 2\r\n", false),
        (b"HPUB foo 3 2\r\n", true),
    ] {
        let mut p = Parser {
            headers: hdrs,
            ..Parser::default()
        };
        let (_, err) = run(&mut p, &[bad]);
        let err = err.expect("error");
        assert_eq!(err.wire_error(), None, "{bad:?} -> {err:?}");
    }
}

#[test]
fn control_line_limit() {
    let mut line = b"SUB ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 4094));
    line.extend_from_slice(b" 1\r\n");
    let (ops, err) = all(&line);
    assert!(err.is_none());
    assert_eq!(ops.len(), 1);
    let mut line = b"SUB ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 4095));
    line.extend_from_slice(b" 1\r\n");
    let (_, err) = all(&line);
    assert!(matches!(err, Some(ParseError::MaxControlLine { .. })));
    // An endless line is cut before its end arrives.
    let mut p = Parser::default();
    let mut endless = b"PUB ".to_vec();
    endless.extend(std::iter::repeat_n(b'x', 5000));
    let (_, err) = run(&mut p, &[&endless]);
    assert!(matches!(err, Some(ParseError::MaxControlLine { .. })));
}

#[test]
fn endless_separators_and_pings_are_consumed() {
    let mut p = Parser::default();
    let spaces = vec![b' '; 100_000];
    assert_eq!(p.parse(b"PUB").expect("ok"), Step::NeedMore(3));
    assert_eq!(p.parse(&spaces).expect("ok"), Step::NeedMore(100_000));
    let mut p = Parser::default();
    let junk = vec![b'z'; 100_000];
    assert_eq!(p.parse(b"PING").expect("ok"), Step::NeedMore(4));
    assert_eq!(p.parse(&junk).expect("ok"), Step::NeedMore(100_000));
    assert_eq!(p.parse(b"\n").expect("ok"), Step::Op(ClientOp::Ping, 1));
}

#[test]
fn max_payload() {
    let mut p = Parser::new(4096, 10);
    let (_, err) = run(&mut p, &[b"PUB foo 11\r\n"]);
    assert_eq!(err, Some(ParseError::MaxPayload { size: 11, max: 10 }));
    let mut p = Parser::new(4096, -1);
    let (ops, err) = run(&mut p, &[b"PUB foo 11\r\nhello world\r\n"]);
    assert!(err.is_none() && ops.len() == 1);
    let mut p = Parser::new(4096, -2);
    let (_, err) = run(&mut p, &[b"PUB foo 0\r\n\r\n"]);
    assert!(matches!(err, Some(ParseError::MaxPayload { .. })));
}

#[test]
fn pedantic_notice_precedes_payload() {
    let (ops, err) = all(b"PUB foo.* 1\r\nx\r\n");
    assert!(err.is_none());
    assert_eq!(ops[0], "InvalidPublishSubject");
    assert!(ops[1].starts_with("Pub"));
    let mut p = Parser {
        pedantic: false,
        ..Parser::default()
    };
    let (ops, _) = run(&mut p, &[b"PUB foo.* 1\r\nx\r\n"]);
    assert_eq!(ops.len(), 1);
}

#[test]
fn auth_required_first_op() {
    let mut p = Parser {
        expect_connect: true,
        ..Parser::default()
    };
    assert_eq!(p.parse(b"PING\r\n"), Err(ParseError::AuthRequired));
    let mut p = Parser {
        expect_connect: true,
        ..Parser::default()
    };
    assert!(matches!(
        p.parse(b"connect {}\r\n"),
        Ok(Step::Op(ClientOp::Connect(b"{}"), 12))
    ));
}

#[test]
fn unsub_max_forms() {
    let (ops, _) = all(b"UNSUB 1 abc\r\nUNSUB 1 0\r\nUNSUB 1 3\r\n");
    assert!(ops[0].contains("max: Some(None)"));
    assert!(ops[1].contains("max: Some(Some(0))"));
    assert!(ops[2].contains("max: Some(Some(3))"));
}

#[test]
fn connect_without_space_and_empty() {
    let (ops, err) = all(b"CONNECT{}\r\nCONNECT\r\n");
    assert!(err.is_none());
    assert_eq!(ops[0], "Connect([123, 125])");
    assert_eq!(ops[1], "Connect([])");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet = b"PUBSUNCOTHIGKRE+- \t\r\n0123456789.*>abc{}";
    for _ in 0..20_000 {
        let len = rng.usize(0..64);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.bool() {
                    alphabet[rng.usize(0..alphabet.len())]
                } else {
                    rng.u8(..)
                }
            })
            .collect();
        let cut = rng.usize(0..=bytes.len());
        let mut p = Parser {
            headers: rng.bool(),
            pedantic: rng.bool(),
            ..Parser::new(rng.usize(0..64), rng.i64(-2..64))
        };
        let _ = run(&mut p, &[&bytes[..cut], &bytes[cut..]]);
    }
}
