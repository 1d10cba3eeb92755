//! The simulator's HTTP server: hyper on 127.0.0.1 only, HTTP/1.1 with connection upgrades.
//!
//! One server type serves both the Linode API and each simulated cluster's Kubernetes API: a
//! [`Handler`] first gets the chance to take a connection upgrade (the Kubernetes port-forward),
//! otherwise the request body is read in full and the handler answers it with a [`Reply`]. Every
//! answer carries [`SIM_HEADER`], so a client can tell it talks to the simulator.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use super::guard::{Bodies, Guard, MAX_BODY};

/// The header every answer of the simulator carries (value `1`).
pub const SIM_HEADER: &str = "x-lkeobs-sim";

/// A request as a handler sees it (the body read in full; upgrades never get here).
#[derive(Debug, Clone)]
pub struct Request {
    /// The HTTP method.
    pub method: http::Method,
    /// The full URL, as if on `http://127.0.0.1`.
    pub url: url::Url,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's value (the first), or empty.
    pub fn query(&self, key: &str) -> String {
        self.url
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }
}

/// An answer: status, headers, body, and an optional pause before it is sent.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content_type: Option<String>,
    delay: Option<Duration>,
}

impl Reply {
    /// An empty answer with `status`.
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
            delay: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body as sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// A JSON body (`application/json`).
    pub fn set_body_json(mut self, body: impl serde::Serialize) -> Reply {
        self.body = serde_json::to_vec(&body).unwrap_or_default();
        self.content_type = Some("application/json".into());
        self
    }

    /// A text body (`text/plain`).
    pub fn set_body_string(self, body: impl Into<String>) -> Reply {
        self.set_body_raw(body.into().into_bytes(), "text/plain; charset=utf-8")
    }

    /// A body of any content type.
    pub fn set_body_raw(mut self, body: impl Into<Vec<u8>>, content_type: &str) -> Reply {
        self.body = body.into();
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds a header.
    pub fn insert_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends the answer only after `delay` (a slow or lost answer).
    pub fn set_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// The hyper response (the delay is the server's to honour).
    pub fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::OK);
        let headers = response.headers_mut();
        if let Some(ct) = self.content_type.and_then(|ct| http::HeaderValue::from_str(&ct).ok()) {
            headers.insert(http::header::CONTENT_TYPE, ct);
        }
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        headers.insert(SIM_HEADER, http::HeaderValue::from_static("1"));
        response
    }
}

/// What a simulated server does with its requests.
pub trait Handler: Send + Sync + 'static {
    /// Whether this request is a connection upgrade the handler takes (answered by [`Handler::upgrade`]).
    fn is_upgrade(&self, _req: &hyper::Request<Incoming>) -> bool {
        false
    }

    /// Answers a connection upgrade.
    fn upgrade(&self, _req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        Reply::new(404).into_response()
    }

    /// Answers a request.
    fn handle(&self, req: &Request) -> Reply;
}

/// Binds `port` (0: any free one) on 127.0.0.1, the only address the simulator listens on.
pub async fn bind_loopback(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

/// Serves `handler` on `listener` until the returned task is aborted, every request first held to
/// `guard` (its `Host`, token, content type and body size).
pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>, guard: Guard) -> JoinHandle<()> {
    serve_with(listener, handler, guard, None)
}

/// As [`serve`], every connection over TLS with `tls` (a client that fails the handshake is dropped).
pub fn serve_tls(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    guard: Guard,
    tls: tokio_rustls::TlsAcceptor,
) -> JoinHandle<()> {
    serve_with(listener, handler, guard, Some(tls))
}

/// Serves one connection `io` (an in-memory one) with `handler`, held to `guard`.
pub(crate) fn serve_io<IO>(io: IO, handler: Arc<dyn Handler>, guard: Guard)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(connection(io, handler, Arc::new(guard)));
}

/// Serves one connection until the client goes (a client that goes away mid-request is no error of the
/// simulator's).
async fn connection<IO>(io: IO, handler: Arc<dyn Handler>, guard: Arc<Guard>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(handler.clone(), guard.clone(), req));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
}

fn serve_with(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    guard: Guard,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> JoinHandle<()> {
    let guard = Arc::new(guard);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (handler, guard, tls) = (handler.clone(), guard.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => connection(tcp, handler, guard).await,
                    // A client that fails the handshake is dropped.
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(tcp).await {
                            connection(stream, handler, guard).await;
                        }
                    }
                }
            });
        }
    })
}

async fn handle(
    handler: Arc<dyn Handler>,
    guard: Arc<Guard>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if let Err(refusal) = guard.check(req.method(), req.headers()) {
        return Ok(refusal.reply(guard.bodies == Bodies::Kubernetes).into_response());
    }
    if handler.is_upgrade(&req) {
        return Ok(handler.upgrade(req));
    }
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{}", req.uri())) else {
        return Ok(Reply::new(400).into_response());
    };
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Ok(Reply::new(413).into_response());
        }
        Err(_) => return Ok(Reply::new(400).into_response()),
    };
    let request = Request {
        method: parts.method,
        url,
        headers: parts.headers,
        body,
    };
    let reply = handler.handle(&request);
    if let Some(delay) = reply.delay {
        // The behaviour simulated, not a synchronisation: an empty watch held open, a lost answer.
        tokio::time::sleep(delay).await;
    }
    Ok(reply.into_response())
}
