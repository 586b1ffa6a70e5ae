//! The URL account resolver (nats-server `accounts.go URLAccResolver`): an account JWT is
//! fetched with `GET <base>/<account public key>` (the base gets a trailing slash), a 200 answer
//! is the JWT; 1.9 s per request. Plain `http://` only for now (no `resolver_tls`).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Per-request timeout (the reference's default).
pub const FETCH_TIMEOUT: Duration = Duration::from_millis(1900);

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("unsupported URL {0:?} (only http:// is supported)")]
    Url(String),
    #[error("{0}")]
    Io(String),
    #[error("timed out")]
    Timeout,
    /// A status other than 200, as Go prints it (`404 Not Found`).
    #[error("{0} {reason}", reason = hyper::StatusCode::from_u16(*.0).ok().and_then(|s| s.canonical_reason()).unwrap_or(""))]
    Status(u16),
}

/// `http://host[:port]/path` → (host:port, path).
fn split_url(url: &str) -> Result<(String, String), FetchError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| FetchError::Url(url.to_string()))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() {
        return Err(FetchError::Url(url.to_string()));
    }
    let hostport = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    Ok((hostport, path.to_string()))
}

/// The startup probe: the base URL must answer 200.
pub async fn probe(url: &str) -> Result<(), FetchError> {
    get(url).await.map(|_| ())
}

/// GET `url`; the body of a 200 answer.
pub async fn get(url: &str) -> Result<String, FetchError> {
    tokio::time::timeout(FETCH_TIMEOUT, get_inner(url))
        .await
        .map_err(|_| FetchError::Timeout)?
}

async fn get_inner(url: &str) -> Result<String, FetchError> {
    let (hostport, path) = split_url(url)?;
    let io = |e: &dyn std::fmt::Display| FetchError::Io(e.to_string());
    let stream = tokio::net::TcpStream::connect(&hostport)
        .await
        .map_err(|e| io(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = hostport.rsplit_once(':').map_or(hostport.as_str(), |h| h.0);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|e| io(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| io(&e))?;
    let status = resp.status().as_u16();
    // Bounded: an account JWT is at most 1 MiB.
    let body = http_body_util::Limited::new(resp.into_body(), rnats_auth::jwt::MAX_TOKEN_SIZE)
        .collect()
        .await
        .map_err(|e| io(&e))?
        .to_bytes();
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    Ok(String::from_utf8_lossy(&body).trim().to_string())
}

/// The account URL for `key` under `base`.
pub fn account_url(base: &str, key: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{key}")
    } else {
        format!("{base}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9090/jwt/v1/accounts/").ok(),
            Some(("127.0.0.1:9090".into(), "/jwt/v1/accounts/".into()))
        );
        assert_eq!(
            split_url("http://example.com").ok(),
            Some(("example.com:80".into(), "/".into()))
        );
        assert!(split_url("https://x/").is_err());
        assert_eq!(account_url("http://h/a", "AB"), "http://h/a/AB");
    }
}
