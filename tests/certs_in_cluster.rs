//! The certificates kept in the clusters (fake Kubernetes APIs): the CA created once and reused, leaves
//! kept while good, reissued on rotation with the CA unchanged, a broken CA refused rather than replaced.

mod support;

use lkeobs::ops::certs::{self, CertAction};
use lkeobs::pki::Ca;
use support::k8s_fake::K8sFake;

/// A cluster fake with the namespaces `up` applies before any certificate.
async fn cluster() -> K8sFake {
    let k = K8sFake::start().await;
    for ns in ["observability", "observability-hub"] {
        k.put(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    k
}

fn text(data: &std::collections::BTreeMap<String, Vec<u8>>, key: &str) -> String {
    String::from_utf8(data[key].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_reused_leaves_kept_then_rotated() {
    let (hub_fake, edge_fake) = (cluster().await, cluster().await);
    let (hub, edge) = (hub_fake.k8s(), edge_fake.k8s());

    let (ca, action) = certs::ensure_ca(&hub, "prod").await.unwrap();
    assert_eq!(action, CertAction::Created);
    assert_eq!(
        certs::ensure_gateway_cert(&hub, "prod", &ca, Some("198.51.100.50"), false)
            .await
            .unwrap(),
        CertAction::Created
    );
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &ca, false)
            .await
            .unwrap(),
        CertAction::Created
    );

    // A second run: nothing is written, the same CA comes back.
    hub_fake.clear_log();
    edge_fake.clear_log();
    let (again, action) = certs::ensure_ca(&hub, "prod").await.unwrap();
    assert_eq!(action, CertAction::Kept);
    assert_eq!(again.fingerprint(), ca.fingerprint());
    assert_eq!(
        certs::ensure_gateway_cert(&hub, "prod", &again, Some("198.51.100.50"), false)
            .await
            .unwrap(),
        CertAction::Kept
    );
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &again, false)
            .await
            .unwrap(),
        CertAction::Kept
    );
    assert!(
        hub_fake.writes().is_empty() && edge_fake.writes().is_empty(),
        "a converged run wrote"
    );

    // The LoadBalancer address changed: only the server certificate is reissued.
    assert_eq!(
        certs::ensure_gateway_cert(&hub, "prod", &again, Some("198.51.100.51"), false)
            .await
            .unwrap(),
        CertAction::Reissued
    );

    // Rotation: new leaves, same CA; the edge's new certificate is signed by it.
    let old_client = edge
        .get_secret("observability", "otel-client-tls")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &again, true)
            .await
            .unwrap(),
        CertAction::Reissued
    );
    let new_client = edge
        .get_secret("observability", "otel-client-tls")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(text(&old_client, "tls.crt"), text(&new_client, "tls.crt"));
    assert_eq!(text(&new_client, "ca.crt"), ca.cert_pem());
    assert!(!ca.needs_reissue(&text(&new_client, "tls.crt"), &[], time::OffsetDateTime::now_utc()));
    let (after, _) = certs::ensure_ca(&hub, "prod").await.unwrap();
    assert_eq!(after.fingerprint(), ca.fingerprint(), "rotation touched the CA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_ca_secret_is_refused_not_replaced() {
    let hub_fake = cluster().await;
    let hub = hub_fake.k8s();
    let data = std::collections::BTreeMap::from([
        ("ca.crt".to_string(), b"garbage".to_vec()),
        ("ca.key".to_string(), b"x".to_vec()),
    ]);
    hub.ensure_secret(
        "observability-hub",
        "lkeobs-ca",
        &Default::default(),
        &data,
        lkeobs::k8s::SecretMode::CreateOnly,
    )
    .await
    .unwrap();
    let err = certs::ensure_ca(&hub, "prod").await.unwrap_err().to_string();
    assert!(err.contains("delete that Secret"), "{err}");
    let still = hub.get_secret("observability-hub", "lkeobs-ca").await.unwrap().unwrap();
    assert_eq!(still["ca.crt"], b"garbage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ca_makes_every_leaf_reissue() {
    let (hub_fake, edge_fake) = (cluster().await, cluster().await);
    let (hub, edge) = (hub_fake.k8s(), edge_fake.k8s());
    let (ca, _) = certs::ensure_ca(&hub, "prod").await.unwrap();
    certs::ensure_client_cert(&edge, "prod", "us-east", &ca, false)
        .await
        .unwrap();
    let other = Ca::generate("prod").unwrap();
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &other, false)
            .await
            .unwrap(),
        CertAction::Reissued
    );
}
