//! Alertmanager on the simulated hub (`monitoring/alertmanager-0:9093`): it reads the config `up` actually
//! applied (ConfigMap `monitoring/alertmanager`) and the Secret its `*_file` fields point into, routes each
//! alert POSTed to `/api/v2/alerts` through that config's route tree, and counts one notification per
//! integration of the receiver it lands on (`alertmanager_notifications_total` and
//! `…_failed_total{integration, receiver_name}` on `/metrics`). A notification fails when the receiver is
//! switched to fail (the fault) or when the file its secret is read from is not in the Secret.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http::{Handler, Reply, Request};
use super::world::{Apis, lock};
use crate::objects;

/// What the stand-in remembers.
#[derive(Default)]
pub(crate) struct AmState {
    /// Receivers whose notifications fail (the fault switch).
    pub(crate) failing: BTreeSet<String>,
    /// `(receiver, integration)` → (attempts, failures).
    counters: BTreeMap<(String, String), (u64, u64)>,
    /// Alerts received, as posted.
    alerts: Vec<Value>,
}

/// The stand-in behind every Alertmanager pod's port 9093.
pub(crate) struct Alertmanager {
    pub(crate) apis: Apis,
    pub(crate) state: Arc<Mutex<AmState>>,
}

/// The applied config's text and the keys of the Secret beside it, from the first cluster that has them.
fn applied(apis: &Apis) -> Option<(String, BTreeSet<String>)> {
    let apis: Vec<_> = lock(apis).values().cloned().collect();
    apis.iter().find_map(|api| {
        let (ns, name) = (objects::MONITORING, "alertmanager");
        let cm = api.get("v1", "ConfigMap", Some(ns), name)?;
        let text = cm["data"]["alertmanager.yml"].as_str()?.to_string();
        let (sns, sname) = objects::ALERTMANAGER_SECRET.pair();
        let keys = api
            .get("v1", "Secret", Some(sns), sname)
            .and_then(|s| s["data"].as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default();
        Some((text, keys))
    })
}

/// One receiver of the config: its integrations and the secret files they read.
struct Receiver {
    integrations: Vec<(String, Vec<String>)>,
}

fn receivers(config: &Value) -> BTreeMap<String, Receiver> {
    let mut out = BTreeMap::new();
    for r in config["receivers"].as_array().into_iter().flatten() {
        let Some(name) = r["name"].as_str() else { continue };
        let mut integrations = Vec::new();
        for (key, v) in r.as_object().into_iter().flatten() {
            let Some(kind) = key.strip_suffix("_configs") else {
                continue;
            };
            for c in v.as_array().into_iter().flatten() {
                let mut files = Vec::new();
                collect_files(c, &mut files);
                integrations.push((kind.to_string(), files));
            }
        }
        out.insert(name.to_string(), Receiver { integrations });
    }
    out
}

fn collect_files(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if k.ends_with("_file") => out.push(s.to_string()),
                    _ => collect_files(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_files(v, out)),
        _ => {}
    }
}

/// Whether `labels` satisfy one matcher written `name="v"`, `name!="v"`, `name=~"re"` or `name!~"re"`.
fn matches(matcher: &str, labels: &Value) -> bool {
    let Some(i) = matcher.find(['=', '!']) else {
        return false;
    };
    let (name, rest) = (matcher[..i].trim(), &matcher[i..]);
    let (op, value) = ["=~", "!~", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
        .unwrap_or(("=", rest));
    let value = value.trim().trim_matches('"');
    let have = labels[name].as_str().unwrap_or("");
    let re = || {
        regex::Regex::new(&format!("^(?:{value})$"))
            .map(|r| r.is_match(have))
            .unwrap_or(false)
    };
    match op {
        "=" => have == value,
        "!=" => have != value,
        "=~" => re(),
        _ => !re(),
    }
}

/// The receiver the route tree sends `labels` to (first matching child, depth first, else the parent's).
fn route(node: &Value, labels: &Value, inherited: &str) -> String {
    let receiver = node["receiver"].as_str().unwrap_or(inherited).to_string();
    for child in node["routes"].as_array().into_iter().flatten() {
        let all = child["matchers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .all(|m| matches(m, labels));
        if all {
            return route(child, labels, &receiver);
        }
    }
    receiver
}

impl Alertmanager {
    fn config(&self) -> Option<(String, Value, BTreeSet<String>)> {
        let (text, keys) = applied(&self.apis)?;
        let config: Value = serde_yaml_ng::from_str(&text).ok()?;
        Some((text, config, keys))
    }

    fn post_alerts(&self, body: &[u8]) -> Reply {
        let Ok(Value::Array(alerts)) = serde_json::from_slice::<Value>(body) else {
            return Reply::new(400).set_body_json(json!({"code": 400, "message": "body is not a list of alerts"}));
        };
        let Some((_, config, keys)) = self.config() else {
            return Reply::new(500).set_body_json(json!({"message": "no configuration loaded"}));
        };
        let rx = receivers(&config);
        let mut st = lock(&self.state);
        for alert in alerts {
            let name = route(&config["route"], &alert["labels"], "");
            if let Some(r) = rx.get(&name) {
                for (integration, files) in &r.integrations {
                    let missing = files.iter().any(|f| {
                        let key = f.rsplit('/').next().unwrap_or_default();
                        !keys.contains(key)
                    });
                    let failed = missing || st.failing.contains(&name);
                    let c = st.counters.entry((name.clone(), integration.clone())).or_default();
                    c.0 += 1;
                    c.1 += u64::from(failed);
                }
            }
            st.alerts.push(alert);
        }
        Reply::new(200)
    }

    fn metrics(&self) -> Reply {
        let mut text = String::new();
        let mut rows: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        if let Some((_, config, _)) = self.config() {
            for (name, r) in receivers(&config) {
                for (integration, _) in r.integrations {
                    rows.insert((name.clone(), integration), (0, 0));
                }
            }
        }
        for (k, v) in &lock(&self.state).counters {
            rows.insert(k.clone(), *v);
        }
        text.push_str("# HELP alertmanager_notifications_total The total number of attempted notifications.\n# TYPE alertmanager_notifications_total counter\n");
        for ((name, integration), (total, _)) in &rows {
            text.push_str(&format!(
                "alertmanager_notifications_total{{integration=\"{integration}\",receiver_name=\"{name}\"}} {total}\n"
            ));
        }
        text.push_str("# HELP alertmanager_notifications_failed_total The total number of failed notifications.\n# TYPE alertmanager_notifications_failed_total counter\n");
        for ((name, integration), (_, failed)) in &rows {
            text.push_str(&format!(
                "alertmanager_notifications_failed_total{{integration=\"{integration}\",reason=\"other\",receiver_name=\"{name}\"}} {failed}\n"
            ));
        }
        Reply::new(200).set_body_raw(text, "text/plain; version=0.0.4; charset=utf-8")
    }
}

impl Handler for Alertmanager {
    fn handle(&self, req: &Request) -> Reply {
        let post = req.method == http::Method::POST;
        match (req.url.path(), post) {
            ("/-/ready" | "/-/healthy", false) => match self.config() {
                Some(_) => Reply::new(200).set_body_string("OK"),
                None => Reply::new(503).set_body_string("no configuration loaded"),
            },
            ("/api/v2/status", false) => match self.config() {
                Some((text, _, _)) => Reply::new(200).set_body_json(json!({
                    "cluster": {"status": "disabled", "peers": []},
                    "config": {"original": text},
                    "uptime": "2026-01-01T00:00:00.000Z",
                    "versionInfo": {"version": "0.35.1 (lkeobs sim)"},
                })),
                None => Reply::new(503),
            },
            ("/api/v2/alerts", true) => self.post_alerts(&req.body),
            ("/api/v2/alerts", false) => Reply::new(200).set_body_json(&lock(&self.state).alerts),
            ("/api/v2/silences", false) => Reply::new(200).set_body_json(json!([])),
            ("/metrics", false) => self.metrics(),
            _ => Reply::new(404).set_body_string("not found"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_and_the_route_tree() {
        let labels = json!({"alertname": "LkeobsReceiverTest", "lkeobs_receiver": "pager", "severity": "critical"});
        assert!(matches("severity=\"critical\"", &labels));
        assert!(!matches("severity!=\"critical\"", &labels));
        assert!(matches("alertname=~\"Lkeobs.*\"", &labels));
        let config: Value = serde_yaml_ng::from_str(
            "route:\n  receiver: chat\n  routes:\n    - receiver: pager\n      matchers: ['lkeobs_receiver=\"pager\"']\n",
        )
        .unwrap();
        assert_eq!(route(&config["route"], &labels, ""), "pager");
        assert_eq!(route(&config["route"], &json!({"a": "b"}), ""), "chat");
    }
}
