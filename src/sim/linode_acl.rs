//! The simulated control-plane ACL as LKE serves it: `GET`/`PUT /lke/clusters/{id}/control_plane_acl` work only
//! for a cluster created with an ACL or upgraded to use one (`PUT /lke/clusters/{id}` with `control_plane.acl`);
//! any other cluster answers 400 `Cluster does not support Control Plane ACL`, and an account without the
//! feature answers 404.

use serde_json::{Value, json};

use super::http::Reply;
use super::linode::State;
use super::linode_routes::{err, not_found, ok};

/// The account capability that carries the feature.
pub(crate) const CAPABILITY: &str = "LKE Network Access Control List (IP ACL)";

/// The API's answer for a cluster that has no ACL to manage.
pub(crate) const UNSUPPORTED: &str = "Cluster does not support Control Plane ACL";

fn has_feature(state: &State) -> bool {
    state.account_capabilities.iter().any(|c| c == CAPABILITY)
}

/// `GET /lke/clusters/{id}/control_plane_acl`.
pub(crate) fn get(state: &State, id: u64) -> Reply {
    if !has_feature(state) {
        return not_found();
    }
    match state.acls.get(&id) {
        Some(acl) => ok(json!({"acl": acl})),
        None => err(400, None, UNSUPPORTED),
    }
}

/// `PUT /lke/clusters/{id}/control_plane_acl`: only on a cluster that already has an ACL.
pub(crate) fn put(state: &mut State, id: u64, body: &Value) -> Reply {
    if !has_feature(state) {
        return err(
            400,
            Some("acl"),
            "Control plane ACLs are not available for this account",
        );
    }
    if !state.acls.contains_key(&id) {
        return err(400, None, UNSUPPORTED);
    }
    if !body["acl"].is_object() {
        return err(400, Some("acl"), "acl is required");
    }
    state.acls.insert(id, body["acl"].clone());
    ok(json!({"acl": body["acl"]}))
}

/// A cluster created or updated with `control_plane.acl` has an ACL from then on (the change cannot be undone:
/// later it is only switched with `enabled`).
pub(crate) fn from_cluster_body(state: &mut State, id: u64, body: &Value) {
    if body["control_plane"]["acl"].is_object() {
        state.acls.insert(id, body["control_plane"]["acl"].clone());
    }
}
