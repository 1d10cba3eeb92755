//! Requests to a Service port through the API server's service proxy (no port-forward needed).

use kube::client::Body;

use super::client::K8s;
use super::error::{K8sError, Result, describe};

/// A service's answer, whatever its status (a 503 from a probe target is an answer, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl ProxyResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/{path}`; `path` may carry a query string.
pub fn proxy_path(namespace: &str, service: &str, port: u16, path: &str) -> String {
    format!(
        "/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{}",
        path.trim_start_matches('/')
    )
}

impl K8s {
    /// GET `path` from port `port` of a Service.
    pub async fn proxy_get(&self, namespace: &str, service: &str, port: u16, path: &str) -> Result<ProxyResponse> {
        let uri = proxy_path(namespace, service, port, path);
        let request = http::Request::get(&uri).body(Vec::new());
        self.proxy_send("GET", uri, request).await
    }

    /// POST `body` (of `content_type`) to `path` on port `port` of a Service.
    pub async fn proxy_post(
        &self,
        namespace: &str,
        service: &str,
        port: u16,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<ProxyResponse> {
        let uri = proxy_path(namespace, service, port, path);
        let request = http::Request::post(&uri)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body);
        self.proxy_send("POST", uri, request).await
    }

    async fn proxy_send(
        &self,
        method: &'static str,
        path: String,
        request: http::Result<http::Request<Vec<u8>>>,
    ) -> Result<ProxyResponse> {
        let fail = |cause: String| K8sError::Proxy {
            method,
            path: path.clone(),
            cause,
        };
        let request = request.map_err(|e| fail(format!("invalid request: {e}")))?;
        let response = self
            .proxy_client()
            .send(request.map(Body::from))
            .await
            .map_err(|e| fail(describe(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| fail(format!("reading the answer: {}", describe(&e))))?;
        Ok(ProxyResponse {
            status,
            body: body.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_path_joins_service_port_and_path() {
        assert_eq!(
            proxy_path("monitoring", "prometheus", 9090, "/api/v1/query?query=up"),
            "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query?query=up"
        );
        assert_eq!(
            proxy_path("observability-hub", "otel-gateway", 13133, ""),
            "/api/v1/namespaces/observability-hub/services/otel-gateway:13133/proxy/"
        );
    }
}
