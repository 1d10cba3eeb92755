//! The simulated account's Object Storage: its S3 endpoints, buckets with their objects (versions and delete
//! markers, versioning and lifecycle configuration), access keys, enrolment, and the bucket names other
//! customers hold.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The endpoint types a region's endpoints cycle through (`E0` is legacy and offered to no new account).
const TYPES: [&str; 3] = ["E1", "E2", "E3"];

/// One S3 endpoint: a region's endpoint of one type, served on `127.0.0.1:port` once the listener runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Linode region id (`us-ord`).
    pub region: String,
    /// `E1`, `E2` or `E3`.
    pub endpoint_type: String,
    /// The listener's port on 127.0.0.1 (0 until it is started).
    pub port: u16,
}

impl Endpoint {
    /// `127.0.0.1:<port>`, the host the API answers as `s3_endpoint`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// One stored version of an object, or a delete marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// `null` for what an unversioned (or suspended) bucket stores, else a unique id.
    pub id: String,
    /// Whether this is a delete marker (no data).
    pub marker: bool,
    /// The object's bytes.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
    /// Hex MD5 of the data (the ETag, unquoted).
    pub etag: String,
    /// When it was written (seconds since the epoch).
    pub modified: u64,
    /// `Content-Type` it was stored with.
    pub content_type: String,
}

/// A bucket of this account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub label: String,
    pub region: String,
    pub endpoint_type: String,
    /// Creation time (seconds since the epoch).
    pub created: u64,
    /// `Enabled` or `Suspended` once set; None while versioning was never enabled.
    pub versioning: Option<String>,
    /// The lifecycle configuration XML as put.
    pub lifecycle: Option<String>,
    /// Versions per key, oldest first.
    pub objects: BTreeMap<String, Vec<Version>>,
}

impl Bucket {
    /// The object versions (not delete markers) the bucket holds.
    pub fn object_count(&self) -> usize {
        self.objects.values().flatten().filter(|v| !v.marker).count()
    }

    /// Bytes of every stored version.
    pub fn size(&self) -> usize {
        self.objects.values().flatten().map(|v| v.data.len()).sum()
    }

    /// Versions and delete markers: what keeps the platform from deleting the bucket.
    pub fn entries(&self) -> usize {
        self.objects.values().map(Vec::len).sum()
    }

    /// The current version of `key`, unless it is a delete marker.
    pub fn current(&self, key: &str) -> Option<&Version> {
        self.objects.get(key).and_then(|v| v.last()).filter(|v| !v.marker)
    }
}

/// A grant of a limited key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub region: String,
    pub bucket_name: String,
    /// `read_write` or `read_only`.
    pub permissions: String,
}

/// An access key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub id: u64,
    pub label: String,
    pub access_key: String,
    pub secret_key: String,
    pub limited: bool,
    pub bucket_access: Vec<Access>,
    pub regions: Vec<String>,
    /// When it was made: a limited key works only once the platform's cache learnt it.
    pub created: SystemTime,
}

/// The account's Object Storage, kept in the Linode [`super::super::linode::State`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectStorage {
    /// The S3 endpoints, deterministic for a seed (not saved: regenerated with the listeners' ports).
    #[serde(skip)]
    pub endpoints: Vec<Endpoint>,
    /// Whether the account is enrolled (`object_storage: active`): the first bucket or key enrols it.
    pub active: bool,
    /// Buckets by `region/label` ([`bucket_id`]).
    pub buckets: BTreeMap<String, Bucket>,
    /// Keys by id.
    pub keys: BTreeMap<u64, Key>,
    /// Bucket names other customers hold, per region (creating one of them is refused).
    pub foreign: BTreeMap<String, BTreeSet<String>>,
    /// How long a new limited key is refused (403 AccessDenied) before the platform's cache has it.
    #[serde(skip)]
    pub key_propagation: Duration,
    /// The largest number of keys an account may hold.
    #[serde(skip)]
    pub max_keys: usize,
    /// Every S3 request, as `METHOD /path?query -> status`.
    #[serde(skip)]
    pub s3_log: Vec<String>,
    pub(crate) next: u64,
}

impl Default for ObjectStorage {
    fn default() -> Self {
        ObjectStorage {
            endpoints: Vec::new(),
            active: false,
            buckets: BTreeMap::new(),
            keys: BTreeMap::new(),
            foreign: BTreeMap::new(),
            key_propagation: Duration::from_secs(3),
            max_keys: 100,
            s3_log: Vec::new(),
            next: 1,
        }
    }
}

impl ObjectStorage {
    /// Endpoints for the regions that list the `Object Storage` capability, in their order: the first such
    /// region has two (E1 and E3, as Chicago's legacy and new endpoints), every other one of a type that
    /// the seed rotates; a couple of names taken by other customers in the first region.
    pub fn seeded(regions: &[serde_json::Value], seed: u64) -> ObjectStorage {
        let mut endpoints = Vec::new();
        let with = regions.iter().filter_map(|r| {
            let caps = r["capabilities"].as_array()?;
            caps.iter()
                .any(|c| c == "Object Storage")
                .then(|| r["id"].as_str().map(str::to_string))?
        });
        for (i, region) in with.enumerate() {
            let types: Vec<&str> = if i == 0 {
                vec!["E1", "E3"]
            } else {
                vec![TYPES[(seed as usize + i) % TYPES.len()]]
            };
            for t in types {
                endpoints.push(Endpoint {
                    region: region.clone(),
                    endpoint_type: t.to_string(),
                    port: 0,
                });
            }
        }
        let mut foreign = BTreeMap::new();
        if let Some(first) = endpoints.first() {
            let names = ["backups", "logs", "media"];
            foreign.insert(first.region.clone(), names.iter().map(|n| n.to_string()).collect());
        }
        ObjectStorage {
            endpoints,
            foreign,
            ..ObjectStorage::default()
        }
    }

    /// What the state file keeps: buckets, keys, enrolment and foreign names (not the endpoints, which
    /// get new ports, nor the settings and the request log).
    pub(crate) fn saved(&self) -> ObjectStorage {
        ObjectStorage {
            active: self.active,
            buckets: self.buckets.clone(),
            keys: self.keys.clone(),
            foreign: self.foreign.clone(),
            next: self.next,
            ..ObjectStorage::default()
        }
    }

    /// Takes back what [`ObjectStorage::saved`] kept.
    pub(crate) fn restore(&mut self, saved: ObjectStorage) {
        self.active = saved.active;
        self.buckets = saved.buckets;
        self.keys = saved.keys;
        if !saved.foreign.is_empty() {
            self.foreign = saved.foreign;
        }
        self.next = self.next.max(saved.next);
    }

    /// The endpoint a bucket lives on.
    pub fn endpoint_of(&self, bucket: &Bucket) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.region == bucket.region && e.endpoint_type == bucket.endpoint_type)
    }

    /// The key with this access key id.
    pub fn key_by_access(&self, access_key: &str) -> Option<&Key> {
        self.keys.values().find(|k| k.access_key == access_key)
    }

    /// Applies the buckets' lifecycle rules as if the platform's daily run happened at `now`: a current
    /// object older than a rule's `Expiration/Days` expires (deleted; a delete marker in a versioned
    /// bucket), a noncurrent version goes after `NoncurrentVersionExpiration/NoncurrentDays`, and a delete
    /// marker left alone goes with `ExpiredObjectDeleteMarker`.
    pub fn expire_lifecycle(&mut self, now: SystemTime) {
        let now = secs(now);
        let mut next = self.next;
        for bucket in self.buckets.values_mut() {
            let Some(xml) = &bucket.lifecycle else { continue };
            let rules = super::xml::lifecycle_rules(xml);
            let versioned = bucket.versioning.is_some();
            let enabled = bucket.versioning.as_deref() == Some("Enabled");
            for (key, versions) in bucket.objects.iter_mut() {
                for rule in rules.iter().filter(|r| key.starts_with(&r.prefix)) {
                    if let Some(days) = rule.noncurrent_days {
                        let len = versions.len();
                        let cutoff = |i: usize, vs: &[Version]| vs.get(i + 1).map(|n| n.modified);
                        let keep: Vec<bool> = (0..len)
                            .map(|i| i + 1 == len || cutoff(i, versions).is_none_or(|t| t + days * 86_400 > now))
                            .collect();
                        let mut i = 0;
                        versions.retain(|_| {
                            i += 1;
                            keep[i - 1]
                        });
                    }
                    if let Some(days) = rule.days
                        && versions
                            .last()
                            .is_some_and(|v| !v.marker && v.modified + days * 86_400 <= now)
                    {
                        if versioned {
                            if !enabled {
                                versions.retain(|v| v.id != "null");
                            }
                            next += 1;
                            let id = if enabled { format!("v{next:012}") } else { "null".into() };
                            versions.push(Version {
                                id,
                                marker: true,
                                data: Vec::new(),
                                etag: String::new(),
                                modified: now,
                                content_type: String::new(),
                            });
                        } else {
                            versions.clear();
                        }
                    }
                    if rule.expired_marker && versions.len() == 1 && versions[0].marker {
                        versions.clear();
                    }
                }
            }
            bucket.objects.retain(|_, v| !v.is_empty());
        }
        self.next = next;
    }
}

/// The key of a bucket in [`ObjectStorage::buckets`].
pub fn bucket_id(region: &str, label: &str) -> String {
    format!("{region}/{label}")
}

/// Seconds since the epoch.
pub fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Object data as base64 in the state file.
mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
