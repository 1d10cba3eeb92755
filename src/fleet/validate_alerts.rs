//! The rules of `[alerts]`: receivers with a known type, the keys that type needs and none it does not use,
//! secrets only through environment variables, https-only public endpoints; routes naming a receiver, known
//! severities, alert names and clusters, and durations Alertmanager reads.

use std::collections::BTreeSet;

use super::alerts::{Receiver, ReceiverKind, Route, SEVERITIES, split_host_port};
use super::diag::{Diag, did_you_mean};
use super::duration;
use super::spec::{Fleet, Spanned};
use super::untrusted::{internal_host, is_credential_variable};
use super::validate::{is_env_name, show};

/// Every `[alerts]` rule.
pub(super) fn check(f: &Fleet, d: &mut Vec<Diag>) {
    let Some(a) = &f.alerts else { return };
    if a.receivers.is_empty() {
        d.push(
            Diag::new(a.span.clone(), "alerts.receivers", "[alerts] lists no receiver")
                .help("add [[alerts.receivers]] with name, type = \"slack\" and url_env = \"SLACK_WEBHOOK_URL\""),
        );
    }
    let mut names = BTreeSet::new();
    for (i, r) in a.receivers.iter().enumerate() {
        receiver(i, r, d);
        let n = r.name.get_ref();
        if !n.is_empty() && !names.insert(n.clone()) {
            d.push(
                Diag::new(
                    r.name.span(),
                    format!("alerts.receivers[{i}].name"),
                    "a second receiver of this name",
                )
                .value(show(&r.name)),
            );
        }
    }
    let known: Vec<&str> = a.receivers.iter().map(|r| r.name.get_ref().as_str()).collect();
    if !a.default_receiver.get_ref().is_empty() {
        names_receiver("alerts.default_receiver", &a.default_receiver, &known, d);
    }
    labels("alerts.group_by", &a.group_by, d);
    for (key, v) in [
        ("group_wait", &a.group_wait),
        ("group_interval", &a.group_interval),
        ("repeat_interval", &a.repeat_interval),
    ] {
        if let Some(v) = v {
            duration_rule(&format!("alerts.{key}"), v, d);
        }
    }
    let clusters: Vec<&str> = f.clusters().map(|c| c.name.get_ref().as_str()).collect();
    let alerts = alert_names();
    let alerts: Vec<&str> = alerts.iter().map(String::as_str).collect();
    for (i, r) in a.routes.iter().enumerate() {
        route(i, r, &known, &clusters, &alerts, d);
    }
}

fn names_receiver(field: &str, v: &Spanned<String>, known: &[&str], d: &mut Vec<Diag>) {
    if known.contains(&v.get_ref().as_str()) {
        return;
    }
    let help = match did_you_mean(v.get_ref(), known) {
        Some(s) => format!("did you mean \"{s}\"?"),
        None => format!("receivers: {}", known.join(", ")),
    };
    d.push(
        Diag::new(v.span(), field, "names no receiver of [[alerts.receivers]]")
            .value(show(v))
            .help(help),
    );
}

fn receiver(i: usize, r: &Receiver, d: &mut Vec<Diag>) {
    let field = format!("alerts.receivers[{i}]");
    let name = r.name.get_ref();
    if !name.is_empty() && !crate::naming::is_dns_label(name) {
        d.push(
            Diag::new(
                r.name.span(),
                format!("{field}.name"),
                "must use only a-z, 0-9 and '-' (at most 63), starting and ending with a letter or digit",
            )
            .value(show(&r.name)),
        );
    }
    let text = r.kind.get_ref().as_str();
    if text.is_empty() {
        return;
    }
    let Some(kind) = r.kind() else {
        let diag = Diag::new(r.kind.span(), format!("{field}.type"), "unknown receiver type").value(show(&r.kind));
        d.push(match did_you_mean(text, &ReceiverKind::NAMES) {
            Some(s) => diag.help(format!("did you mean \"{s}\"? (slack, pagerduty, email or webhook)")),
            None => diag.help("use slack, pagerduty, email or webhook"),
        });
        return;
    };
    let need = |present: bool, key: &str, d: &mut Vec<Diag>| {
        if !present {
            d.push(
                Diag::new(
                    r.kind.span(),
                    format!("{field}.{key}"),
                    format!("a {kind} receiver needs `{key}`"),
                )
                .value(show(&r.kind)),
            );
        }
    };
    let forbid = |v: Option<&Spanned<String>>, key: &str, d: &mut Vec<Diag>| {
        if let Some(v) = v {
            d.push(
                Diag::new(
                    v.span(),
                    format!("{field}.{key}"),
                    format!("not used by a {kind} receiver"),
                )
                .value("<not shown>")
                .redacted(),
            );
        }
    };
    let email_keys = [
        (r.smtp_host.as_ref(), "smtp_host"),
        (r.from.as_ref(), "from"),
        (r.to.first(), "to"),
        (r.username.as_ref(), "username"),
        (r.password_env.as_ref(), "password_env"),
    ];
    let others: Vec<(Option<&Spanned<String>>, &str)> = [
        (r.url_env.as_ref(), "url_env"),
        (r.channel.as_ref(), "channel"),
        (r.routing_key_env.as_ref(), "routing_key_env"),
        (r.url.as_ref(), "url"),
        (r.token_env.as_ref(), "token_env"),
    ]
    .into_iter()
    .chain(email_keys)
    .collect();
    let used: &[&str] = match kind {
        ReceiverKind::Slack => &["url_env", "channel"],
        ReceiverKind::PagerDuty => &["routing_key_env"],
        ReceiverKind::Email => &["smtp_host", "from", "to", "username", "password_env"],
        ReceiverKind::Webhook => &["url", "token_env"],
    };
    for (v, key) in others {
        if !used.contains(&key) {
            forbid(v, key, d);
        }
    }
    match kind {
        ReceiverKind::Slack => need(r.url_env.is_some(), "url_env", d),
        ReceiverKind::PagerDuty => need(r.routing_key_env.is_some(), "routing_key_env", d),
        ReceiverKind::Webhook => need(r.url.is_some(), "url", d),
        ReceiverKind::Email => {
            need(r.smtp_host.is_some(), "smtp_host", d);
            need(r.from.is_some(), "from", d);
            need(!r.to.is_empty(), "to", d);
            need(r.password_env.is_some(), "password_env", d);
        }
    }
    if let Some((key, v)) = r.secret_env() {
        env_name(&format!("{field}.{key}"), v, d);
    }
    if let Some(u) = &r.url {
        https_url(&format!("{field}.url"), u, d);
    }
    if let Some(h) = &r.smtp_host {
        smtp_host(&format!("{field}.smtp_host"), h, d);
    }
    let addresses = r.from.iter().map(|v| ("from".to_string(), v));
    let addresses = addresses.chain(r.to.iter().enumerate().map(|(j, v)| (format!("to[{j}]"), v)));
    for (key, v) in addresses {
        let s = v.get_ref();
        let ok = s.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
            && !s
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'));
        if !ok {
            d.push(
                Diag::new(
                    v.span(),
                    format!("{field}.{key}"),
                    "must be one plain email address like oncall@example.com",
                )
                .value(show(v)),
            );
        }
    }
    if let Some(c) = &r.channel
        && (c.get_ref().is_empty() || c.get_ref().chars().any(char::is_whitespace))
    {
        d.push(
            Diag::new(
                c.span(),
                format!("{field}.channel"),
                "must be a Slack channel like \"#alerts\"",
            )
            .value(show(c)),
        );
    }
}

/// A variable name, not the secret, and not one of the credentials lkeobs never hands out.
fn env_name(field: &str, v: &Spanned<String>, d: &mut Vec<Diag>) {
    if !is_env_name(v.get_ref()) {
        d.push(
            Diag::new(
                v.span(),
                field,
                "must be an environment variable name ([A-Z_][A-Z0-9_]*), not the secret itself",
            )
            .value("<not shown>")
            .redacted(),
        );
    } else if is_credential_variable(v.get_ref()) {
        d.push(
            Diag::new(
                v.span(),
                field,
                "names a credential variable lkeobs refuses to hand to a receiver (its own LINODE_*/LKEOBS_*, KUBECONFIG, cloud, CI and registry credentials)",
            )
            .value(show(v))
            .help("export the receiver's secret under a name of its own, e.g. SLACK_WEBHOOK_URL"),
        );
    }
}

/// An https URL with a public host and no user-info.
pub(super) fn https_url(field: &str, v: &Spanned<String>, d: &mut Vec<Diag>) {
    let url = match url::Url::parse(v.get_ref()) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => u,
        _ => {
            d.push(
                Diag::new(
                    v.span(),
                    field,
                    "must be an https:// URL with a host (alerts leave the hub only over TLS)",
                )
                .value(show(v)),
            );
            return;
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        d.push(
            Diag::new(
                v.span(),
                field,
                "must not carry user-info (user:password@): a token comes from token_env",
            )
            .value("<not shown>")
            .redacted(),
        );
    } else if let Some(why) = url.host().and_then(|h| internal_host(&h)) {
        d.push(
            Diag::new(v.span(), field, format!("points at {why}: a receiver must be a public endpoint"))
                .value(show(v))
                .help("from the hub's Alertmanager such an address reaches the node, the cluster or the cloud's metadata service"),
        );
    }
}

fn smtp_host(field: &str, v: &Spanned<String>, d: &mut Vec<Diag>) {
    let Some((host, _port)) = split_host_port(v.get_ref()) else {
        d.push(Diag::new(v.span(), field, "must be host:port, like \"smtp.example.com:587\"").value(show(v)));
        return;
    };
    let internal = url::Host::parse(host).ok().map(|h| match h {
        url::Host::Domain(s) => internal_host(&url::Host::Domain(s.as_str())),
        url::Host::Ipv4(a) => internal_host(&url::Host::Ipv4(a)),
        url::Host::Ipv6(a) => internal_host(&url::Host::Ipv6(a)),
    });
    match internal {
        None => d.push(Diag::new(v.span(), field, "the host is not a host name or address").value(show(v))),
        Some(Some(why)) => d.push(
            Diag::new(
                v.span(),
                field,
                format!("points at {why}: a receiver must be a public endpoint"),
            )
            .value(show(v)),
        ),
        Some(None) => {}
    }
}

fn labels(field: &str, list: &[Spanned<String>], d: &mut Vec<Diag>) {
    for (j, l) in list.iter().enumerate() {
        let s = l.get_ref();
        let ok = s == "..."
            || (s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !ok {
            d.push(
                Diag::new(
                    l.span(),
                    format!("{field}[{j}]"),
                    "must be a label name like \"cluster_id\" (or \"...\" for every label)",
                )
                .value(show(l)),
            );
        }
    }
}

fn duration_rule(field: &str, v: &Spanned<String>, d: &mut Vec<Diag>) {
    if let Err(why) = duration::parse(v.get_ref()) {
        d.push(Diag::new(v.span(), field, format!("not a duration: {why}")).value(show(v)));
    }
}

fn route(i: usize, r: &Route, receivers: &[&str], clusters: &[&str], alerts: &[&str], d: &mut Vec<Diag>) {
    let field = format!("alerts.routes[{i}]");
    if !r.receiver.get_ref().is_empty() {
        names_receiver(&format!("{field}.receiver"), &r.receiver, receivers, d);
    }
    if r.severity.is_none() && r.alertname.is_none() && r.cluster_id.is_none() {
        d.push(
            Diag::new(
                r.span.clone(),
                field.clone(),
                "a route matches on at least one of severity, alertname, cluster_id",
            )
            .help("the alerts no route matches go to alerts.default_receiver"),
        );
    }
    let closed = |key: &str, v: &Option<Spanned<String>>, allowed: &[&str], what: &str, d: &mut Vec<Diag>| {
        let Some(v) = v else { return };
        if allowed.contains(&v.get_ref().as_str()) {
            return;
        }
        let help = match did_you_mean(v.get_ref(), allowed) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => format!("{what}: {}", allowed.join(", ")),
        };
        d.push(
            Diag::new(
                v.span(),
                format!("{field}.{key}"),
                format!("matches no alert: not one of the {what}"),
            )
            .value(show(v))
            .help(help),
        );
    };
    closed("severity", &r.severity, &SEVERITIES, "severities lkeobs' rules use", d);
    closed("alertname", &r.alertname, alerts, "alerts lkeobs' rules define", d);
    closed("cluster_id", &r.cluster_id, clusters, "fleet's clusters", d);
    labels(&format!("{field}.group_by"), &r.group_by, d);
    if let Some(v) = &r.repeat_interval {
        duration_rule(&format!("{field}.repeat_interval"), v, d);
    }
}

/// The alert names the hub's Prometheus rules define (read from the embedded template itself).
pub fn alert_names() -> Vec<String> {
    crate::stack::embedded::templates()
        .filter(|t| t.name == "20-prometheus.yaml")
        .flat_map(|t| t.source.lines())
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|s| s.trim().to_string())
        .collect()
}
