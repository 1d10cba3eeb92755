//! S3 bucket operations: ListObjectsV2, ListObjectVersions, DeleteObjects, and the versioning and lifecycle
//! configurations.

use std::fmt::Write as _;
use std::ops::Bound;

use base64::Engine as _;

use super::super::http::Reply;
use super::s3::Op;
use super::s3_object::{delete_one, iso};
use super::state::Bucket;
use super::xml::{self, escape};

const NS: &str = r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#;

/// The most keys a list answers or a DeleteObjects takes.
pub const MAX_KEYS: usize = 1000;

fn max_keys(op: &Op) -> Result<usize, Reply> {
    match op.param("max-keys") {
        None => Ok(MAX_KEYS),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as usize).min(MAX_KEYS)),
            _ => Err(op.error(
                400,
                "InvalidArgument",
                "Provided max-keys not an integer or within integer range",
            )),
        },
    }
}

/// A key as the answer carries it (`encoding-type=url`: URL-encoded, `/` kept).
fn key_text(op: &Op, key: &str) -> String {
    if op.param("encoding-type").as_deref() == Some("url") {
        super::sigv4::encode(key, false)
    } else {
        escape(key)
    }
}

pub fn list_v2(bucket: &Bucket, op: &Op) -> Reply {
    let max = match max_keys(op) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let prefix = op.param("prefix").unwrap_or_default();
    let delimiter = op.param("delimiter").filter(|d| !d.is_empty());
    let token = op.param("continuation-token");
    let after = match &token {
        Some(t) => match base64::engine::general_purpose::STANDARD.decode(t) {
            Ok(k) => String::from_utf8_lossy(&k).into_owned(),
            Err(_) => return op.error(400, "InvalidArgument", "The continuation token provided is incorrect"),
        },
        None => op.param("start-after").unwrap_or_default(),
    };
    let start = if after.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Excluded(after.clone())
    };
    let mut contents = String::new();
    let mut prefixes = String::new();
    let mut count = 0;
    let mut last: Option<String> = None;
    let mut truncated = false;
    for (key, versions) in bucket.objects.range((start, Bound::Unbounded)) {
        if !key.starts_with(&prefix) {
            if key.as_str() > prefix.as_str() && !prefix.is_empty() {
                break;
            }
            continue;
        }
        let Some(v) = versions.last().filter(|v| !v.marker) else {
            continue;
        };
        // A common prefix already answered (on this page or, through the token, on an earlier one).
        if last
            .as_ref()
            .or(Some(&after))
            .is_some_and(|l| l.ends_with(delimiter.as_deref().unwrap_or("\0")) && key.starts_with(l.as_str()))
        {
            continue;
        }
        if count == max {
            truncated = true;
            break;
        }
        let common = delimiter.as_ref().and_then(|d| {
            let rest = &key[prefix.len()..];
            rest.find(d.as_str())
                .map(|at| format!("{prefix}{}", &rest[..at + d.len()]))
        });
        match common {
            Some(cp) => {
                let _ = write!(
                    prefixes,
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    key_text(op, &cp)
                );
                last = Some(cp);
            }
            None => {
                let _ = write!(
                    contents,
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                    key_text(op, key),
                    iso(v.modified),
                    v.etag,
                    v.data.len()
                );
                last = Some(key.clone());
            }
        }
        count += 1;
    }
    let mut body = format!(
        "<ListBucketResult {NS}><Name>{}</Name><Prefix>{}</Prefix><KeyCount>{count}</KeyCount><MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        escape(&op.bucket),
        key_text(op, &prefix)
    );
    if let Some(d) = &delimiter {
        let _ = write!(body, "<Delimiter>{}</Delimiter>", escape(d));
    }
    if op.param("encoding-type").as_deref() == Some("url") {
        body.push_str("<EncodingType>url</EncodingType>");
    }
    if let Some(t) = &token {
        let _ = write!(body, "<ContinuationToken>{}</ContinuationToken>", escape(t));
    }
    if let Some(s) = op.param("start-after") {
        let _ = write!(body, "<StartAfter>{}</StartAfter>", key_text(op, &s));
    }
    if truncated && let Some(l) = &last {
        let next = base64::engine::general_purpose::STANDARD.encode(l);
        let _ = write!(body, "<NextContinuationToken>{next}</NextContinuationToken>");
    }
    body.push_str(&contents);
    body.push_str(&prefixes);
    body.push_str("</ListBucketResult>");
    xml::reply(200, body)
}

pub fn list_versions(bucket: &Bucket, op: &Op) -> Reply {
    let max = match max_keys(op) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let prefix = op.param("prefix").unwrap_or_default();
    let key_marker = op.param("key-marker").unwrap_or_default();
    let version_marker = op.param("version-id-marker").unwrap_or_default();
    let start = if key_marker.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Included(key_marker.clone())
    };
    let mut entries = String::new();
    let mut count = 0;
    let mut last: Option<(String, String)> = None;
    let mut truncated = false;
    'keys: for (key, versions) in bucket.objects.range((start, Bound::Unbounded)) {
        if !key.starts_with(&prefix) {
            continue;
        }
        // Newest first; past the markers only.
        let mut newest: Vec<_> = versions.iter().rev().collect();
        if *key == key_marker {
            if version_marker.is_empty() {
                continue;
            }
            match newest.iter().position(|v| v.id == version_marker) {
                Some(at) => newest = newest.split_off(at + 1),
                None => continue,
            }
        }
        for v in newest {
            if count == max {
                truncated = true;
                break 'keys;
            }
            let latest = versions.last().is_some_and(|l| l.id == v.id);
            if v.marker {
                let _ = write!(
                    entries,
                    "<DeleteMarker><Key>{}</Key><VersionId>{}</VersionId><IsLatest>{latest}</IsLatest><LastModified>{}</LastModified></DeleteMarker>",
                    key_text(op, key),
                    v.id,
                    iso(v.modified)
                );
            } else {
                let _ = write!(
                    entries,
                    "<Version><Key>{}</Key><VersionId>{}</VersionId><IsLatest>{latest}</IsLatest><LastModified>{}</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Version>",
                    key_text(op, key),
                    v.id,
                    iso(v.modified),
                    v.etag,
                    v.data.len()
                );
            }
            last = Some((key.clone(), v.id.clone()));
            count += 1;
        }
    }
    let mut body = format!(
        "<ListVersionsResult {NS}><Name>{}</Name><Prefix>{}</Prefix><KeyMarker>{}</KeyMarker><VersionIdMarker>{}</VersionIdMarker><MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        escape(&op.bucket),
        key_text(op, &prefix),
        key_text(op, &key_marker),
        escape(&version_marker)
    );
    if truncated && let Some((k, v)) = &last {
        let _ = write!(
            body,
            "<NextKeyMarker>{}</NextKeyMarker><NextVersionIdMarker>{}</NextVersionIdMarker>",
            key_text(op, k),
            escape(v)
        );
    }
    body.push_str(&entries);
    body.push_str("</ListVersionsResult>");
    xml::reply(200, body)
}

pub fn delete_objects(bucket: &mut Bucket, op: &Op, next: &mut u64, now: u64) -> Reply {
    if let Err(refused) = super::checksum::required(op) {
        return refused;
    }
    let text = String::from_utf8_lossy(&op.request.body);
    let Some((quiet, objects)) = xml::delete_request(&text) else {
        return op.error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        );
    };
    if objects.is_empty() || objects.len() > MAX_KEYS {
        return op.error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        );
    }
    let mut body = format!("<DeleteResult {NS}>");
    for (key, version) in &objects {
        let (id, marker) = delete_one(bucket, key, version.as_deref(), next, now);
        if quiet {
            continue;
        }
        let _ = write!(body, "<Deleted><Key>{}</Key>", escape(key));
        match (version, id) {
            (Some(v), _) => {
                let _ = write!(body, "<VersionId>{}</VersionId>", escape(v));
                if marker {
                    body.push_str("<DeleteMarker>true</DeleteMarker>");
                }
            }
            (None, Some(id)) => {
                let _ = write!(
                    body,
                    "<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>{}</DeleteMarkerVersionId>",
                    escape(&id)
                );
            }
            (None, None) => {}
        }
        body.push_str("</Deleted>");
    }
    body.push_str("</DeleteResult>");
    xml::reply(200, body)
}

pub fn get_versioning(bucket: &Bucket) -> Reply {
    let status = bucket
        .versioning
        .as_ref()
        .map(|s| format!("<Status>{s}</Status>"))
        .unwrap_or_default();
    xml::reply(
        200,
        format!("<VersioningConfiguration {NS}>{status}</VersioningConfiguration>"),
    )
}

pub fn put_versioning(bucket: &mut Bucket, op: &Op) -> Reply {
    let text = String::from_utf8_lossy(&op.request.body);
    match xml::versioning_status(&text) {
        Some(status) => {
            bucket.versioning = Some(status.to_string());
            Reply::new(200)
        }
        None => op.error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ),
    }
}

pub fn get_lifecycle(bucket: &Bucket, op: &Op) -> Reply {
    match &bucket.lifecycle {
        Some(text) => Reply::new(200).set_body_raw(text.clone(), "application/xml"),
        None => op.error(
            404,
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
        ),
    }
}

pub fn put_lifecycle(bucket: &mut Bucket, op: &Op) -> Reply {
    if let Err(refused) = super::checksum::required(op) {
        return refused;
    }
    let text = String::from_utf8_lossy(&op.request.body).into_owned();
    if !xml::lifecycle_ok(&text) {
        return op.error(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        );
    }
    bucket.lifecycle = Some(text);
    Reply::new(200)
}
