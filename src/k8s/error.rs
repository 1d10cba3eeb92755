//! What can go wrong talking to a cluster: each variant says which object or request failed and keeps the cause.

use std::time::Duration;

/// A Kubernetes operation that failed. Never carries Secret data or kubeconfig credentials.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// The kubeconfig text is not YAML. Its parser's message is withheld: it may quote the token.
    #[error("the kubeconfig does not parse as YAML (details withheld: it holds credentials)")]
    KubeconfigYaml,
    #[error("the kubeconfig cannot be used: {source}")]
    Kubeconfig {
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot build a Kubernetes client: {source}")]
    Client {
        #[source]
        source: kube::Error,
    },
    /// A request to the API server failed; `what` names the object or list.
    #[error("{what}: {cause}")]
    Api {
        what: String,
        cause: String,
        #[source]
        source: kube::Error,
    },
    /// A rendered document is not a Kubernetes object (a bug in the templates).
    #[error("{file}: document {index}: {reason}")]
    Manifest { file: String, index: usize, reason: String },
    /// Discovery does not know the object's kind.
    #[error("{object}: the API server does not serve {api_version} {kind}")]
    UnknownKind {
        object: String,
        api_version: String,
        kind: String,
    },
    /// A wait ran out of time: what it waited for, the last state seen, and a hint why.
    #[error("{what}: {state} after {}{hint}", human_duration(*.waited))]
    Timeout {
        what: String,
        state: String,
        waited: Duration,
        /// Starts with "; " when present (e.g. "; last event: Failed: ImagePullBackOff").
        hint: String,
    },
    /// A Service has no pod that a port-forward could reach (none selected, none Ready).
    #[error("no ready pod behind {namespace}/{service}")]
    NoReadyPod { namespace: String, service: String },
    /// A request through a port-forward to a Service's pod could not be made or got no answer;
    /// `target` is `namespace/service:port` (and the pod when one was picked).
    #[error("port-forward to {target}: {cause}")]
    PortForward { target: String, cause: String },
    /// The server will not change these fields in place, and the object is one lkeobs never
    /// replaces (a LoadBalancer Service: its NodeBalancer and public address would change).
    #[error(
        "{object}: {fields} cannot change in place, and lkeobs does not replace a LoadBalancer Service \
         (its NodeBalancer and public address would change); delete the Service yourself if that is \
         acceptable, then run `up` again"
    )]
    ReplaceRefused { object: String, fields: String },
    /// Prune was asked to keep nothing (a bug upstream, never a user's intent).
    #[error("refusing to prune against an empty set of objects: it would delete everything lkeobs applied")]
    NothingToKeep,
    /// The API server answered with something that does not fit the object's type.
    #[error("{what}: unexpected answer: {reason}")]
    Decode { what: String, reason: String },
}

pub type Result<T, E = K8sError> = std::result::Result<T, E>;

impl K8sError {
    /// Wraps a kube error with the object or list it concerned.
    pub fn api(what: impl Into<String>, source: kube::Error) -> Self {
        K8sError::Api {
            what: what.into(),
            cause: describe(&source),
            source,
        }
    }

    /// A single call that got no answer before the deadline.
    pub fn no_answer(what: impl Into<String>, waited: std::time::Duration) -> Self {
        K8sError::Timeout {
            what: what.into(),
            state: "no answer".into(),
            waited,
            hint: String::new(),
        }
    }

    /// The HTTP status of an API error, if the server answered one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            K8sError::Api { source, .. } => api_code(source),
            _ => None,
        }
    }

    /// Whether this is a wait that ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, K8sError::Timeout { .. })
    }
}

/// The HTTP status code of a kube error that came from the API server.
pub(crate) fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// A one-line cause: the API server's message and reason, or the transport error.
pub(crate) fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let mut out = if status.message.is_empty() {
                "request failed".to_string()
            } else {
                status.message.clone()
            };
            match (status.reason.is_empty(), status.code) {
                (false, 0) => out.push_str(&format!(" ({})", status.reason)),
                (false, code) => out.push_str(&format!(" ({}, HTTP {code})", status.reason)),
                (true, 0) => {}
                (true, code) => out.push_str(&format!(" (HTTP {code})")),
            }
            out
        }
        other => other.to_string(),
    }
}

/// "45s", "10m", "1m30s", "2h5m"; below ten seconds one decimal ("1.5s"), below one, milliseconds.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    if secs < 10 && d.subsec_millis() >= 100 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_human_wrote_them() {
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_millis(1540)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(2050)), "2s");
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(human_duration(Duration::from_secs(7500)), "2h5m");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2h");
    }

    #[test]
    fn timeout_message_names_object_state_duration_and_hint() {
        let e = K8sError::Timeout {
            what: "deployment observability-hub/otel-gateway".into(),
            state: "1/2 replicas ready".into(),
            waited: Duration::from_secs(600),
            hint: "; last event: Failed: ImagePullBackOff".into(),
        };
        assert_eq!(
            e.to_string(),
            "deployment observability-hub/otel-gateway: 1/2 replicas ready after 10m; last event: Failed: ImagePullBackOff"
        );
    }

    #[test]
    fn api_errors_show_message_and_reason_not_debug_noise() {
        let status = kube::core::Status::failure("deployments.apps \"x\" not found", "NotFound").with_code(404);
        let e = K8sError::api("deployment ns/x", kube::Error::Api(Box::new(status)));
        assert_eq!(
            e.to_string(),
            "deployment ns/x: deployments.apps \"x\" not found (NotFound, HTTP 404)"
        );
        assert_eq!(e.status_code(), Some(404));
    }
}
