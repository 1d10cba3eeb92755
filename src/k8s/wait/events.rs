//! The newest Warning event of an object and of its pods: the likeliest reason a wait is stuck.

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::{Api, ListParams};

/// How long the lookup may take: it runs after a wait already ran out of time.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest message quoted.
const MAX_MESSAGE: usize = 240;

/// "; last event: Failed: Back-off pulling image …", or "" when there is none (or the lookup failed).
///
/// One LIST of the namespace's Warning events. Besides the object itself it matches Pods and
/// ReplicaSets named `<name>-…`, which is how controllers name what they create.
pub(crate) async fn warning_hint(client: &Client, namespace: &str, kind: &str, name: &str) -> String {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().fields("type=Warning");
    let events = match tokio::time::timeout(LOOKUP_TIMEOUT, api.list(&lp)).await {
        Ok(Ok(list)) => list.items,
        Ok(Err(e)) => {
            tracing::debug!(namespace, error = %e, "cannot list events");
            return String::new();
        }
        Err(_) => return String::new(),
    };
    newest_for(&events, kind, name)
        .map(|e| format!("; last event: {}", describe(e)))
        .unwrap_or_default()
}

/// The newest event about `kind/name` or its pods.
pub(crate) fn newest_for<'a>(events: &'a [Event], kind: &str, name: &str) -> Option<&'a Event> {
    let prefix = format!("{name}-");
    events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter(|e| {
            let o = &e.involved_object;
            let (k, n) = (
                o.kind.as_deref().unwrap_or_default(),
                o.name.as_deref().unwrap_or_default(),
            );
            (k == kind && n == name) || (matches!(k, "Pod" | "ReplicaSet") && n.starts_with(&prefix))
        })
        .max_by_key(|e| when(e))
}

/// When an event last happened, by whichever timestamp it has.
fn when(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| e.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// "Failed: Back-off pulling image …" (message on one line, shortened).
fn describe(e: &Event) -> String {
    let reason = e.reason.as_deref().unwrap_or("Warning");
    let message = e
        .message
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let message = if message.chars().count() > MAX_MESSAGE {
        format!("{}…", message.chars().take(MAX_MESSAGE).collect::<String>())
    } else {
        message
    };
    let object = e.involved_object.name.as_deref().unwrap_or_default();
    format!("{reason}: {message} ({object})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn event(kind: &str, name: &str, reason: &str, at: i64, type_: &str) -> Event {
        Event {
            involved_object: ObjectReference {
                kind: Some(kind.into()),
                name: Some(name.into()),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(format!("{reason} happened\n  twice")),
            type_: Some(type_.into()),
            last_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::from_second(at).expect("ts"))),
            ..Default::default()
        }
    }

    #[test]
    fn picks_the_newest_warning_of_the_object_or_its_pods() {
        let events = vec![
            event("Deployment", "otel-gateway", "Old", 100, "Warning"),
            event("Pod", "otel-gateway-5d9f-abcde", "Failed", 300, "Warning"),
            event("Pod", "otel-gateway-5d9f-abcde", "Pulled", 400, "Normal"),
            event("Pod", "grafana-7c-xyz", "Other", 500, "Warning"),
        ];
        let newest = newest_for(&events, "Deployment", "otel-gateway").expect("found");
        assert_eq!(
            describe(newest),
            "Failed: Failed happened twice (otel-gateway-5d9f-abcde)"
        );
        assert!(newest_for(&events, "Deployment", "loki").is_none());
    }
}
