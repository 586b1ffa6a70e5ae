//! Every text the server puts on the wire, in one place. Clients match on these strings, so they
//! are constants checked byte for byte by tests (and differentially against nats-server).
//!
//! `-ERR` bodies are written as `-ERR '<text>'\r\n`; [`err_line`] adds the quotes.

/// `+OK` acknowledgement for verbose clients.
pub const OK: &[u8] = b"+OK\r\n";
/// Server or client ping.
pub const PING: &[u8] = b"PING\r\n";
/// Pong reply.
pub const PONG: &[u8] = b"PONG\r\n";

/// Bad op letters, bad payload terminator (closes).
pub const ERR_UNKNOWN_PROTOCOL: &str = "Unknown Protocol Operation";
/// Control line over `max_control_line` (closes).
pub const ERR_MAX_CONTROL_LINE: &str = "maximum control line exceeded";
/// PUB/HPUB size over the connection's `max_payload` (closes).
pub const ERR_MAX_PAYLOAD: &str = "Maximum Payload Violation";
/// CONNECT `protocol` outside {0, 1} (closes).
pub const ERR_INVALID_CLIENT_PROTOCOL: &str = "invalid client protocol";
/// `no_responders` without `headers` (closes).
pub const ERR_NO_RESPONDERS_REQUIRES_HEADERS: &str = "no responders requires headers support";
/// Any authentication failure (closes).
pub const ERR_AUTHORIZATION_VIOLATION: &str = "Authorization Violation";
/// No CONNECT within the auth timeout (closes).
pub const ERR_AUTHENTICATION_TIMEOUT: &str = "Authentication Timeout";
/// User JWT expired while connected (closes).
pub const ERR_USER_AUTHENTICATION_EXPIRED: &str = "User Authentication Expired";
/// User revoked while connected (closes).
pub const ERR_USER_AUTHENTICATION_REVOKED: &str = "User Authentication Revoked";
/// Account JWT expired while connected (closes).
pub const ERR_ACCOUNT_AUTHENTICATION_EXPIRED: &str = "Account Authentication Expired";
/// `ping_max` outstanding pings exceeded (closes).
pub const ERR_STALE_CONNECTION: &str = "Stale Connection";
/// Server `max_connections` reached (closes, sent after INFO).
pub const ERR_MAX_CONNECTIONS: &str = "maximum connections exceeded";
/// Account connection limit reached (closes).
pub const ERR_MAX_ACCOUNT_CONNECTIONS: &str = "maximum account active connections exceeded";
/// SUB with an invalid subject (keeps the connection).
pub const ERR_INVALID_SUBJECT: &str = "Invalid Subject";
/// Pedantic publish to a non-literal subject (keeps the connection; message still delivered).
pub const ERR_INVALID_PUBLISH_SUBJECT: &str = "Invalid Publish Subject";
/// Subscription count limit reached (keeps the connection).
pub const ERR_MAX_SUBSCRIPTIONS: &str = "maximum subscriptions exceeded";

/// `-ERR '<text>'\r\n`.
pub fn err_line(text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 9);
    v.extend_from_slice(b"-ERR '");
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(b"'\r\n");
    v
}

/// Go's `%q` quoting of a subject as used inside permission errors.
pub fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// `Permissions Violation for Publish to "<subject>"`.
pub fn permissions_violation_publish(subject: &[u8]) -> String {
    format!("Permissions Violation for Publish to {}", go_quote(subject))
}

/// `Permissions Violation for Publish with Reply of "<reply>"`.
pub fn permissions_violation_publish_reply(reply: &[u8]) -> String {
    format!(
        "Permissions Violation for Publish with Reply of {}",
        go_quote(reply)
    )
}

/// `Permissions Violation for Subscription to "<subject>"` (with the queue when there is one).
pub fn permissions_violation_subscription(subject: &[u8], queue: Option<&[u8]>) -> String {
    match queue {
        Some(q) => format!(
            "Permissions Violation for Subscription to {} using queue {}",
            go_quote(subject),
            go_quote(q)
        ),
        None => format!(
            "Permissions Violation for Subscription to {}",
            go_quote(subject)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_lines_are_quoted() {
        assert_eq!(
            err_line(ERR_UNKNOWN_PROTOCOL),
            b"-ERR 'Unknown Protocol Operation'\r\n"
        );
        assert_eq!(
            err_line(ERR_MAX_CONTROL_LINE),
            b"-ERR 'maximum control line exceeded'\r\n"
        );
    }

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote(b"foo.bar"), "\"foo.bar\"");
        assert_eq!(go_quote(b"a\"b"), "\"a\\\"b\"");
        assert_eq!(go_quote(b"\x01\xff"), "\"\\x01\\xff\"");
        assert_eq!(
            permissions_violation_subscription(b"x", Some(b"_sys_")),
            "Permissions Violation for Subscription to \"x\" using queue \"_sys_\""
        );
        assert_eq!(
            permissions_violation_publish(b"_GR_.abc"),
            "Permissions Violation for Publish to \"_GR_.abc\""
        );
    }
}
