//! The operator's trust decisions, given outside the fleet file (a fleet file can arrive in a pull request):
//! which environment variables a destination may carry and to which hosts (`--destination-token NAME=HOST[,…]`
//! or `LKEOBS_DESTINATION_TOKENS`), required under CI whenever a destination carries a token.

use std::collections::{BTreeMap, BTreeSet};

use super::destination::DestinationKind;
use super::diag::Diag;
use super::spec::{Destination, Fleet};

/// The variable that carries the allowlist when no flag does: entries `NAME=HOST[,HOST…]` separated by
/// whitespace or `;`.
pub const ALLOWLIST_ENV: &str = "LKEOBS_DESTINATION_TOKENS";

/// Which token variables may be read, and the endpoint hosts each may be sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAllowlist {
    entries: BTreeMap<String, BTreeSet<String>>,
}

impl TokenAllowlist {
    /// The allowlist from `--destination-token` values and the environment variable's value; `None` when
    /// neither gives an entry. An entry that does not parse is a usage error naming it.
    pub fn from_sources(flags: &[String], env: Option<&str>) -> Result<Option<Self>, String> {
        let mut list = TokenAllowlist::default();
        let from_env = env
            .unwrap_or_default()
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty());
        for entry in flags.iter().map(String::as_str).chain(from_env) {
            let (name, hosts) = parse_entry(entry)?;
            list.entries.entry(name).or_default().extend(hosts);
        }
        Ok((!list.entries.is_empty()).then_some(list))
    }

    /// The hosts `name` may go to, when the allowlist names it.
    pub fn hosts(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.entries.get(name)
    }

    /// The variable names it allows, for messages.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }
}

fn parse_entry(entry: &str) -> Result<(String, Vec<String>), String> {
    let bad = |why: &str| {
        Err(format!(
            "--destination-token / {ALLOWLIST_ENV}: {entry:?} {why}; write NAME=HOST[,HOST…], e.g. SPLUNK_HEC_TOKEN=splunk.example.com"
        ))
    };
    let Some((name, hosts)) = entry.split_once('=') else {
        return bad("has no `=`");
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("does not start with an environment variable name");
    }
    let hosts: Vec<String> = hosts
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return bad("names no host");
    }
    if let Some(h) = hosts
        .iter()
        .find(|h| h.contains(['/', ':', '@', '*']) || h.chars().any(char::is_control))
    {
        return bad(&format!(
            "has {h:?}, which is not a bare host name (no scheme, port, path or wildcard)"
        ));
    }
    Ok((name.to_string(), hosts))
}

/// The host a destination's token goes to: its endpoint's host, or a Datadog destination's site.
pub fn destination_host(dest: &Destination) -> Option<String> {
    if let Some(e) = &dest.endpoint {
        return url::Url::parse(e.get_ref())
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()));
    }
    match dest.kind() {
        Some(DestinationKind::Datadog) => Some(
            dest.site
                .as_ref()
                .map_or("datadoghq.com", |s| s.get_ref().as_str())
                .to_ascii_lowercase(),
        ),
        _ => None,
    }
}

/// Every destination token the operator has not allowed: any `token_env` the allowlist does not name, or a
/// named one going to another host; under CI, any token at all without an allowlist.
pub fn check_tokens(f: &Fleet, allow: Option<&TokenAllowlist>, ci: bool) -> Vec<Diag> {
    let mut out = Vec::new();
    for (i, dest) in f.destinations.iter().enumerate() {
        let Some(token) = &dest.token_env else { continue };
        let name = token.get_ref();
        let field = format!("destinations[{i}]");
        let host = destination_host(dest).unwrap_or_default();
        match allow {
            None if ci => out.push(
                Diag::new(
                    token.span(),
                    format!("{field}.token_env"),
                    format!(
                        "under CI, {name} is read only when the operator allows it: a fleet file alone cannot choose which secret leaves the runner, nor where to"
                    ),
                )
                .value(format!("{name:?}"))
                .help(format!(
                    "pass --destination-token {name}={host} (or set {ALLOWLIST_ENV}) in the pipeline's own configuration, not in the fleet file"
                )),
            ),
            None => {}
            Some(list) => match list.hosts(name) {
                None => out.push(
                    Diag::new(
                        token.span(),
                        format!("{field}.token_env"),
                        format!(
                            "{name} is not on the operator's allowlist (which names {})",
                            list.names().join(", ")
                        ),
                    )
                    .value(format!("{name:?}"))
                    .help(format!("if this destination is trusted, add --destination-token {name}={host}")),
                ),
                Some(hosts) if !hosts.contains(&host) => {
                    let (span, key) = match (&dest.endpoint, &dest.site) {
                        (Some(e), _) => (e.span(), "endpoint"),
                        (None, Some(s)) => (s.span(), "site"),
                        (None, None) => (token.span(), "token_env"),
                    };
                    out.push(
                        Diag::new(
                            span,
                            format!("{field}.{key}"),
                            format!(
                                "sends {name} to {host}, but the operator's allowlist lets it go to {} only",
                                hosts.iter().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .value(format!("{host:?}"))
                        .help("a fleet file cannot move a token to another host; the allowlist is the operator's"),
                    )
                }
                Some(_) => {}
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_from_flags_and_the_environment() {
        let list = TokenAllowlist::from_sources(
            &["SPLUNK_HEC_TOKEN=splunk.example.com".into()],
            Some("DD_API_KEY=datadoghq.eu; OTLP_TOKEN=a.example,B.example"),
        )
        .expect("parses")
        .expect("some");
        assert_eq!(list.names(), ["DD_API_KEY", "OTLP_TOKEN", "SPLUNK_HEC_TOKEN"]);
        assert!(list.hosts("OTLP_TOKEN").is_some_and(|h| h.contains("b.example")));
        assert_eq!(TokenAllowlist::from_sources(&[], Some("  ")), Ok(None));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "NOHOST",
            "X=",
            "=host",
            "X=https://a.example",
            "X=a.example:443",
            "X=*.example",
        ] {
            assert!(
                TokenAllowlist::from_sources(&[bad.into()], None).is_err(),
                "{bad} must be refused"
            );
        }
    }
}
