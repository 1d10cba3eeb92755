//! The S3 operations lkeobs uses: objects (the owner marker), bucket head, listings, batch deletes,
//! versioning and lifecycle.

use base64::Engine as _;
use bytes::Bytes;
use md5::{Digest, Md5};
use reqwest::Method;

use super::DELETE_BATCH_MAX;
use super::client::{Req, S3Client};
use super::error::{S3Error, S3Result};
use super::xml::{
    DeleteRequest, DeleteResult, LifecycleConfiguration, ListBucketResult, ListVersionsResult, ObjectId, VersioningXml,
    from_xml, to_xml,
};

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// One page of ListObjectsV2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The objects, in key order.
    pub objects: Vec<ObjectSummary>,
    /// The token for the next page, if the listing is truncated.
    pub next: Option<String>,
}

/// One page of ListObjectVersions: every version and delete marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionsPage {
    /// Versions and delete markers (both are deleted by key and version id).
    pub versions: Vec<ObjectId>,
    /// `(key marker, version id marker)` of the next page, if truncated.
    pub next: Option<(String, Option<String>)>,
}

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: deleting a key removes it.
    Unversioned,
    /// Enabled: deleting a key leaves a delete marker and the old versions.
    Enabled,
    /// Suspended: old versions remain.
    Suspended,
}

/// A key DeleteObjects refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFailure {
    /// The key.
    pub key: String,
    /// S3 code.
    pub code: String,
    /// S3 message.
    pub message: String,
}

/// `Content-MD5`: base64 of the body's MD5.
fn content_md5(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body))
}

fn xml_req<'a>(op: &'static str, method: Method, bucket: &'a str, query: &'static str, body: String) -> Req<'a> {
    let mut req = Req::new(op, method, bucket, None);
    req.query = vec![(query, String::new())];
    req.headers = vec![
        ("content-md5", content_md5(body.as_bytes())),
        ("content-type", "application/xml".to_string()),
    ];
    req.body = Bytes::from(body);
    req
}

impl S3Client {
    /// PutObject (the owner marker): a plain body with its real SHA-256, never chunked.
    pub async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> S3Result<()> {
        let mut req = Req::new("PutObject", Method::PUT, bucket, Some(key));
        req.headers = vec![("content-type", content_type.to_string())];
        req.body = Bytes::from(body);
        self.send(&req).await.map(|_| ())
    }

    /// GetObject; `None` when the key does not exist (404).
    pub async fn get_object(&self, bucket: &str, key: &str) -> S3Result<Option<Vec<u8>>> {
        let req = Req::new("GetObject", Method::GET, bucket, Some(key));
        match self.send(&req).await {
            Ok(answer) => Ok(Some(answer.body.to_vec())),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// HeadBucket: whether the bucket exists (and this key may see it; 404 is `false`).
    pub async fn head_bucket(&self, bucket: &str) -> S3Result<bool> {
        let req = Req::new("HeadBucket", Method::HEAD, bucket, None);
        match self.send(&req).await {
            Ok(_) => Ok(true),
            Err(err) if err.status() == Some(404) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// One page of ListObjectsV2 (up to 1000 keys), from `continuation` when given.
    pub async fn list_objects_v2(&self, bucket: &str, prefix: &str, continuation: Option<&str>) -> S3Result<ListPage> {
        let mut req = Req::new("ListObjectsV2", Method::GET, bucket, None);
        req.query = vec![("list-type", "2".into()), ("max-keys", "1000".into())];
        if !prefix.is_empty() {
            req.query.push(("prefix", prefix.to_string()));
        }
        if let Some(token) = continuation {
            req.query.push(("continuation-token", token.to_string()));
        }
        let parsed: ListBucketResult = self.read(&req).await?;
        let next = parsed.next_continuation_token.filter(|_| parsed.is_truncated);
        Ok(ListPage {
            objects: parsed
                .contents
                .into_iter()
                .map(|c| ObjectSummary {
                    key: c.key,
                    size: c.size,
                })
                .collect(),
            next,
        })
    }

    /// DeleteObjects of at most 1000 keys (with `Content-MD5`); returns the keys refused.
    pub async fn delete_objects(&self, bucket: &str, objects: &[ObjectId]) -> S3Result<Vec<DeleteFailure>> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        if objects.len() > DELETE_BATCH_MAX {
            return Err(S3Error::Request {
                op: "DeleteObjects",
                target: bucket.to_string(),
                detail: format!(
                    "{} keys in one request; S3 takes at most {DELETE_BATCH_MAX}",
                    objects.len()
                ),
            });
        }
        let body = to_xml(&DeleteRequest::quiet(objects)).map_err(|detail| S3Error::Request {
            op: "DeleteObjects",
            target: bucket.to_string(),
            detail,
        })?;
        let req = xml_req("DeleteObjects", Method::POST, bucket, "delete", body);
        let parsed: DeleteResult = self.read(&req).await?;
        Ok(parsed
            .errors
            .into_iter()
            .map(|e| DeleteFailure {
                key: e.key,
                code: e.code,
                message: e.message,
            })
            .collect())
    }

    /// GetBucketVersioning.
    pub async fn get_bucket_versioning(&self, bucket: &str) -> S3Result<Versioning> {
        let mut req = Req::new("GetBucketVersioning", Method::GET, bucket, None);
        req.query = vec![("versioning", String::new())];
        let parsed: VersioningXml = self.read(&req).await?;
        Ok(match parsed.status.as_deref() {
            Some("Enabled") => Versioning::Enabled,
            Some("Suspended") => Versioning::Suspended,
            _ => Versioning::Unversioned,
        })
    }

    /// One page of ListObjectVersions (up to 1000 versions and delete markers).
    pub async fn list_object_versions(
        &self,
        bucket: &str,
        from: Option<&(String, Option<String>)>,
    ) -> S3Result<VersionsPage> {
        let mut req = Req::new("ListObjectVersions", Method::GET, bucket, None);
        req.query = vec![("versions", String::new()), ("max-keys", "1000".into())];
        if let Some((key, version)) = from {
            req.query.push(("key-marker", key.clone()));
            if let Some(version) = version {
                req.query.push(("version-id-marker", version.clone()));
            }
        }
        let parsed: ListVersionsResult = self.read(&req).await?;
        let next = match (parsed.is_truncated, parsed.next_key_marker) {
            (true, Some(key)) => Some((key, parsed.next_version_id_marker)),
            _ => None,
        };
        let mut versions = parsed.versions;
        versions.extend(parsed.delete_markers);
        Ok(VersionsPage { versions, next })
    }

    /// PutBucketLifecycleConfiguration (with `Content-MD5`).
    pub async fn put_bucket_lifecycle(&self, bucket: &str, config: &LifecycleConfiguration) -> S3Result<()> {
        let body = to_xml(config).map_err(|detail| S3Error::Request {
            op: "PutBucketLifecycleConfiguration",
            target: bucket.to_string(),
            detail,
        })?;
        let req = xml_req(
            "PutBucketLifecycleConfiguration",
            Method::PUT,
            bucket,
            "lifecycle",
            body,
        );
        self.send(&req).await.map(|_| ())
    }

    /// GetBucketLifecycleConfiguration; `None` when the bucket has none (404).
    pub async fn get_bucket_lifecycle(&self, bucket: &str) -> S3Result<Option<LifecycleConfiguration>> {
        let mut req = Req::new("GetBucketLifecycleConfiguration", Method::GET, bucket, None);
        req.query = vec![("lifecycle", String::new())];
        match self.read(&req).await {
            Ok(config) => Ok(Some(config)),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Sends and reads the XML answer.
    async fn read<T: for<'de> serde::Deserialize<'de>>(&self, req: &Req<'_>) -> S3Result<T> {
        let answer = self.send(req).await?;
        let text = String::from_utf8_lossy(&answer.body);
        from_xml(&text).map_err(|detail| S3Error::Decode {
            op: req.op,
            target: req.bucket.to_string(),
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_is_base64_of_the_digest() {
        // RFC 1321 test vector: MD5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }
}
