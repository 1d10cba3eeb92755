//! The engines' S3 client in the simulator: a SigV4-signed PutObject handed to the simulated Object Storage's
//! own S3 handler for the endpoint the engine names, so its rules (keys, grants, propagation, the bucket's
//! region and endpoint, aws-chunked refused) decide whether the write lands.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ring::digest;

use super::data_engine_storage::S3Target;
use super::http::{Handler, Request};
use super::linode::State;
use super::object_storage::sigv4::{self, civil, hex};
use super::world::lock;

/// The index of the account's S3 endpoint answering at `host` (`127.0.0.1:<port>` in the simulator).
fn endpoint(linode: &Mutex<State>, host: &str) -> Option<usize> {
    let host = host.split("://").last().unwrap_or(host).trim_end_matches('/');
    lock(linode)
        .object_storage
        .endpoints
        .iter()
        .position(|e| e.port != 0 && e.host() == host)
}

/// `<Code>` of an S3 error body.
fn code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or_default()
        .to_string()
}

/// Puts `body` at `key` in the target's bucket; Err: why it did not land.
pub(crate) fn put(linode: &Arc<Mutex<State>>, t: &S3Target, key: &str, body: &[u8]) -> Result<(), String> {
    let index = endpoint(linode, &t.host).ok_or(format!("no S3 endpoint answers at {}", t.host))?;
    let host = t.host.split("://").last().unwrap_or(&t.host).trim_end_matches('/');
    let now = SystemTime::now();
    let secs = super::object_storage::state::secs(now);
    let (y, mo, d, h, mi, s) = civil(secs);
    let date = format!("{y:04}{mo:02}{d:02}");
    let amz_date = format!("{date}T{h:02}{mi:02}{s:02}Z");
    let payload = if t.chunked {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_string()
    } else {
        hex(digest::digest(&digest::SHA256, body).as_ref())
    };
    let path = format!("/{}/{}", sigv4::encode(&t.bucket, true), sigv4::encode(key, false));
    let url = url::Url::parse(&format!("http://{host}{path}")).map_err(|e| format!("{host}{path}: {e}"))?;
    let mut headers = http::HeaderMap::new();
    let mut header = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    header("host", host);
    header("x-amz-date", &amz_date);
    header("x-amz-content-sha256", &payload);
    header("content-type", "application/octet-stream");
    let mut request = Request {
        method: http::Method::PUT,
        url,
        headers,
        body: body.to_vec(),
    };
    let signed: Vec<String> = ["host", "x-amz-content-sha256", "x-amz-date"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    let scope = format!("{date}/{}/s3/aws4_request", t.region);
    let canonical = sigv4::canonical_request(&request, &signed, &payload, false);
    let signature = sigv4::signature(&t.secret_key, &date, &t.region, "s3", &amz_date, &scope, &canonical);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        t.access_key,
        signed.join(";")
    );
    let auth = http::HeaderValue::from_str(&auth).map_err(|e| format!("the access key: {e}"))?;
    request.headers.insert("authorization", auth);
    let handler = super::object_storage::S3Handler {
        state: linode.clone(),
        index,
    };
    let reply = handler.handle(&request);
    match reply.status() {
        200 => Ok(()),
        status => Err(format!("PUT {}/{key}: {status} {}", t.bucket, code(reply.body()))),
    }
}
