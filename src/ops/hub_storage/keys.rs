//! The fleet's Object Storage keys: labels, finding them, creating a limited key (a lost create answer is
//! found by label, revoked and created again: the secret exists only in the answer), revoking, and an S3
//! client for a bucket with a key.

use std::collections::BTreeSet;

use secrecy::SecretString;

use super::error::{HubStorageError, Result};
use super::types::Change;
use crate::linode::{Bucket, BucketPermission, Client, CreateObjectStorageKey, ObjectStorageKey, fleet_part, s3_host};
use crate::objstore::{S3Client, S3Config};

/// The fleet key's label, `lkeobs-<fleet>`.
pub fn key_label(fleet: &str) -> String {
    format!("lkeobs-{}", fleet_part(fleet))
}

/// The temporary teardown key's label, `lkeobs-<fleet>-teardown`.
pub fn teardown_key_label(fleet: &str) -> String {
    format!("{}-teardown", key_label(fleet))
}

/// Whether `label` is one of `fleet`'s key labels. Exactly these two: a prefix match would take fleet
/// `demo-eu`'s key (`lkeobs-demo-eu`) for fleet `demo`'s.
pub fn is_fleet_key(label: &str, fleet: &str) -> bool {
    label == key_label(fleet) || label == teardown_key_label(fleet)
}

/// `(region, bucket)` pairs a key may read and write.
pub(super) fn read_write_grants(key: &ObjectStorageKey) -> BTreeSet<(String, String)> {
    key.bucket_access
        .iter()
        .filter(|a| a.permissions == BucketPermission::ReadWrite)
        .map(|a| (a.region.clone(), a.bucket_name.clone()))
        .collect()
}

/// `(region, bucket)` pairs of these buckets.
pub(super) fn pairs<'a>(buckets: impl IntoIterator<Item = &'a Bucket>) -> BTreeSet<(String, String)> {
    buckets
        .into_iter()
        .map(|b| (b.region.clone(), b.label.clone()))
        .collect()
}

/// A key just created, with its secret.
pub(super) struct NewKey {
    pub(super) key: ObjectStorageKey,
    pub(super) secret: SecretString,
}

/// Creates a limited key with `read_write` on exactly `buckets`. A lost answer leaves a key whose secret
/// is gone: the keys with this label that were not in `before` are revoked and the create is tried once
/// more.
pub(super) async fn create_key(
    client: &Client,
    label: &str,
    buckets: &[&Bucket],
    changes: &mut Vec<Change>,
) -> Result<NewKey> {
    let request = CreateObjectStorageKey::limited_read_write(
        label,
        buckets.iter().map(|b| (b.region.as_str(), b.label.as_str())),
    );
    let before: BTreeSet<u64> = client.list_object_storage_keys().await?.iter().map(|k| k.id).collect();
    let created = match client.create_object_storage_key(&request).await {
        Ok(key) => key,
        Err(err) if err.answer_may_be_lost() => {
            tracing::warn!(
                "POST /object-storage/keys ({label}): the answer was lost ({err}); revoking and creating again"
            );
            for stray in client.list_object_storage_keys().await? {
                if stray.label == label && !before.contains(&stray.id) {
                    revoke(client, &stray, changes).await?;
                }
            }
            client.create_object_storage_key(&request).await?
        }
        Err(err) => return Err(err.into()),
    };
    changes.push(Change::KeyCreated {
        id: created.id,
        label: created.label.clone(),
    });
    let Some(secret) = created.secret_key.clone() else {
        revoke(client, &created, changes).await?;
        return Err(HubStorageError::NoSecret {
            id: created.id,
            label: created.label,
        });
    };
    Ok(NewKey { key: created, secret })
}

/// Revokes a key (already gone counts as done) and records it.
pub(super) async fn revoke(client: &Client, key: &ObjectStorageKey, changes: &mut Vec<Change>) -> Result<()> {
    client.delete_object_storage_key(key.id).await?;
    changes.push(Change::KeyRevoked {
        id: key.id,
        label: key.label.clone(),
    });
    Ok(())
}

/// An S3 client for `bucket`'s endpoint with this key; `fresh`: the key was just created (403s are retried
/// while the platform learns it).
pub(super) fn s3_client(bucket: &Bucket, access_key: &str, secret: &SecretString, fresh: bool) -> Result<S3Client> {
    let config = S3Config::new(&s3_host(bucket), &bucket.region, access_key, secret.clone());
    let config = if fresh { config.fresh_key() } else { config };
    Ok(S3Client::new(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_exact_per_fleet() {
        assert_eq!(key_label("demo"), "lkeobs-demo");
        assert_eq!(teardown_key_label("demo"), "lkeobs-demo-teardown");
        assert!(is_fleet_key("lkeobs-demo", "demo"));
        assert!(is_fleet_key("lkeobs-demo-teardown", "demo"));
        assert!(!is_fleet_key("lkeobs-demo-eu", "demo"));
        assert!(!is_fleet_key("lkeobs-demo", "demo-eu"));
    }
}
