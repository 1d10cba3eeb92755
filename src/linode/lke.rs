//! LKE clusters: create (idempotently by label), get, list, update, delete; versions;
//! kubeconfig (503 until ready); api-endpoints.

use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::client::Client;
use super::error::{Error, Result};
use super::filter::Filter;
use super::pools::NodePoolSpec;
use super::request::{ApiPath, Labelled};

/// An LKE cluster as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LkeCluster {
    /// Cluster id.
    pub id: u64,
    /// Unique label.
    pub label: String,
    /// Region id.
    pub region: String,
    /// `<major>.<minor>` (or an Enterprise version id).
    pub k8s_version: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Documented as unused: do not poll it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Control-plane settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlane>,
    /// `standard` or `enterprise` (newer API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Creation time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last update time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

impl Labelled for LkeCluster {
    fn label(&self) -> &str {
        &self.label
    }
}

/// Control-plane state of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlane {
    /// HA control plane.
    #[serde(default)]
    pub high_availability: bool,
}

/// `POST /lke/clusters` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateLkeCluster {
    /// Unique label (safe rule: `^[a-zA-Z0-9-]{3,32}$`).
    pub label: String,
    /// Region id with the `Kubernetes` capability.
    pub region: String,
    /// `<major>.<minor>` from [`Client::list_lke_versions`].
    pub k8s_version: String,
    /// At least one pool.
    pub node_pools: Vec<NodePoolSpec>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// HA and ACL settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlaneSpec>,
    /// `standard` or `enterprise`. Newer API (not in spec 4.189); leave `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// Control-plane settings sent on create or update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ControlPlaneSpec {
    /// Turn on the HA control plane (cannot be undone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_availability: Option<bool>,
    /// The control-plane IP ACL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<ControlPlaneAcl>,
}

/// Control-plane ACL (`enabled: true` means default deny).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlaneAcl {
    /// Whether the ACL is enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Allowed addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<AclAddresses>,
    /// A revision id to poll for enforcement.
    #[serde(rename = "revision-id", default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
}

/// The body of `GET`/`PUT /lke/clusters/{id}/control_plane_acl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPlaneAclBody {
    /// The ACL.
    pub acl: ControlPlaneAcl,
}

impl ControlPlaneAcl {
    /// The allowed networks when the ACL is enforced, sorted; empty when it is off.
    pub fn enforced_addresses(&self) -> Vec<String> {
        if self.enabled != Some(true) {
            return Vec::new();
        }
        let mut out: Vec<String> = self
            .addresses
            .iter()
            .flat_map(|a| a.ipv4.iter().chain(a.ipv6.iter()).flatten().cloned())
            .collect();
        out.sort();
        out
    }
}

/// IPv4 and IPv6 addresses or CIDRs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclAddresses {
    /// IPv4 addresses or CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Vec<String>>,
    /// IPv6 addresses or CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Vec<String>>,
}

/// `PUT /lke/clusters/{id}` body; `None` fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateLkeCluster {
    /// New label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Replaces the whole tag list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// One minor version up at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_version: Option<String>,
    /// HA and ACL settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlaneSpec>,
}

/// An LKE Kubernetes version (`{"id": "1.31"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LkeVersion {
    /// Version id.
    pub id: String,
}

/// A Kubernetes API endpoint of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiEndpoint {
    /// e.g. `https://host:443`.
    pub endpoint: String,
}

#[derive(Deserialize)]
struct KubeconfigBody {
    kubeconfig: String,
}

impl Client {
    /// Every LKE cluster, optionally filtered (`label`, `region`, `k8s_version`, `tags`).
    pub async fn list_lke_clusters(&self, filter: Option<&Filter>) -> Result<Vec<LkeCluster>> {
        self.list(&ApiPath::new("/lke/clusters", &[]), filter).await
    }

    /// One cluster (404 once deleted: see [`Error::is_not_found`]).
    pub async fn get_lke_cluster(&self, id: u64) -> Result<LkeCluster> {
        self.get(&ApiPath::new("/lke/clusters/{id}", &[&id])).await
    }

    /// Creates a cluster. Not repeated when the answer is lost: prefer
    /// [`Client::create_lke_cluster_idempotent`].
    pub async fn create_lke_cluster(&self, request: &CreateLkeCluster) -> Result<LkeCluster> {
        self.create(&ApiPath::new("/lke/clusters", &[]), request).await
    }

    /// Creates a cluster; if the answer was lost (timeout, broken connection, 500/502/504),
    /// looks it up by its unique label and returns it when found, else the original error.
    pub async fn create_lke_cluster_idempotent(&self, request: &CreateLkeCluster) -> Result<LkeCluster> {
        let path = ApiPath::new("/lke/clusters", &[]);
        self.create_or_lookup(&path, request, &request.label, || async {
            self.find_by_label(&path, &request.label).await
        })
        .await
    }

    /// Updates label, tags, version or control plane.
    pub async fn update_lke_cluster(&self, id: u64, request: &UpdateLkeCluster) -> Result<LkeCluster> {
        self.put(&ApiPath::new("/lke/clusters/{id}", &[&id]), request).await
    }

    /// The control-plane ACL (`GET /lke/clusters/{id}/control_plane_acl`).
    pub async fn get_control_plane_acl(&self, id: u64) -> Result<ControlPlaneAcl> {
        let body: ControlPlaneAclBody = self
            .get(&ApiPath::new("/lke/clusters/{id}/control_plane_acl", &[&id]))
            .await?;
        Ok(body.acl)
    }

    /// The control-plane ACL, or `None` when the cluster has none to manage: LKE answers 400 `Cluster does
    /// not support Control Plane ACL` for a cluster neither created with an ACL nor upgraded to use one, and an
    /// account without the feature may answer 404. Both mean "no ACL" (as the Terraform provider reads them).
    pub async fn find_control_plane_acl(&self, id: u64) -> Result<Option<ControlPlaneAcl>> {
        match self.get_control_plane_acl(id).await {
            Ok(acl) => Ok(Some(acl)),
            Err(Error::Api(api)) if matches!(api.status, 400 | 404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the control-plane ACL (`PUT /lke/clusters/{id}/control_plane_acl`).
    pub async fn update_control_plane_acl(&self, id: u64, acl: &ControlPlaneAcl) -> Result<ControlPlaneAcl> {
        let body = ControlPlaneAclBody { acl: acl.clone() };
        let answer: ControlPlaneAclBody = self
            .put(&ApiPath::new("/lke/clusters/{id}/control_plane_acl", &[&id]), &body)
            .await?;
        Ok(answer.acl)
    }

    /// Deletes a cluster (asynchronous on the API side; already gone counts as done).
    pub async fn delete_lke_cluster(&self, id: u64) -> Result<()> {
        self.delete(&ApiPath::new("/lke/clusters/{id}", &[&id])).await
    }

    /// Available Kubernetes versions.
    pub async fn list_lke_versions(&self) -> Result<Vec<LkeVersion>> {
        self.list(&ApiPath::new("/lke/versions", &[]), None).await
    }

    /// The cluster's Kubernetes API endpoints (empty until ready).
    pub async fn list_lke_api_endpoints(&self, id: u64) -> Result<Vec<ApiEndpoint>> {
        self.list(&ApiPath::new("/lke/clusters/{id}/api-endpoints", &[&id]), None)
            .await
    }

    /// The kubeconfig YAML, decoded. Before it is ready the API answers 503, returned at once
    /// as an error for which [`Error::is_kubeconfig_not_ready`] is true.
    pub async fn get_kubeconfig(&self, id: u64) -> Result<String> {
        let body: KubeconfigBody = self.get(&ApiPath::new("/lke/clusters/{id}/kubeconfig", &[&id])).await?;
        decode_kubeconfig(id, &body.kubeconfig)
    }

    /// Waits for the kubeconfig, honouring the API's `Retry-After`, for at most `max_wait`
    /// (and never past the client's deadline). Gives up with [`Error::Deadline`] as soon as the
    /// next wait would pass that limit.
    pub async fn wait_kubeconfig(&self, id: u64, max_wait: Duration) -> Result<String> {
        let limit = Instant::now() + max_wait;
        let deadline = self.deadline().map_or(limit, |d| d.min(limit));
        let body: KubeconfigBody = self
            .with_deadline(Some(deadline))
            .get_with(&ApiPath::new("/lke/clusters/{id}/kubeconfig", &[&id]), |p| {
                p.until_kubeconfig_ready()
            })
            .await?;
        decode_kubeconfig(id, &body.kubeconfig)
    }
}

fn decode_kubeconfig(cluster_id: u64, encoded: &str) -> Result<String> {
    let bad = |reason: String| Error::Kubeconfig { cluster_id, reason };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| bad(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_is_decoded_and_bad_base64_named() {
        assert_eq!(decode_kubeconfig(1, "YXBpVmVyc2lvbjogdjE=").unwrap(), "apiVersion: v1");
        let err = decode_kubeconfig(7, "%%%").unwrap_err();
        assert!(err.to_string().contains("cluster 7"), "{err}");
    }

    #[test]
    fn minimal_create_sends_only_required_fields() {
        let req = CreateLkeCluster {
            label: "hub".into(),
            region: "us-ord".into(),
            k8s_version: "1.31".into(),
            node_pools: vec![NodePoolSpec::new("g6-standard-2", 3)],
            tags: vec![],
            control_plane: None,
            tier: None,
        };
        let v = serde_json::to_value(&req).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["k8s_version", "label", "node_pools", "region"]);
        assert_eq!(
            v["node_pools"][0],
            serde_json::json!({"type": "g6-standard-2", "count": 3})
        );
    }

    #[test]
    fn cluster_answers_tolerate_unknown_fields() {
        let c: LkeCluster = serde_json::from_str(
            r#"{"id":1,"label":"a","region":"r","k8s_version":"1.31","apl_enabled":false,"locks":[]}"#,
        )
        .unwrap();
        assert_eq!(c.id, 1);
        assert!(c.tags.is_empty());
    }
}
