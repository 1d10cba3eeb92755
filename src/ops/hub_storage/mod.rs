//! The fleet's Linode Object Storage for an `ha` hub, through the API: preflight of the region, finding the
//! fleet's buckets and key ([`observe`]), provisioning them idempotently ([`ensure`]) and removing them
//! ([`remove`]), and the prices `plan` shows ([`prices`]). See `docs/object-storage.md`.

mod ensure;
mod error;
mod keys;
mod marker;
mod observe;
mod preflight;
mod remove;
mod types;

pub use ensure::{ensure, ensure_buckets, ensure_buckets_drawing};
pub use error::{HubStorageError, Result};
pub use keys::{is_fleet_key, key_label, teardown_key_label};
pub use marker::{Marker, OWNER_MARKER, Ownership, ownership};
pub use observe::{Observed, ObservedBucket, ObservedKey, observe};
pub use preflight::{OBJECT_STORAGE_CAPABILITY, Preflight, preflight};
pub use remove::{DEFAULT_REMOVE_BUDGET, LeftBehind, MAX_KEY_BUCKETS, Removal, Skipped, remove};
pub use types::{
    Change, HubBuckets, HubStorage, KnownKey, SECRET_ACCESS_KEY_ID, SECRET_NAME, SECRET_NAMESPACE,
    SECRET_SECRET_ACCESS_KEY, secret_data,
};
