//! The receivers' secrets: read only from the environment (never the file), each allowed by the operator's
//! allowlist (`--destination-token NAME=HOST` / `LKEOBS_DESTINATION_TOKENS`, required under CI) for the host
//! it goes to; a Slack webhook URL, which is itself the secret, must be https to a public host.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::alerts::{Receiver, ReceiverKind};
use super::diag::Diag;
use super::spec::Fleet;
use super::trust::{ALLOWLIST_ENV, TokenAllowlist};
use super::untrusted::internal_host;

fn field(i: usize, key: &str) -> String {
    format!("alerts.receivers[{i}].{key}")
}

/// Every receiver secret the operator has not allowed (offline: the variable's name and, when the file tells
/// it, the host); under CI, any receiver secret at all without an allowlist.
pub fn check_allowlist(f: &Fleet, allow: Option<&TokenAllowlist>, ci: bool) -> Vec<Diag> {
    let mut out = Vec::new();
    let Some(a) = &f.alerts else { return out };
    for (i, r) in a.receivers.iter().enumerate() {
        let Some((key, env)) = r.secret_env() else { continue };
        let name = env.get_ref();
        let host = r.file_host();
        let shown_host = host.clone().unwrap_or_else(|| "hooks.slack.com".to_string());
        match allow {
            None if ci => out.push(
                Diag::new(
                    env.span(),
                    field(i, key),
                    format!(
                        "under CI, {name} is read only when the operator allows it: a fleet file alone cannot choose which secret leaves the runner, nor where to"
                    ),
                )
                .value(format!("{name:?}"))
                .help(format!(
                    "pass --destination-token {name}={shown_host} (or set {ALLOWLIST_ENV}) in the pipeline's own configuration, not in the fleet file"
                )),
            ),
            None => {}
            Some(list) => match (list.hosts(name), host) {
                (None, _) => out.push(
                    Diag::new(
                        env.span(),
                        field(i, key),
                        format!(
                            "{name} is not on the operator's allowlist (which names {})",
                            list.names().join(", ")
                        ),
                    )
                    .value(format!("{name:?}"))
                    .help(format!("if this receiver is trusted, add --destination-token {name}={shown_host}")),
                ),
                (Some(hosts), Some(host)) if !hosts.contains(&host) => {
                    let span = r.url.as_ref().or(r.smtp_host.as_ref()).map_or(env.span(), |v| v.span());
                    out.push(
                        Diag::new(
                            span,
                            field(i, key),
                            format!(
                                "sends {name} to {host}, but the operator's allowlist lets it go to {} only",
                                hosts.iter().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .value(format!("{host:?}"))
                        .help("a fleet file cannot move a secret to another host; the allowlist is the operator's"),
                    )
                }
                _ => {}
            },
        }
    }
    out
}

/// The receivers' secrets from the environment, keyed by variable name; a missing or unusable one is an
/// error on its line (never quoting the value).
pub fn read<'e>(
    f: &Fleet,
    get: impl Fn(&str) -> Option<&'e SecretString>,
    allow: Option<&TokenAllowlist>,
) -> Result<BTreeMap<String, SecretString>, Vec<Diag>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    let Some(a) = &f.alerts else { return Ok(out) };
    for (i, r) in a.receivers.iter().enumerate() {
        let Some((key, env)) = r.secret_env() else { continue };
        let name = env.get_ref();
        let Some(value) = get(name) else {
            errors.push(
                Diag::new(env.span(), field(i, key), format!("the environment variable {name} is not set (or empty)"))
                    .value(format!("{name:?}"))
                    .help("export it before running up: its value goes into the Secret monitoring/lkeobs-alertmanager, mounted by Alertmanager only"),
            );
            continue;
        };
        match value_problem(r, value.expose_secret(), allow) {
            Some(why) => errors.push(
                Diag::new(env.span(), field(i, key), format!("the value of {name} {why}")).value(format!("{name:?}")),
            ),
            None => {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Why a receiver cannot use this secret value, or `None`. Never quotes the value.
fn value_problem(r: &Receiver, value: &str, allow: Option<&TokenAllowlist>) -> Option<String> {
    let value = value.trim();
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Some("holds whitespace or a control character (a line break from a file?)".into());
    }
    if r.kind() != Some(ReceiverKind::Slack) {
        return None;
    }
    let url = match url::Url::parse(value) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => u,
        _ => {
            return Some(
                "is not an https:// URL (a Slack incoming-webhook URL starts https://hooks.slack.com/)".into(),
            );
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("carries user-info (user:password@)".into());
    }
    if let Some(why) = url.host().and_then(|h| internal_host(&h)) {
        return Some(format!("points at {why}: a receiver must be a public endpoint"));
    }
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    match allow.and_then(|l| l.hosts(r.secret_env().map_or("", |(_, e)| e.get_ref()))) {
        Some(hosts) if !hosts.contains(&host) => Some(format!(
            "goes to {host}, but the operator's allowlist lets it go to {} only",
            hosts.iter().cloned().collect::<Vec<_>>().join(", ")
        )),
        _ => None,
    }
}
