//! The XML bodies S3 sends and takes, as serde types over quick-xml. Root element names are not checked
//! on reading (servers differ: moto answers `GetBucketVersioningResponse` where S3 says
//! `VersioningConfiguration`).

use serde::{Deserialize, Serialize};

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// An S3 error answer.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(rename = "Code", default)]
    pub(super) code: Option<String>,
    #[serde(rename = "Message", default)]
    pub(super) message: Option<String>,
}

/// One key (and version) to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectId {
    /// The object key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The version, for versioned buckets (a delete marker's version removes the marker).
    #[serde(rename = "VersionId", default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// The DeleteObjects body.
#[derive(Debug, Serialize)]
#[serde(rename = "Delete")]
pub(super) struct DeleteRequest<'a> {
    #[serde(rename = "@xmlns")]
    pub(super) xmlns: &'static str,
    /// Quiet: the answer lists only the failures.
    #[serde(rename = "Quiet")]
    pub(super) quiet: bool,
    #[serde(rename = "Object")]
    pub(super) objects: &'a [ObjectId],
}

impl<'a> DeleteRequest<'a> {
    pub(super) fn quiet(objects: &'a [ObjectId]) -> Self {
        Self {
            xmlns: S3_NS,
            quiet: true,
            objects,
        }
    }
}

/// The DeleteObjects answer (quiet: only the failures are listed).
#[derive(Debug, Default, Deserialize)]
pub(super) struct DeleteResult {
    #[serde(rename = "Error", default)]
    pub(super) errors: Vec<DeleteErrorXml>,
}

/// One key a DeleteObjects did not delete.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DeleteErrorXml {
    #[serde(rename = "Key", default)]
    pub(super) key: String,
    #[serde(rename = "Code", default)]
    pub(super) code: String,
    #[serde(rename = "Message", default)]
    pub(super) message: String,
}

/// ListObjectsV2's answer.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListBucketResult {
    #[serde(rename = "IsTruncated", default)]
    pub(super) is_truncated: bool,
    #[serde(rename = "NextContinuationToken", default)]
    pub(super) next_continuation_token: Option<String>,
    #[serde(rename = "Contents", default)]
    pub(super) contents: Vec<ContentsXml>,
}

/// One object of a listing.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ContentsXml {
    #[serde(rename = "Key")]
    pub(super) key: String,
    #[serde(rename = "Size", default)]
    pub(super) size: u64,
}

/// ListObjectVersions' answer: versions and delete markers, interleaved in key order.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListVersionsResult {
    #[serde(rename = "IsTruncated", default)]
    pub(super) is_truncated: bool,
    #[serde(rename = "NextKeyMarker", default)]
    pub(super) next_key_marker: Option<String>,
    #[serde(rename = "NextVersionIdMarker", default)]
    pub(super) next_version_id_marker: Option<String>,
    #[serde(rename = "Version", default)]
    pub(super) versions: Vec<ObjectId>,
    #[serde(rename = "DeleteMarker", default)]
    pub(super) delete_markers: Vec<ObjectId>,
}

/// GetBucketVersioning's answer (no `Status` for a bucket that never had versioning).
#[derive(Debug, Default, Deserialize)]
pub(super) struct VersioningXml {
    #[serde(rename = "Status", default)]
    pub(super) status: Option<String>,
}

/// A bucket lifecycle configuration (what lkeobs puts, and reads back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "LifecycleConfiguration")]
pub struct LifecycleConfiguration {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    xmlns: String,
    /// The rules.
    #[serde(rename = "Rule", default)]
    pub rules: Vec<LifecycleRule>,
}

/// One lifecycle rule; a missing day count reads as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// Rule id.
    #[serde(rename = "ID", default)]
    pub id: String,
    /// Applies to every key (an empty prefix).
    #[serde(rename = "Filter", default)]
    pub filter: Filter,
    /// `Enabled` or `Disabled`.
    #[serde(rename = "Status")]
    pub status: String,
    /// Current versions expire after this many days.
    #[serde(rename = "Expiration", default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Days>,
    /// Noncurrent versions expire after this many days.
    #[serde(
        rename = "NoncurrentVersionExpiration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub noncurrent_version_expiration: Option<NoncurrentDays>,
    /// Incomplete multipart uploads are aborted after this many days.
    #[serde(
        rename = "AbortIncompleteMultipartUpload",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub abort_incomplete_multipart_upload: Option<DaysAfterInitiation>,
}

/// A rule's filter: the key prefix it applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Key prefix; empty means every key.
    #[serde(rename = "Prefix", default)]
    pub prefix: String,
}

/// `<Days>n</Days>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Days {
    /// Days.
    #[serde(rename = "Days", default)]
    pub days: Option<u32>,
}

/// `<NoncurrentDays>n</NoncurrentDays>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentDays {
    /// Days.
    #[serde(rename = "NoncurrentDays", default)]
    pub days: Option<u32>,
}

/// `<DaysAfterInitiation>n</DaysAfterInitiation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaysAfterInitiation {
    /// Days.
    #[serde(rename = "DaysAfterInitiation", default)]
    pub days: Option<u32>,
}

/// The id of the rule lkeobs puts on a bucket it could not empty in time.
pub(super) const EXPIRE_RULE_ID: &str = "lkeobs-expire-all";

impl LifecycleConfiguration {
    /// Expire everything after one day: current and noncurrent versions, and incomplete uploads.
    pub fn expire_everything_after_a_day() -> Self {
        Self {
            xmlns: S3_NS.to_string(),
            rules: vec![LifecycleRule {
                id: EXPIRE_RULE_ID.to_string(),
                filter: Filter::default(),
                status: "Enabled".to_string(),
                expiration: Some(Days { days: Some(1) }),
                noncurrent_version_expiration: Some(NoncurrentDays { days: Some(1) }),
                abort_incomplete_multipart_upload: Some(DaysAfterInitiation { days: Some(1) }),
            }],
        }
    }

    /// Whether an enabled rule for every key expires current and noncurrent versions and aborted
    /// uploads within a day.
    pub fn expires_everything_within_a_day(&self) -> bool {
        let within = |d: Option<u32>| d.is_some_and(|d| d <= 1);
        self.rules.iter().any(|r| {
            r.status == "Enabled"
                && r.filter.prefix.is_empty()
                && within(r.expiration.and_then(|e| e.days))
                && within(r.noncurrent_version_expiration.and_then(|e| e.days))
                && within(r.abort_incomplete_multipart_upload.and_then(|e| e.days))
        })
    }
}

/// Serializes a body with the XML declaration.
pub(super) fn to_xml<T: Serialize>(value: &T) -> Result<String, String> {
    let body = quick_xml::se::to_string(value).map_err(|e| e.to_string())?;
    Ok(format!(r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#))
}

/// Reads an answer body.
pub(super) fn from_xml<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    quick_xml::de::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
