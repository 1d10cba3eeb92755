//! The fake Kubernetes API's HTTP server: hyper on 127.0.0.1, HTTP/1.1 with connection upgrades.
//!
//! Every request is logged, then routed as an API server routes it: `pods/NAME/portforward`
//! upgrades to the WebSocket port-forward protocol ([`super::k8s_fake_portforward`]); the service
//! proxy (`services/NAME:PORT/proxy/…`) fails the way it fails on an LKE hub, whose control plane
//! sits outside the pod network so that default-deny NetworkPolicies drop what it proxies; every
//! other request goes to the REST handler over the stored objects ([`super::k8s_fake_routes`]).
//! The router takes the shared state only, so a simulator can serve it on a port of its own.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::k8s_fake::{Logged, State, lock, status};
use super::k8s_fake_portforward;

/// A request as the router sees it (the body read in full; upgrades never get here).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: http::Method,
    pub url: url::Url,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// An answer: status, body, content type, and an optional pause before it is sent.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: Option<String>,
    delay: Option<Duration>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            content_type: None,
            delay: None,
        }
    }

    pub fn set_body_json(mut self, body: impl serde::Serialize) -> Reply {
        self.body = serde_json::to_vec(&body).unwrap_or_default();
        self.content_type = Some("application/json".into());
        self
    }

    pub fn set_body_raw(mut self, body: impl Into<Vec<u8>>, content_type: &str) -> Reply {
        self.body = body.into();
        self.content_type = Some(content_type.into());
        self
    }

    pub fn set_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    pub(super) fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::OK);
        if let Some(ct) = self.content_type.and_then(|ct| http::HeaderValue::from_str(&ct).ok()) {
            response.headers_mut().insert(http::header::CONTENT_TYPE, ct);
        }
        response
    }
}

/// Serves `state` on a fresh port of 127.0.0.1 until the returned task is aborted.
pub(super) async fn start(state: Arc<Mutex<State>>) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake API server");
    let addr = listener.local_addr().expect("the fake API server's address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(state.clone(), req));
                // A client that goes away mid-request is no error of the fake's.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, task)
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{}", req.uri())) else {
        return Ok(Reply::new(400).into_response());
    };
    if k8s_fake_portforward::is_upgrade(&req) {
        log(&state, req.method().as_str(), &url, req.headers(), &[]);
        return Ok(k8s_fake_portforward::upgrade(&state, &url, req));
    }
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => return Ok(Reply::new(400).into_response()),
    };
    let request = Request {
        method: parts.method,
        url,
        headers: parts.headers,
        body,
    };
    log(
        &state,
        request.method.as_str(),
        &request.url,
        &request.headers,
        &request.body,
    );
    let reply = route(&state, &request);
    if let Some(delay) = reply.delay {
        // The behaviour imitated, not a synchronisation: an empty watch held open (WATCH_PAUSE), a
        // slow answer a test asked for.
        tokio::time::sleep(delay).await;
    }
    Ok(reply.into_response())
}

/// Every request but port-forward upgrades.
pub(super) fn route(state: &Mutex<State>, req: &Request) -> Reply {
    if let Some(service) = service_proxy(req.url.path()) {
        // The API server dials the Service's endpoint from outside the pod network; the hub's
        // default-deny policies drop it, and the dial times out.
        return status(
            503,
            "ServiceUnavailable",
            format!("error trying to reach service: dial tcp {service}: i/o timeout"),
        );
    }
    super::k8s_fake_routes::respond(state, req)
}

/// `NAME:PORT` of a service-proxy path.
fn service_proxy(path: &str) -> Option<&str> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "namespaces", _, "services", service, "proxy", ..] => Some(service),
        _ => None,
    }
}

fn log(state: &Mutex<State>, method: &str, url: &url::Url, headers: &http::HeaderMap, body: &[u8]) {
    let query: BTreeMap<String, String> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    lock(state).log.push(Logged {
        method: method.to_string(),
        path: url.path().to_string(),
        query,
        content_type,
        body: String::from_utf8_lossy(body).into_owned(),
    });
}
