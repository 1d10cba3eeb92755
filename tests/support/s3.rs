//! A test client of the simulator's Object Storage: the Linode API through reqwest, and S3 requests signed
//! by AWS's own SigV4 signer (`aws-sigv4`), independent of the simulator's verifier.
#![allow(dead_code)] // each test binary uses a part of it

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use md5::Digest as _;
use serde_json::{Value, json};

use crate::support::FAKE_TOKEN;
use crate::support::linode_fake::{LinodeFake, State};

/// The Linode API of a simulator at `base` (`http://127.0.0.1:<port>/v4`) with `token`.
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.into(),
            token: token.into(),
            http: client(),
        }
    }

    /// `METHOD path` with an optional JSON body: (status, JSON answer).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("the API answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// A plain-HTTP client (reqwest needs the process's crypto provider installed even so).
fn client() -> reqwest::Client {
    lkeobs::tls::install_crypto_provider();
    reqwest::Client::new()
}

/// How a request's payload is declared.
#[derive(Clone)]
pub enum Payload {
    /// The body's real SHA-256.
    Real,
    /// A declared `x-amz-content-sha256` value (`STREAMING-…`, or another body's hash).
    Declared(String),
    /// Presigned in the query, valid for this long.
    Presigned(Duration),
}

/// An S3 answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// The `<Code>` of an S3 error body.
    pub fn code(&self) -> String {
        tags(&self.body, "Code").into_iter().next().unwrap_or_default()
    }
}

/// The inner texts of every `<tag>…</tag>`.
pub fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|part| part.split_once(&close).map(|(inner, _)| inner.to_string()))
        .collect()
}

/// A client of one S3 endpoint with one key.
#[derive(Clone)]
pub struct S3 {
    pub host: String,
    pub region: String,
    pub access: String,
    pub secret: String,
    pub time: Option<SystemTime>,
}

impl S3 {
    pub fn new(host: &str, region: &str, access: &str, secret: &str) -> S3 {
        S3 {
            host: host.into(),
            region: region.into(),
            access: access.into(),
            secret: secret.into(),
            time: None,
        }
    }

    /// A signed request with the body's real hash.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.send_as(method, path, headers, body, Payload::Real).await
    }

    /// A signed request, its payload declared as `payload`.
    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        payload: Payload,
    ) -> Answer {
        let url = format!("http://{}{path}", self.host);
        let mut all: Vec<(&str, &str)> = vec![("host", self.host.as_str())];
        all.extend_from_slice(headers);
        let identity = Credentials::new(&self.access, &self.secret, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let signable_body = match &payload {
            Payload::Real => SignableBody::Bytes(body),
            Payload::Declared(hash) => SignableBody::Precomputed(hash.clone()),
            Payload::Presigned(expires) => {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(*expires);
                settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
                SignableBody::UnsignedPayload
            }
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(self.time.unwrap_or_else(SystemTime::now))
            .settings(settings)
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(method, url.clone(), all.iter().copied(), signable_body).expect("signable");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let mut request = http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut request = request.body(body.to_vec()).expect("request");
        instructions.apply_to_request_http1x(&mut request);
        send(reqwest::Request::try_from(request).expect("a reqwest request")).await
    }

    /// An unsigned request.
    pub async fn anonymous(&self, method: &str, path: &str) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let request = client()
            .request(method, format!("http://{}{path}", self.host))
            .build()
            .expect("request");
        send(request).await
    }
}

async fn send(request: reqwest::Request) -> Answer {
    let resp = client().execute(request).await.expect("the S3 endpoint answers");
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap_or_default(),
    }
}

/// A seeded simulator (new limited keys work at once) and its API.
pub async fn start() -> (LinodeFake, Api) {
    let mut state = State::seeded();
    state.object_storage.key_propagation = Duration::ZERO;
    let fake = LinodeFake::start_with(state).await;
    let api = Api::new(&fake.base_url(), FAKE_TOKEN);
    (fake, api)
}

pub async fn bucket(api: &Api, label: &str, region: &str, extra: Value) -> Value {
    let mut body = json!({"label": label, "region": region});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let (status, answer) = api.call("POST", "/object-storage/buckets", Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A key (limited to `grants` when given) and an S3 client of `bucket`'s endpoint with it.
pub async fn key(api: &Api, bucket: &Value, grants: Option<Value>) -> (Value, S3) {
    let mut body = json!({"label": "lkeobs-test"});
    if let Some(g) = grants {
        body["bucket_access"] = g;
    }
    let (status, key) = api.call("POST", "/object-storage/keys", Some(body)).await;
    assert_eq!(status, 200, "{key}");
    let s3 = S3::new(
        bucket["s3_endpoint"].as_str().expect("s3_endpoint"),
        bucket["region"].as_str().expect("region"),
        key["access_key"].as_str().expect("access_key"),
        key["secret_key"].as_str().expect("secret_key"),
    );
    (key, s3)
}

pub fn grant(bucket: &Value, permissions: &str) -> Value {
    json!([{"region": bucket["region"], "bucket_name": bucket["label"], "permissions": permissions}])
}

pub fn md5_b64(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

pub fn delete_xml(keys: &[(String, Option<String>)], quiet: bool) -> String {
    let objects: String = keys
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("<Object><Key>{k}</Key><VersionId>{v}</VersionId></Object>"),
            None => format!("<Object><Key>{k}</Key></Object>"),
        })
        .collect();
    format!("<Delete><Quiet>{quiet}</Quiet>{objects}</Delete>")
}

pub async fn delete_objects(s3: &S3, bucket: &str, xml: &str) -> Answer {
    let md5 = md5_b64(xml.as_bytes());
    s3.send(
        "POST",
        &format!("/{bucket}?delete"),
        &[("content-md5", &md5)],
        xml.as_bytes(),
    )
    .await
}
