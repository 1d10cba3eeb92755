//! A public Grafana (`security.grafana_allow`) in `up` against the fakes: served over HTTPS with a
//! fleet-CA certificate for its LoadBalancer address (the CA is created for it even with mTLS off), the
//! report gives the https URL and the command that writes the CA certificate, never a key, and a re-run
//! writes nothing.

use crate::e2e;
use crate::support;

use base64::Engine;
use e2e::{Dir, FLEET, LABELS};
use lkeobs::pki::{Ca, grafana_sans};
use support::world::{Latencies, World};

fn secret_data(world: &World, ns: &str, name: &str) -> Option<std::collections::BTreeMap<String, Vec<u8>>> {
    let secret = world.k8s("lkeobs-e2e-hub")?.get("v1", "Secret", Some(ns), name)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Some(
        secret["data"]
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), b64.decode(v.as_str().unwrap_or_default()).expect("base64")))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_public_grafana_gets_a_fleet_ca_certificate_for_its_address_and_an_https_url() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let fleet = FLEET.replace("mtls = true", "mtls = false\ngrafana_allow = [\"203.0.113.0/24\"]");
    let dir = Dir::new(&fleet);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify", "--timeout", "5m"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");

    let hub = world.k8s("lkeobs-e2e-hub").expect("hub");
    let svc = hub
        .get("v1", "Service", Some("monitoring"), "grafana")
        .expect("grafana Service");
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    let address = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
        .as_str()
        .expect("grafana LB address")
        .to_string();

    // The certificate chains to the fleet CA and names the LoadBalancer address (and the loopback
    // names port-forward uses); mTLS is off, so there is no gateway or client certificate.
    let ca_data = secret_data(&world, "observability-hub", "lkeobs-ca").expect("fleet CA created for Grafana");
    let ca = Ca::from_secret_data(&ca_data).expect("usable CA");
    let tls = secret_data(&world, "monitoring", "grafana-tls").expect("monitoring/grafana-tls");
    let cert = String::from_utf8(tls["tls.crt"].clone()).expect("pem");
    assert_eq!(String::from_utf8(tls["ca.crt"].clone()).expect("pem"), ca.cert_pem());
    assert!(!tls["tls.key"].is_empty());
    let wanted = grafana_sans(&address).expect("sans");
    assert!(
        !ca.needs_reissue(&cert, &wanted, time::OffsetDateTime::now_utc()),
        "Grafana's certificate does not cover {address}"
    );
    assert!(secret_data(&world, "observability-hub", "otel-gateway-tls").is_none());
    for edge in ["lkeobs-e2e-us", "lkeobs-e2e-eu"] {
        let k8s = world.k8s(edge).expect("edge");
        assert!(
            k8s.get("v1", "Secret", Some("observability"), "otel-client-tls")
                .is_none()
        );
    }

    // The report: an https URL and how to trust the CA; no key, no password.
    assert_eq!(
        report["grafana"]["url"],
        format!("https://{address}:3000"),
        "{report:#}"
    );
    let ca_command = report["grafana"]["ca_command"].as_str().expect("ca_command");
    assert!(
        ca_command.contains("get secret grafana-tls") && ca_command.contains(r"ca\.crt"),
        "{ca_command}"
    );
    let text = report.to_string();
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("admin-password\":"),
        "{text}"
    );

    // Converged: a re-run keeps the certificate and writes nothing.
    e2e::clear_logs(&world);
    let (code, again, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "re-run failed:\n{stderr}\n{again:#}");
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());
    assert_eq!(
        secret_data(&world, "monitoring", "grafana-tls").expect("kept")["tls.crt"],
        tls["tls.crt"]
    );
}
