//! The simulated Kubernetes APIs' TLS identity: one CA per simulator process (from the operating system's
//! CSPRNG, never written to disk) and a serving certificate for 127.0.0.1 and localhost, so clients send
//! the bearer token (client-go sends none over plain HTTP) and verify the server as they do on LKE.

use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The CA the kubeconfigs carry and the acceptor every simulated Kubernetes API serves with.
pub struct KubeTls {
    ca_pem: String,
    ca_der: Vec<u8>,
    acceptor: TlsAcceptor,
}

impl KubeTls {
    /// The CA certificate, PEM (a kubeconfig's `certificate-authority-data`, base64-encoded).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER (a client's root).
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// What a listener wraps each connection in.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// The process's identity, made on first use.
pub fn identity() -> std::io::Result<&'static KubeTls> {
    static IDENTITY: OnceLock<KubeTls> = OnceLock::new();
    if let Some(tls) = IDENTITY.get() {
        return Ok(tls);
    }
    let made = make()?;
    // Another thread may have won the race: either identity is as good, and only one is ever handed out.
    Ok(IDENTITY.get_or_init(|| made))
}

fn make() -> std::io::Result<KubeTls> {
    let fail = |what: &'static str| move |e: rcgen::Error| std::io::Error::other(format!("{what}: {e}"));
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("lkeobs simulator Kubernetes CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail("generating the simulator's CA key"))?;
    let ca = ca_params
        .clone()
        .self_signed(&ca_key)
        .map_err(fail("self-signing the simulator's CA"))?;

    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).map_err(fail("the serving name"))?;
    leaf.distinguished_name = name("kube-apiserver");
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(fail("generating the serving key"))?;
    let issuer = Issuer::new(ca_params, &ca_key);
    let served = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(fail("signing the serving certificate"))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(served.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .map_err(std::io::Error::other)?;
    // HTTP/1.1 only: the port-forward upgrades (SPDY, WebSocket) are HTTP/1.1 upgrades.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(KubeTls {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

fn name(common: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common);
    dn
}
