//! Items about the platform itself: account capabilities, metrics-server on LKE's kubelets, GPU nodes,
//! the NodeBalancer's reach and TLS, and the gateway refusing an edge without its password. What only a
//! real cluster can answer is `live_only` (skipped on the simulator with the reason).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod, Secret, Service};
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::discovery::ApiResource;

use crate::live::changes::{clusters_of, wait_for};
use crate::live::harness::Harness;

/// `validate --fleet fleet/prod.toml` with the token: HA control planes and the ACL from `GET /account`,
/// GPU plan availability from `GET /regions/{id}/availability`.
pub fn account_capabilities(h: &mut Harness) {
    h.check(
        "account-capabilities",
        "validate fleet/prod.toml against the account (exit 0)",
        |h| {
            let prod = crate::tooling::fleet("prod");
            let out = h.lkeobs_with(&prod, &["validate"]);
            out.ok("validate fleet/prod.toml")?;
            Ok(crate::live::safety::last_line(&out.stderr).to_string())
        },
    );
}

fn apiservice_resource() -> ApiResource {
    ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
    ))
}

/// metrics-server: `up` registers `v1beta1.metrics.k8s.io` on the hub; on LKE it becomes Available and
/// `kubectl top nodes` answers.
pub fn metrics_server(h: &mut Harness) {
    const ITEM: &str = "metrics-server";
    h.check(ITEM, "up registers APIService v1beta1.metrics.k8s.io on the hub", |h| {
        let api: Api<DynamicObject> = Api::all_with(h.kube("hub")?, &apiservice_resource());
        let svc =
            h.rt.block_on(api.get_opt(lkeobs::objects::METRICS_APISERVICE))
                .map_err(|e| e.to_string())?
                .ok_or("no APIService v1beta1.metrics.k8s.io on the hub")?;
        Ok(format!("spec {}", svc.data["spec"]))
    });
    let why = "the simulator runs no metrics-server and no kubelet it could scrape";
    h.live_only(ITEM, "the APIService is Available", why, |h| {
        let api: Api<DynamicObject> = Api::all_with(h.kube("hub")?, &apiservice_resource());
        let mut last = String::new();
        let available = wait_for(Duration::from_secs(300), Duration::from_secs(10), || {
            let svc =
                h.rt.block_on(api.get(lkeobs::objects::METRICS_APISERVICE))
                    .map_err(|e| e.to_string())?;
            last = svc.data["status"].to_string();
            Ok(svc.data["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Available" && c["status"] == "True")))
        });
        available.map_err(|e| format!("{e}: status {last}"))?;
        Ok(last)
    });
    h.live_only(
        ITEM,
        "the metrics API answers for every node (kubectl top nodes)",
        why,
        |h| {
            let client = h.kube("hub")?;
            let nodes =
                h.rt.block_on(Api::<Node>::all(client.clone()).list(&ListParams::default()))
                    .map_err(|e| e.to_string())?;
            let res = ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                "metrics.k8s.io",
                "v1beta1",
                "NodeMetrics",
            ));
            let res = ApiResource {
                plural: "nodes".into(),
                ..res
            };
            let metrics =
                h.rt.block_on(Api::<DynamicObject>::all_with(client, &res).list(&ListParams::default()))
                    .map_err(|e| format!("list metrics.k8s.io nodes: {e}"))?;
            if metrics.items.len() < nodes.items.len() {
                return Err(format!(
                    "{} of {} nodes have metrics",
                    metrics.items.len(),
                    nodes.items.len()
                ));
            }
            Ok(metrics
                .items
                .iter()
                .map(|m| format!("{} {}", m.metadata.name.clone().unwrap_or_default(), m.data["usage"]))
                .collect::<Vec<_>>()
                .join("\n"))
        },
    );
}

/// The Service `name` of `namespace` in `cluster`.
fn service(h: &Harness, cluster: &str, namespace: &str, name: &str) -> Result<Service, String> {
    let api: Api<Service> = Api::namespaced(h.kube(cluster)?, namespace);
    h.rt.block_on(api.get(name))
        .map_err(|e| format!("{cluster} Service {namespace}/{name}: {e}"))
}

/// The first ingress address of a LoadBalancer Service.
fn lb_address(svc: &Service) -> Option<String> {
    let ingress = svc.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?;
    ingress.iter().find_map(|i| i.ip.clone())
}

/// A key of a Secret, as bytes (never printed).
fn secret_key(h: &Harness, cluster: &str, namespace: &str, name: &str, key: &str) -> Result<Vec<u8>, String> {
    let api: Api<Secret> = Api::namespaced(h.kube(cluster)?, namespace);
    let s =
        h.rt.block_on(api.get(name))
            .map_err(|e| format!("{cluster} Secret {namespace}/{name}: {e}"))?;
    s.data
        .and_then(|mut d| d.remove(key))
        .map(|b| b.0)
        .ok_or_else(|| format!("{cluster} Secret {namespace}/{name} has no {key}"))
}

/// NodeBalancer backend range and TLS: Grafana's NodePort on a node's public address does not answer
/// (Calico admits only the NodeBalancer's 192.168.255.0/24), and Grafana answers over HTTPS with the
/// fleet CA through its NodeBalancer (the run's `grafana_allow`).
pub fn nodebalancer_tls(h: &mut Harness) {
    const ITEM: &str = "nodebalancer-tls";
    let why = "reachability from the internet and the NodeBalancer's source range are the real network's";
    h.live_only(
        ITEM,
        "Grafana's NodePort on a node's public address does not answer",
        why,
        |h| {
            let svc = service(h, "hub", lkeobs::objects::MONITORING, "grafana")?;
            let node_port = svc
                .spec
                .as_ref()
                .and_then(|s| s.ports.as_ref())
                .and_then(|p| p.iter().find_map(|p| p.node_port))
                .ok_or("Grafana's Service has no NodePort")?;
            let nodes =
                h.rt.block_on(Api::<Node>::all(h.kube("hub")?).list(&ListParams::default()))
                    .map_err(|e| e.to_string())?;
            let ip = nodes
                .items
                .iter()
                .flat_map(|n| n.status.iter().flat_map(|s| s.addresses.iter().flatten()))
                .find(|a| a.type_ == "ExternalIP" && !a.address.contains(':'))
                .map(|a| a.address.clone())
                .ok_or("no node has an IPv4 ExternalIP")?;
            let addr: std::net::SocketAddr = format!("{ip}:{node_port}").parse().map_err(|e| format!("{e}"))?;
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
                Ok(_) => Err(format!("{addr} accepted a connection from this runner")),
                Err(e) => Ok(format!("{addr}: {e}")),
            }
        },
    );
    h.live_only(
        ITEM,
        "Grafana answers /api/health over HTTPS with the fleet CA",
        why,
        |h| {
            let svc = service(h, "hub", lkeobs::objects::MONITORING, "grafana")?;
            let ip = lb_address(&svc).ok_or("Grafana's Service has no LoadBalancer address")?;
            let ca = secret_key(
                h,
                "hub",
                lkeobs::objects::CA_SECRET.namespace,
                lkeobs::objects::CA_SECRET.name,
                "ca.crt",
            )?;
            lkeobs::tls::install_crypto_provider();
            let cert = reqwest::Certificate::from_pem(&ca).map_err(|e| format!("the fleet CA: {e}"))?;
            let client = reqwest::Client::builder()
                .tls_certs_only([cert])
                .timeout(Duration::from_secs(20))
                .build()
                .map_err(|e| e.to_string())?;
            let url = format!("https://{ip}:3000/api/health");
            let r =
                h.rt.block_on(client.get(&url).send())
                    .map_err(|e| format!("{url}: {e:#}"))?;
            if !r.status().is_success() {
                return Err(format!("{url}: {}", r.status()));
            }
            Ok(format!("{url}: {}", r.status()))
        },
    );
}

/// Edge identity: the gateway's logs show no configuration error, and an OTLP/gRPC request with an
/// edge's client certificate but without its password is refused `Unauthenticated` (with it: accepted).
pub fn edge_refusal(h: &mut Harness) {
    const ITEM: &str = "edge-identity";
    let why =
        "the simulator runs no otelcol-contrib: its basicauth extension and config parsing are the real collector's";
    h.live_only(ITEM, "the gateway's logs show no configuration error", why, |h| {
        let ns = lkeobs::objects::GATEWAY.namespace;
        let api: Api<Pod> = Api::namespaced(h.kube("hub")?, ns);
        let pods =
            h.rt.block_on(api.list(&ListParams::default().labels("app.kubernetes.io/name=otel-gateway")))
                .map_err(|e| e.to_string())?;
        if pods.items.is_empty() {
            return Err("no otel-gateway pod".into());
        }
        for p in &pods.items {
            let name = p.metadata.name.clone().unwrap_or_default();
            let logs =
                h.rt.block_on(api.logs(&name, &LogParams::default()))
                    .map_err(|e| format!("logs of {name}: {e}"))?;
            for needle in [
                "invalid configuration",
                "failed to get config",
                "error decoding",
                "cannot unmarshal",
            ] {
                if let Some(line) = logs.lines().find(|l| l.contains(needle)) {
                    return Err(format!("{name}: {line}"));
                }
            }
        }
        Ok(format!("{} gateway pod(s), no configuration error", pods.items.len()))
    });
    h.live_only(
        ITEM,
        "the gateway refuses an edge's certificate without its password",
        why,
        |h| {
            let edge = clusters_of(h)
                .into_iter()
                .find(|c| c != "hub")
                .ok_or("the fleet has no edge")?;
            let gw = lkeobs::objects::GATEWAY_LB;
            let ip = lb_address(&service(h, "hub", gw.namespace, gw.name)?).ok_or("the gateway has no address")?;
            let tls = lkeobs::objects::CLIENT_TLS_SECRET;
            let mut pem = secret_key(h, &edge, tls.namespace, tls.name, "tls.crt")?;
            pem.extend(secret_key(h, &edge, tls.namespace, tls.name, "tls.key")?);
            let ca = secret_key(h, &edge, tls.namespace, tls.name, "ca.crt")?;
            let auth = lkeobs::objects::EDGE_AUTH_SECRET;
            let user = secret_key(h, &edge, auth.namespace, auth.name, "username")?;
            let password = secret_key(h, &edge, auth.namespace, auth.name, "password")?;
            lkeobs::tls::install_crypto_provider();
            let client = reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(&ca).map_err(|e| format!("CA: {e}"))?])
                .identity(reqwest::Identity::from_pem(&pem).map_err(|e| format!("client certificate: {e}"))?)
                .http2_prior_knowledge()
                .timeout(Duration::from_secs(20))
                .build()
                .map_err(|e| e.to_string())?;
            let url = format!("https://{ip}:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export");
            // One gRPC message: not compressed, length 0 (an empty ExportTraceServiceRequest).
            let send = |basic: Option<String>| {
                let mut req = client
                    .post(&url)
                    .header("content-type", "application/grpc")
                    .header("te", "trailers")
                    .body(vec![0u8; 5]);
                if let Some(b) = basic {
                    req = req.header("authorization", format!("Basic {b}"));
                }
                h.rt.block_on(req.send()).map_err(|e| format!("{url}: {e:#}"))
            };
            let grpc_status = |r: &reqwest::Response| {
                r.headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_string()
            };
            let refused = send(None)?;
            if grpc_status(&refused) != "16" {
                return Err(format!(
                    "without the password: HTTP {} grpc-status {} (want 16 Unauthenticated)",
                    refused.status(),
                    grpc_status(&refused)
                ));
            }
            use base64::Engine as _;
            let mut userpass = user;
            userpass.push(b':');
            userpass.extend(password);
            let accepted = send(Some(base64::engine::general_purpose::STANDARD.encode(userpass)))?;
            if !accepted.status().is_success() || grpc_status(&accepted) != "0" {
                return Err(format!(
                    "with the password (the control): HTTP {} grpc-status {}",
                    accepted.status(),
                    grpc_status(&accepted)
                ));
            }
            Ok(format!(
                "{edge}: refused Unauthenticated without the password, accepted with it"
            ))
        },
    );
}
