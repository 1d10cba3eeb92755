//! Emptying a bucket before the API may delete it: every object (ListObjectsV2 + DeleteObjects in batches
//! of at most 1000), or every version and delete marker of a versioned bucket; at the deadline, a lifecycle
//! rule that expires the rest within a day, and the bucket reported as left behind.

use std::time::Duration;

use tokio::time::Instant;

use super::DELETE_BATCH_MAX;
use super::client::S3Client;
use super::error::{S3Error, S3Result};
use super::ops::Versioning;
use super::xml::{LifecycleConfiguration, ObjectId};

/// How long the calls after the deadline (the lifecycle rule, one listing) may take.
const AFTER_DEADLINE: Duration = Duration::from_secs(30);

/// What [`S3Client::empty_bucket`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emptied {
    /// Objects, versions and delete markers deleted.
    pub deleted: u64,
    /// `None`: the bucket was seen empty. `Some(n)`: the deadline passed with at least `n` objects or
    /// versions left (one listing page, so at most 1000).
    pub left: Option<u64>,
    /// A lifecycle rule now expires what is left within a day.
    pub lifecycle_set: bool,
}

impl S3Client {
    /// Deletes everything in `bucket` until `deadline`. If the deadline passes first, puts a lifecycle rule
    /// (expire after 1 day, noncurrent versions after 1 day, abort incomplete uploads after 1 day), then
    /// counts what is left. Keys DeleteObjects refuses fail the call ([`S3Error::NotDeleted`]).
    pub async fn empty_bucket(&self, bucket: &str, deadline: Instant) -> S3Result<Emptied> {
        let bounded = self.with_deadline(Some(deadline));
        let mut deleted = 0u64;
        let mut versioning = None;
        let err = match bounded.delete_everything(bucket, &mut deleted, &mut versioning).await {
            Ok(()) => {
                return Ok(Emptied {
                    deleted,
                    left: None,
                    lifecycle_set: false,
                });
            }
            Err(err) => err,
        };
        let out_of_time = matches!(err, S3Error::Deadline { .. }) || Instant::now() >= deadline;
        if !out_of_time {
            return Err(err);
        }
        tracing::info!("{bucket}: deadline reached after deleting {deleted}; setting a lifecycle rule");
        let after = self.with_deadline(Some(Instant::now() + AFTER_DEADLINE));
        after
            .put_bucket_lifecycle(bucket, &LifecycleConfiguration::expire_everything_after_a_day())
            .await?;
        let versioning = match versioning {
            Some(v) => v,
            None => after.get_bucket_versioning(bucket).await?,
        };
        let left = match versioning {
            Versioning::Unversioned => after.list_objects_v2(bucket, "", None).await?.objects.len(),
            _ => after.list_object_versions(bucket, None).await?.versions.len(),
        };
        Ok(Emptied {
            deleted,
            left: (left > 0).then_some(left as u64),
            lifecycle_set: true,
        })
    }

    /// Passes over the bucket until one pass finds nothing to delete.
    async fn delete_everything(
        &self,
        bucket: &str,
        deleted: &mut u64,
        versioning: &mut Option<Versioning>,
    ) -> S3Result<()> {
        let state = self.get_bucket_versioning(bucket).await?;
        *versioning = Some(state);
        loop {
            let found = match state {
                // Deleting a key of a versioned bucket only adds a delete marker: delete versions instead.
                Versioning::Unversioned => self.delete_objects_pass(bucket, deleted).await?,
                Versioning::Enabled | Versioning::Suspended => self.delete_versions_pass(bucket, deleted).await?,
            };
            if !found {
                return Ok(());
            }
        }
    }

    /// One pass of ListObjectsV2 pages, each deleted as it comes; whether it found anything.
    async fn delete_objects_pass(&self, bucket: &str, deleted: &mut u64) -> S3Result<bool> {
        let mut token: Option<String> = None;
        let mut found = false;
        loop {
            let page = self.list_objects_v2(bucket, "", token.as_deref()).await?;
            found |= !page.objects.is_empty();
            let ids: Vec<ObjectId> = page
                .objects
                .into_iter()
                .map(|o| ObjectId {
                    key: o.key,
                    version_id: None,
                })
                .collect();
            self.delete_in_batches(bucket, &ids, deleted).await?;
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// One pass of ListObjectVersions pages (versions and delete markers); whether it found anything.
    async fn delete_versions_pass(&self, bucket: &str, deleted: &mut u64) -> S3Result<bool> {
        let mut from = None;
        let mut found = false;
        loop {
            let page = self.list_object_versions(bucket, from.as_ref()).await?;
            found |= !page.versions.is_empty();
            self.delete_in_batches(bucket, &page.versions, deleted).await?;
            match page.next {
                Some(next) => from = Some(next),
                None => return Ok(found),
            }
        }
    }

    async fn delete_in_batches(&self, bucket: &str, ids: &[ObjectId], deleted: &mut u64) -> S3Result<()> {
        for batch in ids.chunks(DELETE_BATCH_MAX) {
            let failures = self.delete_objects(bucket, batch).await?;
            *deleted += (batch.len() - failures.len().min(batch.len())) as u64;
            if let Some(first) = failures.first() {
                return Err(S3Error::NotDeleted {
                    bucket: bucket.to_string(),
                    sent: batch.len(),
                    failed: failures.len(),
                    first: format!("{}: {} {}", first.key, first.code, first.message),
                });
            }
        }
        Ok(())
    }
}
