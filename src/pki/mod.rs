//! Fleet PKI for edge → hub mutual TLS: one CA per fleet, the gateway's server certificate, one client certificate per edge.
//!
//! Pure: no Kubernetes or network I/O. The caller stores the PEMs this module produces in Secrets
//! (manifests/README.md): the CA in `observability-hub/lkeobs-ca` ([`Ca::secret_data`]), the gateway's
//! certificate in `observability-hub/otel-gateway-tls` and each edge's in `observability/otel-client-tls`
//! ([`Issued::tls_secret_data`]).
//!
//! Reuse, never regenerate: `up` loads the stored CA with [`Ca::from_secret_data`] (which refuses an
//! expired CA or a key that does not match) and asks [`Ca::needs_reissue`] whether an existing leaf
//! certificate must be replaced. Reissuing a leaf never touches the CA.
//!
//! Private keys are never printed: [`Ca`] and [`Issued`] have hand-written `Debug` impls, key PEMs live
//! in [`secrecy::SecretString`] where they are held, and errors never carry PEM text.

mod ca;
mod inspect;
mod issued;
mod san;

pub use ca::{Ca, CaRotation, PERMITTED_DNS, ReissueReason};
pub use issued::Issued;
pub use san::{GATEWAY_DNS_NAMES, GRAFANA_NAMES, San, gateway_sans, grafana_sans};

/// Validity of a new fleet CA (2 years): `up --rotate-certs` replaces it well before (see [`ROTATE_CA_BEFORE`]).
pub const CA_VALIDITY: time::Duration = time::Duration::days(730);
/// A fleet CA expiring within this window is replaced by `up --rotate-certs` (and `up` says so before).
pub const ROTATE_CA_BEFORE: time::Duration = time::Duration::days(180);
/// Validity of a new leaf (server or client) certificate (1 year).
pub const LEAF_VALIDITY: time::Duration = time::Duration::days(365);
/// A leaf certificate expiring within this window is reissued.
pub const REISSUE_BEFORE: time::Duration = time::Duration::days(30);
/// `notBefore` is back-dated by this much to tolerate clock skew between the machine running lkeobs and the clusters.
pub const BACKDATE: time::Duration = time::Duration::hours(1);

/// Common name of the gateway's server certificate.
pub const GATEWAY_CN: &str = crate::objects::GATEWAY.name;

/// Secret keys of `observability-hub/lkeobs-ca`.
pub const CA_CERT_KEY: &str = "ca.crt";
pub const CA_KEY_KEY: &str = "ca.key";
/// Secret keys of the kubernetes.io/tls-style Secrets (`otel-gateway-tls`, `otel-client-tls`); `ca.crt` is [`CA_CERT_KEY`].
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";

/// What went wrong. Messages name the offending Secret key or input, never PEM text or key material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} `{name}`: expected a DNS label ([a-z0-9-], at most 63 characters)")]
    InvalidName { what: &'static str, name: String },
    #[error("invalid subject alternative name `{0}`: expected an IP address or a DNS name")]
    InvalidSan(String),
    #[error("a server certificate needs at least one subject alternative name")]
    NoSans,
    #[error("{what} is not a PEM certificate: {reason}")]
    Certificate { what: &'static str, reason: String },
    #[error("{what} is not a private key lkeobs can use (PKCS#8 ECDSA P-256/P-384, Ed25519 or RSA): {reason}")]
    Key { what: &'static str, reason: String },
    #[error("Secret {secret} has no `{key}`")]
    MissingKey { secret: &'static str, key: &'static str },
    #[error("Secret {secret}: `{key}` is not UTF-8 text")]
    NotUtf8 { secret: &'static str, key: &'static str },
    #[error(
        "the CA key does not match the CA certificate `{subject}` (the key and certificate come from different CAs)"
    )]
    KeyMismatch { subject: String },
    #[error("the certificate `{subject}` is not a CA (needs basicConstraints CA:TRUE and keyUsage keyCertSign)")]
    NotACa { subject: String },
    #[error(
        "the fleet CA `{subject}` expired on {not_after}; lkeobs does not replace a CA on its own. \
         Delete Secret observability-hub/lkeobs-ca to start a new CA: the next `up` then reissues every certificate"
    )]
    CaExpired {
        subject: String,
        not_after: time::OffsetDateTime,
    },
    #[error("the fleet CA `{subject}` is not valid before {not_before} (is this machine's clock right?)")]
    CaNotYetValid {
        subject: String,
        not_before: time::OffsetDateTime,
    },
    #[error("cannot issue certificates from the CA `{subject}`: {reason}")]
    UnusableCa { subject: String, reason: String },
    #[error("{what}: {source}")]
    Rcgen {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `name` if it is a DNS label (fleet and cluster names are), else [`Error::InvalidName`].
fn check_name<'a>(what: &'static str, name: &'a str) -> Result<&'a str> {
    if crate::naming::is_dns_label(name) {
        Ok(name)
    } else {
        Err(Error::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
