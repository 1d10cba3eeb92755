//! Preflight of the hub region for object storage: the `Object Storage` capability, an S3 endpoint
//! for this account (E3 > E2 > E1 > E0), and the account's enrolment (the $5 base is new cost unless active).

use serde::Serialize;

use super::error::{HubStorageError, Result};
use crate::linode::{Client, ObjectStorageEndpoint, ObjectStorageStatus, pick_endpoint};

/// The capability string of `GET /regions/{id}`.
pub const OBJECT_STORAGE_CAPABILITY: &str = "Object Storage";

/// What the hub region and the account offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// The hub region.
    pub region: String,
    /// The endpoint buckets are created on (the newest type the region offers this account).
    pub endpoint: ObjectStorageEndpoint,
    /// The account's enrolment (`GET /account/settings` `object_storage`); None when the token may not read
    /// the account's settings (no `account:read_only` scope): buckets can still be made.
    pub account: Option<ObjectStorageStatus>,
}

impl Preflight {
    /// Whether the account already pays the Object Storage base (so buckets add no base price).
    pub fn enrolled(&self) -> bool {
        self.account == Some(ObjectStorageStatus::Active)
    }
}

/// Checks `region` for object storage. Reads only (`GET /regions/{id}`, `GET /object-storage/endpoints`,
/// `GET /account/settings`).
pub async fn preflight(client: &Client, region: &str) -> Result<Preflight> {
    let found = match client.get_region(region).await {
        Ok(r) => r,
        Err(e) if e.is_not_found() => {
            return Err(HubStorageError::RegionUnknown {
                region: region.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let endpoints = client.list_object_storage_endpoints().await?;
    let mut offered: Vec<String> = endpoints.iter().map(|e| e.region.clone()).collect();
    offered.sort();
    offered.dedup();
    if !found.has_capability(OBJECT_STORAGE_CAPABILITY) {
        return Err(HubStorageError::NoObjectStorage {
            region: region.to_string(),
            offered,
        });
    }
    let Some(endpoint) = pick_endpoint(&endpoints, region).cloned() else {
        return Err(HubStorageError::NoEndpoint {
            region: region.to_string(),
            offered,
        });
    };
    let account = match client.get_account_settings().await {
        Ok(settings) => Some(settings.object_storage),
        Err(e) if e.is_missing_scope() => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Preflight {
        region: region.to_string(),
        endpoint,
        account,
    })
}
