//! The plan's promise on the Kubernetes side: on clusters that exist, the objects `up` applies and prunes
//! are exactly the changes `plan` listed just before, in the plan's order per cluster. The account is
//! given every kind of difference at once: a fleet-file change (retention), the gateway firewall turned on
//! (its id reaches the gateway Service only at run time), drift made by hand (an edited ConfigMap), an
//! object deleted out of band, and a stale object carrying the fleet's labels.

use crate::e2e;
use crate::support;

use std::collections::BTreeMap;

use e2e::{Dir, FLEET, LABELS};
use serde_json::{Value, json};
use support::world::{Latencies, World};

/// `(cluster label, "<method> <resource>/<namespace>/<name>")` of one write.
type Write = (String, String);

/// The resource a kind is served as (the plural the API paths use).
fn plural(kind: &str) -> String {
    let k = kind.to_lowercase();
    if let Some(stem) = k.strip_suffix('y') {
        format!("{stem}ies")
    } else if k.ends_with('s') {
        format!("{k}es")
    } else {
        format!("{k}s")
    }
}

/// The changes of each existing cluster in a plan report, in the plan's order: applies, then prunes.
/// The Secrets `up` generates (listed with a note) are made by their own steps, not applied.
fn planned(plan: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for c in plan["clusters"].as_array().unwrap() {
        let label = c["label"].as_str().unwrap().to_string();
        assert_eq!(c["objects_compared"], true, "{label} was not compared: {c:#}");
        let line = |o: &Value, verb: &str| {
            format!(
                "{verb} {}/{}/{}",
                plural(o["kind"].as_str().unwrap()),
                o["namespace"].as_str().unwrap_or("-"),
                o["name"].as_str().unwrap()
            )
        };
        let objects = c["objects"].as_array().unwrap();
        let generated = |o: &Value| o["kind"] == "Secret" && o["note"].is_string();
        let mut lines: Vec<String> = objects
            .iter()
            .filter(|o| matches!(o["action"].as_str(), Some("create" | "update" | "replace")) && !generated(o))
            .map(|o| line(o, "apply"))
            .collect();
        lines.extend(
            objects
                .iter()
                .filter(|o| o["action"] == "delete")
                .map(|o| line(o, "delete")),
        );
        out.insert(label, lines);
    }
    out
}

/// What `up` applied (server-side apply, dry runs excluded) and deleted, per cluster, in order.
fn done(world: &World) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let writes: Vec<Write> = LABELS
        .iter()
        .filter_map(|label| world.k8s(label).map(|k| (label, k)))
        .flat_map(|(label, k)| {
            k.writes()
                .into_iter()
                .filter(|w| w.query.get("dryRun").map(String::as_str) != Some("All"))
                .map(move |w| {
                    // /api/v1/namespaces/<ns>/<resource>/<name>, /apis/<g>/<v>/…, or cluster-scoped.
                    let segs: Vec<&str> = w.path.trim_start_matches('/').split('/').collect();
                    let rest = if segs[0] == "api" { &segs[2..] } else { &segs[3..] };
                    let (ns, resource, name) = match rest {
                        ["namespaces", ns, resource, name, ..] => (*ns, *resource, *name),
                        [resource, name, ..] => ("-", *resource, *name),
                        _ => ("-", "?", w.path.as_str()),
                    };
                    let verb = match w.method.as_str() {
                        "PATCH" if w.content_type.as_deref() == Some("application/apply-patch+yaml") => "apply",
                        "DELETE" => "delete",
                        other => other,
                    };
                    (label.to_string(), format!("{verb} {resource}/{ns}/{name}"))
                })
        })
        .collect();
    for (label, line) in writes {
        out.entry(label).or_default().push(line);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_applies_and_prunes_exactly_what_the_plan_listed_in_its_order() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let without_firewall = FLEET.replace("gateway_firewall = true", "gateway_firewall = false");
    let dir = Dir::new(&without_firewall);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");

    // A fleet-file change and the firewall turned on.
    std::fs::write(dir.fleet(), FLEET.replace("retention = \"1d\"", "retention = \"2d\"")).unwrap();
    // Drift by hand, an object deleted out of band, a stale object with the fleet's labels.
    let us = world.k8s("lkeobs-e2e-us").unwrap();
    let mut agent = us
        .get("v1", "ConfigMap", Some("observability"), "otel-agent")
        .expect("the agent's ConfigMap");
    agent["data"]["config.yaml"] = json!("edited: by hand\n");
    us.put(agent);
    let eu = world.k8s("lkeobs-e2e-eu").unwrap();
    assert!(
        eu.delete("v1", "Service", Some("observability"), "kube-state-metrics")
            .is_some()
    );
    let hub = world.k8s("lkeobs-e2e-hub").unwrap();
    let labels = hub
        .get("v1", "ConfigMap", Some("observability-hub"), "otel-gateway")
        .expect("the gateway's ConfigMap")["metadata"]["labels"]
        .clone();
    hub.put(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "left-over", "namespace": "observability-hub", "labels": labels},
        "data": {"a": "b"}}));

    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let planned = planned(&plan);
    let has = |label: &str, line: &str| planned[label].iter().any(|l| l == line);
    assert!(
        has("lkeobs-e2e-us", "apply configmaps/observability/otel-agent"),
        "{planned:#?}"
    );
    assert!(
        has("lkeobs-e2e-eu", "apply services/observability/kube-state-metrics"),
        "{planned:#?}"
    );
    assert!(
        has("lkeobs-e2e-hub", "delete configmaps/observability-hub/left-over"),
        "{planned:#?}"
    );
    assert!(
        has(
            "lkeobs-e2e-hub",
            "apply services/observability-hub/otel-gateway-external"
        ),
        "the firewall's id reaches the gateway Service: the plan lists that update\n{planned:#?}"
    );

    e2e::clear_logs(&world);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let done = done(&world);
    for (label, lines) in &planned {
        let did = done.get(label).cloned().unwrap_or_default();
        assert_eq!(
            &did, lines,
            "{label}: up's writes (left) against the plan's changes (right)"
        );
    }
    for label in done.keys() {
        assert!(
            planned.contains_key(label),
            "{label}: written, not planned: {:#?}",
            done[label]
        );
    }
    let gateway = hub
        .get("v1", "Service", Some("observability-hub"), "otel-gateway-external")
        .unwrap();
    let fw = gateway["metadata"]["annotations"]["service.beta.kubernetes.io/linode-loadbalancer-firewall-id"].clone();
    let id = *world.linode.state().firewalls.keys().next().expect("the firewall");
    assert_eq!(fw.as_str().map(str::to_string), Some(id.to_string()), "{gateway:#}");

    // A re-run plans nothing and writes nothing.
    e2e::clear_logs(&world);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());
}
