//! Linode Object Storage through API v4: endpoints, buckets, limited keys, prices and the account's
//! enrolment. Content (objects) goes over S3 (`crate::objstore`). There is deliberately no call that
//! cancels Object Storage: that one call deletes every bucket on the account (`tests/linode_object_storage.rs`
//! keeps its path out of `src/`).

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use super::client::Client;
use super::error::{Error, Result};
use super::request::ApiPath;

/// An endpoint generation (Linode's "endpoint types"): E0/E1 legacy, E2/E3 standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EndpointType {
    /// Legacy (previous generation).
    E0,
    /// Legacy.
    E1,
    /// Standard.
    E2,
    /// Standard, highest limits.
    E3,
}

/// One entry of `GET /object-storage/endpoints`: an S3 endpoint the account may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectStorageEndpoint {
    /// Region id, e.g. `us-ord`.
    pub region: String,
    /// Generation of the endpoint.
    pub endpoint_type: EndpointType,
    /// Host name of the S3 API, e.g. `us-ord-1.linodeobjects.com`; may be null (linodego types it
    /// `*string`).
    #[serde(default)]
    pub s3_endpoint: Option<String>,
}

/// A bucket as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket name.
    pub label: String,
    /// Region id.
    pub region: String,
    /// Deprecated legacy cluster id; empty for newer regions.
    #[serde(default)]
    pub cluster: String,
    /// `<label>.<s3 host>`.
    #[serde(default)]
    pub hostname: String,
    /// Creation time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Object count (refreshed by the platform with a delay).
    #[serde(default)]
    pub objects: u64,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Endpoint generation (newer API, not in spec 4.189).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    /// S3 host, possibly with a scheme (newer API, not in spec 4.189).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
}

/// The only canned ACL lkeobs sends (the default): buckets are never public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BucketAcl {
    /// Owner only.
    Private,
}

/// `POST /object-storage/buckets` body. There is no `cors_enabled`: E2/E3 do not support it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateBucket {
    /// Bucket name (see [`super::bucket_names`]).
    pub label: String,
    /// Region id.
    pub region: String,
    /// Which of the region's endpoints (newer API); needed when a region has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    /// `private` or omitted (the API's default is private).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<BucketAcl>,
}

/// What a key may do in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketPermission {
    /// Read and write objects.
    ReadWrite,
    /// Read objects.
    ReadOnly,
}

/// One bucket a limited key may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketAccess {
    /// Region id of the bucket.
    pub region: String,
    /// The bucket's label.
    pub bucket_name: String,
    /// The grant.
    pub permissions: BucketPermission,
}

/// A region entry of a key (answer only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegion {
    /// Region id.
    pub id: String,
    /// S3 host of that region for this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// Endpoint generation (newer API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
}

/// An Object Storage access key. The secret is only in the create answer, held as a
/// [`SecretString`]: redacted in Debug, never serialized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectStorageKey {
    /// Key id (for revoking).
    pub id: u64,
    /// Display label (lkeobs: `lkeobs-<fleet>`).
    pub label: String,
    /// The S3 access key id.
    pub access_key: String,
    /// The S3 secret: `Some` only in the create answer (lists and gets answer `[REDACTED]`).
    #[serde(default, skip_serializing, deserialize_with = "secret_once")]
    pub secret_key: Option<SecretString>,
    /// Whether `bucket_access` limits the key.
    #[serde(default)]
    pub limited: bool,
    /// The buckets a limited key may use.
    #[serde(default)]
    pub bucket_access: Vec<BucketAccess>,
    /// Regions where the key may create buckets.
    #[serde(default)]
    pub regions: Vec<KeyRegion>,
}

/// `[REDACTED]`, empty or absent secrets are no secret.
fn secret_once<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw
        .filter(|s| !s.is_empty() && s != "[REDACTED]")
        .map(SecretString::from))
}

/// `POST /object-storage/keys` body: lkeobs creates only limited keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateObjectStorageKey {
    /// Display label.
    pub label: String,
    /// The buckets and grants; an empty list is a limited key with no bucket access.
    pub bucket_access: Vec<BucketAccess>,
}

impl CreateObjectStorageKey {
    /// A limited key with `read_write` on exactly these `(region, bucket)` pairs.
    pub fn limited_read_write<'a>(label: &str, buckets: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            label: label.to_string(),
            bucket_access: buckets
                .into_iter()
                .map(|(region, bucket)| BucketAccess {
                    region: region.to_string(),
                    bucket_name: bucket.to_string(),
                    permissions: BucketPermission::ReadWrite,
                })
                .collect(),
        }
    }
}

/// A price of `GET /object-storage/types`. `monthly` is null for the per-GB overage: no cap,
/// never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectStoragePrice {
    /// USD per hour; for `objectstorage-overage` the price per GB-month.
    #[serde(default)]
    pub hourly: Option<f64>,
    /// USD per month, when there is one.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// A region priced differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectStorageRegionPrice {
    /// Region id.
    pub id: String,
    /// USD per hour (per GB-month for the overage).
    #[serde(default)]
    pub hourly: Option<f64>,
    /// USD per month, when there is one.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// One entry of `GET /object-storage/types` (`objectstorage`, `objectstorage-overage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectStorageType {
    /// e.g. `objectstorage`.
    pub id: String,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// Base price.
    #[serde(default)]
    pub price: ObjectStoragePrice,
    /// Region prices.
    #[serde(default)]
    pub region_prices: Vec<ObjectStorageRegionPrice>,
    /// Included transfer (the spec says MB; unverified).
    #[serde(default)]
    pub transfer: Option<u64>,
}

impl ObjectStorageType {
    /// The price in `region`: its region price when listed, else the base price.
    pub fn price_in(&self, region: &str) -> ObjectStoragePrice {
        self.region_prices
            .iter()
            .find(|p| p.id == region)
            .map_or(self.price, |p| ObjectStoragePrice {
                hourly: p.hourly,
                monthly: p.monthly,
            })
    }
}

/// The account's Object Storage enrolment: the $5 base is new cost unless `active`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectStorageStatus {
    /// Not enrolled (the spec's default).
    #[default]
    Disabled,
    /// Suspended.
    Suspended,
    /// Enrolled and billed.
    Active,
}

/// The parts of `GET /account/settings` lkeobs reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// Object Storage enrolment.
    #[serde(default)]
    pub object_storage: ObjectStorageStatus,
}

impl Client {
    /// Every S3 endpoint the account may use.
    pub async fn list_object_storage_endpoints(&self) -> Result<Vec<ObjectStorageEndpoint>> {
        self.list(&ApiPath::new("/object-storage/endpoints", &[]), None).await
    }

    /// Every bucket on the account.
    pub async fn list_buckets(&self) -> Result<Vec<Bucket>> {
        self.list(&ApiPath::new("/object-storage/buckets", &[]), None).await
    }

    /// The buckets of one region.
    pub async fn list_buckets_in(&self, region: &str) -> Result<Vec<Bucket>> {
        self.list(&ApiPath::new("/object-storage/buckets/{regionId}", &[&region]), None)
            .await
    }

    /// One bucket.
    pub async fn get_bucket(&self, region: &str, label: &str) -> Result<Bucket> {
        self.get(&ApiPath::new(
            "/object-storage/buckets/{regionId}/{bucket}",
            &[&region, &label],
        ))
        .await
    }

    /// Creates a bucket. The API answers 200 with the bucket when it already exists on this
    /// account, so a lost answer is found again by a get.
    pub async fn create_bucket(&self, request: &CreateBucket) -> Result<Bucket> {
        let path = ApiPath::new("/object-storage/buckets", &[]);
        self.create_or_lookup(&path, request, &request.label, || async {
            match self.get_bucket(&request.region, &request.label).await {
                Ok(bucket) => Ok(Some(bucket)),
                Err(err) if err.is_not_found() => Ok(None),
                Err(err) => Err(err),
            }
        })
        .await
    }

    /// Deletes an empty bucket (already gone counts as done). A bucket that still holds objects
    /// fails with [`Error::BucketNotEmpty`]: empty it over S3 first.
    pub async fn delete_bucket(&self, region: &str, label: &str) -> Result<()> {
        let path = ApiPath::new("/object-storage/buckets/{regionId}/{bucket}", &[&region, &label]);
        self.delete(&path).await.map_err(|err| match err {
            Error::Api(api) if says_not_empty(&api) => Error::BucketNotEmpty {
                region: region.to_string(),
                label: label.to_string(),
                api,
            },
            other => other,
        })
    }

    /// Every key on the account (no secrets).
    pub async fn list_object_storage_keys(&self) -> Result<Vec<ObjectStorageKey>> {
        self.list(&ApiPath::new("/object-storage/keys", &[]), None).await
    }

    /// Creates a key; the answer carries the secret, the only time it is shown. Not idempotent
    /// (a lost answer leaves a key whose secret is gone): find it by label, revoke it, create again.
    pub async fn create_object_storage_key(&self, request: &CreateObjectStorageKey) -> Result<ObjectStorageKey> {
        self.create(&ApiPath::new("/object-storage/keys", &[]), request).await
    }

    /// Revokes a key (already gone counts as done).
    pub async fn delete_object_storage_key(&self, id: u64) -> Result<()> {
        self.delete(&ApiPath::new("/object-storage/keys/{keyId}", &[&id])).await
    }

    /// `GET /object-storage/types`: the base and the overage price.
    pub async fn list_object_storage_types(&self) -> Result<Vec<ObjectStorageType>> {
        self.list(&ApiPath::new("/object-storage/types", &[]), None).await
    }

    /// `GET /account/settings` (only `object_storage` is read).
    pub async fn get_account_settings(&self) -> Result<AccountSettings> {
        self.get(&ApiPath::new("/account/settings", &[])).await
    }
}

/// A 400 or 409 whose reason says the bucket is not empty. The exact wording Linode uses is not
/// recorded anywhere we could read, so any reason mentioning "empty" counts.
fn says_not_empty(api: &super::error::ApiError) -> bool {
    matches!(api.status, 400 | 409)
        && api.errors.iter().any(|e| {
            let reason = e.reason.to_ascii_lowercase();
            reason.contains("empty") || reason.contains("bucketnotempty")
        })
}

/// The S3 host of a bucket: its `s3_endpoint` without any scheme or path, else its `hostname`
/// minus the leading `<label>.`. Never built from the region name.
pub fn s3_host(bucket: &Bucket) -> String {
    if let Some(endpoint) = bucket.s3_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        let bare = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
        return bare.trim_end_matches('/').split('/').next().unwrap_or(bare).to_string();
    }
    let prefix = format!("{}.", bucket.label);
    bucket
        .hostname
        .strip_prefix(&prefix)
        .unwrap_or(&bucket.hostname)
        .to_string()
}

/// The best endpoint of `region`: E3, else E2, E1, E0.
pub fn pick_endpoint<'a>(endpoints: &'a [ObjectStorageEndpoint], region: &str) -> Option<&'a ObjectStorageEndpoint> {
    endpoints
        .iter()
        .filter(|e| e.region == region)
        .max_by_key(|e| e.endpoint_type)
}

#[cfg(test)]
#[path = "object_storage_tests.rs"]
mod tests;
