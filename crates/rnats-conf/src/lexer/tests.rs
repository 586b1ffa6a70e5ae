//! Lexer tests: the reference's own lexer vectors replayed token by token, plus quirks that the
//! reference tests do not pin down (checked against the reference binary) and robustness checks.

use super::{Kind, Lexer, Token};

#[path = "vectors.rs"]
mod vectors;

fn tokens(input: &[u8]) -> Vec<Token> {
    let mut lx = Lexer::new(input);
    let mut out = Vec::new();
    loop {
        let t = lx.next_token();
        let stop = matches!(t.kind, Kind::Eof | Kind::Error);
        out.push(t);
        if stop {
            return out;
        }
    }
}

fn show(t: &Token) -> String {
    format!(
        "({:?}, {:?}, {}, {})",
        t.kind,
        String::from_utf8_lossy(&t.val),
        t.line,
        t.col
    )
}

/// Same comparison rule as the reference's `expect` helper: compare in order, stop (successfully)
/// at the first end-of-input token, stop after an error token.
#[test]
fn reference_vectors() {
    let mut checked = 0;
    for (name, input, expected) in vectors::VECTORS {
        let mut lx = Lexer::new(input);
        for &(kind, val, line, col) in expected.iter() {
            let t = lx.next_token();
            if t.kind == Kind::Eof {
                break;
            }
            let want = Token {
                kind,
                val: val.to_vec(),
                line,
                col,
            };
            assert_eq!(
                show(&t),
                show(&want),
                "{name}: input {:?}",
                String::from_utf8_lossy(input)
            );
            checked += 1;
            if t.kind == Kind::Error {
                break;
            }
        }
    }
    assert!(checked > 500, "only {checked} tokens checked");
}

fn kinds_vals(input: &str) -> Vec<(Kind, String)> {
    tokens(input.as_bytes())
        .into_iter()
        .filter(|t| !matches!(t.kind, Kind::CommentStart | Kind::Text))
        .map(|t| (t.kind, String::from_utf8_lossy(&t.val).into_owned()))
        .collect()
}

fn last_error(input: &str) -> (String, usize, usize) {
    let toks = tokens(input.as_bytes());
    match toks.last() {
        Some(t) if t.kind == Kind::Error => {
            (String::from_utf8_lossy(&t.val).into_owned(), t.line, t.col)
        }
        other => panic!("expected an error for {input:?}, got {other:?}"),
    }
}

#[test]
fn duration_quirks() {
    use Kind::*;
    assert_eq!(kinds_vals("a = 2m")[1], (Integer, "2m".into()));
    assert_eq!(kinds_vals("a = 10s")[1], (String, "10s".into()));
    assert_eq!(kinds_vals("a = 500ms")[1], (String, "500ms".into()));
    assert_eq!(kinds_vals("a = 1h")[1], (String, "1h".into()));
    let (msg, line, col) = last_error("a = 1m30s");
    assert_eq!(
        msg,
        "Expected a top-level value to end with a new line, comment or EOF, but got '3' instead."
    );
    assert_eq!((line, col), (1, 7));
    let (msg, ..) = last_error("a = 1.5s");
    assert!(msg.ends_with("but got 's' instead."), "{msg}");
    let (msg, ..) = last_error("a { b = 1.5s }");
    assert_eq!(
        msg,
        "Expected a map value terminator \",\" or a map terminator \"}\", but got 's' instead."
    );
}

#[test]
fn nul_is_end_of_input_and_lone_slashes() {
    // `[1]` lexes `1]` as a bare string, then hits the end: the reference prints a NUL.
    let (msg, line, _) = last_error("port = [1]\n");
    assert_eq!(
        msg,
        "Expected an array value terminator \",\" or an array terminator \"]\", but got '\0' \
         instead."
    );
    assert_eq!(line, 2);
    assert_eq!(last_error("a = 1\n\0b = 2").0, "Unexpected EOF.");
    // A lone '/' after a top-level value is skipped like a blank...
    assert!(
        last_error("a = 1.2.3.4/24")
            .0
            .ends_with("but got '2' instead.")
    );
    // ...separates array values, is an error where an array value starts, and is dropped
    // before a map key.
    assert_eq!(kinds_vals("a = [x / y]").len(), 6);
    assert_eq!(
        last_error("a = [/x]").0,
        "Unexpected array value terminator ','."
    );
    assert_eq!(kinds_vals("a { /b = 1 }")[2], (Kind::Key, "b".into()));
    assert_eq!(last_error("/").0, "Unexpected EOF.");
}

#[test]
fn blocks() {
    assert_eq!(kinds_vals("a (\nx\n)\n")[1], (Kind::String, "\nx\n".into()));
    // At end of input the closing parenthesis stays in the value (reference quirk).
    assert_eq!(kinds_vals("a (\nx\n)")[1], (Kind::String, "\nx\n)".into()));
    // CRLF files never close a block.
    assert_eq!(
        last_error("a (\r\nx\r\n)\r\n").0,
        "Unexpected EOF processing block."
    );
}

#[test]
fn escapes_and_numbers() {
    use Kind::*;
    assert_eq!(kinds_vals(r#"a = "x\x41\ty""#)[1], (String, "xA\ty".into()));
    assert_eq!(
        last_error(r#"a = "\q""#).0.split('.').next(),
        Some("Invalid escape character 'q'")
    );
    assert_eq!(
        last_error("a = \"\\x4").0,
        "Expected two hexadecimal digits after '\\x', but got 'x4'"
    );
    assert_eq!(kinds_vals("a = -1GB")[1], (Integer, "-1GB".into()));
    assert_eq!(kinds_vals("a = 1kbb")[1], (Integer, "1kbb".into()));
    assert_eq!(kinds_vals("a = 1.2.3")[1], (String, "1.2.3".into()));
    assert_eq!(kinds_vals("a = 12-3")[1].0, Error);
    assert_eq!(kinds_vals("a = $2a$10$x")[1], (Variable, "2a$10$x".into()));
    assert_eq!(kinds_vals("a = YES")[1], (Bool, "YES".into()));
    assert_eq!(kinds_vals("a = \\x41")[1], (String, "A".into()));
    assert_eq!(
        kinds_vals("\u{130}NCLUDE x.conf")[0],
        (Include, "x.conf".into())
    );
    assert_eq!(
        last_error("include [").0,
        "Expected include value but found start of an array"
    );
}

#[test]
fn error_columns_follow_reference() {
    // Line 1 columns are 0-based offsets, later lines count from the preceding newline.
    assert_eq!(
        last_error(" :foo = 22"),
        ("Unexpected key separator ':'".into(), 1, 1)
    );
    assert_eq!(
        last_error("a = 1\nb = .2"),
        ("Floats must start with a digit".into(), 2, 6)
    );
}

/// Deterministic pseudo-random inputs (xorshift) over an alphabet rich in syntax characters:
/// the lexer must always terminate with an end or error token, without panicking.
#[test]
fn random_inputs_terminate() {
    for input in crate::test_support::random_inputs(0x9E37_79B9_7F4A_7C15, 4000, 64) {
        let toks = tokens(&input);
        assert!(
            toks.len() <= input.len() * 4 + 4,
            "too many tokens for {input:?}"
        );
    }
}

#[test]
fn large_inputs_are_linear() {
    let mut big = String::new();
    for i in 0..20_000 {
        big.push_str(&format!("k{i} = [1, \"two\", {{a: b}}] # c\n"));
    }
    let toks = tokens(big.as_bytes());
    assert_eq!(toks.last().map(|t| t.kind), Some(Kind::Eof));
    let deep = "a = ".to_string() + &"[".repeat(100_000);
    assert!(matches!(
        tokens(deep.as_bytes()).last().map(|t| t.kind),
        Some(Kind::Error)
    ));
}
