//! Lexical path handling as Go's `path/filepath` does it on Unix (`Clean`, `Dir`, `Join`).
//!
//! Model: paths are plain strings manipulated without touching the file system. Why: the
//! reference resolves `include x` as `filepath.Join(filepath.Dir(including_file), x)`, which
//! cleans `..` lexically and treats an absolute `x` as relative (`include /etc/a.conf` opens
//! `<dir>/etc/a.conf`), and it prints that joined path in its error messages; matching it needs
//! the same string arithmetic, not `std::path::Path::join`.

/// Go's `filepath.Clean`.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Go's `filepath.Dir`: everything up to the last separator, cleaned (`.` if there is none).
pub(crate) fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(path.get(..=i).unwrap_or_default()),
        None => ".".to_string(),
    }
}

/// Go's `filepath.Join` of two elements: empty elements are skipped, the rest joined with `/`
/// and cleaned.
pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a//b/./c/.."), "a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean("/"), "/");
        assert_eq!(dir("t.conf"), ".");
        assert_eq!(dir("/a/b.conf"), "/a");
        assert_eq!(dir("/b.conf"), "/");
        assert_eq!(dir("a/b/"), "a/b");
        assert_eq!(dir(""), ".");
        assert_eq!(join(".", "x.conf"), "x.conf");
        assert_eq!(join(".", "/etc/passwd"), "etc/passwd");
        assert_eq!(join("/etc/nats", "../x.conf"), "/etc/x.conf");
        assert_eq!(join("conf", "./inc/a.conf"), "conf/inc/a.conf");
    }
}
