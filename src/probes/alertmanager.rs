//! The hub's Alertmanager, read through its own API: ready, its config loaded (`/api/v2/status`), the
//! per-receiver notification counters on `/metrics` (`receiver_name` needs
//! `--enable-feature=receiver-name-in-metrics`, which 27-alertmanager.yaml passes), active silences, and a
//! synthetic alert POSTed to `/api/v2/alerts`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::backend::Backend;
use super::outcome::Outcome;

/// Alertmanager's port.
pub const PORT: u16 = 9093;
/// The alert name of `lkeobs alerts test` (routed to one receiver by its `lkeobs_receiver` label).
pub const TEST_ALERT: &str = "LkeobsReceiverTest";

/// One receiver's notification counters (summed over its integrations and failure reasons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub attempts: f64,
    pub failed: f64,
}

/// Receiver name → counters, and receiver → integrations seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    pub receivers: BTreeMap<String, Counts>,
    pub integrations: BTreeMap<String, Vec<String>>,
}

/// The labels of a Prometheus text-format sample line, and its value.
fn sample(line: &str, metric: &str) -> Option<(BTreeMap<String, String>, f64)> {
    let rest = line.strip_prefix(metric)?;
    let (labels, value) = match rest.strip_prefix('{') {
        Some(r) => {
            let end = r.rfind('}')?;
            (&r[..end], r[end + 1..].trim())
        }
        None if rest.starts_with(' ') => ("", rest.trim()),
        None => return None,
    };
    let value: f64 = value.split_whitespace().next()?.parse().ok()?;
    let mut out = BTreeMap::new();
    for pair in labels.split("\",").filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=')?;
        out.insert(
            k.trim().trim_start_matches(',').to_string(),
            v.trim().trim_matches('"').to_string(),
        );
    }
    Some((out, value))
}

/// The counters of a `/metrics` text. Without `receiver_name` (an Alertmanager started without the
/// feature flag) the integration names the row.
pub fn parse_counters(text: &str) -> Counters {
    let mut c = Counters::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        for (metric, failed) in [
            ("alertmanager_notifications_total", false),
            ("alertmanager_notifications_failed_total", true),
        ] {
            let Some((labels, v)) = sample(line, metric) else {
                continue;
            };
            let integration = labels.get("integration").cloned().unwrap_or_default();
            let name = labels
                .get("receiver_name")
                .cloned()
                .unwrap_or_else(|| integration.clone());
            let e = c.receivers.entry(name.clone()).or_default();
            if failed {
                e.failed += v;
            } else {
                e.attempts += v;
                let list = c.integrations.entry(name).or_default();
                if !list.contains(&integration) {
                    list.push(integration);
                }
            }
        }
    }
    c
}

/// The counters now.
pub async fn counters(am: &Backend) -> Result<Counters, String> {
    let r = am.get("/metrics").await?;
    if !r.is_success() {
        return Err(format!("/metrics answered {}", r.answered()));
    }
    Ok(parse_counters(&String::from_utf8_lossy(&r.body)))
}

/// Ready, and its config loaded: the receivers' names in the loaded config.
pub async fn loaded(am: &Backend) -> Result<Vec<String>, String> {
    let r = am.get("/-/ready").await?;
    if !r.is_success() {
        return Err(format!("not ready: /-/ready answered {}", r.answered()));
    }
    let r = am.get("/api/v2/status").await?;
    if !r.is_success() {
        return Err(format!("/api/v2/status answered {}", r.answered()));
    }
    let status: Value = serde_json::from_slice(&r.body).map_err(|e| format!("/api/v2/status: {e}"))?;
    let original = status["config"]["original"].as_str().unwrap_or_default();
    let config: Value = serde_yaml_ng::from_str(original).map_err(|_| "no configuration loaded".to_string())?;
    let names: Vec<String> = config["receivers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(|n| crate::text::escape_controls(n).into_owned()))
        .collect();
    if names.is_empty() {
        return Err("its loaded configuration has no receiver".into());
    }
    Ok(names)
}

/// Active silences: (matchers as text, ends at, comment).
pub async fn silences(am: &Backend) -> Result<Vec<Silence>, String> {
    let r = am.get("/api/v2/silences").await?;
    if !r.is_success() {
        return Err(format!("/api/v2/silences answered {}", r.answered()));
    }
    let list: Vec<Value> = serde_json::from_slice(&r.body).map_err(|e| format!("/api/v2/silences: {e}"))?;
    let safe = |v: &Value| crate::text::escape_controls(v.as_str().unwrap_or_default()).into_owned();
    Ok(list
        .iter()
        .filter(|s| s["status"]["state"] == "active")
        .map(|s| Silence {
            matchers: s["matchers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| format!("{}={}", safe(&m["name"]), safe(&m["value"])))
                .collect(),
            ends_at: safe(&s["endsAt"]),
            comment: safe(&s["comment"]),
        })
        .collect())
}

/// One active silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Silence {
    pub matchers: Vec<String>,
    pub ends_at: String,
    pub comment: String,
}

/// POSTs the synthetic alert for `receiver` (`resolve` ends it now).
pub async fn send_test(am: &Backend, receiver: &str, starts_at: &str, resolve: Option<&str>) -> Result<(), String> {
    let mut alert = json!({
        "labels": {"alertname": TEST_ALERT, "lkeobs_receiver": receiver, "severity": "info", "cluster_id": "hub"},
        "annotations": {"summary": format!("lkeobs alerts test: a synthetic alert for receiver {receiver}; nothing is wrong")},
        "startsAt": starts_at,
    });
    if let Some(end) = resolve {
        alert["endsAt"] = json!(end);
    }
    let body = serde_json::to_vec(&json!([alert])).map_err(|e| e.to_string())?;
    let r = am.post("/api/v2/alerts", "application/json", body).await?;
    if r.is_success() {
        Ok(())
    } else {
        Err(format!("POST /api/v2/alerts answered {}", r.answered()))
    }
}

/// `verify`'s Alertmanager probe: ready with its config loaded, and no receiver with failed notifications
/// (each failure counter flat at zero since Alertmanager started).
pub async fn probe(am: &Backend) -> Outcome {
    const NAME: &str = "alertmanager";
    let names = match loaded(am).await {
        Ok(n) => n,
        Err(e) => return Outcome::fail(NAME, "hub", e),
    };
    let c = match counters(am).await {
        Ok(c) => c,
        Err(e) => return Outcome::fail(NAME, "hub", e),
    };
    let failing: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let x = c.receivers.get(n)?;
            (x.failed > 0.0).then(|| format!("{n} ({} of {} notifications failed)", x.failed, x.attempts))
        })
        .collect();
    if failing.is_empty() {
        Outcome::pass(
            NAME,
            "hub",
            format!(
                "ready, config loaded, {} receiver(s), no failed notification",
                names.len()
            ),
        )
    } else {
        Outcome::fail(
            NAME,
            "hub",
            format!(
                "failing receiver(s): {}; `lkeobs alerts test --receiver NAME` tries one",
                failing.join(", ")
            ),
        )
    }
}

/// What `status` shows of the hub's Alertmanager.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum AlertmanagerStatus {
    /// It answered: its active silences and each receiver's notifications since it started.
    Read {
        silences: Vec<Silence>,
        receivers: BTreeMap<String, Counts>,
    },
    /// It could not be asked.
    Unknown { reason: String },
}

/// Active silences and per-receiver counters (Alertmanager's API does not say a notification's error
/// text, only its logs do: the failure counts stand for it).
pub async fn status(am: &Backend) -> AlertmanagerStatus {
    let read = async {
        let names = loaded(am).await?;
        let c = counters(am).await?;
        let receivers = names
            .into_iter()
            .map(|n| {
                let x = c.receivers.get(&n).copied().unwrap_or_default();
                (n, x)
            })
            .collect();
        Ok::<_, String>(AlertmanagerStatus::Read {
            silences: silences(am).await?,
            receivers,
        })
    };
    read.await
        .unwrap_or_else(|reason| AlertmanagerStatus::Unknown { reason })
}

/// The text lines of [`AlertmanagerStatus`] for `status`.
pub fn status_text(s: &AlertmanagerStatus) -> String {
    match s {
        AlertmanagerStatus::Unknown { reason } => format!("\nalertmanager: unknown ({reason})\n"),
        AlertmanagerStatus::Read { silences, receivers } => {
            let mut t = format!("\nalertmanager: {} active silence(s)\n", silences.len());
            for x in silences {
                t.push_str(&format!(
                    "  silence {} until {} {}\n",
                    x.matchers.join(","),
                    x.ends_at,
                    x.comment
                ));
            }
            for (name, c) in receivers {
                let health = if c.failed > 0.0 {
                    format!(
                        "{} of {} notifications FAILED (see Alertmanager's log for the error)",
                        c.failed, c.attempts
                    )
                } else {
                    format!("{} notifications, none failed", c.attempts)
                };
                t.push_str(&format!("  receiver {name:<20} {health}\n"));
            }
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_summed_per_receiver() {
        let text = "# HELP x\nalertmanager_notifications_total{integration=\"webhook\",receiver_name=\"tickets\"} 3\n\
            alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"clientError\",receiver_name=\"tickets\"} 1\n\
            alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\",receiver_name=\"tickets\"} 1\n\
            alertmanager_notifications_total{integration=\"slack\",receiver_name=\"chat\"} 0\n\
            alertmanager_notifications_total{integration=\"email\"} 2\n";
        let c = parse_counters(text);
        assert_eq!(
            c.receivers["tickets"],
            Counts {
                attempts: 3.0,
                failed: 2.0
            }
        );
        assert_eq!(
            c.receivers["chat"],
            Counts {
                attempts: 0.0,
                failed: 0.0
            }
        );
        assert_eq!(
            c.receivers["email"].attempts, 2.0,
            "without receiver_name the integration names the row"
        );
        assert_eq!(c.integrations["tickets"], ["webhook"]);
    }
}
