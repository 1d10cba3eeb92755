//! The kinds a simulated Kubernetes API serves from the start: the built-in ones the stack uses
//! (CRDs applied to a cluster add theirs), and how a kind's `apiVersion` is spelled.

/// A kind the server serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Kind {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) plural: String,
    pub(crate) kind: String,
    pub(crate) namespaced: bool,
}

/// `(group, version, plural, kind, namespaced)` of every built-in kind the simulated server serves.
pub(crate) const BUILTIN: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "namespaces", "Namespace", false),
    ("", "v1", "nodes", "Node", false),
    ("", "v1", "persistentvolumes", "PersistentVolume", false),
    ("", "v1", "serviceaccounts", "ServiceAccount", true),
    ("", "v1", "configmaps", "ConfigMap", true),
    ("", "v1", "secrets", "Secret", true),
    ("", "v1", "services", "Service", true),
    ("", "v1", "endpoints", "Endpoints", true),
    ("", "v1", "pods", "Pod", true),
    ("", "v1", "events", "Event", true),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true),
    ("apps", "v1", "deployments", "Deployment", true),
    ("apps", "v1", "statefulsets", "StatefulSet", true),
    ("apps", "v1", "daemonsets", "DaemonSet", true),
    ("batch", "v1", "jobs", "Job", true),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true),
    // No `v1beta1.metrics.k8s.io` is stored: a fresh LKE cluster has no metrics API.
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", false),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    ),
];

/// `v1` or `group/version`.
pub(crate) fn api_version(k: &Kind) -> String {
    if k.group.is_empty() {
        k.version.clone()
    } else {
        format!("{}/{}", k.group, k.version)
    }
}

/// Whether `api_version` names kind `k` (`v1` and `/v1` both name the core group).
pub(crate) fn api_version_matches(k: &Kind, api_version: &str) -> bool {
    api_version == self::api_version(k) || (k.group.is_empty() && api_version == k.version)
}
