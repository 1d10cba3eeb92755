//! Removal: each fleet bucket whose owner marker names the fleet is emptied over S3 (versions too, in
//! DeleteObjects batches of at most 1000) and deleted through the API; a bucket not emptied by the deadline
//! gets a 1-day expiry rule and is reported as left behind; then every fleet key is revoked. The account-wide
//! cancel of Object Storage is never called (it deletes every bucket of the account).

use std::time::Duration;

use futures::future::join_all;
use secrecy::SecretString;
use serde::Serialize;
use tokio::time::Instant;

use super::error::Result;
use super::keys::{self, is_fleet_key, teardown_key_label};
use super::marker::{Marker, OWNER_MARKER, Ownership, ownership};
use super::types::{Change, KnownKey};
use crate::linode::{self, Bucket, Client, ObjectStorageKey, is_fleet_bucket};
use crate::objstore::{LifecycleConfiguration, S3Client, Versioning};

/// The budget of [`remove`] when the command has no deadline.
pub const DEFAULT_REMOVE_BUDGET: Duration = Duration::from_secs(30 * 60);

/// The most buckets one limited key may grant (TD "Object Storage quotas and limits").
pub const MAX_KEY_BUCKETS: usize = 25;

/// How long the calls after the deadline (marking a left-behind bucket again) may take.
const AFTER_DEADLINE: Duration = Duration::from_secs(30);

/// A bucket not emptied before the deadline: a lifecycle rule expires what is left within a day, and the
/// next `teardown` or `reap` deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftBehind {
    /// Bucket name.
    pub bucket: String,
    /// Region id.
    pub region: String,
    /// At least this many objects or versions were left (one listing page, so at most 1000); `None` when
    /// the count is unknown.
    pub objects_left: Option<u64>,
    /// Whether the 1-day expiry rule is in place.
    pub lifecycle_set: bool,
}

/// A bucket with the fleet's name that was not touched, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Bucket name.
    pub bucket: String,
    /// Region id.
    pub region: String,
    /// Why it was left alone.
    pub reason: String,
}

/// What [`remove`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// Buckets deleted.
    pub deleted: Vec<String>,
    /// Buckets still there with objects (exit 4).
    pub left_behind: Vec<LeftBehind>,
    /// Buckets with the fleet's name but not its marker (another fleet's, or holding data without a marker).
    pub skipped: Vec<Skipped>,
    /// Objects, versions and delete markers deleted over S3.
    pub objects_deleted: u64,
    /// Keys revoked.
    pub keys_revoked: Vec<u64>,
}

impl Removal {
    /// Whether everything of the fleet is gone (nothing left behind; skipped buckets are not the fleet's).
    pub fn complete(&self) -> bool {
        self.left_behind.is_empty()
    }
}

/// What happened to one bucket.
enum Outcome {
    Deleted(u64),
    Left(LeftBehind, u64),
    Skipped(String),
}

/// Removes `fleet`'s object storage in every region. `known`: the fleet key from the hub Secret (used for
/// the S3 work when it may use every bucket); otherwise a temporary limited key
/// [`teardown_key_label`] is created for the job. All keys labelled `lkeobs-<fleet>` or
/// `lkeobs-<fleet>-teardown` are revoked at the end, whatever was left behind.
///
/// Ownership rule: a bucket named like the fleet's is removed when its marker names the fleet, or when it
/// has no marker and holds nothing (a run stopped between the bucket's create and its marker: nothing to
/// lose). A bucket whose marker names another fleet, or that has data and no marker, is skipped and reported.
pub async fn remove(
    client: &Client,
    fleet: &str,
    known: Option<&KnownKey>,
    deadline: Option<Instant>,
) -> Result<Removal> {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_REMOVE_BUDGET);
    let mut removal = Removal::default();
    let mut changes = Vec::new();
    let buckets: Vec<Bucket> = client
        .list_buckets()
        .await?
        .into_iter()
        .filter(|b| is_fleet_bucket(&b.label, fleet))
        .collect();
    let all_keys = client.list_object_storage_keys().await?;
    if !buckets.is_empty() {
        let assigned = s3_keys(client, fleet, &buckets, &all_keys, known, &mut changes).await?;
        let jobs = assigned.into_iter().map(|(b, access, secret, fresh)| async move {
            let s3 = keys::s3_client(b, &access, &secret, fresh)?;
            let outcome = remove_bucket(client, &s3, fleet, b, deadline).await?;
            Ok::<_, super::HubStorageError>((b, outcome))
        });
        for result in join_all(jobs).await {
            let (b, outcome) = result?;
            match outcome {
                Outcome::Deleted(n) => {
                    removal.objects_deleted += n;
                    removal.deleted.push(b.label.clone());
                }
                Outcome::Left(left, n) => {
                    removal.objects_deleted += n;
                    removal.left_behind.push(left);
                }
                Outcome::Skipped(reason) => removal.skipped.push(Skipped {
                    bucket: b.label.clone(),
                    region: b.region.clone(),
                    reason,
                }),
            }
        }
    }
    // Every fleet key, the teardown key just made included (listed again: it is new).
    for key in client.list_object_storage_keys().await? {
        if is_fleet_key(&key.label, fleet) {
            keys::revoke(client, &key, &mut changes).await?;
        }
    }
    removal.keys_revoked = changes
        .iter()
        .filter_map(|c| match c {
            Change::KeyRevoked { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    removal.keys_revoked.sort_unstable();
    removal.keys_revoked.dedup();
    Ok(removal)
}

/// The key each bucket is worked on with: the fleet key for the buckets it may use, else temporary
/// teardown keys, each for at most [`MAX_KEY_BUCKETS`] buckets (the platform's limit per limited key).
async fn s3_keys<'a>(
    client: &Client,
    fleet: &str,
    buckets: &'a [Bucket],
    all_keys: &[ObjectStorageKey],
    known: Option<&KnownKey>,
    changes: &mut Vec<Change>,
) -> Result<Vec<(&'a Bucket, String, SecretString, bool)>> {
    let grants = known.and_then(|k| {
        all_keys
            .iter()
            .find(|o| o.access_key == k.access_key)
            .map(|o| (k, keys::read_write_grants(o)))
    });
    let mut assigned = Vec::new();
    let mut rest = Vec::new();
    for b in buckets {
        match &grants {
            Some((k, granted)) if granted.contains(&(b.region.clone(), b.label.clone())) => {
                assigned.push((b, k.access_key.clone(), k.secret_key.clone(), false));
            }
            _ => rest.push(b),
        }
    }
    for chunk in rest.chunks(MAX_KEY_BUCKETS) {
        let new = keys::create_key(client, &teardown_key_label(fleet), chunk, changes).await?;
        for b in chunk {
            assigned.push((*b, new.key.access_key.clone(), new.secret.clone(), true));
        }
    }
    Ok(assigned)
}

/// One bucket: the ownership rule, then empty and delete, or the expiry rule at the deadline.
async fn remove_bucket(client: &Client, s3: &S3Client, fleet: &str, b: &Bucket, deadline: Instant) -> Result<Outcome> {
    // The ownership reads are not cut by the deadline (a few small requests): past it, the bucket is still
    // judged, and marked for the next run.
    let body = s3.get_object(&b.label, OWNER_MARKER).await?;
    match ownership(body.as_deref(), fleet) {
        Ownership::Ours => {}
        Ownership::Other(owner) => {
            return Ok(Outcome::Skipped(format!(
                "its owner marker names {owner:?}, not {fleet:?}"
            )));
        }
        Ownership::Unmarked | Ownership::Unchecked => {
            if !holds_nothing(s3, &b.label).await? {
                return Ok(Outcome::Skipped(format!(
                    "it has no owner marker ({OWNER_MARKER}) and holds objects: not provably fleet {fleet:?}'s"
                )));
            }
        }
    }
    let mut deleted = 0;
    for attempt in 0..2 {
        let emptied = s3.empty_bucket(&b.label, deadline).await?;
        deleted += emptied.deleted;
        if emptied.left.is_some() {
            return Ok(Outcome::Left(
                leave(s3, fleet, b, emptied.left, emptied.lifecycle_set, false).await,
                deleted,
            ));
        }
        match client.delete_bucket(&b.region, &b.label).await {
            Ok(()) => return Ok(Outcome::Deleted(deleted)),
            // Something wrote after the listing (an engine still running): one more pass.
            Err(linode::Error::BucketNotEmpty { .. }) if attempt == 0 => continue,
            Err(linode::Error::BucketNotEmpty { .. }) => break,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Outcome::Left(leave(s3, fleet, b, None, false, true).await, deleted))
}

/// A bucket left behind: the owner marker put back (it went with the rest, and the next run needs it) and,
/// when `set_rule`, the 1-day expiry rule put. Failures here are logged: the bucket is reported either way.
async fn leave(
    s3: &S3Client,
    fleet: &str,
    b: &Bucket,
    left: Option<u64>,
    lifecycle_set: bool,
    set_rule: bool,
) -> LeftBehind {
    let after = s3.with_deadline(Some(Instant::now() + AFTER_DEADLINE));
    let mut lifecycle_set = lifecycle_set;
    if set_rule {
        match after
            .put_bucket_lifecycle(&b.label, &LifecycleConfiguration::expire_everything_after_a_day())
            .await
        {
            Ok(()) => lifecycle_set = true,
            Err(err) => tracing::warn!("{}: could not put the 1-day expiry rule: {err}", b.label),
        }
    }
    let marked = after
        .put_object(&b.label, OWNER_MARKER, Marker::new(fleet).body(), "application/json")
        .await;
    if let Err(err) = marked {
        tracing::warn!("{}: could not put the owner marker back: {err}", b.label);
    }
    LeftBehind {
        bucket: b.label.clone(),
        region: b.region.clone(),
        objects_left: left,
        lifecycle_set,
    }
}

/// Whether the bucket holds no object, version or delete marker.
async fn holds_nothing(s3: &S3Client, bucket: &str) -> Result<bool> {
    if !s3.list_objects_v2(bucket, "", None).await?.objects.is_empty() {
        return Ok(false);
    }
    Ok(match s3.get_bucket_versioning(bucket).await? {
        Versioning::Unversioned => true,
        _ => s3.list_object_versions(bucket, None).await?.versions.is_empty(),
    })
}
