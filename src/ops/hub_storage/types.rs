//! What [`super::ensure`] returns: the buckets, the key (its secret as a [`SecretString`], never shown),
//! what the run changed, and the Kubernetes Secret's data.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::linode::{BucketSignal, EndpointType};

/// Namespace of the hub Secret holding the key.
pub const SECRET_NAMESPACE: &str = "monitoring";
/// Name of the hub Secret holding the key.
pub const SECRET_NAME: &str = "lkeobs-object-storage";
/// Secret data key of the access key id.
pub const SECRET_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// Secret data key of the secret key.
pub const SECRET_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// The fleet key as the hub Secret holds it (the caller reads it back and passes it to
/// [`super::ensure`] / [`super::remove`]). Debug shows the access key id only.
#[derive(Clone)]
pub struct KnownKey {
    /// The S3 access key id.
    pub access_key: String,
    /// The S3 secret.
    pub secret_key: SecretString,
}

impl KnownKey {
    /// From its two parts.
    pub fn new(access_key: &str, secret_key: SecretString) -> Self {
        Self {
            access_key: access_key.to_string(),
            secret_key,
        }
    }

    /// From the hub Secret's data ([`secret_data`]'s keys); `None` when either is missing or empty.
    pub fn from_secret_data(data: &BTreeMap<String, String>) -> Option<Self> {
        let access = data.get(SECRET_ACCESS_KEY_ID).filter(|v| !v.is_empty())?;
        let secret = data.get(SECRET_SECRET_ACCESS_KEY).filter(|v| !v.is_empty())?;
        Some(Self::new(access, SecretString::from(secret.clone())))
    }
}

impl fmt::Debug for KnownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownKey")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[REDACTED]")
            .finish()
    }
}

/// The three bucket names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubBuckets {
    /// Mimir's bucket.
    pub metrics: String,
    /// Loki's bucket.
    pub logs: String,
    /// Tempo's bucket.
    pub traces: String,
}

impl HubBuckets {
    /// The bucket of `signal`.
    pub fn get(&self, signal: BucketSignal) -> &str {
        match signal {
            BucketSignal::Metrics => &self.metrics,
            BucketSignal::Logs => &self.logs,
            BucketSignal::Traces => &self.traces,
        }
    }

    /// All three, in signal order.
    pub fn all(&self) -> [&str; 3] {
        [&self.metrics, &self.logs, &self.traces]
    }
}

/// One change a run made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// `POST /object-storage/buckets`.
    BucketCreated {
        /// Bucket name.
        bucket: String,
    },
    /// `POST /object-storage/keys`.
    KeyCreated {
        /// Key id.
        id: u64,
        /// Key label.
        label: String,
    },
    /// `DELETE /object-storage/keys/{id}`: a key whose secret is lost, or a duplicate.
    KeyRevoked {
        /// Key id.
        id: u64,
        /// Key label.
        label: String,
    },
    /// The owner marker was written (PutObject).
    MarkerWritten {
        /// Bucket name.
        bucket: String,
    },
    /// A left-behind bucket's 1-day expiry rule was removed (it is in use again).
    LifecycleRemoved {
        /// Bucket name.
        bucket: String,
    },
}

impl Change {
    /// In words, for `up`'s report.
    pub fn describe(&self) -> String {
        match self {
            Change::BucketCreated { bucket } => format!("bucket {bucket} created"),
            Change::KeyCreated { id, label } => format!("Object Storage key {label} ({id}) created"),
            Change::KeyRevoked { id, label } => {
                format!("Object Storage key {label} ({id}) revoked (its secret was lost, or a duplicate)")
            }
            Change::MarkerWritten { bucket } => format!("owner marker written in bucket {bucket}"),
            Change::LifecycleRemoved { bucket } => {
                format!("bucket {bucket}: the 1-day expiry rule of an earlier teardown removed (in use again)")
            }
        }
    }
}

/// The fleet's object storage, ready for the engines.
#[derive(Clone, Serialize)]
pub struct HubStorage {
    /// Region of the buckets.
    pub region: String,
    /// The S3 host (from the API: the buckets' `s3_endpoint`, else `hostname` minus the bucket label).
    pub s3_host: String,
    /// Endpoint generation of the buckets, when the API says.
    pub endpoint_type: Option<EndpointType>,
    /// The buckets.
    pub buckets: HubBuckets,
    /// The key's id (for revoking).
    pub key_id: u64,
    /// The key's S3 access key id.
    pub access_key: String,
    /// The key's secret: never serialized nor shown.
    #[serde(skip)]
    pub secret_key: SecretString,
    /// What this run changed (empty when everything was in place).
    pub changes: Vec<Change>,
}

impl HubStorage {
    /// Whether the run wrote nothing.
    pub fn unchanged(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether the key was created by this run (the hub Secret must be written).
    pub fn key_created(&self) -> bool {
        self.changes.iter().any(|c| matches!(c, Change::KeyCreated { .. }))
    }
}

impl fmt::Debug for HubStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubStorage")
            .field("region", &self.region)
            .field("s3_host", &self.s3_host)
            .field("endpoint_type", &self.endpoint_type)
            .field("buckets", &self.buckets)
            .field("key_id", &self.key_id)
            .field("access_key", &self.access_key)
            .field("secret_key", &"[REDACTED]")
            .field("changes", &self.changes)
            .finish()
    }
}

/// The data of the Kubernetes Secret `monitoring/lkeobs-object-storage`: `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (the only place the secret is exposed).
pub fn secret_data(storage: &HubStorage) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SECRET_ACCESS_KEY_ID.to_string(), storage.access_key.clone()),
        (
            SECRET_SECRET_ACCESS_KEY.to_string(),
            storage.secret_key.expose_secret().to_string(),
        ),
    ])
}
