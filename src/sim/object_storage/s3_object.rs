//! S3 object operations: PutObject, GetObject, HeadObject and DeleteObject (with `versionId`), over a
//! bucket's versions as versioning decides (unversioned and suspended buckets keep one `null` version).

use base64::Engine as _;
use md5::Digest as _;

use super::super::http::Reply;
use super::s3::Op;
use super::sigv4::{civil, hex};
use super::state::{Bucket, Version};

/// `2026-01-01T00:00:00.000Z`.
pub fn iso(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// `Thu, 01 Jan 2026 00:00:00 GMT`.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = civil(secs);
    let day = DAYS[(secs / 86_400 % 7) as usize];
    let month = MONTHS[(mo as usize).saturating_sub(1) % 12];
    format!("{day}, {d:02} {month} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

/// Hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

/// Adds a version (or delete marker) to `key` as the bucket's versioning decides; its id.
pub fn add(bucket: &mut Bucket, key: &str, mut version: Version, next: &mut u64) -> String {
    let enabled = bucket.versioning.as_deref() == Some("Enabled");
    let versions = bucket.objects.entry(key.to_string()).or_default();
    if enabled {
        *next += 1;
        version.id = format!("v{:012}", *next);
    } else {
        version.id = "null".into();
        versions.retain(|v| v.id != "null");
    }
    let id = version.id.clone();
    versions.push(version);
    id
}

pub fn put(bucket: &mut Bucket, op: &Op, next: &mut u64, now: u64) -> Reply {
    let body = &op.request.body;
    if let Some(md5) = op.request.header("content-md5") {
        let actual = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body));
        if md5.trim() != actual {
            return op.error(
                400,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            );
        }
    }
    let version = Version {
        id: String::new(),
        marker: false,
        data: body.clone(),
        etag: md5_hex(body),
        modified: now,
        content_type: op
            .request
            .header("content-type")
            .unwrap_or("binary/octet-stream")
            .to_string(),
    };
    let etag = version.etag.clone();
    let id = add(bucket, &op.key, version, next);
    let reply = Reply::new(200).insert_header("ETag", &format!("\"{etag}\""));
    versioned(bucket, reply, &id)
}

fn versioned(bucket: &Bucket, reply: Reply, id: &str) -> Reply {
    if bucket.versioning.is_some() {
        reply.insert_header("x-amz-version-id", id)
    } else {
        reply
    }
}

pub fn get(bucket: &Bucket, op: &Op) -> Reply {
    let versions = bucket.objects.get(&op.key);
    let found = match op.param("versionId") {
        Some(id) => match versions.and_then(|vs| vs.iter().find(|v| v.id == id)) {
            Some(v) if v.marker => {
                return op
                    .error(
                        405,
                        "MethodNotAllowed",
                        "The specified method is not allowed against this resource.",
                    )
                    .insert_header("x-amz-delete-marker", "true");
            }
            Some(v) => v,
            None => return op.error(404, "NoSuchVersion", "The specified version does not exist."),
        },
        None => match versions.and_then(|vs| vs.last()) {
            Some(v) if v.marker => {
                return op
                    .error(404, "NoSuchKey", "The specified key does not exist.")
                    .insert_header("x-amz-delete-marker", "true");
            }
            Some(v) => v,
            None => return op.error(404, "NoSuchKey", "The specified key does not exist."),
        },
    };
    let head = op.request.method == http::Method::HEAD;
    let body = if head { Vec::new() } else { found.data.clone() };
    let mut reply = Reply::new(200)
        .set_body_raw(body, &found.content_type)
        .insert_header("ETag", &format!("\"{}\"", found.etag))
        .insert_header("Last-Modified", &http_date(found.modified));
    if head {
        reply = reply.insert_header("Content-Length", &found.data.len().to_string());
    }
    versioned(bucket, reply, &found.id)
}

/// Deletes one object or version as S3 does; `(version id, delete marker?)` of what it removed or added.
pub fn delete_one(
    bucket: &mut Bucket,
    key: &str,
    version: Option<&str>,
    next: &mut u64,
    now: u64,
) -> (Option<String>, bool) {
    if let Some(id) = version {
        let mut marker = false;
        if let Some(versions) = bucket.objects.get_mut(key) {
            if let Some(at) = versions.iter().position(|v| v.id == id) {
                marker = versions.remove(at).marker;
            }
            if versions.is_empty() {
                bucket.objects.remove(key);
            }
        }
        return (Some(id.to_string()), marker);
    }
    if bucket.versioning.is_none() {
        bucket.objects.remove(key);
        return (None, false);
    }
    let marker = Version {
        id: String::new(),
        marker: true,
        data: Vec::new(),
        etag: String::new(),
        modified: now,
        content_type: String::new(),
    };
    (Some(add(bucket, key, marker, next)), true)
}

pub fn delete(bucket: &mut Bucket, op: &Op, next: &mut u64, now: u64) -> Reply {
    let version = op.param("versionId");
    let (id, marker) = delete_one(bucket, &op.key, version.as_deref(), next, now);
    let mut reply = Reply::new(204);
    if let Some(id) = id {
        reply = reply.insert_header("x-amz-version-id", &id);
    }
    if marker {
        reply = reply.insert_header("x-amz-delete-marker", "true");
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_formatted_as_s3_sends_them() {
        assert_eq!(iso(1_369_353_600), "2013-05-24T00:00:00.000Z");
        assert_eq!(http_date(1_369_353_600), "Fri, 24 May 2013 00:00:00 GMT");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
