//! The INFO document (nats-server `server.go type Info`). Field order and `omitempty` rules follow
//! the reference, because some clients and tools compare or log it verbatim. The wire form has a
//! space before the CRLF: `INFO {...} \r\n`.

use serde::Serialize;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_zero_i(n: &i64) -> bool {
    *n == 0
}

/// Server INFO as sent to clients.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    #[serde(skip_serializing_if = "is_zero_i")]
    pub api_lvl: i64,
    /// rnats' own version (an extra field; clients ignore unknown fields).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rnats_version: String,
}

impl ServerInfo {
    /// `INFO <json> \r\n`.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = b"INFO ".to_vec();
        // Serializing plain structs of strings, integers and bools cannot fail.
        if let Ok(json) = serde_json::to_vec(self) {
            out.extend_from_slice(&json);
        }
        out.extend_from_slice(b" \r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let info = ServerInfo {
            server_id: "NID".into(),
            server_name: "n".into(),
            version: "2.15.0".into(),
            proto: 1,
            go: "rust".into(),
            host: "0.0.0.0".into(),
            port: 4222,
            headers: true,
            max_payload: 1048576,
            client_id: 3,
            client_ip: "127.0.0.1".into(),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(info.to_wire()).expect("utf8"),
            "INFO {\"server_id\":\"NID\",\"server_name\":\"n\",\"version\":\"2.15.0\",\"proto\":1,\"go\":\"rust\",\"host\":\"0.0.0.0\",\"port\":4222,\"headers\":true,\"max_payload\":1048576,\"client_id\":3,\"client_ip\":\"127.0.0.1\"} \r\n"
        );
    }
}
