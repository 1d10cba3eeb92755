//! Errors of the Linode client: API error bodies turned into messages a person can act on.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};

/// Result alias for the Linode client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One entry of the API's `{"errors": [...]}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    /// What went wrong, in the API's words.
    pub reason: String,
    /// The request field concerned (possibly dotted), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What kind of body a failed response carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A JSON `errors` array (possibly empty).
    Json,
    /// An HTML page (e.g. a proxy's 502 page).
    Html,
    /// Nothing, or text that could not be read as the API's error format.
    Other,
}

/// A non-2xx answer from the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The request method.
    pub method: Method,
    /// The request path after the base URL, e.g. `/lke/clusters/123`.
    pub path: String,
    /// The path template, e.g. `/lke/clusters/{id}`.
    pub template: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// The API's errors, in order.
    pub errors: Vec<ApiErrorItem>,
    /// What the body looked like.
    pub body: BodyKind,
    /// The wait the API asked for (`Retry-After`, else `X-RateLimit-Reset` on a 429).
    pub retry_after: Option<Duration>,
    /// The response carried `X-Maintenance-Mode` (planned API maintenance).
    pub maintenance: bool,
}

impl ApiError {
    /// The reasons joined with `"; "`, each prefixed by its field when it has one.
    pub fn reasons(&self) -> String {
        self.errors
            .iter()
            .map(|e| match e.field.as_deref() {
                Some(field) if !field.is_empty() => format!("{field}: {}", e.reason),
                _ => e.reason.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl ApiError {
    /// A 401 for a token without the endpoint's OAuth scope (not an invalid or expired token).
    pub fn missing_scope(&self) -> bool {
        self.status == 401
            && self.errors.iter().any(|e| {
                e.reason
                    .to_ascii_lowercase()
                    .contains(super::scopes::NOT_AUTHORIZED_REASON)
            })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method, self.path)?;
        let status = self.status;
        if status == 401 && self.missing_scope() {
            let scope = super::scopes::needed(self.method.as_str(), self.template).map_or_else(
                || "the scope of this endpoint".to_string(),
                |s| format!("the {s} scope"),
            );
            return write!(
                f,
                "the token is not allowed to call this endpoint (401: {}); give the token {scope} \
                 (docs/security.md lists the scopes lkeobs needs)",
                self.reasons()
            );
        }
        if status == 401 {
            return write!(
                f,
                "the Linode API rejected the token (401); check LINODE_TOKEN \
                 (or LINODE_CLI_TOKEN, or the linode-cli config) and that the token has not expired"
            );
        }
        if self.maintenance {
            write!(f, "the Linode API is in planned maintenance")?;
            if !self.errors.is_empty() {
                write!(f, ": {}", self.reasons())?;
            }
            return write!(f, " ({status})");
        }
        match self.body {
            BodyKind::Json if !self.errors.is_empty() => write!(f, "{} ({status})", self.reasons()),
            BodyKind::Html if status == 502 => write!(f, "bad gateway (502), HTML body"),
            BodyKind::Html => write!(f, "{} ({status}), HTML body", canonical(status)),
            _ => write!(f, "{} ({status})", canonical(status)),
        }
    }
}

fn canonical(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
}

/// How a request failed to get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect: the request was never sent.
    Connect,
    /// The request or connect timeout passed.
    Timeout,
    /// The connection broke, or the body could not be read.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Other => "connection failed",
        })
    }
}

/// Every way the Linode client can fail. The token never appears in any of them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token in `LINODE_TOKEN`, `LINODE_CLI_TOKEN` nor the linode-cli config.
    #[error("no Linode API token: set LINODE_TOKEN, or LINODE_CLI_TOKEN, or configure linode-cli ({detail})")]
    NoToken {
        /// Where the config file was looked for and what was found.
        detail: String,
    },
    /// The base URL (`LINODE_URL`) is not usable.
    #[error("invalid Linode API URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// No answer: connect failure, timeout or broken connection.
    #[error("{method} {path}: {kind}: {}", causes(source))]
    Transport {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// What failed.
        kind: TransportKind,
        /// The underlying error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer whose body did not have the expected shape.
    #[error("{method} {path}: unexpected response body: {source}")]
    Decode {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A request body could not be serialized.
    #[error("{method} {path}: could not encode the request body: {source}")]
    Encode {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The token cannot be sent in an HTTP header (the token itself is not shown).
    #[error("the Linode API token contains characters that cannot be sent in an HTTP header")]
    InvalidToken,
    /// The command deadline passed before this request could be sent.
    #[error("{method} {path}: the command deadline has passed")]
    DeadlinePassed {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// A retry would have to wait past the command's deadline, so the request gave up at once.
    #[error(
        "{method} {path}: giving up: the next attempt would wait {}, past the command deadline (in {}); last error: {last}",
        secs(*wait),
        secs(*remaining)
    )]
    Deadline {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The wait that was asked for.
        wait: Duration,
        /// Time left before the deadline.
        remaining: Duration,
        /// The error that would have been retried.
        last: Box<Error>,
    },
    /// The API refused to delete a bucket that still holds objects (or versions).
    #[error(
        "bucket {label} in {region} is not empty: the API deletes only empty buckets; empty it over S3 first \
         (or let a lifecycle rule expire its objects) [{api}]"
    )]
    BucketNotEmpty {
        /// Region id.
        region: String,
        /// Bucket name.
        label: String,
        /// The API's answer.
        api: Box<ApiError>,
    },
    /// The kubeconfig was returned but is not valid base64 UTF-8 text.
    #[error("cluster {cluster_id}: the kubeconfig is not valid base64 text: {reason}")]
    Kubeconfig {
        /// The LKE cluster id.
        cluster_id: u64,
        /// What was wrong.
        reason: String,
    },
}

/// An error and its sources, joined with ": " (reqwest's own message is terse).
fn causes(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Error {
    /// Whether trying the same request again may succeed: 408, 429, 5xx (except a 503 in
    /// planned maintenance), a 400 "Linode busy.", and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => match api.status {
                408 | 429 => true,
                503 => !api.maintenance,
                500..=599 => true,
                400 => api.errors.iter().any(|e| e.reason == "Linode busy."),
                _ => false,
            },
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the request may have been carried out although its answer was lost: a timeout,
    /// a broken connection, or a 500/502/504. Creates are not retried blindly on these.
    pub fn answer_may_be_lost(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => *kind != TransportKind::Connect,
            Error::Api(api) => matches!(api.status, 500 | 502 | 504),
            Error::Deadline { last, .. } => last.answer_may_be_lost(),
            _ => false,
        }
    }

    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Deadline { last, .. } => last.status(),
            Error::BucketNotEmpty { api, .. } => Some(api.status),
            _ => None,
        }
    }

    /// The API refused a token without the endpoint's OAuth scope (401, "not authorized to use this
    /// endpoint").
    pub fn is_missing_scope(&self) -> bool {
        match self {
            Error::Api(api) => api.missing_scope(),
            Error::Deadline { last, .. } => last.is_missing_scope(),
            _ => false,
        }
    }

    /// The API answered 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(api) if api.status == 404)
    }

    /// The API answered 503 to a kubeconfig request: the kubeconfig is not ready yet.
    pub fn is_kubeconfig_not_ready(&self) -> bool {
        matches!(self, Error::Api(api)
            if api.status == 503 && !api.maintenance && api.template.ends_with("/kubeconfig"))
    }

    /// The API error, when the API answered.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, errors: Vec<ApiErrorItem>, body: BodyKind) -> ApiError {
        ApiError {
            method: Method::POST,
            path: "/lke/clusters".into(),
            template: "/lke/clusters",
            status,
            errors,
            body,
            retry_after: None,
            maintenance: false,
        }
    }

    fn item(field: Option<&str>, reason: &str) -> ApiErrorItem {
        ApiErrorItem {
            reason: reason.into(),
            field: field.map(Into::into),
        }
    }

    #[test]
    fn field_errors_are_joined() {
        let e = api(
            400,
            vec![
                item(Some("region"), "Kubernetes is not available in this region"),
                item(None, "Something else"),
            ],
            BodyKind::Json,
        );
        assert_eq!(
            e.to_string(),
            "POST /lke/clusters: region: Kubernetes is not available in this region; Something else (400)"
        );
        assert!(!Error::Api(Box::new(e)).is_retryable());
    }

    #[test]
    fn html_502_and_empty_bodies() {
        let e = api(502, vec![], BodyKind::Html);
        assert_eq!(e.to_string(), "POST /lke/clusters: bad gateway (502), HTML body");
        let e = Error::Api(Box::new(e));
        assert!(e.is_retryable());
        assert!(e.answer_may_be_lost());
        let e = api(500, vec![], BodyKind::Other);
        assert_eq!(e.to_string(), "POST /lke/clusters: Internal Server Error (500)");
    }

    #[test]
    fn maintenance_503_is_not_retryable() {
        let mut e = api(503, vec![item(None, "maintenance")], BodyKind::Json);
        e.maintenance = true;
        assert!(e.to_string().contains("planned maintenance"));
        assert!(!Error::Api(Box::new(e)).is_retryable());
    }

    #[test]
    fn unauthorized_names_the_variable() {
        let e = api(401, vec![item(None, "Invalid Token")], BodyKind::Json);
        let text = e.to_string();
        assert!(text.contains("rejected the token (401)"), "{text}");
        assert!(text.contains("LINODE_TOKEN"), "{text}");
    }

    #[test]
    fn busy_400_and_rate_limits_retry() {
        let busy = api(400, vec![item(None, "Linode busy.")], BodyKind::Json);
        assert!(Error::Api(Box::new(busy)).is_retryable());
        let e = Error::Api(Box::new(api(429, vec![], BodyKind::Json)));
        assert!(e.is_retryable());
        assert!(!e.answer_may_be_lost());
        assert_eq!(e.status(), Some(429));
    }
}
