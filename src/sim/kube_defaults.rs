//! What kube-apiserver fills in when an object is created through the API: a Service's cluster IP
//! (from LKE's service range 10.128.0.0/16, unless headless or ExternalName), a Deployment's or
//! StatefulSet's `spec.replicas` (1) and the workloads' RollingUpdate strategy. Defaults belong to no
//! field manager.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::kube::State;
use super::kube_kinds::Kind;

/// Fills the create-time defaults of a new object of kind `k` into `obj`.
pub(crate) fn on_create(st: &State, k: &Kind, obj: &mut Value) {
    match (k.group.as_str(), k.kind.as_str()) {
        ("", "Service") => {
            let spec = &obj["spec"];
            if spec["type"] == "ExternalName" || spec["clusterIP"].is_string() {
                return;
            }
            let used: BTreeSet<&str> = st
                .objects
                .iter()
                .filter(|((g, p, _, _), _)| g.is_empty() && p == "services")
                .filter_map(|(_, s)| s["spec"]["clusterIP"].as_str())
                .collect();
            let Some(ip) = (1..65_535u32)
                .map(|i| format!("10.128.{}.{}", i / 256, i % 256))
                .find(|ip| !used.contains(ip.as_str()) && !ip.ends_with(".0"))
            else {
                return;
            };
            obj["spec"]["clusterIP"] = json!(ip);
            obj["spec"]["clusterIPs"] = json!([ip]);
        }
        ("apps", kind @ ("Deployment" | "StatefulSet" | "DaemonSet")) => {
            let spec = &mut obj["spec"];
            if kind != "DaemonSet" && spec.get("replicas").is_none() {
                spec["replicas"] = json!(1);
            }
            // The rollout strategy `kubectl rollout status` reads (it refuses anything but RollingUpdate).
            let (key, rolling) = match kind {
                "Deployment" => ("strategy", json!({"maxUnavailable": "25%", "maxSurge": "25%"})),
                "StatefulSet" => ("updateStrategy", json!({"partition": 0})),
                _ => ("updateStrategy", json!({"maxUnavailable": 1, "maxSurge": 0})),
            };
            if spec[key]["type"].is_null() {
                spec[key]["type"] = json!("RollingUpdate");
            }
            if spec[key]["type"] == "RollingUpdate" && spec[key]["rollingUpdate"].is_null() {
                spec[key]["rollingUpdate"] = rolling;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kube::State;

    #[test]
    fn services_get_distinct_cluster_ips_and_workloads_one_replica() {
        let mut st = State::fresh();
        let service = st.kind_by_name("v1", "Service").expect("served");
        let mut a = json!({"metadata": {"name": "a", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}});
        on_create(&st, &service, &mut a);
        let key = |n: &str| {
            (
                String::new(),
                "services".to_string(),
                "default".to_string(),
                n.to_string(),
            )
        };
        st.write(&service, key("a"), a.clone(), false);
        let mut b = json!({"metadata": {"name": "b", "namespace": "default"}, "spec": {}});
        on_create(&st, &service, &mut b);
        assert!(
            a["spec"]["clusterIP"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.128.")),
            "{a}"
        );
        assert_ne!(a["spec"]["clusterIP"], b["spec"]["clusterIP"]);
        let mut headless = json!({"spec": {"clusterIP": "None"}});
        on_create(&st, &service, &mut headless);
        assert_eq!(headless["spec"]["clusterIP"], "None");
        let deployment = st.kind_by_name("apps/v1", "Deployment").expect("served");
        let mut d = json!({"metadata": {"name": "d"}, "spec": {}});
        on_create(&st, &deployment, &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        let statefulset = st.kind_by_name("apps/v1", "StatefulSet").expect("served");
        let mut s = json!({"metadata": {"name": "s"}, "spec": {"replicas": 3}});
        on_create(&st, &statefulset, &mut s);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(
            s["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        let mut recreate = json!({"metadata": {"name": "r"}, "spec": {"strategy": {"type": "Recreate"}}});
        on_create(&st, &deployment, &mut recreate);
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }
}
