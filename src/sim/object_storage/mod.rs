//! Linode Object Storage in the simulator: the Linode API's `/object-storage` routes and one S3 data plane
//! per endpoint (plain HTTP on 127.0.0.1, SigV4-authenticated against the account's keys), as strict as
//! the platform: idempotent bucket create, names unique across customers, non-empty buckets kept, the
//! secret shown once, limited keys, and aws-chunked payloads refused.

mod api;
mod checksum;
mod keys;
mod s3;
mod s3_bucket;
mod s3_object;
pub mod sigv4;
pub mod state;
mod time;
mod xml;

use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

pub(crate) use api::route;
pub use keys::{MAX_KEY_BUCKETS, REDACTED};
pub(crate) use s3::S3Handler;
pub use state::{Access, Bucket, Endpoint, Key, ObjectStorage, Version};

use super::linode::State;

/// Starts one S3 listener on a free port of 127.0.0.1 per endpoint of the account and records each port in
/// the state (the `s3_endpoint` the API answers). Needs a Tokio runtime.
pub(crate) fn start_listeners(state: &Arc<Mutex<State>>) -> std::io::Result<Vec<JoinHandle<()>>> {
    let count = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .object_storage
        .endpoints
        .len();
    let mut servers = Vec::new();
    for index in 0..count {
        let std_listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let port = listener.local_addr()?.port();
        if let Some(e) = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .object_storage
            .endpoints
            .get_mut(index)
        {
            e.port = port;
        }
        // SigV4 is the handler's to check; the guard holds the Host to this listener's own address.
        let guard = super::http::Guard {
            token: None,
            port: Some(port),
            bodies: super::http::Bodies::Any,
        };
        let handler = Arc::new(s3::S3Handler {
            state: state.clone(),
            index,
        });
        servers.push(super::http::serve(listener, handler, guard));
    }
    Ok(servers)
}
