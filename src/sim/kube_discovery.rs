//! Discovery as kube-apiserver serves it to kubectl: `/version`, `/api`, `/apis` and the legacy
//! `APIResourceList`s with short names (`svc`, `po`, `deploy`, …), verbs, categories (`all`),
//! singular names and the subresources (`pods/log`, `deployments/scale`, …).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::http::Reply;
use super::kube::State;
use super::kube_kinds::Kind;

/// Every verb a stored kind takes.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `(group, plural)` → `(short names, categories)`, as the built-in kinds' REST storage declares them.
const NAMES: &[(&str, &str, &[&str], &[&str])] = &[
    ("", "namespaces", &["ns"], &[]),
    ("", "nodes", &["no"], &[]),
    ("", "persistentvolumes", &["pv"], &[]),
    ("", "serviceaccounts", &["sa"], &[]),
    ("", "configmaps", &["cm"], &[]),
    ("", "services", &["svc"], &["all"]),
    ("", "pods", &["po"], &["all"]),
    ("", "events", &["ev"], &[]),
    ("", "persistentvolumeclaims", &["pvc"], &[]),
    ("apps", "deployments", &["deploy"], &["all"]),
    ("apps", "statefulsets", &["sts"], &["all"]),
    ("apps", "daemonsets", &["ds"], &["all"]),
    ("apps", "replicasets", &["rs"], &["all"]),
    ("batch", "jobs", &[], &["all"]),
    ("batch", "cronjobs", &["cj"], &["all"]),
    ("storage.k8s.io", "storageclasses", &["sc"], &[]),
    ("networking.k8s.io", "networkpolicies", &["netpol"], &[]),
    ("policy", "poddisruptionbudgets", &["pdb"], &[]),
    ("apiregistration.k8s.io", "apiservices", &[], &["api-extensions"]),
    ("autoscaling", "horizontalpodautoscalers", &["hpa"], &["all"]),
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        &["crd", "crds"],
        &["api-extensions"],
    ),
];

/// `(group, plural)` → the subresources kube-apiserver lists for it, with their kind and verbs.
const SUBRESOURCES: &[(&str, &str, &str, &str, &[&str])] = &[
    ("", "pods", "status", "Pod", &["get", "patch", "update"]),
    ("", "pods", "log", "Pod", &["get"]),
    ("", "pods", "portforward", "PodPortForwardOptions", &["create", "get"]),
    ("", "pods", "eviction", "Eviction", &["create"]),
    ("", "services", "status", "Service", &["get", "patch", "update"]),
    (
        "",
        "services",
        "proxy",
        "ServiceProxyOptions",
        &["create", "delete", "get", "patch", "update"],
    ),
    ("", "nodes", "status", "Node", &["get", "patch", "update"]),
    ("", "namespaces", "status", "Namespace", &["get", "patch", "update"]),
    ("", "namespaces", "finalize", "Namespace", &["update"]),
    (
        "",
        "persistentvolumeclaims",
        "status",
        "PersistentVolumeClaim",
        &["get", "patch", "update"],
    ),
    (
        "apps",
        "deployments",
        "status",
        "Deployment",
        &["get", "patch", "update"],
    ),
    ("apps", "deployments", "scale", "Scale", &["get", "patch", "update"]),
    (
        "apps",
        "statefulsets",
        "status",
        "StatefulSet",
        &["get", "patch", "update"],
    ),
    ("apps", "statefulsets", "scale", "Scale", &["get", "patch", "update"]),
    ("apps", "daemonsets", "status", "DaemonSet", &["get", "patch", "update"]),
    ("batch", "jobs", "status", "Job", &["get", "patch", "update"]),
];

/// The short names and categories of a kind: the built-in table, else what its CRD declared.
fn names_of(st: &State, k: &Kind) -> (Vec<String>, Vec<String>) {
    let strings = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if let Some((_, _, short, categories)) = NAMES.iter().find(|(g, p, _, _)| *g == k.group && *p == k.plural) {
        return (strings(short), strings(categories));
    }
    let crd = st.objects.iter().find(|((g, p, _, _), crd)| {
        g == "apiextensions.k8s.io"
            && p == "customresourcedefinitions"
            && crd["spec"]["group"] == k.group.as_str()
            && crd["spec"]["names"]["plural"] == k.plural.as_str()
    });
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    crd.map(|(_, crd)| {
        (
            list(&crd["spec"]["names"]["shortNames"]),
            list(&crd["spec"]["names"]["categories"]),
        )
    })
    .unwrap_or_default()
}

/// The `APIResourceList` of one group version, None when it serves nothing.
fn resources(st: &State, group: &str, version: &str) -> Option<Value> {
    let mut list = Vec::new();
    for k in st.kinds.iter().filter(|k| k.group == group && k.version == version) {
        let (short, categories) = names_of(st, k);
        let mut r = json!({"name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
            "kind": k.kind, "verbs": VERBS});
        if !short.is_empty() {
            r["shortNames"] = json!(short);
        }
        if !categories.is_empty() {
            r["categories"] = json!(categories);
        }
        list.push(r);
        for (_, _, sub, kind, verbs) in SUBRESOURCES.iter().filter(|(g, p, ..)| *g == group && *p == k.plural) {
            let mut r = json!({"name": format!("{}/{sub}", k.plural), "singularName": "", "namespaced": k.namespaced,
                "kind": kind, "verbs": verbs});
            if *sub == "scale" {
                r["group"] = json!("autoscaling");
                r["version"] = json!("v1");
            }
            list.push(r);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    (!list.is_empty())
        .then(|| json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}))
}

/// `/version`: the Kubernetes version the cluster's kubelets report (the highest), as kube-apiserver's
/// `version.Info`; the simulator's default version before any node has joined.
fn version(st: &State) -> Value {
    let newest = st
        .objects
        .iter()
        .filter(|((g, p, _, _), _)| g.is_empty() && p == "nodes")
        .filter_map(|(_, n)| n["status"]["nodeInfo"]["kubeletVersion"].as_str())
        .filter_map(|v| {
            let parts: Vec<u64> = v
                .trim_start_matches('v')
                .split('.')
                .map_while(|p| p.parse().ok())
                .collect();
            (parts.len() == 3).then(|| (parts, v.to_string()))
        })
        .max();
    let git = newest.map_or_else(|| "v1.33.0".to_string(), |(_, v)| v);
    let mut parts = git.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("33"));
    json!({"major": major, "minor": minor, "gitVersion": git, "gitCommit": "lkeobs-sim", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64"})
}

/// The discovery answer for a path (split in segments), None when the path is no discovery path.
pub(crate) fn discovery(st: &State, segs: &[&str]) -> Option<Reply> {
    let body = match segs {
        ["version"] => version(st),
        ["api"] => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}),
        ["api", "v1"] => resources(st, "", "v1")?,
        ["apis"] => {
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for k in st.kinds.iter().filter(|k| !k.group.is_empty()) {
                let versions = groups.entry(&k.group).or_default();
                if !versions.contains(&k.version.as_str()) {
                    versions.push(&k.version);
                }
            }
            let groups: Vec<Value> = groups
                .iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        ["apis", group, version] => resources(st, group, version)?,
        _ => return None,
    };
    Some(Reply::new(200).set_body_json(body))
}
