//! `[alerts]` of the fleet file: the receivers Alertmanager sends to (their secrets named by environment
//! variables, never written in the file) and the routes that pick one by severity, alert name or cluster.

use std::ops::Range;

use serde::Serialize;

use super::spec::Spanned;

/// `[alerts]`.
#[derive(Debug, Clone, Serialize)]
pub struct Alerts {
    /// The receiver of every alert no route matches.
    pub default_receiver: Spanned<String>,
    /// Labels alerts are grouped by into one notification (default: alertname, cluster_id).
    pub group_by: Vec<Spanned<String>>,
    pub group_wait: Option<Spanned<String>>,
    pub group_interval: Option<Spanned<String>>,
    pub repeat_interval: Option<Spanned<String>>,
    pub receivers: Vec<Receiver>,
    pub routes: Vec<Route>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// The labels alerts are grouped by when the file names none.
pub const DEFAULT_GROUP_BY: [&str; 2] = ["alertname", "cluster_id"];

/// One `[[alerts.receivers]]`.
#[derive(Debug, Clone, Serialize)]
pub struct Receiver {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// slack: the variable holding the incoming-webhook URL (the URL is the secret).
    pub url_env: Option<Spanned<String>>,
    /// slack: the channel, when the webhook does not fix one.
    pub channel: Option<Spanned<String>>,
    /// pagerduty: the variable holding the Events API v2 routing key.
    pub routing_key_env: Option<Spanned<String>>,
    /// email: `host:port` of the SMTP server.
    pub smtp_host: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Vec<Spanned<String>>,
    /// email: the SMTP user (default: `from`).
    pub username: Option<Spanned<String>>,
    /// email: the variable holding the SMTP password.
    pub password_env: Option<Spanned<String>>,
    /// webhook: the https URL.
    pub url: Option<Spanned<String>>,
    /// webhook: the variable holding a bearer token (optional).
    pub token_env: Option<Spanned<String>>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// One `[[alerts.routes]]`: the first route whose matchers all hold picks the receiver.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub receiver: Spanned<String>,
    pub severity: Option<Spanned<String>>,
    pub alertname: Option<Spanned<String>>,
    pub cluster_id: Option<Spanned<String>>,
    pub group_by: Vec<Spanned<String>>,
    pub repeat_interval: Option<Spanned<String>>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// `type` of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverKind {
    Slack,
    PagerDuty,
    Email,
    Webhook,
}

/// The severities lkeobs' alert rules carry.
pub const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

/// The host every PagerDuty receiver sends its routing key to (Alertmanager's default Events API v2 URL).
pub const PAGERDUTY_HOST: &str = "events.pagerduty.com";

impl ReceiverKind {
    pub const NAMES: [&'static str; 4] = ["slack", "pagerduty", "email", "webhook"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "slack" => Some(ReceiverKind::Slack),
            "pagerduty" => Some(ReceiverKind::PagerDuty),
            "email" => Some(ReceiverKind::Email),
            "webhook" => Some(ReceiverKind::Webhook),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::Slack => "slack",
            ReceiverKind::PagerDuty => "pagerduty",
            ReceiverKind::Email => "email",
            ReceiverKind::Webhook => "webhook",
        }
    }

    /// Alertmanager's name for the integration (the `integration` label of its notification counters).
    pub fn integration(self) -> &'static str {
        self.as_str()
    }
}

impl std::fmt::Display for ReceiverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Receiver {
    /// The type; `None` only for a fleet that did not pass validation.
    pub fn kind(&self) -> Option<ReceiverKind> {
        ReceiverKind::parse(self.kind.get_ref())
    }

    /// The variable holding this receiver's secret, with its key in the file (`url_env`, …), if it has one.
    pub fn secret_env(&self) -> Option<(&'static str, &Spanned<String>)> {
        match self.kind()? {
            ReceiverKind::Slack => self.url_env.as_ref().map(|v| ("url_env", v)),
            ReceiverKind::PagerDuty => self.routing_key_env.as_ref().map(|v| ("routing_key_env", v)),
            ReceiverKind::Email => self.password_env.as_ref().map(|v| ("password_env", v)),
            ReceiverKind::Webhook => self.token_env.as_ref().map(|v| ("token_env", v)),
        }
    }

    /// The host the secret goes to, when the file tells it (a Slack URL's host is in the secret itself).
    pub fn file_host(&self) -> Option<String> {
        match self.kind()? {
            ReceiverKind::Slack => None,
            ReceiverKind::PagerDuty => Some(PAGERDUTY_HOST.to_string()),
            ReceiverKind::Email => self
                .smtp_host
                .as_ref()
                .and_then(|h| split_host_port(h.get_ref()).map(|(h, _)| h.to_ascii_lowercase())),
            ReceiverKind::Webhook => self
                .url
                .as_ref()
                .and_then(|u| url::Url::parse(u.get_ref()).ok())
                .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())),
        }
    }
}

/// `host:port` split, the port a number; `None` when it is not of that shape.
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(())?;
    Some((host, port.parse().ok().filter(|p| *p > 0)?))
}

impl Alerts {
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name.get_ref() == name)
    }

    /// The group-by labels (the default when the file names none).
    pub fn group_by(&self) -> Vec<String> {
        if self.group_by.is_empty() {
            DEFAULT_GROUP_BY.iter().map(|s| s.to_string()).collect()
        } else {
            self.group_by.iter().map(|s| s.get_ref().clone()).collect()
        }
    }
}
