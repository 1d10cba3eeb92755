//! The Linode client against wiremock on 127.0.0.1: pagination, X-Filter, retries, error
//! messages, lost create answers, deadlines and call counting.

use crate::support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lkeobs::linode::{
    Client, CreateFirewall, CreateLkeCluster, Error, Filter, FirewallAction, FirewallRules, NodePoolSpec,
};
use serde_json::{Value, json};
use support::{FAKE_TOKEN, test_client, test_config};
use tokio::time::Instant;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = test_client(&format!("{}/v4", server.uri()));
    (server, client)
}

fn cluster(id: u64, label: &str) -> Value {
    json!({"id": id, "label": label, "region": "us-ord", "k8s_version": "1.31", "tags": ["lkeobs"]})
}

fn page(data: Vec<Value>, page: u32, pages: u32) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": data, "page": page, "pages": pages, "results": 3}))
}

fn errors(status: u16, items: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "errors": items }))
}

fn cluster_request(label: &str) -> CreateLkeCluster {
    CreateLkeCluster {
        label: label.into(),
        region: "us-ord".into(),
        k8s_version: "1.31".into(),
        node_pools: vec![NodePoolSpec::new("g6-standard-2", 3)],
        tags: vec!["lkeobs".into()],
        control_plane: None,
        tier: None,
    }
}

async fn received(server: &MockServer, verb: &str, p: &str) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == p)
        .count()
}

#[tokio::test]
async fn lists_follow_all_three_pages_with_page_size_500() {
    let (server, client) = server().await;
    for n in 1..=3u32 {
        Mock::given(method("GET"))
            .and(path("/v4/lke/clusters"))
            .and(query_param("page", n.to_string().as_str()))
            .and(query_param("page_size", "500"))
            .respond_with(page(vec![cluster(u64::from(n), &format!("c{n}"))], n, 3))
            .expect(1)
            .mount(&server)
            .await;
    }
    let clusters = client.list_lke_clusters(None).await.unwrap();
    let labels: Vec<_> = clusters.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["c1", "c2", "c3"]);
    assert_eq!(client.api_calls()["GET /lke/clusters"], 3);
}

#[tokio::test]
async fn x_filter_header_is_sent_on_every_page() {
    let (server, client) = server().await;
    // wiremock's `header` matcher splits values on commas, so compare the raw value.
    let filter_is = |want: &'static str| {
        move |r: &wiremock::Request| {
            r.headers
                .get("x-filter")
                .is_some_and(|v| v.as_bytes() == want.as_bytes())
        }
    };
    let want = r#"{"+and":[{"tags":"lkeobs"},{"label":"hub"}]}"#;
    for n in 1..=2u32 {
        Mock::given(method("GET"))
            .and(path("/v4/lke/clusters"))
            .and(query_param("page", n.to_string().as_str()))
            .and(filter_is(want))
            .respond_with(page(vec![cluster(u64::from(n), "hub")], n, 2))
            .expect(1)
            .mount(&server)
            .await;
    }
    let filter = Filter::and([Filter::tag("lkeobs"), Filter::label("hub")]);
    let found = client.list_lke_clusters(Some(&filter)).await.unwrap();
    assert_eq!(found.len(), 2);
}

#[tokio::test]
async fn user_agent_and_bearer_token_are_sent_under_the_base_path() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/regions/us-ord"))
        .and(header("User-Agent", concat!("lkeobs/", env!("CARGO_PKG_VERSION"))))
        .and(header("Authorization", format!("Bearer {FAKE_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "us-ord", "label": "Chicago", "country": "us", "capabilities": ["Kubernetes"], "status": "ok"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let region = client.get_region("us-ord").await.unwrap();
    assert!(region.has_capability("Kubernetes"));
}

#[tokio::test]
async fn rate_limited_request_waits_retry_after_then_succeeds() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters/5"))
        .respond_with(errors(429, json!([{"reason": "Too many requests"}])).insert_header("Retry-After", "0.2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cluster(5, "hub")))
        .mount(&server)
        .await;
    let start = Instant::now();
    let got = client.get_lke_cluster(5).await.unwrap();
    assert_eq!(got.label, "hub");
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "waited only {:?}",
        start.elapsed()
    );
    assert_eq!(client.api_calls()["GET /lke/clusters/{id}"], 2);
}

#[tokio::test]
async fn rate_limited_request_without_retry_after_waits_for_the_reset_epoch() {
    let (server, client) = server().await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    Mock::given(method("GET"))
        .and(path("/v4/lke/versions"))
        .respond_with(
            errors(429, json!([{"reason": "Too many requests"}]))
                .insert_header("X-RateLimit-Reset", (now + 2).to_string().as_str()),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/versions"))
        .respond_with(page(vec![json!({"id": "1.31"})], 1, 1))
        .mount(&server)
        .await;
    let start = Instant::now();
    let versions = client.list_lke_versions().await.unwrap();
    assert_eq!(versions[0].id, "1.31");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "waited only {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn service_unavailable_then_success() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/networking/firewalls/9"))
        .respond_with(errors(503, json!([{"reason": "Service unavailable"}])))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/networking/firewalls/9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9, "label": "fw", "status": "enabled"})))
        .mount(&server)
        .await;
    let fw = client.get_firewall(9).await.unwrap();
    assert_eq!(fw.label, "fw");
    assert_eq!(received(&server, "GET", "/v4/networking/firewalls/9").await, 3);
}

#[tokio::test]
async fn field_errors_become_one_actionable_message() {
    let (server, client) = server().await;
    Mock::given(method("POST"))
        .and(path("/v4/lke/clusters"))
        .respond_with(errors(
            400,
            json!([
                {"field": "region", "reason": "Kubernetes is not available in this region"},
                {"reason": "Something else is wrong"}
            ]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .create_lke_cluster_idempotent(&cluster_request("hub"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST /lke/clusters: region: Kubernetes is not available in this region; Something else is wrong (400)"
    );
    assert!(!err.is_retryable());
    let api = err.api().unwrap();
    assert_eq!(api.errors[0].field.as_deref(), Some("region"));
}

#[tokio::test]
async fn html_bad_gateway_is_reported_without_a_json_error() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/volumes"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    let err = client.list_volumes(None).await.unwrap_err();
    assert_eq!(err.to_string(), "GET /volumes: bad gateway (502), HTML body");
    assert_eq!(
        received(&server, "GET", "/v4/volumes").await,
        6,
        "1 attempt + 5 retries"
    );
}

#[tokio::test]
async fn a_wrong_token_gets_a_clear_401_without_the_token() {
    let server = MockServer::start().await;
    let client = Client::new(test_config(&format!("{}/v4", server.uri()), "wrong-token-abc123")).unwrap();
    Mock::given(method("GET"))
        .and(path("/v4/regions"))
        .respond_with(errors(401, json!([{"reason": "Invalid Token"}])))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.list_regions().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("GET /regions: the Linode API rejected the token (401)"),
        "{text}"
    );
    assert!(text.contains("LINODE_TOKEN"), "{text}");
    assert!(!text.contains("wrong-token-abc123") && !format!("{err:?}").contains("wrong-token-abc123"));
}

#[tokio::test]
async fn a_lost_create_answer_is_looked_up_by_label_without_a_second_post() {
    let server = MockServer::start().await;
    let mut config = test_config(&format!("{}/v4", server.uri()), FAKE_TOKEN);
    config.timeout = Some(Duration::from_millis(300));
    let client = Client::new(config).unwrap();
    Mock::given(method("POST"))
        .and(path("/v4/lke/clusters"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(cluster(42, "hub"))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters"))
        .and(header("X-Filter", r#"{"label":"hub"}"#))
        .respond_with(page(vec![cluster(42, "hub")], 1, 1))
        .expect(1)
        .mount(&server)
        .await;
    let created = client
        .create_lke_cluster_idempotent(&cluster_request("hub"))
        .await
        .unwrap();
    assert_eq!(created.id, 42);
    assert_eq!(received(&server, "POST", "/v4/lke/clusters").await, 1);
}

#[tokio::test]
async fn a_dropped_connection_on_firewall_create_is_looked_up_and_missing_means_the_original_error() {
    let (server, client) = server().await;
    Mock::given(method("POST"))
        .and(path("/v4/networking/firewalls"))
        .respond_with_err(|_: &wiremock::Request| std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/networking/firewalls"))
        .and(header("X-Filter", r#"{"label":"hub-gw"}"#))
        .respond_with(page(
            vec![json!({"id": 3, "label": "hub-gw", "status": "enabled"})],
            1,
            1,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/networking/firewalls"))
        .respond_with(page(vec![], 1, 1))
        .with_priority(6)
        .mount(&server)
        .await;
    let request = |label: &str| CreateFirewall {
        label: label.into(),
        rules: FirewallRules {
            inbound_policy: FirewallAction::Drop,
            inbound: vec![],
            outbound_policy: FirewallAction::Accept,
            outbound: vec![],
        },
        tags: vec![],
        devices: None,
    };
    let fw = client.create_firewall_idempotent(&request("hub-gw")).await.unwrap();
    assert_eq!(fw.id, 3);
    let err = client.create_firewall_idempotent(&request("other")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.to_string().starts_with("POST /networking/firewalls:"), "{err}");
    assert_eq!(received(&server, "POST", "/v4/networking/firewalls").await, 2);
}

#[tokio::test]
async fn a_429_whose_wait_passes_the_deadline_fails_fast_naming_it() {
    let server = MockServer::start().await;
    let mut config = test_config(&format!("{}/v4", server.uri()), FAKE_TOKEN);
    config.deadline = Some(Instant::now() + Duration::from_secs(5));
    let client = Client::new(config).unwrap();
    Mock::given(method("GET"))
        .and(path("/v4/tags"))
        .respond_with(errors(429, json!([{"reason": "Too many requests"}])).insert_header("Retry-After", "60"))
        .mount(&server)
        .await;
    let start = Instant::now();
    let err = client.list_tags().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, Error::Deadline { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("would wait 60.0s, past the command deadline"), "{text}");
    assert!(text.contains("Too many requests (429)"), "{text}");
    assert_eq!(received(&server, "GET", "/v4/tags").await, 1);
}

#[tokio::test]
async fn a_503_in_planned_maintenance_is_not_retried() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/nodebalancers"))
        .respond_with(errors(503, json!([{"reason": "API maintenance"}])).insert_header("X-Maintenance-Mode", "true"))
        .mount(&server)
        .await;
    let err = client.list_nodebalancers(None).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("planned maintenance"), "{err}");
    assert_eq!(received(&server, "GET", "/v4/nodebalancers").await, 1);
}

#[tokio::test]
async fn deletes_treat_404_as_done_and_counts_use_templates() {
    let (server, client) = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v4/lke/clusters/77/pools/5"))
        .respond_with(errors(404, json!([{"reason": "Not found"}])))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v4/tags/my%20tag"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    client.delete_node_pool(77, 5).await.unwrap();
    client.delete_tag("my tag").await.unwrap();
    let calls = client.api_calls();
    assert_eq!(calls["DELETE /lke/clusters/{id}/pools/{id}"], 1);
    assert_eq!(calls["DELETE /tags/{label}"], 1);
    let json = serde_json::to_value(&calls).unwrap();
    assert_eq!(json["DELETE /tags/{label}"], 1);
}

#[tokio::test]
async fn kubeconfig_not_ready_is_an_error_and_waiting_honours_retry_after() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters/8/kubeconfig"))
        .respond_with(
            errors(
                503,
                json!([{"reason": "Cluster kubeconfig is not yet available. Please try again later."}]),
            )
            .insert_header("Retry-After", "1"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters/8/kubeconfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"kubeconfig": "YXBpVmVyc2lvbjogdjE="})))
        .mount(&server)
        .await;
    let err = client.get_kubeconfig(8).await.unwrap_err();
    assert!(err.is_kubeconfig_not_ready(), "{err}");
    let start = Instant::now();
    let yaml = client.wait_kubeconfig(8, Duration::from_secs(30)).await.unwrap();
    assert_eq!(yaml, "apiVersion: v1");
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(received(&server, "GET", "/v4/lke/clusters/8/kubeconfig").await, 3);
}

#[tokio::test]
async fn waiting_for_a_kubeconfig_gives_up_before_the_limit() {
    let (server, client) = server().await;
    Mock::given(method("GET"))
        .and(path("/v4/lke/clusters/8/kubeconfig"))
        .respond_with(
            errors(
                503,
                json!([{"reason": "Cluster kubeconfig is not yet available. Please try again later."}]),
            )
            .insert_header("Retry-After", "52"),
        )
        .mount(&server)
        .await;
    let err = client.wait_kubeconfig(8, Duration::from_secs(10)).await.unwrap_err();
    assert!(matches!(err, Error::Deadline { .. }), "{err}");
    assert!(err.to_string().contains("not yet available"), "{err}");
}
