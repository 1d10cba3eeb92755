//! Account tags: list, create, delete (these need an unrestricted user).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::request::ApiPath;

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag text.
    pub label: String,
}

/// `POST /tags` body: the tag and objects to put it on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateTag {
    /// The tag, 3–50 characters.
    pub label: String,
    /// Linode ids to tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linodes: Vec<u64>,
    /// NodeBalancer ids to tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodebalancers: Vec<u64>,
    /// Volume ids to tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<u64>,
    /// Domain ids to tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<u64>,
}

impl Client {
    /// Every tag of the account.
    pub async fn list_tags(&self) -> Result<Vec<Tag>> {
        self.list(&ApiPath::new("/tags", &[]), None).await
    }

    /// Creates a tag; if the answer was lost, returns the tag when the account has it.
    pub async fn create_tag(&self, request: &CreateTag) -> Result<Tag> {
        let path = ApiPath::new("/tags", &[]);
        self.create_or_lookup(&path, request, &request.label, || async {
            let tags = self.list_tags().await?;
            Ok(tags.into_iter().find(|t| t.label == request.label))
        })
        .await
    }

    /// Deletes a tag from every object and the account (already gone counts as done).
    pub async fn delete_tag(&self, label: &str) -> Result<()> {
        self.delete(&ApiPath::new("/tags/{label}", &[&label])).await
    }
}
