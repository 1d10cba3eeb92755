//! What a port-forward to a simulated pod reaches: a test's own server on a loopback address, or one of
//! the simulator's stand-ins served in-process, which no other local process can reach (it listens nowhere).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::http::{Bodies, Guard, Handler};

/// A byte stream to a pod's port.
pub(crate) trait PodIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> PodIo for T {}

/// What serves a pod's port.
#[derive(Clone)]
pub enum Target {
    /// A server on this address (a test's fixture).
    Addr(SocketAddr),
    /// A handler served over an in-memory connection per dial.
    InProcess(Arc<dyn Handler>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Addr(a) => write!(f, "Addr({a})"),
            Target::InProcess(_) => f.write_str("InProcess"),
        }
    }
}

/// Opens a connection to the pod's port, as the kubelet does inside the pod's network namespace.
pub(crate) async fn dial(target: &Target) -> Result<Box<dyn PodIo>, String> {
    match target {
        Target::Addr(addr) => TcpStream::connect(addr)
            .await
            .map(|s| Box::new(s) as Box<dyn PodIo>)
            .map_err(|e| format!("dial {addr}: {e}")),
        Target::InProcess(handler) => {
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            // The client names its own local port in `Host` (a port-forward): any loopback port.
            let guard = Guard {
                token: None,
                port: None,
                bodies: Bodies::Any,
            };
            super::http::serve_io(theirs, handler.clone(), guard);
            Ok(Box::new(ours))
        }
    }
}
