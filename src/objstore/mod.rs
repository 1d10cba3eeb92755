//! A small S3 client for Linode Object Storage: what lkeobs needs to mark, find and empty its buckets
//! (put/get the owner marker, list, batch delete, versions, a lifecycle rule), over the crate's `reqwest`.
//!
//! Conventions (shared with the simulator): path-style URLs `<scheme>://<host>/<bucket>/<key>`; `https`
//! except a loopback host, which is plain `http`; SigV4 in headers (AWS's `aws-sigv4` signer) with the
//! real SHA-256 of the body in `x-amz-content-sha256` (never a streaming trailer, which Linode rejects);
//! the signing region is the first DNS label of the host (`us-ord-1` for `us-ord-1.linodeobjects.com`), or
//! the bucket's Linode region for a loopback host. A new limited key may answer 403 for up to ~30 s:
//! [`S3Config::fresh_key`] makes the client retry 403 within a window (default 45 s).
//!
//! This module knows nothing of fleets or of the Linode API; the host comes from
//! `linode::s3_host`.

mod client;
mod empty;
mod error;
mod ops;
mod sign;
mod xml;

pub use client::{RawResponse, S3Calls, S3Client, S3Config};
pub use empty::Emptied;
pub use error::{S3Error, S3Result};
pub use ops::{DeleteFailure, ListPage, ObjectSummary, Versioning, VersionsPage};
pub use sign::{is_loopback_host, signing_region};
pub use xml::{LifecycleConfiguration, LifecycleRule, ObjectId};

use std::time::Duration;

/// How long a 403 is retried after a key was created (the platform's cache refresh takes up to ~30 s).
pub const DEFAULT_NEW_KEY_WINDOW: Duration = Duration::from_secs(45);

/// The most keys one DeleteObjects may carry (S3's limit).
pub const DELETE_BATCH_MAX: usize = 1000;

/// The name of the ownership marker object (its body: `ops::hub_storage::Marker`, JSON naming the fleet).
pub const OWNER_MARKER: &str = ".lkeobs-owner";
