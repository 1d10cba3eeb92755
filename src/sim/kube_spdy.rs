//! Port-forward as kubectl speaks it: SPDY/3.1 streams (`portforward.k8s.io`) over the upgraded
//! connection, or tunnelled in WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`, which kubectl
//! 1.31+ tries first). Per forwarded connection the client opens an error stream and a data stream
//! (headers `streamType`, `port`, `requestID`); the simulated kubelet dials the pod's port (its
//! stand-in, [`super::kube_portforward::target`]), copies bytes both ways, writes a failure to the
//! error stream, and closes both streams when done, as the kubelet's `httpStreamHandler` does.

use std::collections::{BTreeMap, HashMap};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// The WebSocket subprotocol of SPDY tunnelled through WebSocket.
pub(crate) const TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// The stream protocol of port-forward over SPDY (`X-Stream-Protocol-Version`).
pub(crate) const STREAM_PROTOCOL: &str = "portforward.k8s.io";

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FIN: u8 = 0x01;

/// The header names of SPDY/3's compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1), each
/// preceded by its length as a 32-bit big-endian number; the dictionary's text follows them.
const DICTIONARY_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

const DICTIONARY_TEXT: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized",
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,",
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in DICTIONARY_WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(DICTIONARY_TEXT.as_bytes());
    d
}

/// The connection's two header compression contexts (one zlib stream per direction, with the dictionary).
struct Headers {
    inflate: Decompress,
    deflate: Compress,
    dictionary: Vec<u8>,
    deflate_primed: bool,
}

impl Headers {
    fn new() -> Headers {
        Headers {
            inflate: Decompress::new(true),
            deflate: Compress::new(Compression::default(), true),
            dictionary: dictionary(),
            deflate_primed: false,
        }
    }

    /// The name/value pairs of a compressed header block.
    fn decode(&mut self, mut block: &[u8]) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        while !block.is_empty() {
            out.reserve(4096);
            let (before, made) = (self.inflate.total_in(), out.len());
            let result = self.inflate.decompress_vec(block, &mut out, FlushDecompress::Sync);
            let taken = (self.inflate.total_in() - before) as usize;
            block = &block[taken..];
            if taken == 0 && out.len() == made && result.is_ok() {
                return Err("header block: no progress".into());
            }
            match result {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(&self.dictionary)
                        .map_err(|e| format!("header dictionary: {e}"))?;
                }
                Err(e) => return Err(format!("header block: {e}")),
            }
        }
        parse_block(&out).ok_or_else(|| "header block too short".to_string())
    }

    /// A compressed header block of `pairs`.
    fn encode(&mut self, pairs: &[(&str, &str)]) -> Vec<u8> {
        if !self.deflate_primed {
            // Announces the dictionary in the zlib header (FDICT), as the Go framer's writer does.
            let _ = self.deflate.set_dictionary(&self.dictionary);
            self.deflate_primed = true;
        }
        let mut plain = (pairs.len() as u32).to_be_bytes().to_vec();
        for (k, v) in pairs {
            for s in [k, v] {
                plain.extend_from_slice(&(s.len() as u32).to_be_bytes());
                plain.extend_from_slice(s.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut input = plain.as_slice();
        loop {
            out.reserve(256);
            let before = self.deflate.total_in();
            if self.deflate.compress_vec(input, &mut out, FlushCompress::Sync).is_err() {
                break;
            }
            input = &input[(self.deflate.total_in() - before) as usize..];
            // Done once all input is taken and the sync flush fitted (spare room left).
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        out
    }
}

/// The name/value pairs of an uncompressed header block: a count, then length-prefixed names and values.
fn parse_block(b: &[u8]) -> Option<Vec<(String, String)>> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = b.get(at..at + n)?;
        at += n;
        Some(s)
    };
    let count = be32(take(4)?) as usize;
    let mut pairs = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let n = be32(take(4)?) as usize;
        let name = String::from_utf8_lossy(take(n)?).to_lowercase();
        let n = be32(take(4)?) as usize;
        let value = String::from_utf8_lossy(take(n)?).into_owned();
        pairs.push((name, value));
    }
    Some(pairs)
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80, 0x03];
    f.extend_from_slice(&kind.to_be_bytes());
    f.extend_from_slice(&((u32::from(flags) << 24) | body.len() as u32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn data(stream: u32, flags: u8, bytes: &[u8]) -> Vec<u8> {
    let mut f = (stream & 0x7fff_ffff).to_be_bytes().to_vec();
    f.extend_from_slice(&((u32::from(flags) << 24) | bytes.len() as u32).to_be_bytes());
    f.extend_from_slice(bytes);
    f
}

/// One frame as read: a control frame `(type, body)` or a data frame `(stream, flags, data)`.
enum Frame {
    Control(u16, Vec<u8>),
    Data(u32, u8, Vec<u8>),
}

async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Frame> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head).await?;
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(if head[0] & 0x80 != 0 {
        Frame::Control(u16::from_be_bytes([head[2], head[3]]), body)
    } else {
        Frame::Data(u32::from_be_bytes([head[0], head[1], head[2], head[3]]), flags, body)
    })
}

fn be32(b: &[u8]) -> u32 {
    b.get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
}

/// Where each port of the pod leads: its stand-in, or the kubelet's refusal.
pub(crate) type Targets = Box<dyn Fn(u16) -> Result<super::pod_port::Target, String> + Send>;

/// One forwarded connection's two streams, paired by `requestID`.
#[derive(Default)]
struct Pair {
    error: Option<u32>,
    data: Option<u32>,
    port: u16,
}

/// Runs port-forward streams on `io` until the client goes away.
pub(crate) async fn serve<IO>(io: IO, targets: Targets)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut read, mut write) = tokio::io::split(io);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(64);
    let (in_tx, mut in_rx) = mpsc::channel::<Frame>(64);
    tokio::spawn(async move {
        while let Ok(frame) = read_frame(&mut read).await {
            if in_tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    let mut headers = Headers::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    // Data stream id → the writer to the pod's port (None once the client finished sending).
    let mut pods: BTreeMap<u32, mpsc::Sender<Option<Vec<u8>>>> = BTreeMap::new();
    loop {
        tokio::select! {
            frame = in_rx.recv() => match frame {
                None | Some(Frame::Control(GOAWAY, _)) => break,
                Some(Frame::Control(SYN_STREAM, body)) => {
                    let stream = be32(&body);
                    let Ok(h) = headers.decode(body.get(10..).unwrap_or_default()) else { break };
                    let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                    let reply = headers.encode(&[]);
                    let mut body = stream.to_be_bytes().to_vec();
                    body.extend_from_slice(&reply);
                    if write.write_all(&control(SYN_REPLY, 0, &body)).await.is_err() {
                        break;
                    }
                    let pair = pairs.entry(get("requestid")).or_default();
                    pair.port = get("port").parse().unwrap_or(0);
                    match get("streamtype").as_str() {
                        "error" => pair.error = Some(stream),
                        _ => pair.data = Some(stream),
                    }
                    if let Pair { error: Some(error), data: Some(data), port } = *pair {
                        let (tx, rx) = mpsc::channel(64);
                        pods.insert(data, tx);
                        tokio::spawn(forward(targets(port), error, data, rx, out_tx.clone()));
                    }
                }
                Some(Frame::Control(PING, body)) => {
                    if write.write_all(&control(PING, 0, &body)).await.is_err() {
                        break;
                    }
                }
                Some(Frame::Control(RST_STREAM, body)) => {
                    pods.remove(&be32(&body));
                }
                Some(Frame::Control(..)) => {}
                Some(Frame::Data(stream, flags, bytes)) => {
                    if let Some(pod) = pods.get(&stream) {
                        if !bytes.is_empty() {
                            let _ = pod.send(Some(bytes)).await;
                        }
                        if flags & FIN != 0 {
                            let _ = pod.send(None).await;
                        }
                    }
                }
            },
            Some(frame) = out_rx.recv() => {
                if write.write_all(&frame).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// One forwarded connection: dials the pod's port, copies both ways, then closes both streams (an
/// error, if any, written to the error stream first).
async fn forward(
    target: Result<super::pod_port::Target, String>,
    error: u32,
    stream: u32,
    mut from_client: mpsc::Receiver<Option<Vec<u8>>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let connected = match target {
        Ok(target) => super::pod_port::dial(&target).await,
        Err(e) => Err(e),
    };
    match connected {
        Ok(tcp) => {
            let (mut pod_read, mut pod_write) = tokio::io::split(tcp);
            let to_pod = tokio::spawn(async move {
                while let Some(Some(bytes)) = from_client.recv().await {
                    if pod_write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                let _ = pod_write.shutdown().await;
            });
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = pod_read.read(&mut buf).await {
                if out.send(data(stream, 0, &buf[..n])).await.is_err() {
                    break;
                }
            }
            to_pod.abort();
        }
        Err(message) => {
            let _ = out.send(data(error, 0, message.as_bytes())).await;
        }
    }
    let _ = out.send(data(error, FIN, &[])).await;
    let _ = out.send(data(stream, FIN, &[])).await;
}

/// Carries the SPDY byte stream in WebSocket binary messages both ways (the tunnel kubectl dials first).
pub(crate) async fn tunnel<S>(ws: WebSocketStream<S>, targets: Targets)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(serve(theirs, targets));
    let (mut from, mut to) = tokio::io::split(ours);
    let (mut sink, mut stream) = ws.split();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if to.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            n = from.read(&mut buf) => match n {
                Ok(n @ 1..) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
                _ => break,
            },
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert!(d.starts_with(b"\0\0\0\x07options\0\0\0\x04head"));
        assert!(d.ends_with(b"utf-,*,enq=0."));
    }

    #[test]
    fn header_blocks_round_trip_through_the_compression_contexts() {
        let mut client = Headers::new();
        let mut server = Headers::new();
        for n in 0..3 {
            let id = n.to_string();
            let block = client.encode(&[("streamtype", "data"), ("port", "3000"), ("requestid", &id)]);
            let pairs = server.decode(&block).expect("decodes");
            assert_eq!(
                pairs,
                [
                    ("streamtype".to_string(), "data".to_string()),
                    ("port".into(), "3000".into()),
                    ("requestid".into(), id)
                ]
            );
        }
        assert!(server.decode(&client.encode(&[])).expect("empty").is_empty());
    }
}
