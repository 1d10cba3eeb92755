//! What the account holds of a fleet's object storage, for `plan` and `status`: its buckets (by name, in
//! any region) with sizes and owners, and its keys. Reads only.

use serde::{Serialize, Serializer};

use super::error::Result;
use super::keys::{self, is_fleet_key};
use super::marker::{OWNER_MARKER, Ownership, ownership};
use super::types::KnownKey;
use crate::linode::{BucketSignal, Client, EndpointType, is_fleet_bucket, parse_bucket_name, s3_host};

/// One of the fleet's buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedBucket {
    /// Bucket name.
    pub label: String,
    /// Region id.
    pub region: String,
    /// The signal its name says.
    #[serde(serialize_with = "signal_str")]
    pub signal: BucketSignal,
    /// The random part of its name.
    pub suffix: String,
    /// The S3 host (from the API).
    pub s3_host: String,
    /// Endpoint generation, when the API says.
    pub endpoint_type: Option<EndpointType>,
    /// Object count, as the API reports it (refreshed by the platform with a delay).
    pub objects: u64,
    /// Size in bytes, as the API reports it.
    pub size: u64,
    /// Its owner marker (read over S3 when a key was given, else [`Ownership::Unchecked`]).
    pub owner: Ownership,
}

/// One of the fleet's keys (no secret: the API does not give it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedKey {
    /// Key id.
    pub id: u64,
    /// `lkeobs-<fleet>` or `lkeobs-<fleet>-teardown`.
    pub label: String,
    /// S3 access key id.
    pub access_key: String,
    /// The buckets it may use.
    pub buckets: Vec<String>,
}

/// The fleet's object storage as found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// The fleet's buckets, by name.
    pub buckets: Vec<ObservedBucket>,
    /// The fleet's keys, by label.
    pub keys: Vec<ObservedKey>,
}

impl Observed {
    /// Total bytes of the fleet's buckets (the API's figures).
    pub fn total_size(&self) -> u64 {
        self.buckets.iter().map(|b| b.size).sum()
    }

    /// Whether nothing of the fleet's object storage exists (the proof of zero leftovers).
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.keys.is_empty()
    }

    /// One line per bucket and key, for a leftovers list.
    pub fn describe(&self) -> Vec<String> {
        let buckets = self
            .buckets
            .iter()
            .map(|b| format!("bucket {} in {} ({} objects)", b.label, b.region, b.objects));
        let keys = self
            .keys
            .iter()
            .map(|k| format!("object storage key {} (id {})", k.label, k.id));
        buckets.chain(keys).collect()
    }
}

fn signal_str<S: Serializer>(signal: &BucketSignal, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(signal.as_str())
}

/// Finds `fleet`'s buckets (`GET /object-storage/buckets`, by name) and keys (`GET /object-storage/keys`,
/// by label). With `known` (the fleet key from the hub Secret), each bucket's owner marker is read over S3;
/// without it the owners are [`Ownership::Unchecked`] (no key is created: this only reads).
pub async fn observe(client: &Client, fleet: &str, known: Option<&KnownKey>) -> Result<Observed> {
    let mut buckets = Vec::new();
    for b in client.list_buckets().await? {
        let Some(parsed) = parse_bucket_name(&b.label).filter(|_| is_fleet_bucket(&b.label, fleet)) else {
            continue;
        };
        let owner = match known {
            Some(key) => {
                let s3 = keys::s3_client(&b, &key.access_key, &key.secret_key, false)?;
                match s3.get_object(&b.label, OWNER_MARKER).await {
                    Ok(body) => ownership(body.as_deref(), fleet),
                    // The key may not read it (another fleet's bucket, or a key rotated since): not known.
                    Err(e) if e.is_forbidden() => Ownership::Unchecked,
                    Err(e) => return Err(e.into()),
                }
            }
            None => Ownership::Unchecked,
        };
        buckets.push(ObservedBucket {
            s3_host: s3_host(&b),
            label: b.label,
            region: b.region,
            signal: parsed.signal,
            suffix: parsed.suffix.as_str().to_string(),
            endpoint_type: b.endpoint_type,
            objects: b.objects,
            size: b.size,
            owner,
        });
    }
    buckets.sort_by(|a, b| (&a.region, &a.label).cmp(&(&b.region, &b.label)));
    let mut keys: Vec<ObservedKey> = client
        .list_object_storage_keys()
        .await?
        .into_iter()
        .filter(|k| is_fleet_key(&k.label, fleet))
        .map(|k| ObservedKey {
            id: k.id,
            buckets: k.bucket_access.iter().map(|a| a.bucket_name.clone()).collect(),
            label: k.label,
            access_key: k.access_key,
        })
        .collect();
    keys.sort_by(|a, b| (&a.label, a.id).cmp(&(&b.label, b.id)));
    Ok(Observed { buckets, keys })
}
