//! The plan's review of `[[destinations]]`: each destination compared with what the hub's gateway runs (its
//! live configuration), so a destination that is new, or whose host moved, is marked `needs review` before
//! `up` lets data and tokens go there.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::fleet::Fleet;
use crate::fleet::trust::destination_host;

/// Where a destination stands against what runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Nothing running sends there (or with this token) yet.
    New,
    /// What runs sends this token (or this type of data) to another host.
    HostChanged,
    /// What runs sends there already.
    Unchanged,
}

impl ReviewStatus {
    /// How the plan's text says it, with the host what runs sends to when it moved.
    pub fn describe(self, running_host: Option<&str>) -> String {
        match (self, running_host) {
            (ReviewStatus::New, _) => "new, needs review".to_string(),
            (ReviewStatus::HostChanged, Some(was)) => format!("host changed from {was}, needs review"),
            (ReviewStatus::HostChanged, None) => "host changed, needs review".to_string(),
            (ReviewStatus::Unchanged, _) => "unchanged".to_string(),
        }
    }
}

/// One destination in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationReview {
    /// Its position in the fleet file (`destinations[i]`).
    pub index: usize,
    #[serde(rename = "type")]
    pub kind: String,
    /// The host its data (and token) go to.
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    pub status: ReviewStatus,
    /// The host what runs sends to, when it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_host: Option<String>,
    /// New or moved: a person should look before `up` sends data (and a token) there.
    pub needs_review: bool,
}

/// An exporter of the running gateway: its host and the token variable it reads, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Running {
    host: String,
    token_env: Option<String>,
}

/// The running gateway's exporters from its `config.yaml` (none when it cannot be read).
fn running(config: &str) -> Vec<Running> {
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(config) else {
        return Vec::new();
    };
    let Some(exporters) = doc.get("exporters").and_then(|e| e.as_mapping()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in exporters.values() {
        let endpoint = e.get("endpoint").and_then(|v| v.as_str());
        let host = match endpoint {
            Some(ep) => url::Url::parse(ep)
                .ok()
                .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())),
            None => e
                .get("api")
                .and_then(|a| a.get("site"))
                .and_then(|s| s.as_str())
                .map(str::to_ascii_lowercase),
        };
        let Some(host) = host else { continue };
        let text = serde_yaml_ng::to_string(e).unwrap_or_default();
        let token_env = text
            .split("${env:")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .map(str::to_string);
        out.push(Running { host, token_env });
    }
    out
}

/// Every destination of `fleet` against the running gateway configuration (`None`: no hub gateway runs yet,
/// so every destination is new).
pub fn review(fleet: &Fleet, running_config: Option<&str>) -> Vec<DestinationReview> {
    let live = running_config.map(running).unwrap_or_default();
    let by_token: BTreeMap<&str, &Running> = live
        .iter()
        .filter_map(|r| r.token_env.as_deref().map(|t| (t, r)))
        .collect();
    fleet
        .destinations
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let host = destination_host(d).unwrap_or_default();
            let token_env = d.token_env.as_ref().map(|t| t.get_ref().clone());
            let (status, running_host) = match token_env.as_deref().and_then(|t| by_token.get(t)) {
                Some(r) if r.host == host => (ReviewStatus::Unchanged, None),
                Some(r) => (ReviewStatus::HostChanged, Some(r.host.clone())),
                None if token_env.is_none() && live.iter().any(|r| r.host == host && r.token_env.is_none()) => {
                    (ReviewStatus::Unchanged, None)
                }
                None => (ReviewStatus::New, None),
            };
            DestinationReview {
                index,
                kind: d.kind.get_ref().clone(),
                host,
                token_env,
                needs_review: status != ReviewStatus::Unchanged,
                status,
                running_host,
            }
        })
        .collect()
}

impl DestinationReview {
    /// `destinations[0] splunk_hec → splunk.example.com (token SPLUNK_HEC_TOKEN): new, needs review`.
    pub fn describe(&self) -> String {
        let token = self
            .token_env
            .as_ref()
            .map(|t| format!(" (token {t})"))
            .unwrap_or_default();
        let status = self.status.describe(self.running_host.as_deref());
        format!(
            "destinations[{}] {} → {}{token}: {status}",
            self.index, self.kind, self.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = "[fleet]\nname = \"t\"\nk8s_version = \"1.33\"\n[hub]\nregion = \"us-ord\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n";

    fn fleet(dest: &str) -> Fleet {
        crate::fleet::parse("t.toml", &format!("{FLEET}{dest}"))
            .expect("valid")
            .fleet
    }

    const SPLUNK: &str = "[[destinations]]\ntype = \"splunk_hec\"\nendpoint = \"https://splunk.example.com:8088/services/collector\"\ntoken_env = \"SPLUNK_HEC_TOKEN\"\nsignals = [\"logs\"]\n";

    fn live(host: &str) -> String {
        format!(
            "exporters:\n  splunk_hec/dest0:\n    endpoint: https://{host}:8088/services/collector\n    token: ${{env:SPLUNK_HEC_TOKEN}}\n  prometheus_remote_write:\n    endpoint: http://prometheus.observability-hub.svc:9090/api/v1/write\n"
        )
    }

    #[test]
    fn new_moved_and_unchanged_destinations() {
        let f = fleet(SPLUNK);
        let r = review(&f, None);
        assert_eq!((r[0].status, r[0].needs_review), (ReviewStatus::New, true));
        let r = review(&f, Some(&live("splunk.example.com")));
        assert_eq!((r[0].status, r[0].needs_review), (ReviewStatus::Unchanged, false));
        let r = review(&f, Some(&live("old.example.com")));
        assert_eq!(r[0].status, ReviewStatus::HostChanged);
        assert_eq!(r[0].running_host.as_deref(), Some("old.example.com"));
        assert!(
            r[0].describe()
                .contains("host changed from old.example.com, needs review"),
            "{}",
            r[0].describe()
        );
    }
}
