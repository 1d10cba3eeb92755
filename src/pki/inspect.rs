//! Reading certificates back with x509-parser: PEM → DER, subject, validity, SANs, CA flags, and "was this signed by that CA".

use std::net::IpAddr;

use rcgen::{DistinguishedName, DnType, DnValue};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::asn1_rs::Tag;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry as oids;
use x509_parser::x509::X509Name;

use super::{Error, Result, San};

/// What `Debug` shows of a certificate, and what the CA remembers of its own.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Summary {
    pub subject: String,
    pub fingerprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// The DER of the first PEM block of `pem`, which must be a CERTIFICATE. `what` names the input in errors.
pub(super) fn pem_to_der(pem: &str, what: &'static str) -> Result<Vec<u8>> {
    let bad = |reason: &str| Error::Certificate {
        what,
        reason: reason.to_owned(),
    };
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| bad("no readable PEM block"))?;
    if block.label != "CERTIFICATE" {
        return Err(bad(
            "the first PEM block is not a CERTIFICATE (certificate and key swapped?)",
        ));
    }
    Ok(block.contents)
}

/// Parses DER as an X.509 certificate.
pub(super) fn parse<'a>(der: &'a [u8], what: &'static str) -> Result<X509Certificate<'a>> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| Error::Certificate {
            what,
            reason: format!("not a valid X.509 certificate ({e})"),
        })
}

/// `sha256:<hex>` of the DER, the usual certificate fingerprint.
pub(super) fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub(super) fn summary(cert: &X509Certificate<'_>, der: &[u8]) -> Summary {
    Summary {
        subject: cert.subject().to_string(),
        fingerprint: fingerprint(der),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
    }
}

/// The summary of a PEM certificate, for `Debug` output; `None` when it does not parse.
pub(super) fn summarize_pem(pem: &str) -> Option<Summary> {
    let der = pem_to_der(pem, "certificate").ok()?;
    let cert = parse(&der, "certificate").ok()?;
    Some(summary(&cert, &der))
}

/// The certificate's DNS and IP SANs (DNS lower-cased); other kinds are ignored.
pub(super) fn sans(cert: &X509Certificate<'_>) -> Vec<San> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::from(v4))
    } else {
        <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
    }
}

/// basicConstraints CA:TRUE, and keyUsage (when present) allows keyCertSign.
pub(super) fn is_ca(cert: &X509Certificate<'_>) -> bool {
    let ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let may_sign = match cert.key_usage() {
        Ok(Some(ku)) => ku.value.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && may_sign
}

/// The DNS names a CA's nameConstraints permit, or `None` when it has no nameConstraints extension (it may
/// vouch for any name).
pub(super) fn permitted_dns(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::NameConstraints(nc) => Some(
            nc.permitted_subtrees
                .iter()
                .flatten()
                .filter_map(|t| match t.base {
                    GeneralName::DNSName(name) => Some(name.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

/// The subjectKeyIdentifier, which becomes the authorityKeyIdentifier of what this CA signs.
pub(super) fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
        _ => None,
    })
}

/// The raw subject public key (EC point, Ed25519 key, or RSAPublicKey), as rcgen's `public_key_raw` returns it.
pub(super) fn public_key_raw<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    &cert.public_key().subject_public_key.data
}

/// Whether `issuer` signed `cert`: the issuer name matches byte for byte and the signature verifies with its key.
pub(super) fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    use ring::signature as sig;
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return false;
    }
    let key = public_key_raw(issuer);
    let alg_oid = &cert.signature_algorithm.algorithm;
    // ECDSA keys are uncompressed points: 65 bytes on P-256, 97 on P-384.
    let alg: &dyn sig::VerificationAlgorithm = match (alg_oid, key.len()) {
        (oid, 65) if *oid == oids::OID_SIG_ECDSA_WITH_SHA256 => &sig::ECDSA_P256_SHA256_ASN1,
        (oid, 97) if *oid == oids::OID_SIG_ECDSA_WITH_SHA256 => &sig::ECDSA_P384_SHA256_ASN1,
        (oid, 65) if *oid == oids::OID_SIG_ECDSA_WITH_SHA384 => &sig::ECDSA_P256_SHA384_ASN1,
        (oid, 97) if *oid == oids::OID_SIG_ECDSA_WITH_SHA384 => &sig::ECDSA_P384_SHA384_ASN1,
        (oid, _) if *oid == oids::OID_SIG_ED25519 => &sig::ED25519,
        (oid, _) if *oid == oids::OID_PKCS1_SHA256WITHRSA => &sig::RSA_PKCS1_2048_8192_SHA256,
        (oid, _) if *oid == oids::OID_PKCS1_SHA384WITHRSA => &sig::RSA_PKCS1_2048_8192_SHA384,
        (oid, _) if *oid == oids::OID_PKCS1_SHA512WITHRSA => &sig::RSA_PKCS1_2048_8192_SHA512,
        _ => return false,
    };
    sig::UnparsedPublicKey::new(alg, key)
        .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
        .is_ok()
}

/// The subject as an rcgen name, so that what the CA signs names it as issuer byte for byte.
///
/// Supports single-valued RDNs with UTF8String, PrintableString or IA5String values and no repeated
/// attribute type: everything rcgen (and lkeobs) writes. Issuing checks the result anyway.
pub(super) fn rcgen_name(name: &X509Name<'_>) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for rdn in name.iter_rdn() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err("the subject has a multi-valued RDN".into());
        };
        let oid = attr.attr_type();
        let arcs: Vec<u64> = oid
            .iter()
            .ok_or_else(|| format!("attribute {oid} has an oversized OID"))?
            .collect();
        let ty = DnType::from_oid(&arcs);
        if dn.get(&ty).is_some() {
            return Err(format!("the subject repeats attribute {oid}"));
        }
        let text = std::str::from_utf8(attr.as_slice()).map_err(|_| format!("attribute {oid} is not text"))?;
        let invalid = |_| format!("attribute {oid} is not a valid string of its type");
        let value = match attr.attr_value().tag() {
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            Tag::PrintableString => DnValue::PrintableString(text.try_into().map_err(invalid)?),
            Tag::Ia5String => DnValue::Ia5String(text.try_into().map_err(invalid)?),
            other => return Err(format!("attribute {oid} has unsupported string type {other}")),
        };
        dn.push(ty, value);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_bytes() {
        assert_eq!(ip_from_bytes(&[10, 0, 0, 1]), Some(IpAddr::from([10, 0, 0, 1])));
        assert_eq!(ip_from_bytes(&[0; 16]), Some(IpAddr::from([0u8; 16])));
        assert_eq!(ip_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn pem_errors_do_not_echo_input() {
        let secretish = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let err = pem_to_der(secretish, "tls.crt")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls.crt"), "{err}");
        assert!(!err.contains("PRIVATE KEY") && !err.contains("AAAA"), "{err}");
        assert!(pem_to_der("garbage", "x").is_err());
    }

    #[test]
    fn fingerprint_is_sha256_hex() {
        let fp = fingerprint(b"");
        assert_eq!(
            fp,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
