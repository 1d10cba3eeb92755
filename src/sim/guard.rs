//! What every simulator listener demands before its handler sees a request, so that no other local
//! process (nor a web page through DNS rebinding) can read the simulated clusters' Secrets or write to
//! them: a `Host` that is this listener's loopback address (421 otherwise), the listener's bearer token when
//! it has one (401), a body of a content type the real API takes (415) and of bounded size (413).

use std::sync::{Mutex, OnceLock};

use super::http::Reply;

/// The largest request body a simulated API reads (kube-apiserver's limit is 3 MiB per object).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The content types a listener takes bodies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bodies {
    /// JSON only (the Linode API).
    Json,
    /// JSON, JSON patches and apply patches (YAML) (a Kubernetes API).
    Kubernetes,
    /// Whatever the handler decides (the data path's stand-ins, which check their own).
    Any,
}

/// One listener's demands.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The bearer token every request must carry (None: the handler checks, or none is needed).
    pub token: Option<String>,
    /// The port the listener is on; None: any loopback port (a stand-in reached through a port-forward,
    /// whose clients name their own local port).
    pub port: Option<u16>,
    pub bodies: Bodies,
}

/// Why a request is refused, as the answer to send.
pub enum Refusal {
    MisdirectedHost,
    Unauthorized,
    UnsupportedMediaType(String),
}

impl Guard {
    /// Whether `method` with these `headers` may reach the handler.
    pub fn check(&self, method: &http::Method, headers: &http::HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !self.host_ok(host) {
            return Err(Refusal::MisdirectedHost);
        }
        if let Some(token) = &self.token {
            let given = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
                return Err(Refusal::Unauthorized);
            }
        }
        // A body-less request (a recycle POST, a port-forward upgrade) names no content type.
        let length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let chunked = headers.get(http::header::TRANSFER_ENCODING).is_some();
        let empty = !chunked && length.is_none_or(|l| l == 0) && headers.get(http::header::CONTENT_TYPE).is_none();
        let has_body = !empty && matches!(*method, http::Method::POST | http::Method::PUT | http::Method::PATCH);
        if has_body && self.bodies != Bodies::Any {
            let ct = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            let ok = match self.bodies {
                Bodies::Json => mime == "application/json",
                Bodies::Kubernetes => {
                    mime == "application/json"
                        || mime == "application/yaml"
                        || mime == "application/apply-patch+yaml"
                        || (mime.starts_with("application/") && mime.ends_with("+json"))
                }
                Bodies::Any => true,
            };
            if !ok {
                return Err(Refusal::UnsupportedMediaType(mime));
            }
        }
        Ok(())
    }

    fn host_ok(&self, host: &str) -> bool {
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.ends_with(']') || host.starts_with('[') => (n, p.parse::<u16>().ok()),
            _ => (host, None),
        };
        let loopback = matches!(name, "127.0.0.1" | "localhost" | "[::1]");
        loopback && self.port.is_none_or(|want| port == Some(want))
    }
}

impl Refusal {
    /// The answer: a Kubernetes `Status` for a Kubernetes API, a Linode error list otherwise.
    pub fn reply(&self, kubernetes: bool) -> Reply {
        let (code, reason, message) = match self {
            Refusal::MisdirectedHost => (
                421,
                "MisdirectedRequest",
                "the simulator answers only requests addressed to its own loopback address and port".to_string(),
            ),
            Refusal::Unauthorized => (401, "Unauthorized", "Unauthorized".to_string()),
            Refusal::UnsupportedMediaType(m) => (
                415,
                "UnsupportedMediaType",
                format!("the body's content type {m:?} is not one the API takes"),
            ),
        };
        let body = if kubernetes {
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code})
        } else {
            serde_json::json!({"errors": [{"reason": message}]})
        };
        Reply::new(code).set_body_json(body)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A token from the operating system's CSPRNG: `prefix` and 32 hex digits. Without a working generator
/// there is no token, and the simulator does not start (it never falls back on a guessable one).
pub fn random_token(prefix: &str) -> std::io::Result<String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("the operating system's random generator failed"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// The token of each simulated Kubernetes API, by its URI: what the simulated Linode API puts in a
/// cluster's kubeconfig.
fn registry() -> &'static Mutex<std::collections::BTreeMap<String, String>> {
    static TOKENS: OnceLock<Mutex<std::collections::BTreeMap<String, String>>> = OnceLock::new();
    TOKENS.get_or_init(|| Mutex::new(std::collections::BTreeMap::new()))
}

/// Records the token of the Kubernetes API at `uri`.
pub fn register_token(uri: &str, token: &str) {
    super::world::lock(registry()).insert(uri.to_string(), token.to_string());
}

/// The token of the Kubernetes API at `uri`, when one runs there.
pub fn token_for(uri: &str) -> Option<String> {
    super::world::lock(registry()).get(uri).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn host_token_and_content_type_are_demanded() {
        let g = Guard {
            token: Some("sim-k8s-abc".into()),
            port: Some(4000),
            bodies: Bodies::Kubernetes,
        };
        let ok = [("host", "127.0.0.1:4000"), ("authorization", "Bearer sim-k8s-abc")];
        assert!(g.check(&http::Method::GET, &headers(&ok)).is_ok());
        let foreign = [("host", "evil.example"), ("authorization", "Bearer sim-k8s-abc")];
        assert!(matches!(
            g.check(&http::Method::GET, &headers(&foreign)),
            Err(Refusal::MisdirectedHost)
        ));
        let other_port = [("host", "127.0.0.1:4001"), ("authorization", "Bearer sim-k8s-abc")];
        assert!(matches!(
            g.check(&http::Method::GET, &headers(&other_port)),
            Err(Refusal::MisdirectedHost)
        ));
        let no_token = [("host", "localhost:4000")];
        assert!(matches!(
            g.check(&http::Method::GET, &headers(&no_token)),
            Err(Refusal::Unauthorized)
        ));
        let text = [
            ("host", "127.0.0.1:4000"),
            ("authorization", "Bearer sim-k8s-abc"),
            ("content-type", "text/plain"),
        ];
        assert!(matches!(
            g.check(&http::Method::POST, &headers(&text)),
            Err(Refusal::UnsupportedMediaType(_))
        ));
        let merge = [
            ("host", "127.0.0.1:4000"),
            ("authorization", "Bearer sim-k8s-abc"),
            ("content-type", "application/merge-patch+json"),
        ];
        assert!(g.check(&http::Method::PATCH, &headers(&merge)).is_ok());
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (random_token("sim-k8s-").unwrap(), random_token("sim-k8s-").unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "sim-k8s-".len() + 32);
    }
}
