//! HTTP to a Service through port-forward, against the fake Kubernetes API's WebSocket
//! port-forward (`v4.channel.k8s.io`): the request reaches the stand-in of a Ready pod's container
//! port (named target ports looked up in the pod), a Service without a Ready pod is named, a port
//! nothing listens on says so, a service's error status is an answer, and nothing goes through
//! the API server's service proxy (which the fake, like a default-deny LKE hub, does not serve).

use crate::support;

use lkeobs::k8s::K8sError;
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NS: &str = "observability-hub";

fn setup(fake: &K8sFake) {
    fake.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}));
    fake.put(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "otel-gateway", "namespace": NS},
        "spec": {"selector": {"app": "gw"}, "ports": [
            {"name": "health", "port": 13133, "targetPort": "health"},
            {"name": "otlp-http", "port": 4318, "targetPort": 14318}]}}),
    );
}

/// A pod of the gateway, Ready or not, Ready since `since`.
fn pod(fake: &K8sFake, name: &str, ready: bool, since: &str) {
    fake.put(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "gw"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "otelcol", "image": "otelcol",
            "ports": [{"name": "health", "containerPort": 13133}, {"name": "otlp-local-http", "containerPort": 14318}]}]},
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": since}]}}));
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).expect("request")
}

fn no_proxy(fake: &K8sFake) {
    let proxied: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/proxy"))
        .collect();
    assert!(proxied.is_empty(), "went through the service proxy: {proxied:?}");
}

#[tokio::test]
async fn get_and_post_reach_the_ready_pod_longest_ready_on_its_named_port() {
    let fake = K8sFake::start().await;
    setup(&fake);
    pod(&fake, "gw-new", true, "2025-01-02T00:00:00Z");
    pod(&fake, "gw-old", true, "2025-01-01T00:00:00Z");
    pod(&fake, "gw-down", false, "2024-01-01T00:00:00Z");
    let (old, other) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("GET"))
        .and(path("/health"))
        .and(query_param("verbose", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Server available"})))
        .mount(&old)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/logs"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"resourceLogs":[]}"#))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&old)
        .await;
    fake.stand_in(NS, "gw-old", 13133, *old.address());
    fake.stand_in(NS, "gw-old", 14318, *old.address());
    fake.stand_in(NS, "gw-new", 13133, *other.address());
    fake.stand_in(NS, "gw-down", 13133, *other.address());
    let k8s = fake.k8s();

    let got = k8s
        .forward_http(NS, "otel-gateway", 13133, get("/health?verbose=1"))
        .await
        .expect("an answer");
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let body: Value = serde_json::from_slice(&got.body).expect("json");
    assert_eq!(body["status"], "Server available");

    let post = http::Request::post("/v1/logs")
        .header("content-type", "application/json")
        .body(br#"{"resourceLogs":[]}"#.to_vec())
        .expect("request");
    let posted = k8s
        .forward_http(NS, "otel-gateway", 4318, post)
        .await
        .expect("an answer");
    assert_eq!(posted.status, 200);

    assert!(other.received_requests().await.unwrap_or_default().is_empty());
    let forwards: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/portforward"))
        .map(|r| format!("{} ports={}", r.path, r.query.get("ports").cloned().unwrap_or_default()))
        .collect();
    assert_eq!(
        forwards,
        [
            format!("/api/v1/namespaces/{NS}/pods/gw-old/portforward ports=13133"),
            format!("/api/v1/namespaces/{NS}/pods/gw-old/portforward ports=14318"),
        ]
    );
    no_proxy(&fake);
}

#[tokio::test]
async fn a_service_without_a_ready_pod_is_named() {
    let fake = K8sFake::start().await;
    setup(&fake);
    pod(&fake, "gw-down", false, "2025-01-01T00:00:00Z");
    let err = fake
        .k8s()
        .forward_http(NS, "otel-gateway", 13133, get("/"))
        .await
        .expect_err("no pod to forward to");
    assert!(matches!(err, K8sError::NoReadyPod { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("no ready pod behind {NS}/otel-gateway"));
    let missing = fake
        .k8s()
        .forward_http(NS, "loki", 3100, get("/"))
        .await
        .expect_err("no service");
    assert_eq!(
        missing.to_string(),
        format!("port-forward to {NS}/loki:3100: the service does not exist")
    );
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_the_kubelets_error() {
    let fake = K8sFake::start().await;
    setup(&fake);
    pod(&fake, "gw-0", true, "2025-01-01T00:00:00Z");
    let err = fake
        .k8s()
        .forward_http(NS, "otel-gateway", 13133, get("/"))
        .await
        .expect_err("nothing listens");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "port-forward to {NS}/otel-gateway:13133 (pod gw-0 port 13133): error forwarding port 13133"
        )),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
}

#[tokio::test]
async fn a_services_error_status_is_an_answer_asked_once() {
    let fake = K8sFake::start().await;
    setup(&fake);
    pod(&fake, "gw-0", true, "2025-01-01T00:00:00Z");
    let target = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(ResponseTemplate::new(503).set_body_string("not ready"))
        .mount(&target)
        .await;
    fake.stand_in(NS, "gw-0", 13133, *target.address());
    let answer = fake
        .k8s()
        .forward_http(NS, "otel-gateway", 13133, get("/"))
        .await
        .expect("an answer");
    assert_eq!((answer.status, answer.body.as_slice()), (503, b"not ready".as_slice()));
    assert_eq!(target.received_requests().await.unwrap_or_default().len(), 1);
}

#[tokio::test]
async fn the_service_proxy_times_out_as_on_a_default_deny_hub() {
    let fake = K8sFake::start().await;
    setup(&fake);
    pod(&fake, "gw-0", true, "2025-01-01T00:00:00Z");
    // Asked directly: kube's client would retry a 503 for minutes.
    let url = format!(
        "{}/api/v1/namespaces/{NS}/services/otel-gateway:13133/proxy/",
        fake.uri()
    );
    let answer = fake
        .http()
        .get(&url)
        .bearer_auth(fake.token())
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 503);
    let status: Value = answer.json().await.expect("a Status");
    assert_eq!(status["reason"], "ServiceUnavailable");
    assert!(
        status["message"].as_str().unwrap_or_default().ends_with("i/o timeout"),
        "{status}"
    );
}
