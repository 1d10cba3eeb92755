//! Unit tests that need the internal clock-taking constructors: expiry, not-yet-valid, clamping to the CA.

use rcgen::{CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose as Eku, IsCa, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use super::*;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn ca() -> Ca {
    Ca::generate_at("test", now(), CA_VALIDITY).expect("CA")
}

fn key_pem(ca: &Ca) -> String {
    ca.secret_data().remove(CA_KEY_KEY).expect("ca.key")
}

#[test]
fn short_validity_is_flagged_as_expiring() {
    let ca = ca();
    let short = ca
        .issue("edge-a", Eku::ClientAuth, &[], now(), Duration::days(10))
        .expect("issue");
    assert!(matches!(
        ca.reissue_reason(&short.cert_pem, &[], now()),
        Some(ReissueReason::Expiring { .. })
    ));
    let long = ca
        .issue("edge-a", Eku::ClientAuth, &[], now(), Duration::days(60))
        .expect("issue");
    assert_eq!(ca.reissue_reason(&long.cert_pem, &[], now()), None);
}

#[test]
fn future_certificate_is_not_yet_valid() {
    let ca = ca();
    let later = now() + Duration::days(2);
    let issued = ca
        .issue("edge-a", Eku::ClientAuth, &[], later, LEAF_VALIDITY)
        .expect("issue");
    assert!(matches!(
        ca.reissue_reason(&issued.cert_pem, &[], now()),
        Some(ReissueReason::NotYetValid { .. })
    ));
}

#[test]
fn leaf_never_outlives_the_ca() {
    let ca = Ca::generate_at("test", now(), Duration::days(100)).expect("CA");
    let issued = ca.issue_client("edge-a").expect("issue");
    let der = inspect::pem_to_der(&issued.cert_pem, "leaf").expect("der");
    let leaf = inspect::parse(&der, "leaf").expect("parse");
    assert_eq!(inspect::summary(&leaf, &der).not_after, ca.not_after());
}

#[test]
fn expired_ca_is_refused_with_a_clear_error() {
    let long_ago = now() - Duration::days(4000);
    let old = Ca::generate_at("test", long_ago, CA_VALIDITY).expect("CA");
    let err = Ca::from_pem(old.cert_pem(), &key_pem(&old)).expect_err("expired CA accepted");
    assert!(matches!(err, Error::CaExpired { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("expired") && msg.contains("lkeobs test CA") && msg.contains("lkeobs-ca"),
        "{msg}"
    );
    assert!(!msg.contains("BEGIN"), "{msg}");
    // Issuing at a time past the CA's end is refused too, even from a loaded CA.
    let ca = ca();
    let after = ca.not_after() + Duration::days(1);
    assert!(matches!(
        ca.issue("edge-a", Eku::ClientAuth, &[], after, LEAF_VALIDITY),
        Err(Error::UnusableCa { .. })
    ));
}

#[test]
fn not_yet_valid_ca_is_refused() {
    let ca = ca();
    let before = now() - Duration::days(1);
    let err = Ca::from_pem_at(ca.cert_pem(), &key_pem(&ca), before).expect_err("accepted");
    assert!(matches!(err, Error::CaNotYetValid { .. }), "{err:?}");
}

#[test]
fn foreign_ca_subject_is_reproduced_byte_for_byte() {
    // A CA made elsewhere: PrintableString organisation, UTF8 CN, pathlen unconstrained.
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name.remove(DnType::CommonName);
    params.distinguished_name.push(
        DnType::OrganizationName,
        DnValue::PrintableString("Example Ops".try_into().expect("printable")),
    );
    params.distinguished_name.push(DnType::CommonName, "hand-made CA");
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    params.not_before = now() - Duration::days(1);
    params.not_after = now() + Duration::days(400);
    let cert = params.self_signed(&key).expect("self-signed");
    let ca = Ca::from_pem(&cert.pem(), &key.serialize_pem()).expect("load");
    let issued = ca.issue_client("edge-a").expect("issue");
    assert_eq!(ca.reissue_reason(&issued.cert_pem, &[], now()), None);
    // Made without name constraints (as by an older lkeobs): due for rotation, still usable meanwhile.
    assert_eq!(ca.rotation_reason(now()), Some(super::CaRotation::Unconstrained));
    assert_eq!(ca.permitted_dns(), None);
}

#[test]
fn invalid_names_are_refused() {
    assert!(matches!(Ca::generate("Prod Fleet"), Err(Error::InvalidName { .. })));
    assert!(matches!(ca().issue_client("edge_a"), Err(Error::InvalidName { .. })));
    assert!(matches!(ca().issue_server(&[]), Err(Error::NoSans)));
}

#[test]
fn a_new_ca_vouches_only_for_the_names_lkeobs_issues() {
    let ca = ca();
    let permitted = ca.permitted_dns().expect("nameConstraints present");
    for name in super::PERMITTED_DNS {
        assert!(permitted.iter().any(|p| p == name), "{name} missing from {permitted:?}");
    }
    assert_eq!(ca.rotation_reason(now()), None);
    // Every name the gateway and Grafana certificates carry is within the constraints...
    let gateway = super::gateway_sans(Some("203.0.113.7")).expect("sans");
    assert!(ca.issue_server(&gateway).is_ok());
    let grafana = super::grafana_sans("nb-203-0-113-8.newark.nodebalancer.linode.com").expect("sans");
    assert!(ca.issue_grafana(&grafana).is_ok());
    // ...and a name outside them is refused before a certificate is made.
    let bank = [super::San::Dns("www.bank.example".into())];
    let err = ca.issue_server(&bank).expect_err("outside the constraints");
    assert!(err.to_string().contains("www.bank.example"), "{err}");
}

#[test]
fn a_ca_near_its_end_is_due_for_rotation() {
    let young = Ca::generate_at("prod", now(), super::CA_VALIDITY).expect("ca");
    assert_eq!(young.rotation_reason(now()), None);
    let old = Ca::generate_at("prod", now(), time::Duration::days(100)).expect("ca");
    assert!(matches!(
        old.rotation_reason(now()),
        Some(super::CaRotation::Expiring { .. })
    ));
}
