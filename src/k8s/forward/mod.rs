//! HTTP to a port of a Service the way `kubectl port-forward svc/NAME` reaches it: a Ready pod
//! behind the Service ([`target`]), the `pods/NAME/portforward` subresource (a WebSocket through
//! the API server to the kubelet, which dials the port on the pod's loopback inside its network
//! namespace), and one HTTP/1.1 exchange over that stream.
//!
//! Not the API server's service proxy: on LKE the control plane sits outside the pod network, so
//! NetworkPolicies that admit only our namespaces drop every request it proxies. Port-forward
//! never crosses a NetworkPolicy; it only needs the process to listen on the loopback.

pub mod target;

use std::error::Error as _;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::ListParams;
use tokio::io::DuplexStream;

use super::client::K8s;
use super::error::{K8sError, Result, describe};

/// How long closing a finished forward may take before it is left to end on its own.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How long a broken exchange waits for the kubelet's error message, which names the cause.
const ERROR_GRACE: Duration = Duration::from_millis(500);

/// A service's answer, whatever its status (a 503 from a probe target is an answer, not an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub status: u16,
    pub body: Vec<u8>,
}

impl K8s {
    /// Sends `request` (its URI a path and query) to port `port` of Service `namespace/service`
    /// through a port-forward to one of its Ready pods, and reads the whole answer. Fails with
    /// [`K8sError::NoReadyPod`] when the Service selects no Ready pod.
    pub async fn forward_http(
        &self,
        namespace: &str,
        service: &str,
        port: u16,
        request: http::Request<Vec<u8>>,
    ) -> Result<Forwarded> {
        let fail = |target: &str, cause: String| K8sError::PortForward {
            target: target.to_string(),
            cause,
        };
        let at = format!("{namespace}/{service}:{port}");
        let no_pod = || K8sError::NoReadyPod {
            namespace: namespace.into(),
            service: service.into(),
        };
        let services: Api<Service> = Api::namespaced(self.client().clone(), namespace);
        let svc = services
            .get_opt(service)
            .await
            .map_err(|e| fail(&at, format!("reading the service: {}", describe(&e))))?
            .ok_or_else(|| fail(&at, "the service does not exist".into()))?;
        let selector = target::selector(&svc).ok_or_else(no_pod)?;
        let pods: Api<Pod> = Api::namespaced(self.client().clone(), namespace);
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| fail(&at, format!("listing its pods ({selector}): {}", describe(&e))))?;
        let pod = target::pick(&list.items).ok_or_else(no_pod)?;
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let pod_port = target::container_port(&svc, pod, port).map_err(|e| fail(&at, e))?;
        let at = format!("{at} (pod {pod_name} port {pod_port})");
        let mut forwarder = pods
            .portforward(&pod_name, &[pod_port])
            .await
            .map_err(|e| fail(&at, describe(&e)))?;
        let (Some(stream), Some(errors)) = (forwarder.take_stream(pod_port), forwarder.take_error(pod_port)) else {
            forwarder.abort();
            return Err(fail(&at, "the forwarded port has no stream".into()));
        };
        // Fused: polled again after it finished, it stays pending instead of panicking.
        let mut errors = Box::pin(errors.fuse());
        let result = tokio::select! {
            // The kubelet's error (e.g. nothing listens on the loopback) beats the broken
            // exchange it causes.
            biased;
            Some(message) = &mut errors => Err(message),
            answer = exchange(stream, request, pod_port) => answer,
        };
        // The exchange can break a moment before the kubelet's explanation arrives: wait briefly
        // for it, so the reason names the cause rather than the closed stream.
        let result = match result {
            Err(broken) => match tokio::time::timeout(ERROR_GRACE, &mut errors).await {
                Ok(Some(message)) => Err(message),
                _ => Err(broken),
            },
            ok => ok,
        };
        // The stream is dropped: the forwarder closes the WebSocket and ends.
        tokio::spawn(async move {
            if tokio::time::timeout(CLOSE_WAIT, forwarder.join()).await.is_err() {
                tracing::debug!("a finished port-forward did not close within {CLOSE_WAIT:?}");
            }
        });
        result.map_err(|e| fail(&at, e))
    }
}

/// One HTTP/1.1 request and its whole answer over the forwarded stream.
async fn exchange(stream: DuplexStream, request: http::Request<Vec<u8>>, port: u16) -> Result<Forwarded, String> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("starting HTTP: {}", chain(&e)))?;
    let driver = tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    if let Ok(host) = http::HeaderValue::from_str(&format!("localhost:{port}")) {
        parts.headers.insert(http::header::HOST, host);
    }
    let answer = async {
        let response = sender
            .send_request(http::Request::from_parts(parts, Full::new(Bytes::from(body))))
            .await
            .map_err(|e| chain(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {}", chain(&e)))?;
        Ok(Forwarded {
            status,
            body: body.to_bytes().to_vec(),
        })
    }
    .await;
    driver.abort();
    answer
}

/// An error and its causes, `a: b: c`.
fn chain(e: &hyper::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}
