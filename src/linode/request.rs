//! Request helpers: paths with templates, GET/POST/PUT/DELETE, pagination, lookups by
//! label, and creates that survive a lost answer.

use std::fmt;
use std::future::Future;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::client::{Client, PAGE_SIZE};
use super::error::Result;
use super::filter::Filter;
use super::ratelimit::RequestClass;
use super::retry::{Idempotency, Policy};
use super::wire::{Page, Request};

/// A request path: the concrete one and its template for call counting.
#[derive(Debug, Clone)]
pub(crate) struct ApiPath {
    pub(crate) template: &'static str,
    pub(super) segments: Vec<String>,
}

impl ApiPath {
    /// Fills the `{…}` segments of `template` with `args`, in order.
    pub(crate) fn new(template: &'static str, args: &[&(dyn fmt::Display + Sync)]) -> Self {
        let mut args = args.iter();
        let segments = template
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|seg| {
                let arg = if seg.starts_with('{') { args.next() } else { None };
                arg.map_or_else(|| seg.to_string(), ToString::to_string)
            })
            .collect();
        Self { template, segments }
    }

    /// The concrete path, e.g. `/lke/clusters/123`.
    pub(crate) fn display(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }
}

impl Client {
    /// GET one object.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &ApiPath) -> Result<T> {
        self.call(Method::GET, path, None::<&()>, self.policy(Idempotency::Idempotent))
            .await
    }

    /// GET one object with a custom retry policy.
    pub(crate) async fn get_with<T: DeserializeOwned>(
        &self,
        path: &ApiPath,
        policy: impl FnOnce(Policy) -> Policy,
    ) -> Result<T> {
        let policy = policy(self.policy(Idempotency::Idempotent));
        self.call(Method::GET, path, None::<&()>, policy).await
    }

    /// POST that creates something (never repeated when its answer may be lost).
    pub(crate) async fn create<B: Serialize, T: DeserializeOwned>(&self, path: &ApiPath, body: &B) -> Result<T> {
        self.call(Method::POST, path, Some(body), self.policy(Idempotency::Create))
            .await
    }

    /// POST of an action without a body (e.g. a recycle; never repeated when its answer may be lost).
    pub(crate) async fn action(&self, path: &ApiPath) -> Result<()> {
        self.call::<(), serde_json::Value>(Method::POST, path, None, self.policy(Idempotency::Create))
            .await
            .map(|_| ())
    }

    /// PUT (replace or update).
    pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &ApiPath, body: &B) -> Result<T> {
        let policy = self.policy(Idempotency::Idempotent);
        self.call(Method::PUT, path, Some(body), policy).await
    }

    /// DELETE; a 404 counts as done (the object is gone, perhaps by an earlier attempt).
    pub(crate) async fn delete(&self, path: &ApiPath) -> Result<()> {
        let policy = self.policy(Idempotency::Idempotent);
        match self
            .call::<(), serde_json::Value>(Method::DELETE, path, None, policy)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.is_not_found() => {
                tracing::debug!("DELETE {}: already gone (404)", path.display());
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// GET every page of a list, `page_size=500`, optionally filtered.
    pub(crate) async fn list<T: DeserializeOwned>(&self, path: &ApiPath, filter: Option<&Filter>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let request = Request {
                method: Method::GET,
                path,
                query: vec![("page", page.to_string()), ("page_size", PAGE_SIZE.to_string())],
                filter,
                body: None,
                class: RequestClass::List,
            };
            let got: Page<T> = self.send(&request, self.policy(Idempotency::Idempotent)).await?;
            out.extend(got.data);
            if got.page >= got.pages {
                break;
            }
            page = got.page.max(page) + 1;
        }
        Ok(out)
    }

    /// Looks for exactly the object labelled `label` in a list (X-Filter on label).
    pub(crate) async fn find_by_label<T: DeserializeOwned + Labelled>(
        &self,
        path: &ApiPath,
        label: &str,
    ) -> Result<Option<T>> {
        let found: Vec<T> = self.list(path, Some(&Filter::label(label))).await?;
        Ok(found.into_iter().find(|item| item.label() == label))
    }

    /// Creates; when the answer was lost, runs `lookup` (e.g. by unique label) and returns
    /// what it finds, else the original error.
    pub(crate) async fn create_or_lookup<B, T, F, Fut>(
        &self,
        path: &ApiPath,
        body: &B,
        what: &str,
        lookup: F,
    ) -> Result<T>
    where
        B: Serialize,
        T: DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let err = match self.create(path, body).await {
            Ok(created) => return Ok(created),
            Err(err) if err.answer_may_be_lost() => err,
            Err(err) => return Err(err),
        };
        tracing::warn!(
            "POST {}: the answer was lost ({err}); looking for {what:?} before giving up",
            path.display()
        );
        match lookup().await {
            Ok(Some(found)) => {
                tracing::info!(
                    "POST {}: found {what:?}, created despite the lost answer",
                    path.display()
                );
                Ok(found)
            }
            Ok(None) => Err(err),
            Err(lookup) => {
                tracing::warn!("looking up {what:?} failed: {lookup}");
                Err(err)
            }
        }
    }
}

/// Objects findable by their unique label.
pub(crate) trait Labelled {
    fn label(&self) -> &str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fill_placeholders_in_order() {
        let p = ApiPath::new("/lke/clusters/{id}/pools/{id}", &[&12, &34]);
        assert_eq!(p.display(), "/lke/clusters/12/pools/34");
        assert_eq!(p.template, "/lke/clusters/{id}/pools/{id}");
    }
}
