//! Path-style URLs, the scheme and signing region a host implies, and SigV4 header signing with the real
//! payload hash (AWS's `aws-sigv4`: single URI encoding and no path normalization, as S3 wants).

use std::net::IpAddr;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;

/// `127.0.0.0/8`, `::1` or `localhost`, with or without a port (`[::1]:9000`, `127.0.0.1:9000`).
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The SigV4 region: the host's first DNS label (`us-ord-1` for `us-ord-1.linodeobjects.com`), or the
/// bucket's Linode region for a loopback host.
pub fn signing_region(host: &str, bucket_region: &str) -> String {
    if is_loopback_host(host) {
        return bucket_region.to_string();
    }
    host.split(['.', ':']).next().unwrap_or(host).to_string()
}

/// `http` for a loopback host, else `https`.
pub(super) fn scheme(host: &str) -> &'static str {
    if is_loopback_host(host) { "http" } else { "https" }
}

/// S3's URI encoding of one byte string: everything but `A-Za-z0-9-_.~` (and `/` in paths) as `%XX`.
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `<scheme>://<host>/<bucket>[/<key>][?query]`; query names without a value are sent bare (`?delete`).
pub(super) fn url(host: &str, bucket: &str, key: Option<&str>, query: &[(&str, String)]) -> String {
    let mut url = format!("{}://{host}/{}", scheme(host), encode(bucket, false));
    if let Some(key) = key {
        url.push('/');
        url.push_str(&encode(key, true));
    }
    let mut sep = '?';
    for (name, value) in query {
        url.push(sep);
        sep = '&';
        url.push_str(&encode(name, false));
        if !value.is_empty() {
            url.push('=');
            url.push_str(&encode(value, false));
        }
    }
    url
}

/// The signing inputs that stay the same for every request of a client.
pub(super) struct Signer {
    pub(super) credentials: Credentials,
    pub(super) region: String,
}

impl Signer {
    /// The headers to add (`authorization`, `x-amz-date`, `x-amz-content-sha256`): `headers` (lowercase
    /// names) are signed along with `host`; the payload hash is the SHA-256 of `body`.
    pub(super) fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, String> {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _signature) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn loopback_hosts_are_plain_http_and_sign_with_the_bucket_region() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:9000",
            "localhost",
            "LOCALHOST:80",
            "[::1]",
            "[::1]:9000",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
            assert_eq!(scheme(host), "http", "{host}");
            assert_eq!(signing_region(host, "us-ord"), "us-ord", "{host}");
        }
        for host in [
            "us-ord-1.linodeobjects.com",
            "127.0.0.1.nip.io",
            "10.0.0.1:9000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
            assert_eq!(scheme(host), "https", "{host}");
        }
        assert_eq!(signing_region("us-ord-1.linodeobjects.com", "us-ord"), "us-ord-1");
        assert_eq!(signing_region("gb-lon-1.linodeobjects.com:443", "gb-lon"), "gb-lon-1");
    }

    #[test]
    fn urls_are_path_style_and_encoded_once() {
        assert_eq!(
            url("us-ord-1.linodeobjects.com", "b", Some("a dir/x+y.txt"), &[]),
            "https://us-ord-1.linodeobjects.com/b/a%20dir/x%2By.txt"
        );
        assert_eq!(
            url("127.0.0.1:9", "b", None, &[("delete", String::new())]),
            "http://127.0.0.1:9/b?delete"
        );
        assert_eq!(
            url(
                "h",
                "b",
                None,
                &[("list-type", "2".into()), ("continuation-token", "a+b/c=".into())]
            ),
            "https://h/b?list-type=2&continuation-token=a%2Bb%2Fc%3D"
        );
    }

    #[test]
    fn signing_adds_the_real_payload_hash_and_a_scoped_credential() {
        let signer = Signer {
            credentials: Credentials::new("AKID", "secret-value", None, None, "test"),
            region: "us-ord-1".into(),
        };
        let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let body = b"<Delete/>";
        let headers = signer
            .sign("POST", "https://h/b?delete", &[("content-md5", "x".into())], body, time)
            .unwrap();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let hash: String = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(get("x-amz-content-sha256"), Some(hash));
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20231114/us-ord-1/s3/aws4_request"),
            "{auth}"
        );
        assert!(
            auth.contains("SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date"),
            "{auth}"
        );
        assert!(!auth.contains("secret-value"));
        assert_eq!(get("x-amz-date").as_deref(), Some("20231114T221320Z"));
    }
}
