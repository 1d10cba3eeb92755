//! Port-forward in the simulated Kubernetes API: `pods/NAME/portforward?ports=P` upgraded to a WebSocket
//! speaking `v4.channel.k8s.io`, as the kubelet streams it back through the API server.
//!
//! The protocol: per requested port `i`, channel `2i` carries data and `2i+1` errors; every binary
//! frame starts with its channel byte; the server's first frame on each channel is the port number
//! (two bytes, little endian). The kubelet then dials `localhost:PORT` inside the pod; here the
//! "inside" is a stand-in address registered for `(namespace, pod, port)` or for the workload that
//! controls the pod ([`super::kube::KubeApi::stand_in`]). No stand-in, or one that refuses, is a process not
//! listening on the pod's loopback: an error on the error channel, as the kubelet writes it, then
//! the connection closes. The forward ends when the pod side or the client closes.

use std::sync::Mutex;

use super::pod_port::{PodIo, Target, dial};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::WriteHalf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::kube::{State, lock, status};
use super::kube_spdy;

/// `(namespace, pod or workload, port)` → the stand-in serving it.
pub(crate) type StandIns = std::collections::BTreeMap<(String, String, u16), Target>;

/// The subprotocol the kubelet speaks for port-forward over WebSocket.
pub const PROTOCOL: &str = "v4.channel.k8s.io";

/// An upgrade of a pod's `portforward` subresource: to a WebSocket, or to SPDY/3.1 (`Upgrade: SPDY/3.1`).
pub(crate) fn is_upgrade(req: &hyper::Request<Incoming>) -> bool {
    req.headers().contains_key(http::header::UPGRADE) && req.uri().path().ends_with("/portforward")
}

/// `(namespace, pod)` of `/api/v1/namespaces/NS/pods/NAME/portforward`.
fn pod_of(path: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "namespaces", ns, "pods", name, "portforward"] => Some((ns.to_string(), name.to_string())),
        _ => None,
    }
}

/// Checks the request as the API server and kubelet would, answers 101 and forwards in the background.
pub(crate) fn upgrade(
    state: &Mutex<State>,
    url: &url::Url,
    mut req: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let refuse = |code: u16, reason: &str, message: String| status(code, reason, message).into_response();
    let Some((ns, name)) = pod_of(url.path()) else {
        return refuse(404, "NotFound", format!("no route {}", url.path()));
    };
    let pod = {
        let st = lock(state);
        st.objects
            .get(&(String::new(), "pods".into(), ns.clone(), name.clone()))
            .cloned()
    };
    let Some(pod) = pod else {
        return refuse(404, "NotFound", format!("pods \"{name}\" not found"));
    };
    if pod["spec"]["nodeName"].as_str().unwrap_or_default().is_empty() {
        return refuse(400, "BadRequest", format!("pod {name} does not have a host assigned"));
    }
    let header = |h: http::header::HeaderName| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let stand_ins = lock(state).stand_ins.clone();
    let targets: kube_spdy::Targets = {
        let pod = pod.clone();
        Box::new(move |port| target(&stand_ins, &pod, port))
    };
    if header(http::header::UPGRADE).eq_ignore_ascii_case("SPDY/3.1") {
        return spdy(req, targets);
    }
    let offered = header(http::header::SEC_WEBSOCKET_PROTOCOL);
    let Some(key) = req.headers().get(http::header::SEC_WEBSOCKET_KEY) else {
        return refuse(400, "BadRequest", "no Sec-WebSocket-Key".into());
    };
    let accept = derive_accept_key(key.as_bytes());
    let offers = |p: &str| offered.split(',').any(|o| o.trim() == p);
    if offers(kube_spdy::TUNNEL_PROTOCOL) {
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = on_upgrade.await {
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                kube_spdy::tunnel(ws, targets).await;
            }
        });
        return switching(
            "websocket",
            &[
                (http::header::SEC_WEBSOCKET_PROTOCOL, kube_spdy::TUNNEL_PROTOCOL),
                (http::header::SEC_WEBSOCKET_ACCEPT, &accept),
            ],
        );
    }
    if !offers(PROTOCOL) {
        return refuse(
            400,
            "BadRequest",
            format!(
                "port-forward over WebSocket needs the {PROTOCOL} or {} subprotocol, offered: {offered:?}",
                kube_spdy::TUNNEL_PROTOCOL
            ),
        );
    }
    let ports: Vec<u16> = url
        .query_pairs()
        .filter(|(k, _)| k == "ports")
        .flat_map(|(_, v)| v.split(',').map(|p| p.trim().parse::<u16>()).collect::<Vec<_>>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    if ports.is_empty() {
        return refuse(400, "BadRequest", "at least one port is required (ports=P)".into());
    }
    let targets: Vec<(u16, Result<Target, String>)> = ports.iter().map(|&port| (port, targets(port))).collect();
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            forward(ws, targets).await;
        }
    });
    switching(
        "websocket",
        &[
            (http::header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL),
            (http::header::SEC_WEBSOCKET_ACCEPT, &accept),
        ],
    )
}

/// The 101 answer switching to `protocol`, with `headers`.
fn switching(protocol: &'static str, headers: &[(http::header::HeaderName, &str)]) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(http::header::UPGRADE, http::HeaderValue::from_static(protocol));
    h.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            h.insert(name.clone(), value);
        }
    }
    response
}

/// Port-forward over SPDY/3.1 on the upgraded connection (kubectl's fallback from the WebSocket tunnel).
fn spdy(mut req: hyper::Request<Incoming>, targets: kube_spdy::Targets) -> hyper::Response<Full<Bytes>> {
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            kube_spdy::serve(TokioIo::new(upgraded), targets).await;
        }
    });
    switching(
        "SPDY/3.1",
        &[(
            http::header::HeaderName::from_static("x-stream-protocol-version"),
            kube_spdy::STREAM_PROTOCOL,
        )],
    )
}

/// Where port `port` of a pod is served from: the stand-in registered for the pod, else the one
/// registered for the workload that controls it; the kubelet's refusal when there is none or the pod
/// does not run.
pub(crate) fn target(stand_ins: &StandIns, pod: &Value, port: u16) -> Result<Target, String> {
    let meta = &pod["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or_default().to_string();
    let owner = meta["ownerReferences"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["controller"] == true))
        .and_then(|o| o["name"].as_str());
    let at = |name: &str| stand_ins.get(&(ns.clone(), name.to_string(), port)).cloned();
    meta["name"]
        .as_str()
        .and_then(at)
        .or_else(|| owner.and_then(at))
        .filter(|_| pod["status"]["phase"] == "Running")
        .ok_or_else(|| refused(pod, port))
}

/// The kubelet's message when nothing listens on the pod's loopback at `port`.
fn refused(pod: &Value, port: u16) -> String {
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    format!(
        "error forwarding port {port} to pod {uid}, uid : failed to execute portforward in network namespace of \
         {name}: failed to connect to localhost:{port} inside namespace, IPv4: dial tcp4 127.0.0.1:{port}: \
         connect: connection refused"
    )
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Runs the channels until the pod side or the client closes.
async fn forward(ws: Ws, targets: Vec<(u16, Result<Target, String>)>) {
    let (mut sink, mut stream) = ws.split();
    let (to_client, mut outgoing) = mpsc::channel::<Vec<u8>>(64);
    let mut writers: Vec<Option<WriteHalf<Box<dyn PodIo>>>> = Vec::new();
    for (i, (port, _)) in targets.iter().enumerate() {
        let [lo, hi] = port.to_le_bytes();
        for ch in [2 * i as u8, 2 * i as u8 + 1] {
            if sink.send(Message::binary(vec![ch, lo, hi])).await.is_err() {
                return;
            }
        }
    }
    for (i, (_, target)) in targets.into_iter().enumerate() {
        let data = 2 * i as u8;
        let connected = match target {
            Ok(target) => dial(&target).await,
            Err(e) => Err(e),
        };
        match connected {
            Ok(tcp) => {
                let (mut read, write) = tokio::io::split(tcp);
                writers.push(Some(write));
                let to_client = to_client.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = read.read(&mut buf).await {
                        let mut frame = Vec::with_capacity(n + 1);
                        frame.push(data);
                        frame.extend_from_slice(&buf[..n]);
                        if to_client.send(frame).await.is_err() {
                            return;
                        }
                    }
                    // The pod closed its side: the kubelet ends the stream.
                    let _ = to_client.send(Vec::new()).await;
                });
            }
            Err(message) => {
                writers.push(None);
                let mut frame = vec![data + 1];
                frame.extend_from_slice(message.as_bytes());
                let _ = sink.send(Message::binary(frame)).await;
                let _ = sink.send(Message::Close(None)).await;
                // As the API server does: finish the closing handshake, reading what the client still
                // sends. Dropping the connection with the client's bytes unread would reset it, and a
                // reset can discard the error frame before the client reads it.
                let drain = async {
                    while let Some(Ok(m)) = stream.next().await {
                        if m.is_close() {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
                return;
            }
        }
    }
    drop(to_client);
    loop {
        tokio::select! {
            frame = outgoing.recv() => match frame {
                Some(frame) if !frame.is_empty() => {
                    if sink.send(Message::binary(frame)).await.is_err() {
                        break;
                    }
                }
                _ => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) if bytes.len() > 1 => {
                    let ch = usize::from(bytes[0]);
                    if let Some(Some(w)) = writers.get_mut(ch / 2).filter(|_| ch % 2 == 0)
                        && w.write_all(&bytes[1..]).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    for w in writers.iter_mut().flatten() {
        let _ = w.shutdown().await;
    }
}
