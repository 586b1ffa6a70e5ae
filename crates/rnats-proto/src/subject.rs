//! Subject rules (nats-server `sublist.go`): tokens separated by `.`, `*` matches one token, `>`
//! matches one or more trailing tokens. This module is the single definition used by the router,
//! permissions and anything else that compares subjects, so they can never disagree.

/// The token separator.
pub const TSEP: u8 = b'.';
/// Single-token wildcard.
pub const PWC: u8 = b'*';
/// Full (trailing) wildcard.
pub const FWC: u8 = b'>';

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Walk the tokens: no empty token, nothing after a `>` token, and (when `no_space`) no
/// whitespace inside tokens.
fn valid_tokens(subject: &[u8], no_space: bool) -> bool {
    if subject.is_empty() {
        return false;
    }
    let mut saw_fwc = false;
    for tok in subject.split(|&b| b == TSEP) {
        if saw_fwc || tok.is_empty() || (no_space && tok.iter().any(|&b| is_space(b))) {
            return false;
        }
        saw_fwc = tok == [FWC];
    }
    true
}

/// A valid subject (wildcards allowed): non-empty, no empty token, no whitespace, `>` only as
/// the last token (`isValidSubject`).
pub fn is_valid_subject(subject: &[u8]) -> bool {
    valid_tokens(subject, true)
}

/// A valid literal (publish) subject, as pedantic mode checks it (`IsValidLiteralSubject`):
/// non-empty, no empty token, no `*` or `>` token. Unlike [`is_valid_subject`] it does not look
/// for whitespace, exactly as the reference.
pub fn is_valid_literal_subject(subject: &[u8]) -> bool {
    !subject.is_empty()
        && subject
            .split(|&b| b == TSEP)
            .all(|tok| !tok.is_empty() && tok != [PWC] && tok != [FWC])
}

/// What the subscription index accepts (`Sublist.Insert`): no empty token and nothing after `>`.
/// Whitespace cannot occur because the protocol splits arguments on it.
pub fn is_valid_sub_subject(subject: &[u8]) -> bool {
    valid_tokens(subject, false)
}

/// Whether the (possibly wildcard) `filter` matches the literal `subject`. A subject with an empty
/// token never matches anything.
pub fn matches(filter: &[u8], subject: &[u8]) -> bool {
    let mut ft = filter.split(|&b| b == TSEP);
    let mut st = subject.split(|&b| b == TSEP);
    loop {
        match (ft.next(), st.next()) {
            (None, None) => return true,
            (Some(f), Some(s)) => {
                if s.is_empty() {
                    return false;
                }
                if f == [FWC] {
                    return st.all(|t| !t.is_empty());
                }
                if f != [PWC] && f != s {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Whether any of the subject's tokens is a wildcard.
pub fn has_wildcard(subject: &[u8]) -> bool {
    subject
        .split(|&b| b == TSEP)
        .any(|tok| tok == [PWC] || tok == [FWC])
}

/// Whether every subject `pattern` matches is also matched by `of` (`SubjectIsSubsetMatch`):
/// an import of `events.a` or `events.*` is covered by an export of `events.>`.
pub fn is_subset(pattern: &[u8], of: &[u8]) -> bool {
    let mut pt = pattern.split(|&b| b == TSEP);
    let mut ot = of.split(|&b| b == TSEP);
    loop {
        match (pt.next(), ot.next()) {
            (None, None) => return true,
            (Some(_), Some(o)) if o == [FWC] => return true,
            (Some(p), Some(o)) => {
                if p == [FWC] || (o != [PWC] && (p == [PWC] || p != o)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Whether some literal subject matches both `a` and `b` (`SubjectsCollide`).
pub fn collide(a: &[u8], b: &[u8]) -> bool {
    let mut at = a.split(|&x| x == TSEP);
    let mut bt = b.split(|&x| x == TSEP);
    loop {
        match (at.next(), bt.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == [FWC] || y == [FWC] => return true,
            (Some(x), Some(y)) => {
                if x != [PWC] && y != [PWC] && x != y {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collisions() {
        for (a, b, want) in [
            ("a.b", "a.b", true),
            ("a.*", "a.b", true),
            ("a.>", "a.b.c", true),
            ("*.b", "a.*", true),
            ("a.b", "a.c", false),
            ("a.b", "a.b.c", false),
            ("a.*", "a.b.c", false),
            (">", "x", true),
        ] {
            assert_eq!(collide(a.as_bytes(), b.as_bytes()), want, "{a} {b}");
            assert_eq!(collide(b.as_bytes(), a.as_bytes()), want, "{b} {a}");
        }
    }

    #[test]
    fn subsets() {
        for (p, o) in [
            ("a.b", "a.b"),
            ("a.b", "a.*"),
            ("a.*", "a.*"),
            ("a.*", "a.>"),
            ("a.b.c", "a.>"),
            ("a.>", "a.>"),
            ("a.>", ">"),
            ("a.b", "*.b"),
        ] {
            assert!(is_subset(p.as_bytes(), o.as_bytes()), "{p} in {o}");
        }
        for (p, o) in [
            ("a.*", "a.b"),
            ("a.>", "a.*"),
            ("a", "a.>"),
            ("a.b.c", "a.*"),
            ("a.b", "a.b.c"),
            ("b.b", "a.*"),
            (">", "a.>"),
        ] {
            assert!(!is_subset(p.as_bytes(), o.as_bytes()), "{p} not in {o}");
        }
    }

    #[test]
    fn validity() {
        for ok in [
            "foo", "foo.bar", "foo.*", "foo.>", ">", "*", "*.*", "foo*.bar", "a>b",
        ] {
            assert!(is_valid_subject(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "foo.",
            ".foo",
            "foo..bar",
            "foo.>.bar",
            "> .x",
            "a b",
            "a\tb",
        ] {
            assert!(!is_valid_subject(bad.as_bytes()), "{bad:?}");
        }
        assert!(is_valid_literal_subject(b"foo.bar"));
        assert!(is_valid_literal_subject(b"foo*.bar"));
        assert!(!is_valid_literal_subject(b"foo.*"));
        assert!(!is_valid_literal_subject(b">"));
        assert!(!is_valid_literal_subject(b"a..b"));
        assert!(is_valid_sub_subject(b"foo.>"));
        assert!(!is_valid_sub_subject(b"foo.>.x"));
        assert!(!is_valid_sub_subject(b"foo..x"));
    }

    #[test]
    fn matching() {
        let cases = [
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo.*", "foo.bar", true),
            ("foo.*", "foo.bar.baz", false),
            ("foo.>", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            (">", "foo", true),
            ("*.*", "a.b", true),
            ("*", "a.b", false),
            ("foo.*", "foo.*", true),
            ("foo.bar", "foo..bar", false),
            ("foo.>", "foo..bar", false),
            ("*.bar", "foo.bar", true),
        ];
        for (f, s, want) in cases {
            assert_eq!(matches(f.as_bytes(), s.as_bytes()), want, "{f} vs {s}");
        }
    }
}
