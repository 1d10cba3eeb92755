//! The rules of one `[[destinations]]` entry: a known type with the keys it needs and none it does not
//! use, an OTLP protocol, a URL endpoint, a token variable name, known signals listed once.

use std::collections::BTreeSet;

use super::destination::{DestinationKind, OtlpProtocol, Signal};
use super::diag::Diag;
use super::spec::{Destination, Spanned};
use super::validate::{is_env_name, show};

pub(super) fn destination(i: usize, dest: &Destination, d: &mut Vec<Diag>) {
    let field = format!("destinations[{i}]");
    let text = dest.kind.get_ref().as_str();
    if text.is_empty() {
        return;
    }
    let Some(kind) = dest.kind() else {
        let mut diag =
            Diag::new(dest.kind.span(), format!("{field}.type"), "unknown destination type").value(show(&dest.kind));
        diag = match super::diag::did_you_mean(text, &DestinationKind::NAMES) {
            Some(s) => diag.help(format!("did you mean \"{s}\"? (splunk_hec, datadog or otlp)")),
            None => diag.help("use splunk_hec, datadog or otlp"),
        };
        d.push(diag);
        return;
    };
    let need = |present: bool, key: &str, d: &mut Vec<Diag>| {
        if !present {
            d.push(
                Diag::new(
                    dest.kind.span(),
                    format!("{field}.{key}"),
                    format!("a {kind} destination needs `{key}`"),
                )
                .value(show(&dest.kind)),
            );
        }
    };
    let forbid = |v: &Option<Spanned<String>>, key: &str, why: &str, d: &mut Vec<Diag>| {
        if let Some(v) = v {
            d.push(
                Diag::new(
                    v.span(),
                    format!("{field}.{key}"),
                    format!("not used by a {kind} destination: {why}"),
                )
                .value(show(v)),
            );
        }
    };
    match kind {
        DestinationKind::SplunkHec => {
            need(dest.endpoint.is_some(), "endpoint", d);
            need(dest.token_env.is_some(), "token_env", d);
            forbid(&dest.site, "site", "only datadog has a site", d);
            forbid(&dest.protocol, "protocol", "only otlp has a protocol", d);
        }
        DestinationKind::Datadog => {
            need(dest.token_env.is_some(), "token_env", d);
            forbid(
                &dest.endpoint,
                "endpoint",
                "datadog takes `site` (e.g. \"datadoghq.eu\")",
                d,
            );
            forbid(&dest.protocol, "protocol", "only otlp has a protocol", d);
        }
        DestinationKind::Otlp => {
            need(dest.endpoint.is_some(), "endpoint", d);
            forbid(&dest.site, "site", "only datadog has a site", d);
            if let Some(p) = &dest.protocol
                && OtlpProtocol::parse(p.get_ref()).is_none()
            {
                d.push(Diag::new(p.span(), format!("{field}.protocol"), "must be \"grpc\" or \"http\"").value(show(p)));
            }
        }
    }
    if let Some(e) = &dest.endpoint {
        match url::Url::parse(e.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => d.push(
                Diag::new(
                    e.span(),
                    format!("{field}.endpoint"),
                    "must be an http:// or https:// URL with a host",
                )
                .value(show(e)),
            ),
        }
    }
    if let Some(t) = &dest.token_env
        && !is_env_name(t.get_ref())
    {
        d.push(
            Diag::new(
                t.span(),
                format!("{field}.token_env"),
                "must be an environment variable name ([A-Z_][A-Z0-9_]*), not the secret itself",
            )
            .value("<not shown>")
            .redacted(),
        );
    }
    if dest.signals.is_empty() && !d.iter().any(|x| x.field == format!("{field}.signals")) {
        d.push(Diag::new(
            dest.span.clone(),
            format!("{field}.signals"),
            "list the signals to send: any of \"metrics\", \"logs\", \"traces\"",
        ));
    }
    let mut seen = BTreeSet::new();
    for (j, s) in dest.signals.iter().enumerate() {
        let v = s.get_ref().as_str();
        if Signal::parse(v).is_none() {
            d.push(
                Diag::new(
                    s.span(),
                    format!("{field}.signals[{j}]"),
                    "must be \"metrics\", \"logs\" or \"traces\"",
                )
                .value(show(s)),
            );
        } else if !seen.insert(v) {
            d.push(Diag::new(s.span(), format!("{field}.signals[{j}]"), "listed twice").value(show(s)));
        }
    }
}
