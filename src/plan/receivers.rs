//! The plan's review of `[alerts]` receivers: each compared with what the hub's Alertmanager runs (its
//! live configuration), so a receiver that is new, or whose webhook or mail server moved, is marked
//! `needs review` before `up` lets alerts (and their labels) go there.

use serde::Serialize;

use super::destinations::ReviewStatus;
use crate::fleet::Fleet;
use crate::fleet::alerts::Receiver;

/// One receiver in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiverReview {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Where its notifications go: the webhook's or mail server's host; for Slack and PagerDuty the
    /// service (the Slack URL is a secret, read only by `up`).
    pub host: String,
    pub status: ReviewStatus,
    /// The host what runs sends to, when it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_host: Option<String>,
    pub needs_review: bool,
}

impl ReceiverReview {
    /// One line of the plan's text.
    pub fn describe(&self) -> String {
        let status = self.status.describe(self.running_host.as_deref());
        format!("receiver {} ({}) → {}: {status}", self.name, self.kind, self.host)
    }
}

fn url_host(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
}

fn smtp_host(smarthost: &str) -> String {
    smarthost
        .rsplit_once(':')
        .map_or(smarthost, |(h, _)| h)
        .trim_matches(['[', ']'])
        .to_ascii_lowercase()
}

/// `(type, host)` of a receiver in the fleet file.
fn wanted(r: &Receiver) -> (String, String) {
    let kind = r.kind.get_ref().clone();
    let host = match kind.as_str() {
        "webhook" => r.url.as_ref().and_then(|u| url_host(u.get_ref())).unwrap_or_default(),
        "email" => r.smtp_host.as_ref().map(|h| smtp_host(h.get_ref())).unwrap_or_default(),
        "pagerduty" => "events.pagerduty.com".to_string(),
        _ => "slack (the webhook URL's host is checked by up)".to_string(),
    };
    (kind, host)
}

/// `(name, type, host)` of each receiver of a running `alertmanager.yml` (none when it cannot be read).
fn running(config: &str) -> Vec<(String, String, Option<String>)> {
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(config) else {
        return Vec::new();
    };
    let Some(receivers) = doc.get("receivers").and_then(|r| r.as_sequence()) else {
        return Vec::new();
    };
    receivers
        .iter()
        .filter_map(|r| {
            let name = r.get("name")?.as_str()?.to_string();
            let first = |key: &str| r.get(key).and_then(|c| c.as_sequence()).and_then(|c| c.first());
            let (kind, host) = if let Some(w) = first("webhook_configs") {
                ("webhook", w.get("url").and_then(|u| u.as_str()).and_then(url_host))
            } else if let Some(e) = first("email_configs") {
                ("email", e.get("smarthost").and_then(|h| h.as_str()).map(smtp_host))
            } else if first("pagerduty_configs").is_some() {
                ("pagerduty", None)
            } else if first("slack_configs").is_some() {
                ("slack", None)
            } else {
                return None;
            };
            Some((name, kind.to_string(), host))
        })
        .collect()
}

/// Each receiver of `fleet` against the running Alertmanager config (`None`: none runs, so every
/// receiver is new).
pub fn review(fleet: &Fleet, config: Option<&str>) -> Vec<ReceiverReview> {
    let Some(alerts) = &fleet.alerts else {
        return Vec::new();
    };
    let runs = config.map(running).unwrap_or_default();
    alerts
        .receivers
        .iter()
        .map(|r| {
            let name = r.name.get_ref().clone();
            let (kind, host) = wanted(r);
            let found = runs.iter().find(|(n, k, _)| *n == name && *k == kind);
            let (status, running_host) = match found {
                None => (ReviewStatus::New, None),
                Some((_, _, Some(was))) if (kind == "webhook" || kind == "email") && *was != host => {
                    (ReviewStatus::HostChanged, Some(was.clone()))
                }
                Some(_) => (ReviewStatus::Unchanged, None),
            };
            ReceiverReview {
                name,
                kind,
                host,
                needs_review: status != ReviewStatus::Unchanged,
                status,
                running_host,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = r#"
receivers:
  - name: chat
    slack_configs:
      - api_url_file: /etc/alertmanager/secrets/chat
  - name: tickets
    webhook_configs:
      - url: "https://hooks.example.com/alertmanager"
  - name: mail
    email_configs:
      - smarthost: "smtp.example.com:587"
"#;

    #[test]
    fn running_receivers_are_read_by_name_type_and_host() {
        let r = running(RUNNING);
        assert_eq!(
            r,
            vec![
                ("chat".into(), "slack".into(), None),
                ("tickets".into(), "webhook".into(), Some("hooks.example.com".into())),
                ("mail".into(), "email".into(), Some("smtp.example.com".into())),
            ]
        );
        assert!(running("not: [yaml").is_empty());
    }
}
