//! Errors of the S3 client: S3's XML error answers read into their code and message. No credential ever
//! appears in them.

use std::fmt;

/// Result alias for the S3 client.
pub type S3Result<T> = Result<T, S3Error>;

/// Every way an S3 request can fail.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The server answered with an error status.
    #[error("{op} {target}: {}", answer(*status, code.as_deref(), message.as_deref()))]
    Status {
        /// The operation, e.g. `DeleteObjects`.
        op: &'static str,
        /// `bucket` or `bucket/key`.
        target: String,
        /// HTTP status.
        status: u16,
        /// S3 error code (`AccessDenied`, `NoSuchBucket`, …), when the body had one.
        code: Option<String>,
        /// S3's message, when the body had one.
        message: Option<String>,
    },
    /// No answer: connect failure, timeout, broken connection.
    #[error("{op} {target}: {source}")]
    Transport {
        /// The operation.
        op: &'static str,
        /// `bucket` or `bucket/key`.
        target: String,
        /// The underlying error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer that could not be read.
    #[error("{op} {target}: unexpected answer: {detail}")]
    Decode {
        /// The operation.
        op: &'static str,
        /// `bucket` or `bucket/key`.
        target: String,
        /// What was wrong.
        detail: String,
    },
    /// The request could not be built or signed.
    #[error("{op} {target}: could not build the request: {detail}")]
    Request {
        /// The operation.
        op: &'static str,
        /// `bucket` or `bucket/key`.
        target: String,
        /// What was wrong.
        detail: String,
    },
    /// A DeleteObjects answer listed keys it did not delete.
    #[error("DeleteObjects {bucket}: {failed} of {sent} keys not deleted (first: {first})")]
    NotDeleted {
        /// The bucket.
        bucket: String,
        /// Keys sent.
        sent: usize,
        /// Keys refused.
        failed: usize,
        /// The first refusal, `key: Code message`.
        first: String,
    },
    /// The deadline passed before the request could be sent, or a retry would wait past it.
    #[error("{op} {target}: the deadline has passed")]
    Deadline {
        /// The operation.
        op: &'static str,
        /// `bucket` or `bucket/key`.
        target: String,
    },
    /// The client configuration is not usable (host, credentials).
    #[error("S3 client: {0}")]
    Config(String),
}

fn answer(status: u16, code: Option<&str>, message: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(code) = code {
        text.push_str(code);
    }
    if let Some(message) = message.filter(|m| !m.is_empty()) {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(message);
    }
    if text.is_empty() {
        text.push_str(
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unexpected status"),
        );
    }
    format!("{text} ({status})")
}

impl S3Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            S3Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The S3 error code, when the server gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            S3Error::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// A 403 (AccessDenied, or a key the endpoint does not know yet).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// Worth another try: 5xx, `SlowDown`, 408, 429, transport failures.
    pub fn is_transient(&self) -> bool {
        match self {
            S3Error::Status { status, code, .. } => {
                matches!(status, 408 | 429 | 500..=599) || code.as_deref() == Some("SlowDown")
            }
            S3Error::Transport { .. } => true,
            _ => false,
        }
    }
}

/// `bucket` or `bucket/key`, as errors show the target.
pub(super) struct Target<'a>(pub(super) &'a str, pub(super) Option<&'a str>);

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(key) => write!(f, "{}/{key}", self.0),
            None => f.write_str(self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, code: Option<&str>) -> S3Error {
        S3Error::Status {
            op: "PutObject",
            target: "b/k".into(),
            status,
            code: code.map(Into::into),
            message: Some("msg".into()),
        }
    }

    #[test]
    fn messages_and_classes() {
        assert_eq!(
            status(403, Some("AccessDenied")).to_string(),
            "PutObject b/k: AccessDenied: msg (403)"
        );
        assert!(status(403, Some("AccessDenied")).is_forbidden());
        assert!(!status(403, None).is_transient());
        assert!(status(503, Some("SlowDown")).is_transient());
        assert!(status(500, None).is_transient());
        assert!(!status(404, Some("NoSuchKey")).is_transient());
        let bare = S3Error::Status {
            op: "HeadBucket",
            target: "b".into(),
            status: 404,
            code: None,
            message: None,
        };
        assert_eq!(bare.to_string(), "HeadBucket b: Not Found (404)");
    }
}
