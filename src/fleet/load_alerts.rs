//! Reads `[alerts]`, `[[alerts.receivers]]` and `[[alerts.routes]]` with their spans (unknown keys are
//! reported with a did-you-mean by the reader).

use super::alerts::{Alerts, Receiver, Route};
use super::diag::Diag;
use super::reader::Table;
use super::spec::spanned;

const STRING: &str = "a string";
const ENV: &str = "an environment variable name";
const DURATION: &str = "a duration string like \"4h\"";

/// `[alerts]`, when the file has it.
pub(super) fn read(top: &mut Table<'_, '_>, diags: &mut Vec<Diag>) -> Option<Alerts> {
    let mut t = top.table("alerts", diags)?;
    let span = t.span();
    let default_receiver = t
        .require("default_receiver", "the name of one of [[alerts.receivers]]", diags)
        .unwrap_or_else(|| spanned(span.clone(), String::new()));
    let group_by = t.strings("group_by", diags);
    let group_wait = t.get("group_wait", DURATION, diags);
    let group_interval = t.get("group_interval", DURATION, diags);
    let repeat_interval = t.get("repeat_interval", DURATION, diags);
    let src = t.src();
    let mut receivers = Vec::new();
    if let Some(items) = t.array("receivers", diags) {
        for (i, item) in items.into_iter().enumerate() {
            if let Some(r) = Table::as_table(src, format!("alerts.receivers[{i}]"), item, diags) {
                receivers.push(receiver(r, diags));
            }
        }
    }
    let mut routes = Vec::new();
    if let Some(items) = t.array("routes", diags) {
        for (i, item) in items.into_iter().enumerate() {
            if let Some(r) = Table::as_table(src, format!("alerts.routes[{i}]"), item, diags) {
                routes.push(route(r, diags));
            }
        }
    }
    t.finish(diags);
    Some(Alerts {
        default_receiver,
        group_by,
        group_wait,
        group_interval,
        repeat_interval,
        receivers,
        routes,
        span,
    })
}

fn receiver(mut t: Table<'_, '_>, diags: &mut Vec<Diag>) -> Receiver {
    let span = t.span();
    let r = Receiver {
        name: t
            .require("name", "a name like \"oncall\"", diags)
            .unwrap_or_else(|| spanned(span.clone(), String::new())),
        kind: t
            .require("type", "one of \"slack\", \"pagerduty\", \"email\", \"webhook\"", diags)
            .unwrap_or_else(|| spanned(span.clone(), String::new())),
        url_env: t.get("url_env", ENV, diags),
        channel: t.get("channel", "a Slack channel like \"#alerts\"", diags),
        routing_key_env: t.get("routing_key_env", ENV, diags),
        smtp_host: t.get(
            "smtp_host",
            "host:port of the SMTP server, like \"smtp.example.com:587\"",
            diags,
        ),
        from: t.get("from", "an email address", diags),
        to: t.strings("to", diags),
        username: t.get("username", STRING, diags),
        password_env: t.get("password_env", ENV, diags),
        url: t.get("url", "an https:// URL", diags),
        token_env: t.get("token_env", ENV, diags),
        span,
    };
    t.finish(diags);
    r
}

fn route(mut t: Table<'_, '_>, diags: &mut Vec<Diag>) -> Route {
    let span = t.span();
    let r = Route {
        receiver: t
            .require("receiver", "the name of one of [[alerts.receivers]]", diags)
            .unwrap_or_else(|| spanned(span.clone(), String::new())),
        severity: t.get("severity", "\"critical\", \"warning\" or \"info\"", diags),
        alertname: t.get("alertname", "an alert name like \"LkeobsMetricsSilent\"", diags),
        cluster_id: t.get("cluster_id", "a cluster name: \"hub\" or an edge's", diags),
        group_by: t.strings("group_by", diags),
        repeat_interval: t.get("repeat_interval", DURATION, diags),
        span,
    };
    t.finish(diags);
    r
}
