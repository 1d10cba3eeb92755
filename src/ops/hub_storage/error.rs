//! Errors of the hub's object storage: each names the region, bucket or key concerned; none carries a
//! secret (the S3 and Linode errors never do).

use crate::linode;
use crate::objstore::S3Error;

/// Result alias of this module.
pub type Result<T, E = HubStorageError> = std::result::Result<T, E>;

/// Every way provisioning or removing the hub's object storage can fail.
#[derive(Debug, thiserror::Error)]
pub enum HubStorageError {
    /// The Linode API failed.
    #[error(transparent)]
    Linode(#[from] linode::Error),
    /// An S3 request failed.
    #[error("object storage (S3): {0}")]
    S3(#[from] S3Error),
    /// `GET /regions/{id}` does not know the region.
    #[error("hub region {region:?} (fleet file `[hub] region`) is not a Linode region")]
    RegionUnknown {
        /// Region id as given.
        region: String,
    },
    /// The region does not list the `Object Storage` capability.
    #[error(
        "hub region {region:?} (fleet file `[hub] region`) does not offer Object Storage, which `[hub] mode = \"ha\"` \
         needs; regions of this account that do: {}",
        list(offered)
    )]
    NoObjectStorage {
        /// Region id.
        region: String,
        /// Regions with an endpoint for this account.
        offered: Vec<String>,
    },
    /// The region lists the capability but `GET /object-storage/endpoints` has no endpoint there for this account.
    #[error(
        "hub region {region:?} (fleet file `[hub] region`) lists Object Storage but this account has no S3 endpoint \
         there (GET /object-storage/endpoints); regions with one: {}",
        list(offered)
    )]
    NoEndpoint {
        /// Region id.
        region: String,
        /// Regions with an endpoint for this account.
        offered: Vec<String>,
    },
    /// A bucket name is held by another customer and the fleet already has some of its buckets under that
    /// suffix (a new suffix would split the fleet's buckets).
    #[error(
        "bucket {bucket} in {region}: the name is taken by another customer (bucket names are unique per region \
         across all customers) and fleet {fleet:?} already has buckets with this suffix: {existing}; delete \
         them with `teardown` (or by hand) so that a new suffix can be drawn"
    )]
    NameTaken {
        /// The fleet.
        fleet: String,
        /// The refused name.
        bucket: String,
        /// Region id.
        region: String,
        /// The fleet's buckets with the same suffix, comma-separated.
        existing: String,
    },
    /// A fresh suffix was refused every time.
    #[error("bucket names for fleet {fleet:?} in {region}: {tries} random suffixes were all refused as taken")]
    NoFreeName {
        /// The fleet.
        fleet: String,
        /// Region id.
        region: String,
        /// How many suffixes were tried.
        tries: usize,
    },
    /// The account holds something that stops the command: buckets of two suffixes, a bucket marked by
    /// another fleet, buckets on different endpoints.
    #[error("{0}")]
    Conflict(String),
    /// The API answered a key create without the secret.
    #[error("POST /object-storage/keys answered key {id} ({label}) without its secret; it was revoked")]
    NoSecret {
        /// Key id.
        id: u64,
        /// Key label.
        label: String,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl From<HubStorageError> for crate::Error {
    fn from(err: HubStorageError) -> Self {
        match err {
            HubStorageError::Linode(e) => crate::Error::Linode(e),
            e @ (HubStorageError::RegionUnknown { .. }
            | HubStorageError::NoObjectStorage { .. }
            | HubStorageError::NoEndpoint { .. }) => crate::Error::Usage(e.to_string()),
            e @ (HubStorageError::NameTaken { .. } | HubStorageError::Conflict(_)) => {
                crate::Error::Conflict(e.to_string())
            }
            e => crate::Error::Runtime(e.to_string()),
        }
    }
}
