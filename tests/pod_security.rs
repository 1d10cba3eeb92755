//! Namespaces carry Pod Security Admission labels their workloads meet, `observability` is
//! default-deny like `monitoring`, and Prometheus exposes no lifecycle API.

use crate::tooling;

use lkeobs::stack::{Inputs, Renderer};
use serde_yaml_ng::Value;

const EXAMPLE_FLEETS: [&str; 3] = ["example", "prod", "ci"];

/// Every document of every cluster of `fleet/<name>.toml`, per cluster.
fn rendered(name: &str) -> Vec<(String, Vec<Value>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fleet/{name}.toml"));
    let fleet = lkeobs::fleet::load(&path).expect("example fleet loads").fleet;
    let renderer = Renderer::new().unwrap();
    fleet
        .clusters()
        .map(|c| {
            let r = renderer.render(&fleet, c, &Inputs::default()).unwrap();
            let docs = serde_yaml_ng::Deserializer::from_str(&r.to_stream())
                .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
                .filter(|v| !v.is_null())
                .collect();
            (format!("{name}/{}", c.name.get_ref()), docs)
        })
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// What keeps a pod spec out of the `restricted` Pod Security Standard, if anything
/// (kubernetes.io/docs/concepts/security/pod-security-standards, "Restricted").
fn restricted_violations(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let pod_sc = &pod["securityContext"];
    for flag in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[flag].as_bool() == Some(true) {
            out.push(flag.to_string());
        }
    }
    for v in pod["volumes"].as_sequence().into_iter().flatten() {
        let allowed = [
            "name",
            "configMap",
            "csi",
            "downwardAPI",
            "emptyDir",
            "ephemeral",
            "persistentVolumeClaim",
            "projected",
            "secret",
        ];
        for (k, _) in v.as_mapping().into_iter().flatten() {
            let k = k.as_str().unwrap_or_default();
            if !allowed.contains(&k) {
                out.push(format!("volume type {k}"));
            }
        }
    }
    let containers = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod[*k].as_sequence().cloned().unwrap_or_default());
    for c in containers {
        let name = str_of(&c, "name").to_string();
        let sc = &c["securityContext"];
        let either = |key: &str| sc.get(key).or_else(|| pod_sc.get(key));
        if either("runAsNonRoot").and_then(Value::as_bool) != Some(true) {
            out.push(format!("{name}: runAsNonRoot"));
        }
        if either("runAsUser").and_then(Value::as_u64) == Some(0) {
            out.push(format!("{name}: runAsUser 0"));
        }
        if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
            out.push(format!("{name}: allowPrivilegeEscalation"));
        }
        if sc["privileged"].as_bool() == Some(true) {
            out.push(format!("{name}: privileged"));
        }
        let drop: Vec<&str> = sc["capabilities"]["drop"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !drop.contains(&"ALL") {
            out.push(format!("{name}: capabilities not dropped"));
        }
        for add in sc["capabilities"]["add"].as_sequence().into_iter().flatten() {
            if add.as_str() != Some("NET_BIND_SERVICE") {
                out.push(format!("{name}: adds {add:?}"));
            }
        }
        let seccomp = either("seccompProfile").map(|s| str_of(s, "type")).unwrap_or_default();
        if !matches!(seccomp, "RuntimeDefault" | "Localhost") {
            out.push(format!("{name}: seccompProfile"));
        }
        for p in c["ports"].as_sequence().into_iter().flatten() {
            if p["hostPort"].as_u64().unwrap_or(0) != 0 {
                out.push(format!("{name}: hostPort"));
            }
        }
    }
    out
}

#[test]
fn every_namespace_enforces_the_strictest_pod_security_level_its_workloads_meet() {
    for name in EXAMPLE_FLEETS {
        for (cluster, docs) in rendered(name) {
            let namespaces: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Namespace").collect();
            assert!(!namespaces.is_empty(), "{cluster}: no Namespace");
            for ns in namespaces {
                let ns_name = str_of(&ns["metadata"], "name");
                let labels = &ns["metadata"]["labels"];
                let level = |mode: &str| str_of(labels, &format!("pod-security.kubernetes.io/{mode}")).to_string();
                let enforce = level("enforce");
                assert_eq!(level("warn"), "restricted", "{cluster}: {ns_name} warn");
                assert_eq!(level("audit"), "restricted", "{cluster}: {ns_name} audit");
                let pods: Vec<(String, Vec<String>)> = docs
                    .iter()
                    .filter(|d| d["metadata"]["namespace"].as_str() == Some(ns_name))
                    .filter(|d| matches!(str_of(d, "kind"), "Deployment" | "StatefulSet" | "DaemonSet"))
                    .map(|d| {
                        (
                            str_of(&d["metadata"], "name").to_string(),
                            restricted_violations(&d["spec"]["template"]["spec"]),
                        )
                    })
                    .collect();
                let short: Vec<&(String, Vec<String>)> = pods.iter().filter(|(_, v)| !v.is_empty()).collect();
                match enforce.as_str() {
                    "restricted" => assert!(
                        short.is_empty(),
                        "{cluster}: {ns_name} enforces restricted but {short:?}"
                    ),
                    // Privileged only where a workload needs it: the agent (hostPath logs, hostPorts).
                    "privileged" => assert!(
                        short.iter().any(|(w, _)| w == "otel-agent"),
                        "{cluster}: {ns_name} is privileged though every workload meets restricted"
                    ),
                    other => panic!("{cluster}: {ns_name} enforces {other:?}"),
                }
            }
        }
    }
}

#[test]
fn every_namespace_of_ours_denies_ingress_by_default_and_the_scraper_admits_nothing() {
    for name in EXAMPLE_FLEETS {
        for (cluster, docs) in rendered(name) {
            let policies: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "NetworkPolicy").collect();
            for ns in docs.iter().filter(|d| d["kind"] == "Namespace") {
                let ns_name = str_of(&ns["metadata"], "name");
                let deny = policies.iter().any(|p| {
                    p["metadata"]["namespace"].as_str() == Some(ns_name)
                        && p["spec"]["podSelector"].as_mapping().is_some_and(|m| m.is_empty())
                        && p["spec"]["ingress"].is_null()
                        && p["spec"]["policyTypes"]
                            .as_sequence()
                            .is_some_and(|t| t.iter().any(|t| t == "Ingress"))
                });
                if ns_name != "observability-hub" {
                    assert!(deny, "{cluster}: {ns_name} is not default-deny");
                }
            }
            let scraper = policies
                .iter()
                .find(|p| p["metadata"]["name"] == "otel-scraper" && p["metadata"]["namespace"] == "observability")
                .unwrap_or_else(|| panic!("{cluster}: no policy for the scraper"));
            assert!(
                scraper["spec"]["ingress"].is_null(),
                "{cluster}: the scraper admits {:?}",
                scraper["spec"]["ingress"]
            );
        }
    }
}

#[test]
fn prometheus_exposes_no_lifecycle_api() {
    for name in EXAMPLE_FLEETS {
        for (cluster, docs) in rendered(name) {
            for d in docs
                .iter()
                .filter(|d| d["kind"] == "StatefulSet" && d["metadata"]["name"] == "prometheus")
            {
                let args = serde_yaml_ng::to_string(&d["spec"]["template"]["spec"]["containers"][0]["args"]).unwrap();
                assert!(!args.contains("enable-lifecycle"), "{cluster}: {args}");
            }
        }
    }
}

#[test]
fn the_loadtest_job_meets_restricted_and_sets_resources() {
    let job: Value = serde_yaml_ng::from_str(&tooling::loadtest_job().to_string()).unwrap();
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(restricted_violations(pod), Vec::<String>::new());
    for c in pod["containers"].as_sequence().unwrap() {
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{c:?}"
        );
        for kind in ["requests", "limits"] {
            for r in ["cpu", "memory"] {
                assert!(c["resources"][kind][r].as_str().is_some(), "{kind}.{r} of {c:?}");
            }
        }
    }
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
}
