//! The fleet PKI end to end: chains checked with rustls-webpki (what TLS does), a real in-memory mutual-TLS
//! handshake with rustls, CA reuse, rotation checks, and no private key in Debug output or errors.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use lkeobs::pki::{Ca, Error, GATEWAY_DNS_NAMES, Issued, ReissueReason, San, gateway_sans};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

const SERVICE_HOST: &str = "otel-gateway.observability-hub.svc.cluster.local";
const LB_IP: &str = "172.233.10.20";

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("certificate PEM")
}

fn key(issued: &Issued) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(issued.key_pem.expose_secret().as_bytes()).expect("key PEM")
}

/// Chain verification as rustls does it: `leaf` against `ca` as the only trust anchor, for `usage`.
fn verify(ca_pem: &str, leaf_pem: &str, usage: webpki::KeyUsage) -> Result<(), webpki::Error> {
    let ca = der(ca_pem);
    let anchor = webpki::anchor_from_trusted_cert(&ca)?;
    let leaf = der(leaf_pem);
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    let anchors = [anchor];
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        UnixTime::now(),
        usage,
        None,
        None,
    )
    .map(|_| ())
}

fn valid_for_name(leaf_pem: &str, name: &str) -> bool {
    let leaf = der(leaf_pem);
    let ee = webpki::EndEntityCert::try_from(&leaf).expect("end-entity");
    let name = ServerName::try_from(name).expect("server name");
    ee.verify_is_valid_for_subject_name(&name).is_ok()
}

fn with_cert<T>(pem: &str, f: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
    let der = der(pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("X.509");
    f(&cert)
}

fn common_name(pem: &str) -> String {
    with_cert(pem, |c| {
        let cn = c.subject().iter_common_name().next().expect("CN");
        cn.as_str().expect("CN text").to_owned()
    })
}

fn server(ca: &Ca) -> Issued {
    ca.issue_server(&gateway_sans(Some(LB_IP)).expect("sans"))
        .expect("server certificate")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn ca_is_a_p256_path_length_zero_ca_for_two_years() {
    let ca = Ca::generate("prod").expect("CA");
    assert_eq!(common_name(ca.cert_pem()), "lkeobs prod CA");
    with_cert(ca.cert_pem(), |c| {
        let bc = c.basic_constraints().expect("bc").expect("bc present");
        assert!(bc.critical && bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        let ku = c.key_usage().expect("ku").expect("ku present").value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        let days = (c.validity().not_after.to_datetime() - now()).whole_days();
        assert!((729..=730).contains(&days), "{days} days");
        assert_eq!(
            c.public_key().algorithm.algorithm,
            x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY
        );
        assert_eq!(c.public_key().subject_public_key.data.len(), 65, "P-256 point");
    });
    assert!(webpki::anchor_from_trusted_cert(&der(ca.cert_pem())).is_ok());
}

#[test]
fn client_certificate_verifies_for_client_auth_only() {
    let ca = Ca::generate("prod").expect("CA");
    let client = ca.issue_client("us-east").expect("client certificate");
    verify(ca.cert_pem(), &client.cert_pem, webpki::KeyUsage::client_auth()).expect("client chain");
    assert!(verify(ca.cert_pem(), &client.cert_pem, webpki::KeyUsage::server_auth()).is_err());
    assert_eq!(common_name(&client.cert_pem), "us-east");
    with_cert(&client.cert_pem, |c| {
        let eku = c.extended_key_usage().expect("eku").expect("eku present").value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(!c.basic_constraints().expect("bc").expect("bc present").value.ca);
        let days = (c.validity().not_after.to_datetime() - now()).whole_days();
        assert!((364..=365).contains(&days), "{days} days");
    });
}

#[test]
fn server_certificate_verifies_for_the_service_name_and_the_lb_ip() {
    let ca = Ca::generate("prod").expect("CA");
    let server = server(&ca);
    verify(ca.cert_pem(), &server.cert_pem, webpki::KeyUsage::server_auth()).expect("server chain");
    assert!(verify(ca.cert_pem(), &server.cert_pem, webpki::KeyUsage::client_auth()).is_err());
    assert_eq!(common_name(&server.cert_pem), "otel-gateway");
    for name in GATEWAY_DNS_NAMES.iter().copied().chain([SERVICE_HOST, LB_IP]) {
        assert!(valid_for_name(&server.cert_pem, name), "{name}");
    }
    assert!(!valid_for_name(&server.cert_pem, "evil.example.com"));
    assert!(!valid_for_name(&server.cert_pem, "172.233.10.21"));
    with_cert(&server.cert_pem, |c| {
        let eku = c.extended_key_usage().expect("eku").expect("eku present").value;
        assert!(eku.server_auth && !eku.client_auth);
    });
}

#[test]
fn server_certificate_takes_a_hostname_lb_address() {
    let ca = Ca::generate("prod").expect("CA");
    let host = "172-233-10-20.ip.linodeusercontent.com";
    let sans = gateway_sans(Some(host)).expect("sans");
    assert!(sans.contains(&San::Dns(host.into())));
    let server = ca.issue_server(&sans).expect("server certificate");
    assert!(valid_for_name(&server.cert_pem, host));
    assert!(valid_for_name(&server.cert_pem, SERVICE_HOST));
}

#[test]
fn stored_ca_is_reused_not_regenerated() {
    let first = Ca::generate("prod").expect("CA");
    let data = first.secret_data();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["ca.crt", "ca.key"]);
    let bytes: BTreeMap<String, Vec<u8>> = data.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();

    let from_secret = Ca::from_secret_data(&bytes).expect("reload from Secret data");
    let from_pem = Ca::from_pem(&data["ca.crt"], &data["ca.key"]).expect("reload from PEM");
    for second in [&from_secret, &from_pem] {
        assert_eq!(second.cert_pem(), first.cert_pem());
        assert_eq!(second.fingerprint(), first.fingerprint());
        assert_eq!(second.secret_data(), data, "the stored CA is written back unchanged");
        let client = second.issue_client("eu-west").expect("client");
        verify(first.cert_pem(), &client.cert_pem, webpki::KeyUsage::client_auth())
            .expect("verifies against the first CA");
        let server = second.issue_server(&gateway_sans(None).expect("sans")).expect("server");
        verify(first.cert_pem(), &server.cert_pem, webpki::KeyUsage::server_auth())
            .expect("verifies against the first CA");
        assert!(!first.needs_reissue(&client.cert_pem, &[], now()));
    }
}

#[test]
fn from_pem_refuses_a_key_from_another_ca() {
    let ca = Ca::generate("prod").expect("CA");
    let other = Ca::generate("prod").expect("CA");
    let err = Ca::from_pem(ca.cert_pem(), &other.secret_data()["ca.key"]).expect_err("mismatched key accepted");
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err:?}");
    assert_no_pem(&err);
}

#[test]
fn from_pem_refuses_expired_ca() {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    params.not_before = rcgen::date_time_ymd(2010, 1, 1);
    params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let cert = params.self_signed(&key).expect("expired CA");
    let err = Ca::from_pem(&cert.pem(), &key.serialize_pem()).expect_err("expired CA accepted");
    assert!(matches!(err, Error::CaExpired { .. }), "{err:?}");
    assert!(err.to_string().contains("expired on 2020-01-01"), "{err}");
    assert_no_pem(&err);
}

#[test]
fn from_pem_refuses_a_leaf_and_garbage() {
    let ca = Ca::generate("prod").expect("CA");
    let client = ca.issue_client("us-east").expect("client");
    let err = Ca::from_pem(&client.cert_pem, client.key_pem.expose_secret()).expect_err("leaf accepted as CA");
    assert!(matches!(err, Error::NotACa { .. }), "{err:?}");
    let key_pem = ca.secret_data()["ca.key"].clone();
    for err in [
        Ca::from_pem("not a certificate", &key_pem).expect_err("garbage certificate"),
        Ca::from_pem(&key_pem, &key_pem).expect_err("key as certificate"),
        Ca::from_pem(ca.cert_pem(), ca.cert_pem()).expect_err("certificate as key"),
        Ca::from_pem(
            ca.cert_pem(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .expect_err("bad key"),
    ] {
        assert_no_pem(&err);
    }
}

#[test]
fn from_secret_data_names_a_missing_key() {
    let ca = Ca::generate("prod").expect("CA");
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    data.insert("ca.crt".into(), ca.cert_pem().as_bytes().to_vec());
    let err = Ca::from_secret_data(&data).expect_err("missing ca.key accepted");
    assert!(matches!(err, Error::MissingKey { key: "ca.key", .. }), "{err:?}");
    assert!(err.to_string().contains("observability-hub/lkeobs-ca"), "{err}");
    data.insert("ca.key".into(), vec![0xff, 0xfe]);
    assert!(matches!(
        Ca::from_secret_data(&data),
        Err(Error::NotUtf8 { key: "ca.key", .. })
    ));
}

#[test]
fn needs_reissue_only_when_needed() {
    let ca = Ca::generate("prod").expect("CA");
    let without_lb = ca.issue_server(&gateway_sans(None).expect("sans")).expect("server");
    let wanted = gateway_sans(Some(LB_IP)).expect("sans");
    let lb: San = LB_IP.parse().expect("ip");
    assert!(!ca.needs_reissue(&without_lb.cert_pem, &gateway_sans(None).expect("sans"), now()));
    assert_eq!(
        ca.reissue_reason(&without_lb.cert_pem, &wanted, now()),
        Some(ReissueReason::MissingSan(lb))
    );

    let full = server(&ca);
    assert!(!ca.needs_reissue(&full.cert_pem, &wanted, now()));
    // 340 days on, the one-year certificate has less than 30 days left.
    assert!(ca.needs_reissue(&full.cert_pem, &wanted, now() + Duration::days(340)));
    assert!(!ca.needs_reissue(&full.cert_pem, &wanted, now() + Duration::days(330)));

    let other = Ca::generate("prod").expect("other CA");
    let foreign = other.issue_client("us-east").expect("client");
    assert_eq!(
        ca.reissue_reason(&foreign.cert_pem, &[], now()),
        Some(ReissueReason::NotSignedByCa)
    );
    assert_eq!(
        ca.reissue_reason("garbage", &[], now()),
        Some(ReissueReason::Unreadable)
    );
    // A DNS SAN compares case-insensitively.
    let upper: San = "OTEL-GATEWAY".parse().expect("dns");
    assert!(!ca.needs_reissue(&full.cert_pem, &[upper], now()));
}

#[test]
fn reissuing_never_touches_the_ca() {
    let ca = Ca::generate("prod").expect("CA");
    let before = ca.secret_data();
    let a = ca.issue_client("us-east").expect("client");
    let b = ca.issue_client("us-east").expect("client");
    assert_ne!(a.cert_pem, b.cert_pem);
    assert_ne!(
        a.key_pem.expose_secret(),
        b.key_pem.expose_secret(),
        "every issue gets a fresh key"
    );
    assert_eq!(ca.secret_data(), before);
}

#[test]
fn tls_secret_data_has_the_kubernetes_tls_keys() {
    let ca = Ca::generate("prod").expect("CA");
    let client = ca.issue_client("us-east").expect("client");
    let data = client.tls_secret_data(ca.cert_pem());
    assert_eq!(data.keys().collect::<Vec<_>>(), ["ca.crt", "tls.crt", "tls.key"]);
    assert_eq!(data["ca.crt"], ca.cert_pem());
    assert_eq!(data["tls.crt"], client.cert_pem);
    assert!(data["tls.key"].starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn debug_output_never_shows_a_private_key() {
    let ca = Ca::generate("prod").expect("CA");
    let client = ca.issue_client("us-east").expect("client");
    let key_body = |pem: &str| pem.lines().nth(1).unwrap_or_default().to_owned();
    for text in [
        format!("{ca:?}"),
        format!("{ca:#?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
    ] {
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(!text.contains(&key_body(&ca.secret_data()["ca.key"])), "{text}");
        assert!(!text.contains(&key_body(client.key_pem.expose_secret())), "{text}");
        assert!(text.contains("sha256:") && text.contains("[redacted]"), "{text}");
    }
    assert!(format!("{ca:?}").contains("CN=lkeobs prod CA"));
    assert!(format!("{client:?}").contains("CN=us-east"));
}

fn assert_no_pem(err: &Error) {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    assert!(
        !text.contains("-----") && !text.contains("PRIVATE KEY") && !text.contains("AAAA"),
        "{text}"
    );
}

// ---- a real mutual-TLS handshake, in memory, with rustls (ring provider) ----

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: &Ca) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(der(ca.cert_pem())).expect("CA as root");
    Arc::new(roots)
}

/// The gateway: presents `server`, requires a client certificate signed by `ca` (like `client_ca_file`).
fn gateway(ca: &Ca, server: &Issued) -> ServerConnection {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca), provider())
        .build()
        .expect("verifier");
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![der(&server.cert_pem)], key(server))
        .expect("server config");
    ServerConnection::new(Arc::new(config)).expect("server connection")
}

/// An edge: trusts `ca`, presents `client`, verifies the gateway as `name` (like `server_name_override`).
fn edge(ca: &Ca, client: &Issued, name: &str) -> ClientConnection {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(ca))
        .with_client_auth_cert(vec![der(&client.cert_pem)], key(client))
        .expect("client config");
    let name = ServerName::try_from(name).expect("server name").to_owned();
    ClientConnection::new(Arc::new(config), name).expect("client connection")
}

fn pump<D>(from: &mut rustls::ConnectionCommon<D>) -> Vec<u8> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).expect("write_tls");
    }
    buf
}

fn feed<D>(to: &mut rustls::ConnectionCommon<D>, mut bytes: &[u8]) -> Result<(), rustls::Error> {
    while !bytes.is_empty() {
        to.read_tls(&mut bytes).expect("read_tls");
        to.process_new_packets()?;
    }
    Ok(())
}

/// Runs the handshake and one application write edge → gateway; returns what the gateway read.
fn connect(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<Vec<u8>, rustls::Error> {
    client.writer().write_all(b"otlp").expect("write");
    for _ in 0..10 {
        let to_server = pump(client);
        feed(server, &to_server)?;
        let to_client = pump(server);
        feed(client, &to_client)?;
        if to_server.is_empty() && to_client.is_empty() {
            break;
        }
    }
    let mut got = Vec::new();
    match server.reader().read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => panic!("read: {e}"),
    }
    Ok(got)
}

#[test]
fn mutual_tls_handshake_succeeds_for_the_service_name_and_the_lb_ip() {
    let ca = Ca::generate("prod").expect("CA");
    let server_cert = server(&ca);
    let client_cert = ca.issue_client("us-east").expect("client");
    for name in [SERVICE_HOST, LB_IP] {
        let mut server = gateway(&ca, &server_cert);
        let mut client = edge(&ca, &client_cert, name);
        let got = connect(&mut client, &mut server).expect("handshake");
        assert_eq!(got, b"otlp", "dialing {name}");
        let peer = server
            .peer_certificates()
            .expect("client certificate")
            .first()
            .expect("leaf")
            .clone();
        assert_eq!(peer, der(&client_cert.cert_pem));
    }
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate() {
    let ca = Ca::generate("prod").expect("CA");
    let mut server = gateway(&ca, &server(&ca));
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(&ca))
        .with_no_client_auth();
    let name = ServerName::try_from(SERVICE_HOST).expect("server name").to_owned();
    let mut client = ClientConnection::new(Arc::new(config), name).expect("client connection");
    let err = connect(&mut client, &mut server).expect_err("anonymous client accepted");
    assert!(matches!(err, rustls::Error::NoCertificatesPresented), "{err:?}");
}

#[test]
fn mutual_tls_refuses_a_client_from_another_ca() {
    let ca = Ca::generate("prod").expect("CA");
    let server_cert = server(&ca);
    // The intruder trusts our CA (so it accepts the gateway) but its certificate comes from another CA:
    // one of another fleet (unknown issuer) or a second CA of the same fleet (same name, wrong key).
    for (fleet, expected) in [
        ("staging", CertificateError::UnknownIssuer),
        ("prod", CertificateError::BadSignature),
    ] {
        let other = Ca::generate(fleet).expect("other CA");
        let intruder = other.issue_client("us-east").expect("client");
        let mut server = gateway(&ca, &server_cert);
        let mut client = edge(&ca, &intruder, SERVICE_HOST);
        let err = connect(&mut client, &mut server).expect_err("foreign client accepted");
        assert_eq!(err, rustls::Error::InvalidCertificate(expected), "CA of fleet {fleet}");
    }
}

#[test]
fn mutual_tls_refuses_a_server_certificate_as_client_and_a_wrong_name() {
    let ca = Ca::generate("prod").expect("CA");
    let server_cert = server(&ca);
    let mut server = gateway(&ca, &server_cert);
    let mut client = edge(&ca, &server_cert, SERVICE_HOST);
    let err = connect(&mut client, &mut server).expect_err("server certificate accepted as client");
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::InvalidPurposeContext { .. })
        ),
        "{err:?}"
    );

    let client_cert = ca.issue_client("us-east").expect("client");
    let mut server = gateway(&ca, &server_cert);
    let mut client = edge(&ca, &client_cert, "otel-gateway.example.com");
    let err = connect(&mut client, &mut server).expect_err("wrong name accepted");
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
        ),
        "{err:?}"
    );
}
