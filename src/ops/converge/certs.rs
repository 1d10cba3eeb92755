//! The certificates `up` keeps in the clusters: the fleet CA in the hub (`observability-hub/lkeobs-ca`,
//! created once and reused; replaced only by `rotate` when it is due), the gateway's and Grafana's server
//! certificates and each edge's client certificate — reissued only when needed, or for all leaves with
//! `rotate`.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::k8s::{K8s, SecretMode, SecretOutcome};
use crate::objects::{self, CA_SECRET, CLIENT_TLS_SECRET, GATEWAY_TLS_SECRET, GRAFANA_TLS_SECRET};
use crate::pki::{self, Ca, Issued, San};

/// What happened to one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertAction {
    Created,
    Kept,
    Reissued,
}

fn bytes(data: BTreeMap<String, String>) -> BTreeMap<String, Vec<u8>> {
    data.into_iter().map(|(k, v)| (k, v.into_bytes())).collect()
}

fn unusable_ca(e: pki::Error) -> crate::Error {
    crate::Error::Cluster(format!(
        "the fleet CA in Secret {}/{} is unusable ({e}); lkeobs will not replace it on its own: delete that Secret to start a new CA (every certificate is then reissued)",
        CA_SECRET.namespace, CA_SECRET.name
    ))
}

/// The fleet CA as `ensure_ca` left it.
pub struct EnsuredCa {
    pub ca: Ca,
    pub action: CertAction,
    /// Why the CA kept should be replaced (`up --rotate-certs` does it), or why it was replaced.
    pub rotation: Option<pki::CaRotation>,
}

/// Loads the fleet CA from the hub, or creates and stores it when there is none. With `rotate`, a CA that
/// is due (expiring within 180 days, or without name constraints) is replaced by a new one; every leaf
/// certificate is then reissued, since none is signed by the new CA.
pub async fn ensure_ca(hub: &K8s, fleet: &str, rotate: bool) -> Result<EnsuredCa, crate::Error> {
    let (ns, name) = CA_SECRET.pair();
    if let Some(data) = hub.get_secret(ns, name).await? {
        let ca = Ca::from_secret_data(&data).map_err(unusable_ca)?;
        let rotation = ca.rotation_reason(OffsetDateTime::now_utc());
        if !(rotate && rotation.is_some()) {
            return Ok(EnsuredCa {
                ca,
                action: CertAction::Kept,
                rotation,
            });
        }
        let new = Ca::generate(fleet)?;
        hub.ensure_secret(
            ns,
            name,
            &objects::labels(fleet, "hub"),
            &bytes(new.secret_data()),
            SecretMode::Replace,
        )
        .await?;
        return Ok(EnsuredCa {
            ca: new,
            action: CertAction::Reissued,
            rotation,
        });
    }
    let ca = Ca::generate(fleet)?;
    let outcome = hub
        .ensure_secret(
            ns,
            name,
            &objects::labels(fleet, "hub"),
            &bytes(ca.secret_data()),
            SecretMode::CreateOnly,
        )
        .await?;
    if outcome == SecretOutcome::Kept {
        // Another run stored its CA a moment earlier: use that one.
        let data = hub.get_secret(ns, name).await?.unwrap_or_default();
        let ca = Ca::from_secret_data(&data).map_err(unusable_ca)?;
        let rotation = ca.rotation_reason(OffsetDateTime::now_utc());
        return Ok(EnsuredCa {
            ca,
            action: CertAction::Kept,
            rotation,
        });
    }
    Ok(EnsuredCa {
        ca,
        action: CertAction::Created,
        rotation: None,
    })
}

/// Keeps a leaf certificate Secret that is still good for `ca` and `wanted`, else (re)issues it.
#[allow(clippy::too_many_arguments)]
async fn ensure_leaf(
    k8s: &K8s,
    (ns, name): (&str, &str),
    fleet: &str,
    cluster: &str,
    ca: &Ca,
    wanted: &[San],
    rotate: bool,
    issue: impl FnOnce() -> Result<Issued, pki::Error>,
) -> Result<CertAction, crate::Error> {
    let existing = k8s.get_secret_typed(ns, name).await?;
    // An Opaque Secret from an older lkeobs is reissued as `kubernetes.io/tls`.
    if let Some((kind, data)) = &existing
        && !rotate
        && kind == crate::k8s::TLS
    {
        let text = |k: &str| {
            data.get(k)
                .and_then(|v| std::str::from_utf8(v).ok())
                .unwrap_or_default()
        };
        let good = !text(pki::TLS_KEY_KEY).is_empty()
            && text(pki::CA_CERT_KEY) == ca.cert_pem()
            && !ca.needs_reissue(text(pki::TLS_CERT_KEY), wanted, OffsetDateTime::now_utc());
        if good {
            return Ok(CertAction::Kept);
        }
    }
    let issued = issue()?;
    let data = bytes(issued.tls_secret_data(ca.cert_pem()));
    k8s.ensure_tls_secret(ns, name, &objects::labels(fleet, cluster), &data)
        .await?;
    Ok(if existing.is_some() {
        CertAction::Reissued
    } else {
        CertAction::Created
    })
}

/// The gateway's server certificate: the Service DNS names and, once known, the LoadBalancer address.
pub async fn ensure_gateway_cert(
    hub: &K8s,
    fleet: &str,
    ca: &Ca,
    lb_address: Option<&str>,
    rotate: bool,
) -> Result<CertAction, crate::Error> {
    let sans = pki::gateway_sans(lb_address)?;
    ensure_leaf(hub, GATEWAY_TLS_SECRET.pair(), fleet, "hub", ca, &sans, rotate, || {
        ca.issue_server(&sans)
    })
    .await
}

/// Grafana's server certificate: its Service names, the loopback names port-forward is browsed at, and
/// its LoadBalancer address.
pub async fn ensure_grafana_cert(
    hub: &K8s,
    fleet: &str,
    ca: &Ca,
    lb_address: &str,
    rotate: bool,
) -> Result<CertAction, crate::Error> {
    let sans = pki::grafana_sans(lb_address)?;
    ensure_leaf(hub, GRAFANA_TLS_SECRET.pair(), fleet, "hub", ca, &sans, rotate, || {
        ca.issue_grafana(&sans)
    })
    .await
}

/// An edge's client certificate (CN = the edge's name), stored in that edge.
pub async fn ensure_client_cert(
    edge: &K8s,
    fleet: &str,
    edge_name: &str,
    ca: &Ca,
    rotate: bool,
) -> Result<CertAction, crate::Error> {
    ensure_leaf(
        edge,
        CLIENT_TLS_SECRET.pair(),
        fleet,
        edge_name,
        ca,
        &[],
        rotate,
        || ca.issue_client(edge_name),
    )
    .await
}
