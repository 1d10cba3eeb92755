//! How probes reach an HTTP service: through a port-forward to a Ready pod behind a cluster's
//! Service (production; never the API server's service proxy, which LKE's NetworkPolicies block),
//! or at a plain base URL (tests against a real Prometheus on 127.0.0.1).

use std::time::Duration;

use crate::k8s::K8s;
use crate::objects::{self, Named};

/// How long one request may take before the probe gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `answered 404: <the body's first 200 characters>`, or `answered 404 with an empty body`.
    pub fn answered(&self) -> String {
        let body = self.excerpt(200);
        if body.is_empty() {
            format!("answered {} with an empty body", self.status)
        } else {
            format!("answered {}: {body}", self.status)
        }
    }

    /// The body as text, cut to `max` characters (for error details).
    pub fn excerpt(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.chars().count() > max {
            format!("{}…", text.chars().take(max).collect::<String>())
        } else {
            text.to_string()
        }
    }
}

/// One HTTP service.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `namespace/service:port` through a port-forward to one of the Service's Ready pods; every path is
    /// sent under `prefix` (Mimir's `/prometheus`; empty for the others).
    Service {
        k8s: K8s,
        namespace: &'static str,
        service: &'static str,
        port: u16,
        prefix: &'static str,
    },
    /// A base URL such as `http://127.0.0.1:9090` (no trailing slash needed).
    Http { base: String, client: reqwest::Client },
}

impl Backend {
    /// A well-known Service's `port`, through a port-forward to a Ready pod behind it.
    pub fn service(k8s: &K8s, service: Named, port: u16) -> Backend {
        Backend::service_under(k8s, service, port, "")
    }

    /// [`Backend::service`] with every path sent under `prefix` (e.g. Mimir's `/prometheus`).
    pub fn service_under(k8s: &K8s, service: Named, port: u16, prefix: &'static str) -> Backend {
        Backend::Service {
            k8s: k8s.clone(),
            namespace: service.namespace,
            service: service.name,
            port,
            prefix,
        }
    }

    /// A backend at a plain base URL.
    pub fn http(base: &str) -> Result<Backend, String> {
        crate::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Backend::Http {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// `service monitoring/prometheus:9090` or the base URL, for messages.
    pub fn describe(&self) -> String {
        match self {
            Backend::Service {
                namespace,
                service,
                port,
                prefix,
                ..
            } => format!("service {namespace}/{service}:{port}{prefix}"),
            Backend::Http { base, .. } => base.clone(),
        }
    }

    /// GET `path` (with its query string).
    pub async fn get(&self, path: &str) -> Result<Reply, String> {
        self.send(path, None, None).await
    }

    /// GET `path` asking for JSON (`Accept: application/json`: the engines' ring pages answer HTML without it).
    pub async fn get_json(&self, path: &str) -> Result<Reply, String> {
        self.send(path, None, Some("application/json")).await
    }

    /// POST `body` of `content_type` to `path`.
    pub async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<Reply, String> {
        self.send(path, Some((content_type, body)), None).await
    }

    async fn send(&self, path: &str, post: Option<(&str, Vec<u8>)>, accept: Option<&str>) -> Result<Reply, String> {
        let method = if post.is_some() { "POST" } else { "GET" };
        let what = format!("{method} {} {}", self.describe(), path_only(path));
        let request = async {
            match self {
                Backend::Service {
                    k8s,
                    namespace,
                    service,
                    port,
                    prefix,
                } => {
                    let uri = format!("{prefix}/{}", path.trim_start_matches('/'));
                    let mut builder = match post {
                        None => http::Request::get(uri),
                        Some((ct, _)) => http::Request::post(uri).header(http::header::CONTENT_TYPE, ct),
                    };
                    if let Some(accept) = accept {
                        builder = builder.header(http::header::ACCEPT, accept);
                    }
                    let request = builder
                        .body(post.map(|(_, body)| body).unwrap_or_default())
                        .map_err(|e| format!("invalid request: {e}"))?;
                    k8s.forward_http(namespace, service, *port, request)
                        .await
                        .map(|r| Reply {
                            status: r.status,
                            body: r.body,
                        })
                        .map_err(|e| e.to_string())
                }
                Backend::Http { base, client } => {
                    let url = format!("{base}/{}", path.trim_start_matches('/'));
                    let mut request = match post {
                        None => client.get(&url),
                        Some((ct, body)) => client.post(&url).header("content-type", ct).body(body),
                    };
                    if let Some(accept) = accept {
                        request = request.header("accept", accept);
                    }
                    let response = request.send().await.map_err(|e| e.to_string())?;
                    let status = response.status().as_u16();
                    let body = response.bytes().await.map_err(|e| e.to_string())?;
                    Ok(Reply {
                        status,
                        body: body.to_vec(),
                    })
                }
            }
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(format!("{what}: {e}")),
            Err(_) => Err(format!("{what}: no answer within {}s", REQUEST_TIMEOUT.as_secs())),
        }
    }
}

/// The path without its query string (queries can be long; messages name the endpoint).
fn path_only(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// `key=value&…`, form-encoded.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The hub's backends and each edge's agent, as the probes reach them.
#[derive(Clone, Debug)]
pub struct Backends {
    /// The Prometheus API: `monitoring/prometheus:9090`, or Mimir's `monitoring/mimir:8080/prometheus`
    /// on an `ha` hub.
    pub prometheus: Backend,
    /// `monitoring/loki:3100`.
    pub loki: Backend,
    /// `monitoring/tempo:3200`.
    pub tempo: Backend,
    /// The gateway's health check, `observability-hub/otel-gateway:13133`.
    pub gateway_health: Backend,
}

impl Backends {
    /// Through port-forwards to the pods of the hub of `fleet` (its mode says which metrics store).
    pub fn of_hub(hub: &K8s, fleet: &crate::fleet::Fleet) -> Backends {
        let mut b = Backends::through_port_forward(hub);
        if fleet.hub_mode.ha().is_some() {
            b.prometheus = Backend::service_under(
                hub,
                objects::MIMIR,
                objects::MIMIR_HTTP_PORT,
                objects::MIMIR_PROMETHEUS_PREFIX,
            );
        }
        b
    }

    /// Through port-forwards to the pods of a hub in mode "single".
    pub fn through_port_forward(hub: &K8s) -> Backends {
        Backends {
            prometheus: Backend::service(hub, objects::PROMETHEUS, 9090),
            loki: Backend::service(hub, objects::LOKI, 3100),
            tempo: Backend::service(hub, objects::TEMPO, 3200),
            gateway_health: Backend::service(hub, objects::GATEWAY, 13133),
        }
    }
}

/// An edge's agent OTLP/HTTP receiver, `observability/otel-agent:4318`.
pub fn agent(k8s: &K8s) -> Backend {
    Backend::service(k8s, objects::AGENT, 4318)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_form_encoded() {
        assert_eq!(
            query_string(&[("query", "{cluster_id=\"a b\"}"), ("limit", "1")]),
            "query=%7Bcluster_id%3D%22a+b%22%7D&limit=1"
        );
    }

    #[test]
    fn excerpts_are_cut() {
        let r = Reply {
            status: 500,
            body: b"  abcdef  ".to_vec(),
        };
        assert_eq!(r.excerpt(3), "abc…");
        assert_eq!(r.excerpt(10), "abcdef");
        assert_eq!(r.answered(), "answered 500: abcdef");
        let empty = Reply {
            status: 404,
            body: Vec::new(),
        };
        assert_eq!(empty.answered(), "answered 404 with an empty body");
    }
}
