//! Edge identity at the gateway (security.mtls): edge intake authenticates with `basicauth/edges` and sets
//! `cluster.id` from the authenticated name; the hub's own intake does not; the forward connectors join
//! both to the processing pipelines; edges' agent and scraper present their credential; with mTLS off none
//! of it is rendered.

use crate::tooling;

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use tooling::{collector_config as config, fleet, render_docs as render};

fn workload<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|v| {
            matches!(v["kind"].as_str(), Some("Deployment" | "StatefulSet" | "DaemonSet"))
                && v["metadata"]["name"] == name
        })
        .unwrap_or_else(|| panic!("no workload {name}"))
}

fn names(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| s.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn example(mtls: bool) -> String {
    let text = std::fs::read_to_string(fleet("example")).unwrap();
    if mtls {
        text
    } else {
        text.replace("mtls = true", "mtls = false")
    }
}

/// Every component a pipeline names is defined, every defined connector is used on both sides.
fn check_graph(cfg: &Value) {
    let pipelines = cfg["service"]["pipelines"].as_mapping().unwrap();
    let defined = |section: &str| -> BTreeSet<String> {
        cfg[section]
            .as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let connectors = defined("connectors");
    let (mut as_exporter, mut as_receiver) = (BTreeSet::new(), BTreeSet::new());
    for (id, p) in pipelines {
        let id = id.as_str().unwrap();
        for r in names(&p["receivers"]) {
            assert!(
                defined("receivers").contains(&r) || connectors.contains(&r),
                "{id}: receiver {r}"
            );
            as_receiver.insert(r);
        }
        for x in names(&p["processors"]) {
            assert!(defined("processors").contains(&x), "{id}: processor {x}");
        }
        for e in names(&p["exporters"]) {
            assert!(
                defined("exporters").contains(&e) || connectors.contains(&e),
                "{id}: exporter {e}"
            );
            as_exporter.insert(e);
        }
    }
    for c in &connectors {
        assert!(
            as_exporter.contains(c) && as_receiver.contains(c),
            "connector {c} on one side only"
        );
    }
    for e in names(&cfg["service"]["extensions"]) {
        assert!(defined("extensions").contains(&e), "extension {e}");
    }
}

#[test]
fn gateway_binds_edge_identity_on_edge_intake_only() {
    let docs = render(&example(true), "hub");
    let cfg = config(&docs, "otel-gateway");
    check_graph(&cfg);
    for proto in ["grpc", "http"] {
        assert_eq!(
            cfg["receivers"]["otlp/edge"]["protocols"][proto]["auth"]["authenticator"], "basicauth/edges",
            "{proto}"
        );
        assert!(cfg["receivers"]["otlp/local"]["protocols"][proto]["auth"].is_null());
    }
    assert_eq!(
        cfg["extensions"]["basicauth/edges"]["htpasswd"]["file"],
        "/etc/otel/htpasswd/htpasswd"
    );
    assert!(names(&cfg["service"]["extensions"]).contains(&"basicauth/edges".to_string()));
    let identity = cfg["processors"]["resource/edge_identity"]["attributes"]
        .as_sequence()
        .unwrap();
    assert!(
        identity
            .iter()
            .any(|a| a["key"] == "cluster.id" && a["from_context"] == "auth.username")
    );
    assert!(
        identity
            .iter()
            .any(|a| a["key"] == "cluster.role" && a["value"] == "edge")
    );

    let pipelines = cfg["service"]["pipelines"].as_mapping().unwrap();
    for (id, p) in pipelines {
        let id = id.as_str().unwrap();
        let rx = names(&p["receivers"]);
        let px = names(&p["processors"]);
        let binds = px.contains(&"resource/edge_identity".to_string());
        if rx.contains(&"otlp/edge".to_string()) {
            // Edge data reaches nothing before its identity is set.
            assert_eq!(rx, ["otlp/edge"], "{id}");
            assert!(binds, "{id} takes edge data without binding its identity");
            assert!(names(&p["exporters"]).iter().all(|e| e.starts_with("forward/")), "{id}");
        } else {
            assert!(!binds, "{id} rewrites the identity of non-edge data");
        }
        if rx.contains(&"otlp/local".to_string()) {
            assert_eq!(rx, ["otlp/local"], "{id}");
        }
    }
    for signal in ["metrics", "logs", "traces"] {
        assert_eq!(names(&pipelines[signal]["receivers"]), [format!("forward/{signal}")]);
    }
    // The htpasswd Secret is mounted read-only, owner and group only.
    let gw = workload(&docs, "otel-gateway");
    let vol = gw["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == "otel-gateway-htpasswd")
        .expect("htpasswd volume");
    assert_eq!(vol["secret"]["defaultMode"].as_u64(), Some(0o440));
}

#[test]
fn gateway_without_mtls_keeps_one_intake() {
    let docs = render(&example(false), "hub");
    let cfg = config(&docs, "otel-gateway");
    check_graph(&cfg);
    let text = serde_yaml_ng::to_string(&cfg).unwrap();
    for absent in ["basicauth", "edge_identity", "forward/", "auth.username"] {
        assert!(!text.contains(absent), "{absent} rendered without mTLS");
    }
    assert_eq!(
        names(&cfg["service"]["pipelines"]["metrics"]["receivers"]),
        ["otlp/edge", "otlp/local"]
    );
    assert!(
        !serde_yaml_ng::to_string(&docs)
            .unwrap()
            .contains("otel-gateway-htpasswd")
    );
}

fn password_env(w: &Value) -> Option<Value> {
    w["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "LKEOBS_HUB_PASSWORD")
        .cloned()
}

#[test]
fn edge_collectors_present_their_credential_hub_ones_do_not() {
    let edge = render(&example(true), "us-east");
    let hub = render(&example(true), "hub");
    let off = render(&example(false), "us-east");
    for name in ["otel-agent", "otel-scraper"] {
        let cfg = config(&edge, name);
        check_graph(&cfg);
        assert_eq!(
            cfg["exporters"]["otlp_grpc/hub"]["auth"]["authenticator"], "basicauth/hub",
            "{name}"
        );
        let auth = &cfg["extensions"]["basicauth/hub"]["client_auth"];
        assert_eq!(auth["username"], "us-east", "{name}");
        assert_eq!(auth["password"], "${env:LKEOBS_HUB_PASSWORD}", "{name}");
        let env = password_env(workload(&edge, name)).unwrap_or_else(|| panic!("{name}: no password env"));
        assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "otel-edge-auth");
        assert_eq!(env["valueFrom"]["secretKeyRef"]["key"], "password");

        for (docs, what) in [(&hub, "the hub"), (&off, "an edge without mTLS")] {
            let cfg = config(docs, name);
            check_graph(&cfg);
            assert!(cfg["extensions"]["basicauth/hub"].is_null(), "{name} on {what}");
            assert!(cfg["exporters"]["otlp_grpc/hub"]["auth"].is_null(), "{name} on {what}");
            assert!(password_env(workload(docs, name)).is_none(), "{name} on {what}");
        }
    }
}
