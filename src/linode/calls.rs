//! Counts every Linode API request attempt by method and path template, for `api_calls` in reports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A snapshot of API call counts: `"GET /lke/clusters/{id}/pools" -> 3`.
///
/// Keys are `METHOD /path/template` with ids replaced by placeholders; it serializes to a
/// JSON object, ready to embed as `api_calls` in a report.
pub type ApiCalls = BTreeMap<String, u64>;

/// Shared, thread-safe call counter; clones count into the same map.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallCounter {
    counts: Arc<Mutex<ApiCalls>>,
}

impl CallCounter {
    /// Records one request attempt.
    pub(crate) fn record(&self, method: &str, template: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(format!("{method} {template}")).or_insert(0) += 1;
    }

    /// A copy of the counts so far.
    pub(crate) fn snapshot(&self) -> ApiCalls {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The total number of attempts so far.
    pub(crate) fn total(&self) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_and_template_and_serializes_as_object() {
        let counter = CallCounter::default();
        let clone = counter.clone();
        counter.record("GET", "/lke/clusters/{id}/pools");
        clone.record("GET", "/lke/clusters/{id}/pools");
        counter.record("POST", "/lke/clusters");
        let snap = counter.snapshot();
        assert_eq!(snap["GET /lke/clusters/{id}/pools"], 2);
        assert_eq!(counter.total(), 3);
        let json = serde_json::to_value(&snap).unwrap_or_default();
        assert_eq!(json["POST /lke/clusters"], 1);
    }
}
