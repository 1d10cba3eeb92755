//! A freshly issued leaf certificate and its key, shaped for kubernetes.io/tls-style Secrets.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, inspect};

/// A leaf certificate (PEM) and its private key (PKCS#8 PEM). `Debug` shows the subject and fingerprint, never the key.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: SecretString,
}

impl Issued {
    /// Data of `otel-gateway-tls` / `otel-client-tls`: `tls.crt`, `tls.key` and `ca.crt` (the fleet CA, `ca_pem`).
    /// Contains the private key.
    pub fn tls_secret_data(&self, ca_pem: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TLS_CERT_KEY.to_owned(), self.cert_pem.clone()),
            (TLS_KEY_KEY.to_owned(), self.key_pem.expose_secret().to_owned()),
            (CA_CERT_KEY.to_owned(), ca_pem.to_owned()),
        ])
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Issued");
        match inspect::summarize_pem(&self.cert_pem) {
            Some(summary) => out
                .field("subject", &summary.subject)
                .field("fingerprint", &summary.fingerprint)
                .field("not_after", &summary.not_after),
            None => out.field("cert", &format_args!("[unreadable]")),
        };
        out.field("key", &format_args!("[redacted]")).finish()
    }
}
