//! One S3 endpoint's data plane (plain HTTP on 127.0.0.1, path-style `/<bucket>/<key>`): SigV4
//! authentication against the account's keys, a limited key's grants and propagation delay, then the
//! bucket and object operations of [`super::s3_bucket`] and [`super::s3_object`].

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ring::digest;

use super::super::http::{Handler, Reply, Request};
use super::super::linode::State;
use super::sigv4::{self, hex};
use super::state::{Bucket, ObjectStorage, bucket_id};
use super::xml;

/// The handler of endpoint `index` of the account's [`ObjectStorage::endpoints`].
pub struct S3Handler {
    pub state: Arc<Mutex<State>>,
    pub index: usize,
}

impl Handler for S3Handler {
    fn handle(&self, request: &Request) -> Reply {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let os = &mut state.object_storage;
        let reply = handle(os, self.index, request, SystemTime::now());
        let query = request.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        let line = format!("{} {}{query} -> {}", request.method, request.url.path(), reply.status());
        os.s3_log.push(line);
        reply
    }
}

/// What the request is allowed to do after authentication.
pub(crate) struct Op<'a> {
    pub request: &'a Request,
    pub bucket: String,
    pub key: String,
    /// `/<bucket>/<key>` as the error answers name it.
    pub resource: String,
}

impl Op<'_> {
    /// Whether the query names `param` (with or without a value).
    pub fn has(&self, param: &str) -> bool {
        self.request.url.query_pairs().any(|(k, _)| k == param)
    }

    /// A query parameter's value, if given.
    pub fn param(&self, param: &str) -> Option<String> {
        self.request
            .url
            .query_pairs()
            .find(|(k, _)| k == param)
            .map(|(_, v)| v.into_owned())
    }

    /// An S3 error about this request's resource.
    pub fn error(&self, status: u16, code: &str, message: &str) -> Reply {
        if self.request.method == http::Method::HEAD {
            return Reply::new(status).insert_header("x-amz-error-code", code);
        }
        xml::error(status, code, message, &self.resource)
    }
}

fn handle(os: &mut ObjectStorage, index: usize, request: &Request, now: SystemTime) -> Reply {
    let path = request.url.path().to_string();
    let resource = sigv4::percent_decode(&path);
    let err = |status: u16, code: &str, message: &str| {
        if request.method == http::Method::HEAD {
            Reply::new(status).insert_header("x-amz-error-code", code)
        } else {
            xml::error(status, code, message, &resource)
        }
    };
    let Some(endpoint) = os.endpoints.get(index).cloned() else {
        return err(503, "ServiceUnavailable", "this endpoint is not served");
    };
    // Authentication first: an anonymous request is refused whatever it asks for (no public buckets).
    let claim = match sigv4::claim(request) {
        None => return err(403, "AccessDenied", "Anonymous access is forbidden for this operation"),
        Some(Err((status, code, message))) => return err(status, code, &message),
        Some(Ok(claim)) => claim,
    };
    let Some(key) = os.key_by_access(&claim.access_key).cloned() else {
        return err(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        );
    };
    let payload = match sigv4::verify(request, &claim, &key.secret_key, now) {
        Ok(p) => p,
        Err((status, code, message)) => return err(status, code, &message),
    };
    if let Some(refused) = payload_refused(&payload, &request.body) {
        return err(400, "XAmzContentSHA256Mismatch", refused);
    }
    let rest = path.trim_start_matches('/');
    let (bucket, object) = rest.split_once('/').unwrap_or((rest, ""));
    let (bucket, object) = (sigv4::percent_decode(bucket), sigv4::percent_decode(object));
    if bucket.is_empty() {
        return err(
            501,
            "NotImplemented",
            "ListBuckets is not simulated; list buckets through the Linode API",
        );
    }
    let id = bucket_id(&endpoint.region, &bucket);
    let on_this_endpoint = os
        .buckets
        .get(&id)
        .is_some_and(|b| b.endpoint_type == endpoint.endpoint_type);
    if !on_this_endpoint {
        return err(404, "NoSuchBucket", "The specified bucket does not exist");
    }
    if key.limited {
        let cached = key.created + os.key_propagation <= now;
        let grant = key
            .bucket_access
            .iter()
            .find(|a| a.region == endpoint.region && a.bucket_name == bucket);
        let write = matches!(
            request.method,
            http::Method::PUT | http::Method::POST | http::Method::DELETE
        );
        let allowed = cached && grant.is_some_and(|g| g.permissions == "read_write" || !write);
        if !allowed {
            return err(403, "AccessDenied", "Access Denied");
        }
    }
    let op = Op {
        request,
        bucket: bucket.clone(),
        key: object,
        resource,
    };
    let mut next = os.next;
    let Some(b) = os.buckets.get_mut(&id) else {
        return op.error(404, "NoSuchBucket", "The specified bucket does not exist");
    };
    let reply = dispatch(b, &op, &mut next, super::state::secs(now));
    os.next = next;
    reply
}

fn dispatch(bucket: &mut Bucket, op: &Op, next: &mut u64, now: u64) -> Reply {
    use http::Method;
    let method = op.request.method.clone();
    if op.key.is_empty() {
        return match method {
            Method::HEAD => Reply::new(200),
            Method::GET if op.has("versioning") => super::s3_bucket::get_versioning(bucket),
            Method::PUT if op.has("versioning") => super::s3_bucket::put_versioning(bucket, op),
            Method::GET if op.has("lifecycle") => super::s3_bucket::get_lifecycle(bucket, op),
            Method::PUT if op.has("lifecycle") => super::s3_bucket::put_lifecycle(bucket, op),
            Method::DELETE if op.has("lifecycle") => {
                bucket.lifecycle = None;
                Reply::new(204)
            }
            Method::GET if op.has("versions") => super::s3_bucket::list_versions(bucket, op),
            Method::GET if op.param("list-type").as_deref() == Some("2") => super::s3_bucket::list_v2(bucket, op),
            Method::POST if op.has("delete") => super::s3_bucket::delete_objects(bucket, op, next, now),
            _ => op.error(501, "NotImplemented", "This bucket operation is not simulated"),
        };
    }
    match method {
        Method::PUT if op.request.headers.contains_key("x-amz-copy-source") => {
            op.error(501, "NotImplemented", "CopyObject is not simulated")
        }
        Method::PUT if op.has("uploads") || op.has("uploadId") => {
            op.error(501, "NotImplemented", "multipart uploads are not simulated")
        }
        Method::PUT => super::s3_object::put(bucket, op, next, now),
        Method::GET | Method::HEAD => super::s3_object::get(bucket, op),
        Method::DELETE => super::s3_object::delete(bucket, op, next, now),
        _ => op.error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ),
    }
}

/// Why the body does not match its `x-amz-content-sha256`; Linode refuses aws-chunked (`STREAMING-…`)
/// payloads with `XAmzContentSHA256Mismatch` too.
fn payload_refused(payload: &str, body: &[u8]) -> Option<&'static str> {
    if payload == "UNSIGNED-PAYLOAD" {
        return None;
    }
    if payload.starts_with("STREAMING-") {
        return Some("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    let actual = hex(digest::digest(&digest::SHA256, body).as_ref());
    (!payload.eq_ignore_ascii_case(&actual))
        .then_some("The provided 'x-amz-content-sha256' header does not match what was computed.")
}
