//! The certificates kept in the clusters (fake Kubernetes APIs): the CA created once and reused, leaves
//! kept while good, reissued on rotation with the CA unchanged, a broken CA refused rather than replaced.

use crate::support;

use lkeobs::ops::converge::certs::{self, CertAction};
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

    let ensured = certs::ensure_ca(&hub, "prod", false).await.unwrap();
    let (ca, action) = (ensured.ca, ensured.action);
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
    let ensured = certs::ensure_ca(&hub, "prod", false).await.unwrap();
    let (again, action) = (ensured.ca, ensured.action);
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
    // A CA that is not due stays even with --rotate-certs.
    let after = certs::ensure_ca(&hub, "prod", true).await.unwrap().ca;
    assert_eq!(
        after.fingerprint(),
        ca.fingerprint(),
        "rotation touched a CA that was not due"
    );
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
    let err = match certs::ensure_ca(&hub, "prod", true).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a broken CA was accepted"),
    };
    assert!(err.contains("delete that Secret"), "{err}");
    let still = hub.get_secret("observability-hub", "lkeobs-ca").await.unwrap().unwrap();
    assert_eq!(still["ca.crt"], b"garbage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ca_makes_every_leaf_reissue() {
    let (hub_fake, edge_fake) = (cluster().await, cluster().await);
    let (hub, edge) = (hub_fake.k8s(), edge_fake.k8s());
    let ca = certs::ensure_ca(&hub, "prod", false).await.unwrap().ca;
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

/// A CA made by an older lkeobs (no name constraints) is kept and reported by a plain run, and replaced by
/// `--rotate-certs` with a constrained one; the leaves then follow the new CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconstrained_ca_is_replaced_by_rotate_certs() {
    let (hub_fake, edge_fake) = (cluster().await, cluster().await);
    let (hub, edge) = (hub_fake.k8s(), edge_fake.k8s());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "lkeobs prod CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let old = params.self_signed(&key).unwrap();
    let data = std::collections::BTreeMap::from([
        ("ca.crt".to_string(), old.pem().into_bytes()),
        ("ca.key".to_string(), key.serialize_pem().into_bytes()),
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

    let kept = certs::ensure_ca(&hub, "prod", false).await.unwrap();
    assert_eq!(kept.action, CertAction::Kept);
    assert_eq!(kept.rotation, Some(lkeobs::pki::CaRotation::Unconstrained));
    certs::ensure_client_cert(&edge, "prod", "us-east", &kept.ca, false)
        .await
        .unwrap();

    let rotated = certs::ensure_ca(&hub, "prod", true).await.unwrap();
    assert_eq!(rotated.action, CertAction::Reissued);
    assert_ne!(rotated.ca.fingerprint(), kept.ca.fingerprint());
    assert!(
        rotated.ca.permitted_dns().is_some(),
        "the new CA carries name constraints"
    );
    assert_eq!(rotated.ca.rotation_reason(time::OffsetDateTime::now_utc()), None);
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &rotated.ca, false)
            .await
            .unwrap(),
        CertAction::Reissued,
        "a leaf of the old CA is reissued"
    );
    // The next run keeps the new CA.
    let again = certs::ensure_ca(&hub, "prod", true).await.unwrap();
    assert_eq!(
        (again.action, again.ca.fingerprint()),
        (CertAction::Kept, rotated.ca.fingerprint())
    );
}

/// Certificate Secrets are `kubernetes.io/tls`; an Opaque one left by an older lkeobs is replaced by one
/// (a Secret's type cannot change in place, as the simulated API server enforces too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_secrets_are_kubernetes_io_tls_and_old_opaque_ones_migrate() {
    let (hub_fake, edge_fake) = (cluster().await, cluster().await);
    let (hub, edge) = (hub_fake.k8s(), edge_fake.k8s());
    let ca = certs::ensure_ca(&hub, "prod", false).await.unwrap().ca;
    certs::ensure_gateway_cert(&hub, "prod", &ca, Some("198.51.100.50"), false)
        .await
        .unwrap();
    let (kind, _) = hub
        .get_secret_typed("observability-hub", "otel-gateway-tls")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kind, "kubernetes.io/tls");

    // An older lkeobs' Opaque Secret with a still-good certificate.
    certs::ensure_client_cert(&edge, "prod", "us-east", &ca, false)
        .await
        .unwrap();
    let (_, data) = edge
        .get_secret_typed("observability", "otel-client-tls")
        .await
        .unwrap()
        .unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(edge.client().clone(), "observability");
    api.delete("otel-client-tls", &Default::default()).await.unwrap();
    edge.ensure_secret(
        "observability",
        "otel-client-tls",
        &Default::default(),
        &data,
        lkeobs::k8s::SecretMode::CreateOnly,
    )
    .await
    .unwrap();
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &ca, false)
            .await
            .unwrap(),
        CertAction::Reissued
    );
    let (kind, _) = edge
        .get_secret_typed("observability", "otel-client-tls")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kind, "kubernetes.io/tls");
    assert_eq!(
        certs::ensure_client_cert(&edge, "prod", "us-east", &ca, false)
            .await
            .unwrap(),
        CertAction::Kept
    );
}
