//! Parser tests: values and structure for every syntax form, the reference's parse tests,
//! variables (scoping, environment, cycles, usage flags), includes on a real temp directory,
//! error texts and positions, and the safety limits.

use super::parse_int;
use crate::{ConfError, Item, Map, Value, parse_file_with_env, parse_str_with_env};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(src: &str) -> Map {
    match parse_str_with_env(src, &no_env) {
        Ok(m) => m,
        Err(e) => panic!("{:?} failed: {e}", src.get(..200).unwrap_or(src)),
    }
}

fn fail(src: &str) -> ConfError {
    match parse_str_with_env(src, &no_env) {
        Ok(m) => panic!(
            "{:?} parsed: {} keys",
            src.get(..200).unwrap_or(src),
            m.len()
        ),
        Err(e) => e,
    }
}

fn msg(src: &str) -> String {
    fail(src).reference_message()
}

fn get<'m>(m: &'m Map, path: &str) -> &'m Item {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut item = m
        .get(first)
        .unwrap_or_else(|| panic!("no {first} in {m:?}"));
    for p in parts {
        item = match &item.value {
            Value::Map(inner) => inner.get(p).unwrap_or_else(|| panic!("no {p}")),
            Value::Array(a) => p
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .expect("index"),
            other => panic!("{p}: not a container: {other:?}"),
        };
    }
    item
}

fn int(m: &Map, path: &str) -> i64 {
    get(m, path)
        .as_i64()
        .unwrap_or_else(|| panic!("{path} not an int: {:?}", get(m, path)))
}

fn string(m: &Map, path: &str) -> String {
    get(m, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} not a string"))
        .to_string()
}

#[test]
fn scalars_and_separators() {
    let m = parse("foo='1'; bar=2.2; baz=true; boo=22");
    assert_eq!(string(&m, "foo"), "1");
    assert_eq!(get(&m, "bar").as_f64(), Some(2.2));
    assert_eq!(get(&m, "baz").as_bool(), Some(true));
    assert_eq!(int(&m, "boo"), 22);
    let m = parse("a = 1\nb: 2\nc 3\n'd e' = 4\n\"f\": 5\ng\t6,");
    let keys: Vec<&str> = m.keys().collect();
    assert_eq!(keys, ["a", "b", "c", "d e", "f", "g"]);
    for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d e", 4), ("f", 5), ("g", 6)] {
        assert_eq!(m.get(k).and_then(Item::as_i64), Some(v));
    }
    for b in ["true", "TRUE", "yes", "On", "oN"] {
        assert_eq!(get(&parse(&format!("x={b}")), "x").as_bool(), Some(true));
    }
    for b in ["false", "No", "OFF"] {
        assert_eq!(get(&parse(&format!("x={b}")), "x").as_bool(), Some(false));
    }
    assert_eq!(string(&parse("x = \"true\""), "x"), "true");
    assert_eq!(string(&parse("x = 'yes'"), "x"), "yes");
    assert_eq!(get(&parse("x = -12"), "x").as_i64(), Some(-12));
    assert_eq!(get(&parse("x = -1.5"), "x").as_f64(), Some(-1.5));
    let dt = parse("x = 2016-05-04T18:53:41Z");
    assert_eq!(
        get(&dt, "x")
            .value
            .as_datetime()
            .map(|d| d.to_string())
            .as_deref(),
        Some("2016-05-04T18:53:41Z")
    );
    assert_eq!(
        string(&parse("listen: 127.0.0.1:4222"), "listen"),
        "127.0.0.1:4222"
    );
    assert_eq!(
        string(&parse("listen: apcera.me:80"), "listen"),
        "apcera.me:80"
    );
    assert_eq!(string(&parse("x = 3xyz"), "x"), "3xyz");
    assert_eq!(
        string(&parse("x = \"a\\tb\\n\\\"\\\\\\x41\""), "x"),
        "a\tb\n\"\\A"
    );
    assert_eq!(string(&parse("x = 'raw \\t'"), "x"), "raw \\t");
    assert_eq!(
        string(&parse("x = (\n  line 1\n  line 2\n)\n"), "x"),
        "\n  line 1\n  line 2\n"
    );
}

#[test]
fn size_suffixes() {
    let cases: &[(&str, i64)] = &[
        ("8k", 8000),
        ("4kb", 4096),
        ("3ki", 3072),
        ("4KiB", 4096),
        ("1m", 1_000_000),
        ("2MB", 2 << 20),
        ("2Mi", 2 << 20),
        ("64MiB", 64 << 20),
        ("2g", 2_000_000_000),
        ("22GB", 22 << 30),
        ("22Gi", 22 << 30),
        ("1t", 1_000_000_000_000),
        ("22TB", 22 << 40),
        ("1p", 1_000_000_000_000_000),
        ("22PiB", 22 << 50),
        ("1e", 1_000_000_000_000_000_000),
        ("1EB", 1 << 60),
        ("-1m", -1_000_000),
        ("-1GB", -(1 << 30)),
        // Go's int64 multiplication wraps.
        ("10e", 10_i64.wrapping_mul(1_000_000_000_000_000_000)),
    ];
    for (lit, want) in cases {
        let m = parse(&format!("x = {lit}"));
        assert_eq!(int(&m, "x"), *want, "{lit}");
        assert_eq!(get(&m, "x").raw.as_deref(), Some(*lit));
        assert!(get(&m, "x").has_size_suffix());
    }
    assert_eq!(parse_int(b"9223372036854775807"), Ok(Some(i64::MAX)));
    assert_eq!(parse_int(b"-9223372036854775808"), Ok(Some(i64::MIN)));
    assert_eq!(parse_int(b"9223372036854775808"), Err(true));
    assert_eq!(parse_int("1٣".as_bytes()), Err(false));
    assert_eq!(parse_int("99999999999999999999٣".as_bytes()), Err(true));
    assert_eq!(parse_int(b"1kbb"), Ok(None));
    assert_eq!(
        msg("x = 9223372036854775808"),
        "integer '9223372036854775808' is out of the range"
    );
    assert_eq!(msg("x = ٣"), "expected integer, but got '٣'");
    assert_eq!(
        msg(&format!("x = 1{}.0", "0".repeat(400))),
        format!("float '1{}.0' is out of the range", "0".repeat(400))
    );
    assert_eq!(
        msg("x = 2016-02-30T00:00:00Z"),
        "expected Zulu formatted DateTime, but got '2016-02-30T00:00:00Z'"
    );
}

#[test]
fn duration_quirks() {
    let m = parse("a = 2m\nb = 10s\nc = 500ms\nd = 1h\ne = \"2m\"");
    assert_eq!(int(&m, "a"), 2_000_000);
    assert!(get(&m, "a").has_size_suffix());
    assert_eq!(string(&m, "b"), "10s");
    assert_eq!(string(&m, "c"), "500ms");
    assert_eq!(string(&m, "d"), "1h");
    assert_eq!(string(&m, "e"), "2m");
    let e = fail("ping_interval = 1m30s");
    assert_eq!(
        e.reference_message(),
        "Parse error on line 1: 'Expected a top-level value to end with a new line, comment or \
         EOF, but got '3' instead.'"
    );
    assert_eq!(e.to_string(), format!("1:19: {}", e.reference_message()));
    assert!(msg("x = 1.5s").ends_with("but got 's' instead.'"));
}

#[test]
fn maps_arrays_comments() {
    let src = "
# top comment
// another
foo {
  host { ip = '127.0.0.1'; port = 4242 } # trailing
  servers = [ \"a.com\", \"b.com\" // c
    c.com
  ]
  empty {}
  none = []
}
array [
  { abc: 123 }
  { xyz: \"word\" }
]
";
    let m = parse(src);
    assert_eq!(string(&m, "foo.host.ip"), "127.0.0.1");
    assert_eq!(int(&m, "foo.host.port"), 4242);
    assert_eq!(string(&m, "foo.servers.2"), "c.com");
    assert_eq!(
        get(&m, "foo.servers").as_array().map(<[Item]>::len),
        Some(3)
    );
    assert_eq!(get(&m, "foo.empty").as_map().map(Map::len), Some(0));
    assert_eq!(get(&m, "foo.none").as_array().map(<[Item]>::len), Some(0));
    assert_eq!(int(&m, "array.0.abc"), 123);
    assert_eq!(string(&m, "array.1.xyz"), "word");
    // Wrapped top level, JSON style.
    let m =
        parse("{\"http_port\": 8227,\"cluster\": {\"port\": 6222,\"routes\": [\"nats://a:1\"]}}\n");
    assert_eq!(int(&m, "cluster.port"), 6222);
    assert_eq!(string(&m, "cluster.routes.0"), "nats://a:1");
    let m = parse("{\n  {\n    listen: 0.0.0.0:4222 // c\n  }\n  # w\n}\n# w2\n");
    assert_eq!(string(&m, "listen"), "0.0.0.0:4222");
    for ok in [
        "",
        "\n\n   ",
        "# only\n# comments\n",
        "{}",
        "{\n# c\n}\n",
        "a { u = [{}]}\n}\n",
    ] {
        parse(ok);
    }
    let m = parse("x = 1\nx = 2\ny { a = 1 }\ny { b = 2 }");
    assert_eq!(int(&m, "x"), 2);
    assert!(
        get(&m, "y")
            .as_map()
            .is_some_and(|y| y.get("a").is_none() && y.get("b").is_some())
    );
}

#[test]
fn reference_stack_quirks() {
    // An unknown size suffix stores nothing and leaves its key on the stack, so the map's
    // closing brace stores the map under that key instead of `a`.
    let m = parse("a { x = 1kbb }\nb = 1");
    assert!(m.get("a").is_none());
    assert!(get(&m, "x").as_map().is_some_and(Map::is_empty));
    assert_eq!(int(&m, "b"), 1);
    // A key with no value in a map: same effect.
    let m = parse("a { b = }");
    assert!(m.get("a").is_none() && m.get("b").is_some());
    // A number directly followed by `]` lexes as a string with the bracket: the array does
    // not close there. With a space it does; a suffixed number before `]` becomes a string.
    assert!(msg("x = [1, 2, 3]\ny = 1").contains("Expected an array value terminator"));
    assert_eq!(int(&parse("x = [1, 2, 3 ]"), "x.2"), 3);
    assert_eq!(string(&parse("x = [a, 3k]"), "x.1"), "3k");
    // Input ending inside an array: the reference keeps what it has and succeeds.
    let m = parse("port = 4222\nmax = [\"\\t");
    assert_eq!(m.keys().collect::<Vec<_>>(), ["port"]);
    // A trailing `}` line is tolerated.
    assert_eq!(int(&parse("port = 1\n}"), "port"), 1);
    // `[1]`: `1]` is one bare string, so the array never closes.
    assert_eq!(
        msg("port = [1]\n"),
        "Parse error on line 2: 'Expected an array value terminator \",\" or an array \
         terminator \"]\", but got '\0' instead.'"
    );
}

#[test]
fn missing_values_positions() {
    let e = |s: &str| fail(s).reference_message();
    assert_eq!(
        e("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        "config is invalid (:1:41)"
    );
    assert_eq!(
        e("              aaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        "config is invalid (:1:41)"
    );
    assert_eq!(
        e("     aaaaaaaaaaaaaaaaaaaaaaaaaaa         "),
        "config is invalid (:1:41)"
    );
    let src = "\n          \t\t# c\n         \t\t# c\n         \t\taaaaaaaaaaaaaaaaaaaaa\n                        ";
    assert_eq!(e(src), "config is invalid (:5:25)");
    assert_eq!(
        e("\n                        a,a,a,a,a\n                        "),
        "config is invalid (:3:25)"
    );
    assert_eq!(e("port\n"), "config is invalid (:2:1)");
    // The escaped text still counts in the column arithmetic, as in the reference.
    assert_eq!(e("x = \"\\t"), "config is invalid (:1:6)");
}

#[test]
fn syntax_error_positions() {
    let e = fail("a = 1\nb {\n  c = 1.5s\n}");
    assert!(
        matches!(&e, ConfError::Syntax { pos, .. } if (pos.line, pos.col) == (3, 11)),
        "{e:?}"
    );
    let e = fail("\nlisten: \"localhost:4242\n\nhttp: localhost:8222\n");
    assert_eq!(
        e.to_string(),
        "5:1: Parse error on line 5: 'Unexpected EOF.'"
    );
    assert_eq!(
        msg("a = [1, 2"),
        "Parse error on line 1: 'Expected an array value terminator \",\" or an array terminator \"]\", but got '\0' instead.'"
    );
    assert_eq!(
        msg("a {\n b = 1\n"),
        "Parse error on line 3: 'Unexpected EOF processing map.'"
    );
    assert_eq!(
        msg("include [x]"),
        "Parse error on line 1: 'Expected include value but found start of an array'"
    );
    for bad in ["A@@Føøøø?˛ø:{øøøø˙˙", "include \"9/\u{fffd}"] {
        assert!(msg(bad).contains("Unexpected EOF"), "{bad}");
    }
}

#[test]
fn positions_of_keys_and_values() {
    let m = parse("\nfoo = {\n  ip = '127.0.0.1'\n  list = [1, x]\n}\n");
    let foo = m.entry("foo").expect("foo");
    assert_eq!((foo.key_pos.line, foo.key_pos.col), (2, 1));
    // The reference positions a map value at its closing brace.
    assert_eq!((foo.value.pos.line, foo.value.pos.col), (5, 2));
    let inner = foo.value.as_map().expect("map");
    let ip = inner.entry("ip").expect("ip");
    assert_eq!(
        (ip.key_pos.line, ip.key_pos.col, ip.value.pos.col),
        (3, 3, 9)
    );
    let list = inner.get("list").and_then(Item::as_array).expect("list");
    assert_eq!(list.iter().map(|i| i.pos.col).collect::<Vec<_>>(), [11, 14]);
    assert!(foo.key_pos.file.is_none());
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn variables() {
    let m = parse("index = 22\nnest {\n  index = 11\n  foo = $index\n}\nbar = $index");
    assert_eq!(int(&m, "nest.foo"), 11);
    assert_eq!(int(&m, "bar"), 22);
    let e = m.entry("index").expect("index");
    assert!(e.used_as_variable);
    assert!(!m.entry("bar").expect("bar").used_as_variable);
    // Maps and arrays can be variables; the copy is independent.
    let m = parse("U = { users = [ {user = foo} ] }\naccounts { a = $U, b { x = $U } }");
    assert_eq!(string(&m, "accounts.a.users.0.user"), "foo");
    assert_eq!(string(&m, "accounts.b.x.users.0.user"), "foo");
    // Defined but unused stays unmarked (the option layer reports it as an unknown field).
    let m = parse("UNUSED = 1\nport = 4222");
    assert!(!m.entry("UNUSED").expect("UNUSED").used_as_variable);
    // Redefining a used key replaces the entry and its flag, as in the reference.
    let m = parse("x = 1\nx = $x");
    assert!(!m.entry("x").expect("x").used_as_variable);
    // Later definitions are not visible; the lookup does not see keys defined after it.
    assert_eq!(
        msg("a = $b\nb = 1"),
        "variable reference for 'b' on line 1 can not be found"
    );
    assert_eq!(
        msg("a {\n\n c = $nope }"),
        "variable reference for 'nope' on line 3 can not be found"
    );
    assert_eq!(
        msg("a = $"),
        "variable reference for '' on line 1 can not be found"
    );
    // Bcrypt: `$2a$` is literal, `$2b$` is a reference.
    let m = parse("password: $2a$11$ooo");
    assert_eq!(string(&m, "password"), "$2a$11$ooo");
    assert_eq!(
        msg("p = $2b$10$abc"),
        "variable reference for '2b$10$abc' on line 1 can not be found"
    );
    // Variables keep the literal of their definition.
    let m = parse("D = 2m\nping_interval = $D");
    assert_eq!(get(&m, "ping_interval").raw.as_deref(), Some("2m"));
    assert_eq!(get(&m, "ping_interval").pos.line, 2);
}

#[test]
fn environment_variables() {
    let env = env_of(&[
        ("PORT", "4222"),
        ("NAME", "xyz"),
        ("Q", "'3xyz'"),
        ("BAD", "3xyz"),
        ("G", "3Gyz"),
        ("MAP", "{ a = 1, b = [x, y] }"),
        ("A", "$B"),
        ("B", "$A"),
        ("SELF", "$SELF"),
        ("CHAIN", "$PORT"),
        ("EMPTY", ""),
        ("LOST", "$NOWHERE"),
        ("BROKEN", "1m30s"),
    ]);
    let p = |s: &str| parse_str_with_env(s, &env);
    let m = p("port = $PORT\nn = $NAME\nq = $Q\ng = $G\nm = $MAP\nc = $CHAIN\ne = $EMPTY")
        .expect("parses");
    assert_eq!(int(&m, "port"), 4222);
    assert_eq!(string(&m, "n"), "xyz");
    assert_eq!(string(&m, "q"), "3xyz");
    assert_eq!(string(&m, "g"), "3Gyz");
    assert_eq!(string(&m, "m.b.1"), "y");
    assert_eq!(int(&m, "c"), 4222);
    assert_eq!(string(&m, "e"), "");
    // Env-derived values are positioned at the reference.
    assert_eq!(get(&m, "m.a").pos.line, 5);
    // Files win over the environment.
    assert_eq!(
        int(&p("PORT = 1\nport = $PORT").expect("parses"), "port"),
        1
    );
    let err = |s: &str| {
        p(s).map(|_| ())
            .expect_err("should fail")
            .reference_message()
    };
    // `3xyz` lexes as a string (the reference's own test for this never ran as intended).
    assert_eq!(string(&p("x = $BAD").expect("parses"), "x"), "3xyz");
    assert_eq!(
        err("x = $BROKEN"),
        "variable reference for 'BROKEN' on line 1 could not be parsed: Parse error on line 1: \
         'Expected a top-level value to end with a new line, comment or EOF, but got '3' \
         instead.'"
    );
    assert_eq!(
        err("\nx = $A"),
        "variable reference for 'A' on line 2 could not be parsed: variable reference for 'B' \
         on line 1 could not be parsed: variable reference for 'A' on line 1 could not be \
         parsed: variable reference cycle for 'A'"
    );
    assert_eq!(
        err("x = $SELF"),
        "variable reference for 'SELF' on line 1 could not be parsed: variable reference for \
         'SELF' on line 1 could not be parsed: variable reference cycle for 'SELF'"
    );
    assert_eq!(
        err("x = $LOST"),
        "variable reference for 'LOST' on line 1 could not be parsed: variable reference for \
         'NOWHERE' on line 1 can not be found"
    );
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "rnats-conf-test-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_path(p: &Path) -> Result<Map, ConfError> {
    parse_file_with_env(p, &no_env)
}

#[test]
fn includes() {
    let d = TempDir::new();
    d.write(
        "inc/users.conf",
        "ALICE = \"$2a$10$abc\"\nusers = [ {user: alice, password: $ALICE} ]\n",
    );
    d.write("inc/more.conf", "include '../plain.conf'\n");
    d.write("plain.conf", "timeout: 0.5\n");
    let main = d.write(
        "main.conf",
        "listen: 127.0.0.1:4222\nauthorization {\n  include \"inc/users.conf\"\n  include inc/more.conf\n  x = $ALICE\n}\n",
    );
    let m = parse_path(&main).expect("parses");
    assert_eq!(string(&m, "authorization.users.0.password"), "$2a$10$abc");
    assert_eq!(string(&m, "authorization.x"), "$2a$10$abc");
    assert_eq!(get(&m, "authorization.timeout").as_f64(), Some(0.5));
    let auth = get(&m, "authorization").as_map().expect("map");
    assert!(auth.entry("ALICE").is_some_and(|e| e.used_as_variable));
    // Positions of included keys name the included file.
    let users = auth.entry("users").expect("users");
    let file = users
        .key_pos
        .file
        .as_deref()
        .map(|f| f.to_string_lossy().into_owned());
    assert!(
        file.is_some_and(|f| f.ends_with("inc/users.conf")),
        "{users:?}"
    );
    assert_eq!(users.key_pos.line, 2);

    // Variables of the including file are not visible in the included one.
    let main = d.write("scope.conf", "V = 1\ninclude uses.conf\n");
    d.write("uses.conf", "x = $V\n");
    assert_eq!(
        parse_path(&main)
            .map(|_| ())
            .expect_err("scope")
            .reference_message(),
        "error parsing include file 'uses.conf', variable reference for 'V' on line 1 can not be found"
    );

    // Missing files, with Go's path joining and wording.
    let main = d.write("missing.conf", "port = 1\ninclude nothere.conf\n");
    let e = parse_path(&main).map(|_| ()).expect_err("missing");
    let dir = d.0.to_string_lossy().into_owned();
    assert_eq!(
        e.reference_message(),
        format!(
            "error parsing include file 'nothere.conf', open {dir}/nothere.conf: no such file or directory"
        )
    );
    assert_eq!(e.pos().map(|p| (p.line, p.col)), Some((2, 9)));
    // An absolute include path is joined onto the directory like a relative one.
    let main = d.write("abs.conf", "include /plain.conf\n");
    let m = parse_path(&main).expect("abs");
    assert_eq!(get(&m, "timeout").as_f64(), Some(0.5));
    // Top-level file errors.
    let e = parse_path(&d.0.join("none.conf"))
        .map(|_| ())
        .expect_err("none");
    assert_eq!(
        e.reference_message(),
        format!("open {dir}/none.conf: no such file or directory")
    );
    let e = parse_path(&d.0).map(|_| ()).expect_err("dir");
    assert_eq!(e.reference_message(), format!("read {dir}: is a directory"));
}

#[test]
fn include_errors_and_json_includes() {
    let d = TempDir::new();
    d.write("foo.json", "{ \"users\": [ {\"user\": \"foo\"} ] }");
    d.write("bar.json", "{\n  \"users\": [ {\"user\": \"bar\"} ]\n}");
    d.write("quux.json", "{}");
    let main = d.write(
        "main.conf",
        "accounts {\n  foo  { include 'foo.json'  }\n  bar  { include 'bar.json'  }\n  quux { include 'quux.json' }\n}\n",
    );
    let m = parse_path(&main).expect("json includes");
    assert_eq!(string(&m, "accounts.foo.users.0.user"), "foo");
    assert_eq!(string(&m, "accounts.bar.users.0.user"), "bar");
    assert!(get(&m, "accounts.quux").as_map().is_some_and(Map::is_empty));

    d.write("empty.conf", "");
    d.write("bad.conf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let main = d.write(
        "m2.conf",
        "# includes\naccounts {\n  foo { include 'empty.conf'}\n  bar { include 'bad.conf'}\n}\n",
    );
    let dir = d.0.to_string_lossy().into_owned();
    assert_eq!(
        parse_path(&main)
            .map(|_| ())
            .expect_err("bad")
            .reference_message(),
        format!("error parsing include file 'bad.conf', config is invalid ({dir}/bad.conf:1:34)")
    );

    // Cycles are detected instead of recursing forever.
    d.write("a.conf", "x = 1\ninclude b.conf\n");
    d.write("b.conf", "y { include a.conf }\n");
    let e = parse_path(&d.0.join("a.conf"))
        .map(|_| ())
        .expect_err("cycle");
    let text = e.reference_message();
    assert!(
        text.starts_with("error parsing include file 'b.conf', include cycle: "),
        "{text}"
    );
    // Self-include.
    d.write("self.conf", "include self.conf\n");
    assert!(matches!(
        parse_path(&d.0.join("self.conf")),
        Err(ConfError::IncludeLimit { cycle: true, .. })
    ));
}

#[test]
fn depth_limit() {
    let ok = format!(
        "a = {}{}",
        "[".repeat(crate::MAX_DEPTH - 1),
        "]".repeat(crate::MAX_DEPTH - 1)
    );
    parse(&ok);
    let deep = format!(
        "a = {}{}",
        "[".repeat(crate::MAX_DEPTH),
        "]".repeat(crate::MAX_DEPTH)
    );
    assert!(matches!(fail(&deep), ConfError::TooDeep { .. }));
    let huge = format!("a = {}", "{b = ".repeat(1_000_000));
    assert!(matches!(fail(&huge), ConfError::TooDeep { .. }));
    // Variables cannot be used to build deeper trees than the limit either.
    let mut src = String::from("V0 = 1\n");
    for i in 1..=crate::MAX_DEPTH {
        src.push_str(&format!("V{i} = [$V{}]\n", i - 1));
    }
    assert!(matches!(fail(&src), ConfError::TooDeep { .. }));
}

#[test]
fn expansion_limit() {
    // Each level doubles the size: 2^40 values if nothing stopped it.
    let mut src = String::from("L0 = [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
    for i in 1..=40 {
        src.push_str(&format!("L{i} = [$L{p}, $L{p}]\n", p = i - 1));
    }
    let start = std::time::Instant::now();
    assert!(matches!(fail(&src), ConfError::ExpansionLimit { .. }));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn random_inputs_never_panic() {
    for input in crate::test_support::random_inputs(0x2545_F491_4F6C_DD1D, 5000, 80) {
        let _ = crate::parse_bytes_with_env(&input, &no_env);
    }
}

#[test]
fn large_input_is_fast() {
    let mut big = String::from("V = { x = [1, 2, 3 ] }\n");
    for i in 0..50_000 {
        big.push_str(&format!(
            "k{i} = {{ a = [1, \"two\", 3k ], b = $V }} # {i}\n"
        ));
    }
    let start = std::time::Instant::now();
    let m = parse(&big);
    assert_eq!(m.len(), 50_001);
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn pathological_inputs_stay_linear() {
    let mb = 1 << 20;
    let inputs: Vec<Vec<u8>> = vec![
        b"{".repeat(mb),
        b"a".repeat(mb),
        [b"x = \"".as_slice(), &b"\\x41".repeat(mb / 4), b"\""].concat(),
        [b"x = ".as_slice(), &b"\\t".repeat(mb / 2)].concat(),
        b"x = [1 ,".repeat(mb / 8),
        b"# comment\n".repeat(mb / 10),
        b"a = 1;".repeat(mb / 6),
        b"(".repeat(mb),
        [b"x = (\n".as_slice(), &b")".repeat(mb)].concat(),
        b"\x00".repeat(mb),
        b"\n".repeat(mb),
        b"x = $y\n".repeat(mb / 7),
    ];
    for input in inputs {
        let start = std::time::Instant::now();
        let _ = crate::parse_bytes_with_env(&input, &no_env);
        let took = start.elapsed();
        assert!(
            took < std::time::Duration::from_secs(10),
            "{:?}... took {took:?}",
            &input[..16]
        );
    }
}
