//! The Secrets the stack references but `render` never writes: `up` creates them (generated passwords, certificates, tokens from the environment).

use crate::fleet::{Cluster, Fleet, Role};
use crate::objects::ObjectRef;

fn secret(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// Secrets `up` creates in `cluster`, with why each exists.
pub fn runtime_secrets(fleet: &Fleet, cluster: &Cluster) -> Vec<(ObjectRef, &'static str)> {
    let mut out = Vec::new();
    match cluster.role {
        Role::Hub => {
            out.push((
                secret("monitoring", "grafana-admin"),
                "Grafana admin password, generated",
            ));
            let grafana_tls = !fleet.security.grafana_allow.is_empty();
            if fleet.security.mtls || grafana_tls {
                out.push((
                    secret("observability-hub", "lkeobs-ca"),
                    "fleet CA, generated once and reused",
                ));
            }
            if fleet.security.mtls {
                out.push((
                    secret("observability-hub", "otel-gateway-tls"),
                    "gateway server certificate",
                ));
                out.push((
                    secret("observability-hub", "lkeobs-edge-credentials"),
                    "each edge's gateway password, generated; mounted by no pod",
                ));
                out.push((
                    secret("observability-hub", "otel-gateway-htpasswd"),
                    "the gateway's htpasswd file, derived from the edges' passwords",
                ));
            }
            if grafana_tls {
                out.push((
                    secret("monitoring", "grafana-tls"),
                    "Grafana server certificate for its LoadBalancer address",
                ));
            }
            if fleet.destinations.iter().any(|d| d.token_env.is_some()) {
                out.push((
                    secret("observability-hub", "lkeobs-destinations"),
                    "destination tokens, from the environment",
                ));
            }
        }
        Role::Edge => {
            if fleet.security.mtls {
                out.push((
                    secret("observability", "otel-client-tls"),
                    "this edge's client certificate",
                ));
                out.push((
                    secret("observability", "otel-edge-auth"),
                    "this edge's gateway credential, a copy of the hub's",
                ));
            }
        }
    }
    out
}
