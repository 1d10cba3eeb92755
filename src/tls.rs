//! The process's one TLS crypto provider (ring), shared by the Linode client (reqwest) and the Kubernetes
//! clients (kube, port-forwards): a single back end compiled in and installed once.

/// Makes ring the process's default rustls provider unless one is set already. reqwest (built with
/// `rustls-no-provider`) and kube's rustls connector both ask for the process default. Idempotent.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // An error means another thread installed one first: just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
