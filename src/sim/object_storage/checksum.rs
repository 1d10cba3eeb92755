//! The integrity header S3 demands on DeleteObjects and PutBucketLifecycleConfiguration: `Content-MD5`, or
//! an `x-amz-checksum-{crc32,crc32c,sha1,sha256}` header; whichever is sent is checked against the body.

use base64::Engine as _;
use md5::Digest as _;
use ring::digest;

use super::super::http::Reply;
use super::s3::Op;

/// Ok when the body carries a matching integrity header; the S3 error otherwise.
pub fn required(op: &Op) -> Result<(), Reply> {
    let body = &op.request.body;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    if let Some(given) = op.request.header("content-md5") {
        return if given.trim() == b64(&md5::Md5::digest(body)) {
            Ok(())
        } else {
            Err(op.error(
                400,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            ))
        };
    }
    let checksum = op
        .request
        .headers
        .iter()
        .find(|(name, _)| name.as_str().starts_with("x-amz-checksum-") && name.as_str() != "x-amz-checksum-type");
    let Some((name, given)) = checksum else {
        return Err(op.error(
            400,
            "InvalidRequest",
            "Missing required header for this request: Content-Md5",
        ));
    };
    let actual = match name.as_str().trim_start_matches("x-amz-checksum-") {
        "crc32" => b64(&crc(body, 0xEDB8_8320).to_be_bytes()),
        "crc32c" => b64(&crc(body, 0x82F6_3B78).to_be_bytes()),
        "sha1" => b64(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, body).as_ref()),
        "sha256" => b64(digest::digest(&digest::SHA256, body).as_ref()),
        other => {
            return Err(op.error(
                400,
                "InvalidRequest",
                &format!("checksum algorithm {other} is not supported"),
            ));
        }
    };
    if given.to_str().is_ok_and(|g| g.trim() == actual) {
        Ok(())
    } else {
        Err(op.error(
            400,
            "BadDigest",
            &format!("The {name} you specified did not match the calculated checksum."),
        ))
    }
}

/// A reflected CRC-32 with `poly` (IEEE: 0xEDB88320, Castagnoli: 0x82F63B78).
pub fn crc(data: &[u8], poly: u32) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ poly } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn crcs_match_their_check_values() {
        assert_eq!(super::crc(b"123456789", 0xEDB8_8320), 0xCBF4_3926);
        assert_eq!(super::crc(b"123456789", 0x82F6_3B78), 0xE306_9283);
    }
}
