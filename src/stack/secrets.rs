//! The Secrets the stack references but `render` never writes: `up` creates them (generated passwords, certificates, tokens from the environment).

use crate::fleet::{Cluster, Fleet, Role};
use crate::objects::{
    ALERTMANAGER_SECRET, CA_SECRET, CLIENT_TLS_SECRET, DESTINATIONS_SECRET, EDGE_AUTH_SECRET, EDGE_CREDENTIALS_SECRET,
    GATEWAY_HTPASSWD_SECRET, GATEWAY_TLS_SECRET, GRAFANA_ADMIN_SECRET, GRAFANA_TLS_SECRET, OBJECT_STORAGE_SECRET,
    ObjectRef,
};

/// Secrets `up` creates in `cluster`, with why each exists.
pub fn runtime_secrets(fleet: &Fleet, cluster: &Cluster) -> Vec<(ObjectRef, &'static str)> {
    let mut out = Vec::new();
    match cluster.role {
        Role::Hub => {
            out.push((GRAFANA_ADMIN_SECRET.secret_ref(), "Grafana admin password, generated"));
            if fleet.hub_mode.ha().is_some() {
                out.push((
                    OBJECT_STORAGE_SECRET.secret_ref(),
                    "the engines' Object Storage key, from the key's create answer",
                ));
            }
            let grafana_tls = !fleet.security.grafana_allow.is_empty();
            if fleet.security.mtls || grafana_tls {
                out.push((CA_SECRET.secret_ref(), "fleet CA, generated once and reused"));
            }
            if fleet.security.mtls {
                out.push((GATEWAY_TLS_SECRET.secret_ref(), "gateway server certificate"));
                out.push((
                    EDGE_CREDENTIALS_SECRET.secret_ref(),
                    "each edge's gateway password, generated; mounted by no pod",
                ));
                out.push((
                    GATEWAY_HTPASSWD_SECRET.secret_ref(),
                    "the gateway's htpasswd file, derived from the edges' passwords",
                ));
            }
            if grafana_tls {
                out.push((
                    GRAFANA_TLS_SECRET.secret_ref(),
                    "Grafana server certificate for its LoadBalancer address",
                ));
            }
            if fleet.destinations.iter().any(|d| d.token_env.is_some()) {
                out.push((
                    DESTINATIONS_SECRET.secret_ref(),
                    "destination tokens, from the environment",
                ));
            }
            if fleet
                .alerts
                .iter()
                .flat_map(|a| &a.receivers)
                .any(|r| r.secret_env().is_some())
            {
                out.push((
                    ALERTMANAGER_SECRET.secret_ref(),
                    "alert receivers' secrets, from the environment",
                ));
            }
        }
        Role::Edge => {
            if fleet.security.mtls {
                out.push((CLIENT_TLS_SECRET.secret_ref(), "this edge's client certificate"));
                out.push((
                    EDGE_AUTH_SECRET.secret_ref(),
                    "this edge's gateway credential, a copy of the hub's",
                ));
            }
        }
    }
    out
}
