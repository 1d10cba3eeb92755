//! Provisioning, idempotently: the three buckets (one shared random suffix, found again by name), one
//! limited key with `read_write` on exactly them, and the owner marker in each. A re-run with the key's
//! secret at hand writes nothing.

use std::collections::BTreeMap;

use reqwest::Method;
use tokio::time::Instant;

use super::error::{HubStorageError, Result};
use super::keys::{self, NewKey, key_label, pairs};
use super::marker::{Marker, OWNER_MARKER, Ownership, ownership};
use super::preflight::Preflight;
use super::types::{Change, HubBuckets, HubStorage, KnownKey};
use crate::linode::{
    self, Bucket, BucketSignal, BucketSuffix, Client, CreateBucket, ObjectStorageKey, bucket_name, is_fleet_bucket,
    parse_bucket_name, s3_host,
};
use crate::objstore::S3Client;

/// How many fresh suffixes are drawn when names are taken by other customers.
const SUFFIX_TRIES: usize = 5;

/// Ensures the fleet's object storage in `preflight.region`: creates what is missing, reuses what is
/// there. `known`: the fleet key as the hub Secret holds it (the key is reused when it still exists with
/// exactly the three buckets; otherwise every key labelled [`key_label`] is revoked and a new one created:
/// write [`super::secret_data`] to the hub Secret when [`HubStorage::key_created`]). S3 calls stop at
/// `deadline`.
pub async fn ensure(
    client: &Client,
    fleet: &str,
    preflight: &Preflight,
    known: Option<&KnownKey>,
    deadline: Option<Instant>,
) -> Result<HubStorage> {
    let mut changes = Vec::new();
    let buckets = buckets_step(client, fleet, preflight, &mut BucketSuffix::random, &mut changes).await?;
    let host = s3_host(&buckets[0]);
    if let Some(other) = buckets.iter().find(|b| s3_host(b) != host) {
        return Err(HubStorageError::Conflict(format!(
            "fleet {fleet:?}'s buckets are on different S3 endpoints ({} on {host}, {} on {}); delete the odd one \
             (it is empty unless an engine wrote to it) and re-run",
            buckets[0].label,
            other.label,
            s3_host(other)
        )));
    }
    let (key, secret, fresh) = key_step(client, fleet, &buckets, known, &mut changes).await?;
    let s3 = keys::s3_client(&buckets[0], &key.access_key, &secret, fresh)?.with_deadline(deadline);
    for bucket in &buckets {
        let created_now = changes
            .iter()
            .any(|c| matches!(c, Change::BucketCreated { bucket: b } if *b == bucket.label));
        mark(&s3, fleet, &bucket.label, &mut changes).await?;
        if !created_now {
            keep_data(&s3, &bucket.label, &mut changes).await?;
        }
    }
    let name = |signal: BucketSignal| {
        buckets
            .iter()
            .find(|b| parse_bucket_name(&b.label).is_some_and(|p| p.signal == signal))
            .map(|b| b.label.clone())
            .unwrap_or_default()
    };
    Ok(HubStorage {
        region: preflight.region.clone(),
        s3_host: host,
        endpoint_type: buckets[0].endpoint_type,
        buckets: HubBuckets {
            metrics: name(BucketSignal::Metrics),
            logs: name(BucketSignal::Logs),
            traces: name(BucketSignal::Traces),
        },
        key_id: key.id,
        access_key: key.access_key.clone(),
        secret_key: secret,
        changes,
    })
}

/// Only the bucket step of [`ensure`] (the fleet's three buckets, created where missing), in signal order,
/// with the changes made. For callers that must stop between steps (and tests of a run killed there).
pub async fn ensure_buckets(client: &Client, fleet: &str, preflight: &Preflight) -> Result<(Vec<Bucket>, Vec<Change>)> {
    ensure_buckets_drawing(client, fleet, preflight, &mut BucketSuffix::random).await
}

/// [`ensure_buckets`] with the new suffixes drawn by `draw` (tests choose them).
pub async fn ensure_buckets_drawing(
    client: &Client,
    fleet: &str,
    preflight: &Preflight,
    draw: &mut (dyn FnMut() -> BucketSuffix + Send),
) -> Result<(Vec<Bucket>, Vec<Change>)> {
    let mut changes = Vec::new();
    let buckets = buckets_step(client, fleet, preflight, draw, &mut changes).await?;
    Ok((buckets, changes))
}

/// Finds the fleet's buckets in the region (by name: `lkeobs-<fleet>-<suffix>-<signal>`) and creates the
/// missing ones under the same suffix; a new random suffix when there are none. A name taken by another
/// customer draws a new suffix when every bucket of the current one was created by this run (they are
/// deleted first: empty, unmarked, ours); otherwise it is an error.
async fn buckets_step(
    client: &Client,
    fleet: &str,
    pre: &Preflight,
    draw: &mut (dyn FnMut() -> BucketSuffix + Send),
    changes: &mut Vec<Change>,
) -> Result<Vec<Bucket>> {
    let region = pre.region.as_str();
    let mut tries = 0;
    'suffix: loop {
        let mut groups: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
        for b in client.list_buckets_in(region).await? {
            if let Some(parsed) = parse_bucket_name(&b.label).filter(|_| is_fleet_bucket(&b.label, fleet)) {
                groups.entry(parsed.suffix.as_str().to_string()).or_default().push(b);
            }
        }
        if groups.len() > 1 {
            let names: Vec<String> = groups.values().flatten().map(|b| b.label.clone()).collect();
            return Err(HubStorageError::Conflict(format!(
                "fleet {fleet:?} has buckets under {} suffixes in {region}: {}; lkeobs uses one set of three. \
                 Run `teardown` (or delete the stray set) and re-run",
                groups.len(),
                names.join(", ")
            )));
        }
        let (suffix, mut have) = match groups.pop_first() {
            Some((suffix, have)) => (BucketSuffix::parse(&suffix), have),
            None => (Some(draw()), Vec::new()),
        };
        let Some(suffix) = suffix else {
            return Err(HubStorageError::Conflict(format!(
                "fleet {fleet:?}: unreadable bucket suffix in {region}"
            )));
        };
        let endpoint_type = have
            .iter()
            .find_map(|b| b.endpoint_type)
            .or(Some(pre.endpoint.endpoint_type));
        for signal in BucketSignal::ALL {
            let label = bucket_name(fleet, &suffix, signal);
            if have.iter().any(|b| b.label == label) {
                continue;
            }
            let request = CreateBucket {
                label: label.clone(),
                region: region.to_string(),
                endpoint_type,
                acl: None,
            };
            match client.create_bucket(&request).await {
                Ok(bucket) => {
                    changes.push(Change::BucketCreated { bucket: label });
                    have.push(bucket);
                }
                Err(err) if name_taken(&err) => {
                    let ours_now = |b: &Bucket| {
                        changes
                            .iter()
                            .any(|c| matches!(c, Change::BucketCreated { bucket } if *bucket == b.label))
                    };
                    if !have.iter().all(ours_now) {
                        return Err(HubStorageError::NameTaken {
                            fleet: fleet.to_string(),
                            bucket: label,
                            region: region.to_string(),
                            existing: have.iter().map(|b| b.label.as_str()).collect::<Vec<_>>().join(", "),
                        });
                    }
                    tries += 1;
                    tracing::info!("bucket name {label} is taken in {region}; drawing a new suffix");
                    for b in &have {
                        client.delete_bucket(&b.region, &b.label).await?;
                        changes.retain(|c| !matches!(c, Change::BucketCreated { bucket } if *bucket == b.label));
                    }
                    if tries >= SUFFIX_TRIES {
                        return Err(HubStorageError::NoFreeName {
                            fleet: fleet.to_string(),
                            region: region.to_string(),
                            tries,
                        });
                    }
                    continue 'suffix;
                }
                Err(err) => return Err(err.into()),
            }
        }
        have.sort_by_key(|b| parse_bucket_name(&b.label).map(|p| p.signal));
        return Ok(have);
    }
}

/// A create refused because the name is held elsewhere: a 400/409 on `label` (our names always match the
/// label pattern), or a reason saying it exists.
fn name_taken(err: &linode::Error) -> bool {
    err.api().is_some_and(|api| {
        matches!(api.status, 400 | 409)
            && api.errors.iter().any(|e| {
                let reason = e.reason.to_ascii_lowercase();
                e.field.as_deref() == Some("label")
                    || ["already exists", "taken", "unique", "not available"]
                        .iter()
                        .any(|w| reason.contains(w))
            })
    })
}

/// The fleet key: reused when `known` matches a key labelled [`key_label`] whose grants are exactly these
/// buckets (other keys with the label are duplicates and revoked); otherwise all of them are revoked and a
/// new one is created. Returns the key, its secret and whether it is new.
async fn key_step(
    client: &Client,
    fleet: &str,
    buckets: &[Bucket],
    known: Option<&KnownKey>,
    changes: &mut Vec<Change>,
) -> Result<(ObjectStorageKey, secrecy::SecretString, bool)> {
    let label = key_label(fleet);
    let want = pairs(buckets);
    let ours: Vec<ObjectStorageKey> = client
        .list_object_storage_keys()
        .await?
        .into_iter()
        .filter(|k| k.label == label)
        .collect();
    let reusable = known.and_then(|known| {
        ours.iter()
            .find(|k| k.access_key == known.access_key && keys::read_write_grants(k) == want)
            .map(|k| (k.clone(), known.secret_key.clone()))
    });
    for stale in ours
        .iter()
        .filter(|k| reusable.as_ref().is_none_or(|(r, _)| r.id != k.id))
    {
        keys::revoke(client, stale, changes).await?;
    }
    if let Some((key, secret)) = reusable {
        return Ok((key, secret, false));
    }
    let refs: Vec<&Bucket> = buckets.iter().collect();
    let NewKey { key, secret } = keys::create_key(client, &label, &refs, changes).await?;
    Ok((key, secret, true))
}

/// Writes the owner marker unless it is there; a marker of another fleet is a conflict.
async fn mark(s3: &S3Client, fleet: &str, bucket: &str, changes: &mut Vec<Change>) -> Result<()> {
    let body = s3.get_object(bucket, OWNER_MARKER).await?;
    match ownership(body.as_deref(), fleet) {
        Ownership::Ours => Ok(()),
        Ownership::Other(owner) => Err(HubStorageError::Conflict(format!(
            "bucket {bucket} has the name of fleet {fleet:?}'s buckets but its owner marker {OWNER_MARKER} names \
             {owner:?}; lkeobs will not use it"
        ))),
        Ownership::Unmarked | Ownership::Unchecked => {
            s3.put_object(bucket, OWNER_MARKER, Marker::new(fleet).body(), "application/json")
                .await?;
            changes.push(Change::MarkerWritten {
                bucket: bucket.to_string(),
            });
            Ok(())
        }
    }
}

/// A bucket in use again after a teardown left it behind: its 1-day expiry rule would delete the engines'
/// data, so it is removed.
async fn keep_data(s3: &S3Client, bucket: &str, changes: &mut Vec<Change>) -> Result<()> {
    let Some(rules) = s3.get_bucket_lifecycle(bucket).await? else {
        return Ok(());
    };
    if !rules.expires_everything_within_a_day() {
        return Ok(());
    }
    let answer = s3
        .raw(
            "DeleteBucketLifecycle",
            Method::DELETE,
            bucket,
            None,
            &[("lifecycle", "")],
            Vec::new(),
        )
        .await?;
    if !(200..300).contains(&answer.status) {
        return Err(HubStorageError::Conflict(format!(
            "bucket {bucket}: removing the 1-day expiry rule a teardown left was refused ({}); remove it by hand \
             before the engines write",
            answer.status
        )));
    }
    changes.push(Change::LifecycleRemoved {
        bucket: bucket.to_string(),
    });
    Ok(())
}
