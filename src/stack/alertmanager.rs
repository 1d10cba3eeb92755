//! The template variables of the hub's Alertmanager (manifests/hub/27-alertmanager.yaml), built from the
//! fleet's `[alerts]`: receivers with the files their secrets are mounted at, routes with their matchers.

use serde::Serialize;

use crate::fleet::alerts::{Alerts, ReceiverKind, split_host_port};

/// Where the Secret of the receivers' secrets is mounted in the Alertmanager pod (one file per variable).
pub const SECRET_DIR: &str = "/etc/alertmanager/secrets";
/// The Service Prometheus sends alerts to and Grafana reads.
pub const SERVICE_HOST: &str = "alertmanager.monitoring.svc.cluster.local";
/// Alertmanager's port (API, UI, /metrics).
pub const PORT: u16 = 9093;

/// `alertmanager` in the context.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AlertmanagerVars {
    /// The fleet has `[alerts]`: the hub runs Alertmanager, Prometheus sends to it.
    pub enabled: bool,
    pub default_receiver: String,
    pub group_by: Vec<String>,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
    pub receivers: Vec<ReceiverVars>,
    pub routes: Vec<RouteVars>,
    /// Some receiver has a secret: the Secret is mounted.
    pub has_secrets: bool,
    pub secret_dir: &'static str,
    pub service_host: &'static str,
    pub port: u16,
    /// TCP ports the receivers are reached on (egress policy), sorted, each once.
    pub egress_ports: Vec<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiverVars {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The file holding the secret (empty for a webhook without token).
    pub secret_file: String,
    pub channel: String,
    pub url: String,
    pub smarthost: String,
    pub from: String,
    /// Comma-separated, as Alertmanager's `to` takes it.
    pub to: String,
    pub username: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteVars {
    pub receiver: String,
    /// `label="value"` each; every value is from a closed set (validated), so the syntax cannot break.
    pub matchers: Vec<String>,
    pub group_by: Vec<String>,
    pub repeat_interval: String,
}

/// The variables for `alerts` (disabled when the fleet has none).
pub fn vars(alerts: Option<&Alerts>) -> AlertmanagerVars {
    let Some(a) = alerts else {
        return AlertmanagerVars {
            secret_dir: SECRET_DIR,
            service_host: SERVICE_HOST,
            port: PORT,
            ..Default::default()
        };
    };
    let text = |v: &Option<crate::fleet::spec::Spanned<String>>, default: &str| {
        v.as_ref().map_or_else(|| default.to_string(), |v| v.get_ref().clone())
    };
    let mut egress_ports = Vec::new();
    let receivers: Vec<ReceiverVars> = a
        .receivers
        .iter()
        .map(|r| {
            // Rendered only for a validated fleet, where every receiver has a known type.
            let kind = r.kind().unwrap_or(ReceiverKind::Webhook);
            let port = match kind {
                ReceiverKind::Email => r
                    .smtp_host
                    .as_ref()
                    .and_then(|h| split_host_port(h.get_ref()).map(|(_, p)| p))
                    .unwrap_or(587),
                ReceiverKind::Webhook => r
                    .url
                    .as_ref()
                    .and_then(|u| url::Url::parse(u.get_ref()).ok())
                    .and_then(|u| u.port_or_known_default())
                    .unwrap_or(443),
                _ => 443,
            };
            egress_ports.push(port);
            let from = text(&r.from, "");
            ReceiverVars {
                name: r.name.get_ref().clone(),
                kind: kind.as_str(),
                secret_file: r
                    .secret_env()
                    .map_or_else(String::new, |(_, env)| format!("{SECRET_DIR}/{}", env.get_ref())),
                channel: text(&r.channel, ""),
                url: text(&r.url, ""),
                smarthost: text(&r.smtp_host, ""),
                to: r.to.iter().map(|t| t.get_ref().as_str()).collect::<Vec<_>>().join(", "),
                username: r
                    .username
                    .as_ref()
                    .map_or_else(|| from.clone(), |u| u.get_ref().clone()),
                from,
            }
        })
        .collect();
    egress_ports.sort_unstable();
    egress_ports.dedup();
    let routes = a
        .routes
        .iter()
        .map(|r| {
            let matchers = [
                ("severity", &r.severity),
                ("alertname", &r.alertname),
                ("cluster_id", &r.cluster_id),
            ]
            .into_iter()
            .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label}=\"{}\"", v.get_ref())))
            .collect();
            RouteVars {
                receiver: r.receiver.get_ref().clone(),
                matchers,
                group_by: r.group_by.iter().map(|g| g.get_ref().clone()).collect(),
                repeat_interval: text(&r.repeat_interval, ""),
            }
        })
        .collect();
    AlertmanagerVars {
        enabled: true,
        default_receiver: a.default_receiver.get_ref().clone(),
        group_by: a.group_by(),
        group_wait: text(&a.group_wait, "30s"),
        group_interval: text(&a.group_interval, "5m"),
        repeat_interval: text(&a.repeat_interval, "4h"),
        has_secrets: receivers.iter().any(|r| !r.secret_file.is_empty()),
        receivers,
        routes,
        secret_dir: SECRET_DIR,
        service_host: SERVICE_HOST,
        port: PORT,
        egress_ports,
    }
}
