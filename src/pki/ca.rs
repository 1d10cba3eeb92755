//! The fleet CA: generated once, stored in `observability-hub/lkeobs-ca`, reloaded on every run; issues and checks leaf certificates.

use std::collections::BTreeMap;
use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints, PKCS_ECDSA_P256_SHA256,
};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use super::inspect::{self, Summary};
use super::{
    BACKDATE, CA_CERT_KEY, CA_KEY_KEY, CA_VALIDITY, Error, GATEWAY_CN, Issued, LEAF_VALIDITY, REISSUE_BEFORE,
    ROTATE_CA_BEFORE, Result, San, check_name,
};

const CA_SECRET: &str = "observability-hub/lkeobs-ca";

/// The DNS names (and their subdomains) a fleet CA may vouch for: the gateway's and Grafana's Service names
/// and `localhost` (Grafana through `kubectl port-forward`).
pub const PERMITTED_DNS: [&str; 11] = [
    "otel-gateway",
    "otel-gateway.observability-hub",
    "otel-gateway.observability-hub.svc",
    crate::objects::GATEWAY_SERVICE_HOST,
    "otel-gateway-external.observability-hub.svc.cluster.local",
    "grafana.monitoring",
    "grafana.monitoring.svc",
    "grafana.monitoring.svc.cluster.local",
    "localhost",
    // A LoadBalancer whose status carries a host name rather than its address: Linode's reverse-DNS names
    // of its addresses, and NodeBalancer host names.
    "ip.linodeusercontent.com",
    "nodebalancer.linode.com",
];

/// Whether `name` is `constraint` or a subdomain of it (RFC 5280 dNSName constraints).
fn dns_within(name: &str, constraint: &str) -> bool {
    let (name, constraint) = (
        name.to_ascii_lowercase(),
        constraint.trim_start_matches('.').to_ascii_lowercase(),
    );
    name == constraint || name.ends_with(&format!(".{constraint}"))
}

/// Why a fleet CA should be replaced (by `up --rotate-certs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaRotation {
    /// It expires within [`ROTATE_CA_BEFORE`].
    Expiring { not_after: OffsetDateTime },
    /// It has no nameConstraints: it could vouch for any name (made by an older lkeobs).
    Unconstrained,
}

impl fmt::Display for CaRotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaRotation::Expiring { not_after } => write!(f, "the fleet CA expires on {}", not_after.date()),
            CaRotation::Unconstrained => {
                write!(f, "the fleet CA has no name constraints (it could vouch for any name)")
            }
        }
    }
}
const CA_CERT_WHAT: &str = "the CA certificate (ca.crt)";

/// A fleet CA: certificate and key. `Debug` shows the subject and fingerprint, never the key.
pub struct Ca {
    cert_pem: String,
    der: Vec<u8>,
    key: KeyPair,
    /// The certificate's subject, re-encoded for rcgen: the issuer name of everything this CA signs.
    name: DistinguishedName,
    /// The certificate's subjectKeyIdentifier: the authorityKeyIdentifier of everything this CA signs.
    key_id: Option<Vec<u8>>,
    summary: Summary,
}

/// Why an existing leaf certificate must be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReissueReason {
    /// Not a PEM X.509 certificate.
    Unreadable,
    /// Signed by another CA (or not signed at all).
    NotSignedByCa,
    NotYetValid {
        not_before: OffsetDateTime,
    },
    /// Expired or expiring within [`REISSUE_BEFORE`].
    Expiring {
        not_after: OffsetDateTime,
    },
    MissingSan(San),
}

impl fmt::Display for ReissueReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReissueReason::Unreadable => write!(f, "the stored certificate is unreadable"),
            ReissueReason::NotSignedByCa => write!(f, "the stored certificate is not signed by the fleet CA"),
            ReissueReason::NotYetValid { not_before } => {
                write!(f, "the stored certificate is not valid before {not_before}")
            }
            ReissueReason::Expiring { not_after } => write!(f, "the stored certificate expires on {not_after}"),
            ReissueReason::MissingSan(san) => write!(f, "the stored certificate lacks {san}"),
        }
    }
}

impl Ca {
    /// A new CA for `fleet`: ECDSA P-256, CN `lkeobs <fleet> CA`, CA:TRUE pathlen 0, keyCertSign + cRLSign, 10 years.
    pub fn generate(fleet: &str) -> Result<Ca> {
        Self::generate_at(fleet, OffsetDateTime::now_utc(), CA_VALIDITY)
    }

    pub(super) fn generate_at(fleet: &str, now: OffsetDateTime, validity: Duration) -> Result<Ca> {
        check_name("fleet name", fleet)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(&format!("lkeobs {fleet} CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now - BACKDATE;
        params.not_after = now + validity;
        // The CA vouches only for the names lkeobs issues (each constraint also admits its subdomains). IP
        // SANs stay unconstrained: the gateway's and Grafana's public addresses are assigned after the CA
        // exists, and an IP constraint would exclude every other address.
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: PERMITTED_DNS
                .iter()
                .map(|n| GeneralSubtree::DnsName((*n).to_owned()))
                .collect(),
            excluded_subtrees: Vec::new(),
        });
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rcgen_error("generating the CA key"))?;
        let cert = params.self_signed(&key).map_err(rcgen_error("self-signing the CA"))?;
        Self::load(cert.pem(), key, now)
    }

    /// The stored CA. Refuses a certificate that is not a CA, a key that does not match it, and an expired CA.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        Self::from_pem_at(cert_pem, key_pem, OffsetDateTime::now_utc())
    }

    pub(super) fn from_pem_at(cert_pem: &str, key_pem: &str, now: OffsetDateTime) -> Result<Ca> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| Error::Key {
            what: "the CA key (ca.key)",
            // The pem crate's messages may quote the PEM labels: say it in our words.
            reason: match e {
                rcgen::Error::PemError(_) => "no readable PEM block".to_owned(),
                other => other.to_string(),
            },
        })?;
        Self::load(cert_pem.to_owned(), key, now)
    }

    /// The CA from the data of Secret `observability-hub/lkeobs-ca` (keys `ca.crt`, `ca.key`), as [`Ca::from_pem`].
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Ca> {
        let text = |key: &'static str| -> Result<&str> {
            let bytes = data.get(key).ok_or(Error::MissingKey { secret: CA_SECRET, key })?;
            std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8 { secret: CA_SECRET, key })
        };
        Self::from_pem(text(CA_CERT_KEY)?, text(CA_KEY_KEY)?)
    }

    fn load(cert_pem: String, key: KeyPair, now: OffsetDateTime) -> Result<Ca> {
        let der = inspect::pem_to_der(&cert_pem, CA_CERT_WHAT)?;
        let cert = inspect::parse(&der, CA_CERT_WHAT)?;
        let summary = inspect::summary(&cert, &der);
        let subject = || summary.subject.clone();
        if !inspect::is_ca(&cert) {
            return Err(Error::NotACa { subject: subject() });
        }
        if key.public_key_raw() != inspect::public_key_raw(&cert) {
            return Err(Error::KeyMismatch { subject: subject() });
        }
        if now < summary.not_before {
            let not_before = summary.not_before;
            return Err(Error::CaNotYetValid {
                subject: subject(),
                not_before,
            });
        }
        if now >= summary.not_after {
            let not_after = summary.not_after;
            return Err(Error::CaExpired {
                subject: subject(),
                not_after,
            });
        }
        let name = inspect::rcgen_name(cert.subject()).map_err(|reason| Error::UnusableCa {
            subject: subject(),
            reason,
        })?;
        let key_id = inspect::subject_key_id(&cert);
        Ok(Ca {
            cert_pem,
            der,
            key,
            name,
            key_id,
            summary,
        })
    }

    /// The CA certificate (PEM): `ca.crt` of every TLS Secret.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate subject, e.g. `CN=lkeobs prod CA`.
    pub fn subject(&self) -> &str {
        &self.summary.subject
    }

    /// `sha256:<hex>` of the certificate's DER.
    pub fn fingerprint(&self) -> &str {
        &self.summary.fingerprint
    }

    /// Why this CA should be replaced, if it should.
    pub fn rotation_reason(&self, now: OffsetDateTime) -> Option<CaRotation> {
        if self.summary.not_after - now < ROTATE_CA_BEFORE {
            return Some(CaRotation::Expiring {
                not_after: self.summary.not_after,
            });
        }
        let cert = inspect::parse(&self.der, CA_CERT_WHAT).ok()?;
        inspect::permitted_dns(&cert)
            .is_none()
            .then_some(CaRotation::Unconstrained)
    }

    /// The DNS names its nameConstraints permit (`None`: unconstrained).
    pub fn permitted_dns(&self) -> Option<Vec<String>> {
        inspect::parse(&self.der, CA_CERT_WHAT)
            .ok()
            .and_then(|c| inspect::permitted_dns(&c))
    }

    /// When the CA expires; leaf certificates never outlive it.
    pub fn not_after(&self) -> OffsetDateTime {
        self.summary.not_after
    }

    /// Data of Secret `observability-hub/lkeobs-ca`: `ca.crt` and `ca.key` (PKCS#8 PEM). Contains the private key.
    pub fn secret_data(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CA_CERT_KEY.to_owned(), self.cert_pem.clone()),
            (CA_KEY_KEY.to_owned(), self.key.serialize_pem()),
        ])
    }

    /// The gateway's server certificate: CN `otel-gateway`, serverAuth, these SANs, 1 year (never past the CA).
    pub fn issue_server(&self, sans: &[San]) -> Result<Issued> {
        if sans.is_empty() {
            return Err(Error::NoSans);
        }
        let eku = ExtendedKeyUsagePurpose::ServerAuth;
        self.issue(GATEWAY_CN, eku, sans, OffsetDateTime::now_utc(), LEAF_VALIDITY)
    }

    /// Grafana's server certificate (CN `grafana`, serverAuth, 1 year, never past the CA).
    pub fn issue_grafana(&self, sans: &[San]) -> Result<Issued> {
        if sans.is_empty() {
            return Err(Error::NoSans);
        }
        let eku = ExtendedKeyUsagePurpose::ServerAuth;
        self.issue("grafana", eku, sans, OffsetDateTime::now_utc(), LEAF_VALIDITY)
    }

    /// An edge's client certificate: CN = the edge's cluster name, clientAuth, 1 year (never past the CA).
    pub fn issue_client(&self, edge: &str) -> Result<Issued> {
        check_name("edge name", edge)?;
        let eku = ExtendedKeyUsagePurpose::ClientAuth;
        self.issue(edge, eku, &[], OffsetDateTime::now_utc(), LEAF_VALIDITY)
    }

    pub(super) fn issue(
        &self,
        cn: &str,
        eku: ExtendedKeyUsagePurpose,
        sans: &[San],
        now: OffsetDateTime,
        validity: Duration,
    ) -> Result<Issued> {
        let unusable = |reason: &str| Error::UnusableCa {
            subject: self.summary.subject.clone(),
            reason: reason.to_owned(),
        };
        // A name outside the CA's constraints would make a certificate every client refuses: say so now.
        if let Some(permitted) = self.permitted_dns()
            && let Some(outside) = sans.iter().find_map(|s| match s {
                San::Dns(n) if !permitted.iter().any(|p| dns_within(n, p)) => Some(n.clone()),
                _ => None,
            })
        {
            return Err(unusable(&format!(
                "its name constraints do not permit {outside}; `up --rotate-certs` replaces it with a CA for the names this lkeobs issues"
            )));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(cn);
        params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        params.not_before = now - BACKDATE;
        params.not_after = (now + validity).min(self.summary.not_after);
        if params.not_after <= now {
            return Err(unusable("it has expired"));
        }
        params.use_authority_key_identifier_extension = self.key_id.is_some();

        let mut issuer_params = CertificateParams::default();
        issuer_params.distinguished_name = self.name.clone();
        issuer_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        if let Some(id) = &self.key_id {
            issuer_params.key_identifier_method = KeyIdMethod::PreSpecified(id.clone());
        }
        let issuer = Issuer::new(issuer_params, &self.key);

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rcgen_error("generating a key"))?;
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(rcgen_error("signing a certificate"))?;

        // The issuer name was rebuilt from the CA certificate: make sure what we hand out chains to it.
        let ca = inspect::parse(&self.der, CA_CERT_WHAT)?;
        let leaf = inspect::parse(cert.der(), "the new certificate")?;
        if !inspect::signed_by(&leaf, &ca) {
            return Err(unusable("a certificate it signed does not verify against it"));
        }
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: SecretString::from(key.serialize_pem()),
        })
    }

    /// Whether the leaf certificate `cert_pem` must be reissued at `now`: see [`Ca::reissue_reason`].
    pub fn needs_reissue(&self, cert_pem: &str, wanted_sans: &[San], now: OffsetDateTime) -> bool {
        self.reissue_reason(cert_pem, wanted_sans, now).is_some()
    }

    /// Why `cert_pem` must be reissued at `now`, if it must: unreadable, not signed by this CA, not yet valid,
    /// expiring within 30 days, or lacking one of `wanted_sans`.
    pub fn reissue_reason(&self, cert_pem: &str, wanted_sans: &[San], now: OffsetDateTime) -> Option<ReissueReason> {
        let Ok(der) = inspect::pem_to_der(cert_pem, "certificate") else {
            return Some(ReissueReason::Unreadable);
        };
        let Ok(cert) = inspect::parse(&der, "certificate") else {
            return Some(ReissueReason::Unreadable);
        };
        let signed = inspect::parse(&self.der, CA_CERT_WHAT).is_ok_and(|ca| inspect::signed_by(&cert, &ca));
        if !signed {
            return Some(ReissueReason::NotSignedByCa);
        }
        let Summary {
            not_before, not_after, ..
        } = inspect::summary(&cert, &der);
        if now < not_before {
            return Some(ReissueReason::NotYetValid { not_before });
        }
        if not_after - now < REISSUE_BEFORE {
            return Some(ReissueReason::Expiring { not_after });
        }
        let have = inspect::sans(&cert);
        let missing = wanted_sans.iter().find(|san| !have.contains(san))?;
        Some(ReissueReason::MissingSan(missing.clone()))
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.summary.subject)
            .field("fingerprint", &self.summary.fingerprint)
            .field("not_after", &self.summary.not_after)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn rcgen_error(what: &'static str) -> impl Fn(rcgen::Error) -> Error {
    move |source| Error::Rcgen { what, source }
}
