//! AWS Signature Version 4 as an S3 server checks it: the credential and signature from the
//! `Authorization` header or from a presigned URL's query, the canonical request rebuilt from what was
//! received, and the signature recomputed with the key's secret over the credential scope the request
//! carries.

use std::time::{Duration, SystemTime};

use ring::{digest, hmac};

use super::super::http::Request;
pub use super::time::{civil, parse_amz_date};

/// How far a request's `x-amz-date` may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The SHA-256 of an empty body, hex.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a signed request claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub access_key: String,
    /// `yyyymmdd` of the scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case names, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `x-amz-date` (`yyyymmddThhmmssZ`).
    pub amz_date: String,
    /// Presigned: `X-Amz-Expires` seconds.
    pub expires: Option<u64>,
}

/// Why a request's authentication fails: (status, S3 code, message).
pub type Failure = (u16, &'static str, String);

fn fail(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    (status, code, message.into())
}

/// The claim a request makes; None when it carries no SigV4 authentication at all.
pub fn claim(request: &Request) -> Option<Result<Claim, Failure>> {
    if let Some(auth) = request.header("authorization") {
        return Some(header_claim(auth, request));
    }
    let query = query_pairs(request.url.query().unwrap_or_default());
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let algorithm = get("X-Amz-Algorithm")?;
    Some(presigned_claim(&algorithm, &get))
}

fn header_claim(auth: &str, request: &Request) -> Result<Claim, Failure> {
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(fail(
            400,
            "InvalidArgument",
            "Unsupported Authorization Type (only AWS4-HMAC-SHA256)",
        ));
    };
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(fail(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed",
        ));
    };
    let Some(amz_date) = request.header("x-amz-date") else {
        return Err(fail(
            403,
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    build(credential, signed, signature, amz_date, None)
}

fn presigned_claim(algorithm: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<Claim, Failure> {
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(fail(400, "InvalidArgument", "Unsupported X-Amz-Algorithm"));
    }
    let (Some(credential), Some(signed), Some(signature), Some(date), Some(expires)) = (
        get("X-Amz-Credential"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
    ) else {
        return Err(fail(
            400,
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    let Ok(expires) = expires.parse::<u64>() else {
        return Err(fail(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires should be a number",
        ));
    };
    if expires > 7 * 24 * 3600 {
        return Err(fail(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds)",
        ));
    }
    build(&credential, &signed, &signature, &date, Some(expires))
}

fn build(
    credential: &str,
    signed: &str,
    signature: &str,
    amz_date: &str,
    expires: Option<u64>,
) -> Result<Claim, Failure> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts[..] else {
        return Err(fail(
            400,
            "AuthorizationHeaderMalformed",
            format!("malformed credential {credential:?}"),
        ));
    };
    if terminator != "aws4_request" {
        return Err(fail(
            400,
            "AuthorizationHeaderMalformed",
            "the credential must end in aws4_request",
        ));
    }
    if service != "s3" {
        return Err(fail(
            400,
            "AuthorizationHeaderMalformed",
            format!("the credential's service is {service:?}, not s3"),
        ));
    }
    if parse_amz_date(amz_date).is_none() || !amz_date.starts_with(date) {
        return Err(fail(
            403,
            "AccessDenied",
            "the x-amz-date is malformed or not the credential's date",
        ));
    }
    Ok(Claim {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_string(),
        amz_date: amz_date.to_string(),
        expires,
    })
}

/// Checks the claim's time and signature with `secret`; the payload hash the signature covers.
pub fn verify(request: &Request, claim: &Claim, secret: &str, now: SystemTime) -> Result<String, Failure> {
    let when = parse_amz_date(&claim.amz_date).unwrap_or_default();
    let now_s = super::state::secs(now);
    let skew = when.abs_diff(now_s);
    match claim.expires {
        None if skew > MAX_SKEW.as_secs() => {
            return Err(fail(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ));
        }
        Some(_) if when > now_s + MAX_SKEW.as_secs() => {
            return Err(fail(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ));
        }
        Some(expires) if now_s > when + expires => {
            return Err(fail(403, "AccessDenied", "Request has expired"));
        }
        _ => {}
    }
    if !claim.signed_headers.iter().any(|h| h == "host") {
        return Err(fail(403, "AccessDenied", "the host header must be signed"));
    }
    let payload = match claim.expires {
        Some(_) => request
            .header("x-amz-content-sha256")
            .unwrap_or("UNSIGNED-PAYLOAD")
            .to_string(),
        None => match request.header("x-amz-content-sha256") {
            Some(p) => p.to_string(),
            None => {
                return Err(fail(
                    400,
                    "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256",
                ));
            }
        },
    };
    let canonical = canonical_request(request, &claim.signed_headers, &payload, claim.expires.is_some());
    let scope = format!("{}/{}/{}/aws4_request", claim.date, claim.region, claim.service);
    let expected = signature(
        secret,
        &claim.date,
        &claim.region,
        &claim.service,
        &claim.amz_date,
        &scope,
        &canonical,
    );
    if !constant_eq(expected.as_bytes(), claim.signature.as_bytes()) {
        return Err(fail(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    Ok(payload)
}

/// The hex signature of a canonical request.
pub fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    amz_date: &str,
    scope: &str,
    canonical: &str,
) -> String {
    let hashed = hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashed}");
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes())
            .as_ref()
            .to_vec();
    }
    hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), to_sign.as_bytes()).as_ref())
}

/// The canonical request: method, URI, query, signed headers, their names and the payload hash.
pub fn canonical_request(request: &Request, signed: &[String], payload: &str, presigned: bool) -> String {
    let path = encode(&percent_decode(request.url.path()), false);
    let mut query: Vec<(String, String)> = query_pairs(request.url.query().unwrap_or_default())
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (encode(&k, true), encode(&v, true)))
        .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload}",
        request.method.as_str(),
        query.join("&"),
        signed.join(";")
    )
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `k=v` pairs of a raw query, percent-decoded (`+` is a plus, as SigV4 clients encode a space `%20`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decoding (invalid escapes kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: everything but `A-Za-z0-9-_.~` as `%XX`; `/` too when `slash`.
pub fn encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !slash => out.push('/'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        Request {
            method: http::Method::GET,
            url: url::Url::parse(&format!("http://127.0.0.1{uri}")).expect("url"),
            headers: map,
            body: Vec::new(),
        }
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// AWS's published "GET Object" example (Amazon S3 API reference, "Authenticating Requests: Using the
    /// Authorization Header", example bucket `examplebucket`, 24 May 2013).
    #[test]
    fn the_aws_get_object_example_verifies_and_a_changed_header_does_not() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", "20130524T000000Z"),
            ("authorization", auth),
        ];
        let req = request("/test.txt", &headers);
        let claim = claim(&req).expect("signed").expect("well formed");
        assert_eq!(claim.access_key, "AKIAIOSFODNN7EXAMPLE");
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        assert_eq!(verify(&req, &claim, SECRET, then), Ok(EMPTY_SHA256.to_string()));
        let canonical = canonical_request(&req, &claim.signed_headers, EMPTY_SHA256, false);
        assert!(canonical.starts_with("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"));

        let mut changed = headers;
        changed[1] = ("range", "bytes=0-10");
        let req = request("/test.txt", &changed);
        let failure = verify(&req, &claim, SECRET, then).expect_err("a changed signed header");
        assert_eq!(failure.1, "SignatureDoesNotMatch");
        let late = then + Duration::from_secs(16 * 60);
        let req = request("/test.txt", &headers);
        assert_eq!(
            verify(&req, &claim, SECRET, late).expect_err("skew").1,
            "RequestTimeTooSkewed"
        );
    }

    /// AWS's published presigned-URL example (Amazon S3 API reference, "Authenticating Requests: Using
    /// Query Parameters": GET /test.txt, expires 86400).
    #[test]
    fn the_aws_presigned_url_example_verifies() {
        let uri = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let req = request(uri, &[("host", "examplebucket.s3.amazonaws.com")]);
        let claim = claim(&req).expect("signed").expect("well formed");
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600 + 3600);
        assert_eq!(verify(&req, &claim, SECRET, then), Ok("UNSIGNED-PAYLOAD".to_string()));
        let expired = then + Duration::from_secs(86_400);
        assert_eq!(
            verify(&req, &claim, SECRET, expired).expect_err("expired").2,
            "Request has expired"
        );
    }
}
