//! Rules for values written by someone lkeobs must not trust (a fleet file can arrive in a pull request
//! that CI applies with the operator's token): no control characters or `${` in any string, tag
//! characters, Datadog sites, token variables that are not credentials of lkeobs or of well-known
//! tools, and endpoints that carry a token only over `https` without user-info.

use toml::de::{DeTable, DeValue};

use super::diag::Diag;
use super::spec::{Destination, Fleet, Spanned};

/// Datadog sites as Datadog documents them ("Getting started with Datadog sites").
pub const DATADOG_SITES: [&str; 7] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ddog-gov.com",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
];

/// Environment variables a destination token must never be read from: lkeobs' own credentials, the
/// kubeconfig, and the credentials of CI systems and clouds a pipeline commonly holds. A name equal
/// to an entry, or starting with an entry that ends in `_`, is refused.
const CREDENTIAL_VARIABLES: [&str; 22] = [
    "LINODE_",
    "LKEOBS_",
    "KUBECONFIG",
    "AWS_",
    "AZURE_",
    "ARM_",
    "GOOGLE_",
    "GCLOUD_",
    "CLOUDSDK_",
    "DIGITALOCEAN_",
    "HCLOUD_TOKEN",
    "VAULT_",
    "GITHUB_",
    "GH_TOKEN",
    "ACTIONS_",
    "CI_JOB_TOKEN",
    "CI_REGISTRY_",
    "GITLAB_",
    "NPM_TOKEN",
    "CARGO_REGISTRY_TOKEN",
    "DOCKER_",
    "SSH_",
];

/// Whether `name` is a credential variable lkeobs refuses as a `token_env`.
pub fn is_credential_variable(name: &str) -> bool {
    CREDENTIAL_VARIABLES.iter().any(|c| {
        if c.ends_with('_') {
            name.starts_with(c) || name == c.trim_end_matches('_')
        } else {
            name == *c
        }
    })
}

/// Every string value of the document (any key, any depth): no control characters, no `${` (the
/// collector expands `${env:...}` and `${file:...}` in its configuration). Run on the raw TOML so no
/// key escapes it.
pub fn scan_strings(root: &DeTable<'_>) -> Vec<Diag> {
    let mut out = Vec::new();
    for (k, v) in root {
        key(k, "", &mut out);
        walk(k.get_ref(), v, &mut out);
    }
    out
}

/// A key with a control character is refused at its line (its name is escaped in the diagnostic).
fn key(k: &toml::Spanned<std::borrow::Cow<'_, str>>, parent: &str, out: &mut Vec<Diag>) {
    if k.get_ref().chars().any(crate::text::is_control) {
        let path = if parent.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{parent}.{}", k.get_ref())
        };
        out.push(
            Diag::new(
                k.span(),
                path,
                "a key must not contain control characters or line breaks",
            )
            .help("rename the key: fleet-file keys are plain words like `region`"),
        );
    }
}

fn walk(path: &str, value: &toml::Spanned<DeValue<'_>>, out: &mut Vec<Diag>) {
    match value.get_ref() {
        DeValue::String(s) => {
            if let Some(diag) = string_problem(s) {
                out.push(Diag::new(value.span(), path, diag).value("<not shown>").redacted());
            }
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), item, out);
            }
        }
        DeValue::Table(t) => {
            for (k, v) in t {
                key(k, path, out);
                walk(&format!("{path}.{}", k.get_ref()), v, out);
            }
        }
        _ => {}
    }
}

fn string_problem(s: &str) -> Option<&'static str> {
    if let Some(c) = s.chars().find(|c| crate::text::is_control(*c)) {
        return Some(if c == '\t' {
            "must not contain a tab (no control characters in fleet values)"
        } else {
            "must not contain control characters or line breaks"
        });
    }
    if s.contains("${") {
        return Some("must not contain `${` (the collector would expand it, e.g. ${env:LINODE_TOKEN})");
    }
    None
}

/// Tag characters: what both Linode tags and the comma-split annotations and StorageClass parameters
/// that carry them accept unchanged.
pub fn is_tag(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '=' | '+' | '@'))
}

/// The destination rules of this module (the string scan runs at parse time; tags use [`is_tag`]).
pub fn check(f: &Fleet, d: &mut Vec<Diag>) {
    for (i, dest) in f.destinations.iter().enumerate() {
        destination(i, dest, d);
    }
}

fn destination(i: usize, dest: &Destination, d: &mut Vec<Diag>) {
    let field = format!("destinations[{i}]");
    if let Some(site) = &dest.site
        && !DATADOG_SITES.contains(&site.get_ref().as_str())
    {
        d.push(
            Diag::new(site.span(), format!("{field}.site"), "not a Datadog site")
                .value(format!("{:?}", site.get_ref()))
                .help(format!("use one of {}", DATADOG_SITES.join(", "))),
        );
    }
    if let Some(t) = &dest.token_env
        && is_credential_variable(t.get_ref())
    {
        d.push(
            Diag::new(
                t.span(),
                format!("{field}.token_env"),
                "names a credential variable lkeobs refuses to hand to a destination (its own LINODE_*/LKEOBS_*, KUBECONFIG, cloud, CI and registry credentials)",
            )
            .value(format!("{:?}", t.get_ref()))
            .help("export the destination's token under a name of its own, e.g. SPLUNK_HEC_TOKEN"),
        );
    }
    if let Some(e) = &dest.endpoint {
        endpoint(&field, e, dest.token_env.is_some(), d);
    }
}

fn endpoint(field: &str, e: &Spanned<String>, carries_token: bool, d: &mut Vec<Diag>) {
    let Ok(url) = url::Url::parse(e.get_ref()) else {
        return; // reported by the shape rules
    };
    if !matches!(url.scheme(), "http" | "https") {
        return; // reported by the shape rules
    }
    let field = format!("{field}.endpoint");
    if let Some(why) = url.host().and_then(|h| internal_host(&h)) {
        d.push(
            Diag::new(
                e.span(),
                field.clone(),
                format!("points at {why}: a destination must be a public endpoint"),
            )
            .value(format!("{:?}", e.get_ref()))
            .help("from the hub's gateway such an address reaches the node, the cluster or the cloud's metadata service, not a telemetry backend"),
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        d.push(
            Diag::new(
                e.span(),
                field.clone(),
                "must not carry user-info (user:password@): credentials come from token_env",
            )
            .value("<not shown>")
            .redacted(),
        );
    } else if carries_token && url.scheme() != "https" {
        d.push(
            Diag::new(
                e.span(),
                field,
                "must be https:// because this destination sends a token",
            )
            .value(format!("{:?}", e.get_ref())),
        );
    }
}

/// Why a destination host is not a public endpoint: a loopback, private, shared (CGNAT), link-local
/// (the metadata service at 169.254.169.254 among them), unspecified or multicast address written as an IP
/// literal (IPv4-mapped IPv6 included), or a name that only resolves inside a machine or site.
pub fn internal_host(host: &url::Host<&str>) -> Option<&'static str> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    fn v4(ip: Ipv4Addr) -> Option<&'static str> {
        let o = ip.octets();
        if ip == Ipv4Addr::new(169, 254, 169, 254) {
            Some("the cloud metadata address 169.254.169.254")
        } else if ip.is_loopback() {
            Some("a loopback address")
        } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
            Some("a private address")
        } else if ip.is_link_local() {
            Some("a link-local address")
        } else if ip.is_unspecified() || o[0] == 0 || ip.is_broadcast() || ip.is_multicast() {
            Some("an address that names no public host")
        } else {
            None
        }
    }
    fn v6(ip: Ipv6Addr) -> Option<&'static str> {
        let first = ip.segments()[0];
        if let Some(mapped) = ip.to_ipv4_mapped() {
            v4(mapped)
        } else if ip.is_loopback() {
            Some("a loopback address")
        } else if (first & 0xfe00) == 0xfc00 {
            Some("a private (unique local) address")
        } else if (first & 0xffc0) == 0xfe80 {
            Some("a link-local address")
        } else if ip.is_unspecified() || ip.is_multicast() {
            Some("an address that names no public host")
        } else {
            None
        }
    }
    match host {
        url::Host::Ipv4(ip) => v4(*ip),
        url::Host::Ipv6(ip) => v6(*ip),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            // A name that is an IP literal in another spelling is caught by the URL parser, which
            // normalises `0x7f.1`, `2130706433` and the like to an Ipv4 host.
            if let Ok(ip) = name.parse::<IpAddr>() {
                return match ip {
                    IpAddr::V4(ip) => v4(ip),
                    IpAddr::V6(ip) => v6(ip),
                };
            }
            let internal = name == "localhost"
                || [".localhost", ".local", ".internal", ".cluster.local", ".svc"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                || name == "metadata"
                || name == "metadata.google.internal";
            internal.then_some("a name that resolves only inside a machine, cluster or site")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_variables_are_recognised() {
        for bad in [
            "LINODE_TOKEN",
            "LINODE_CLI_TOKEN",
            "KUBECONFIG",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "LKEOBS_FLEET",
            "SSH_AUTH_SOCK",
        ] {
            assert!(is_credential_variable(bad), "{bad}");
        }
        for ok in ["SPLUNK_HEC_TOKEN", "DD_API_KEY", "PARTNER_OTLP_TOKEN", "LINODEX"] {
            assert!(!is_credential_variable(ok), "{ok}");
        }
    }

    #[test]
    fn forbidden_characters_include_yaml_line_breaks() {
        for s in ["a\rb", "a\nb", "a\tb", "a\u{85}b", "a\u{2028}b", "a\u{1b}[31m"] {
            assert!(string_problem(s).is_some(), "{s:?}");
        }
        assert!(string_problem("x${env:LINODE_TOKEN}").is_some());
        assert!(string_problem("plain $ value {}").is_none());
    }

    #[test]
    fn tags_allow_what_linode_and_annotations_carry_unchanged() {
        assert!(is_tag("team-obs") && is_tag("env:prod") && is_tag("cost/center=42"));
        for bad in ["a,b", "a b", "a\"b", "a'b", "a{b", "a#b"] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn internal_destination_hosts_are_named() {
        let internal = |u: &str| {
            let url = url::Url::parse(u).expect("url");
            internal_host(&url.host().expect("a host"))
        };
        for bad in [
            "https://169.254.169.254/latest",
            "https://10.0.0.5:4318",
            "https://127.0.0.1",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://[::1]:4317",
            "https://[::ffff:10.1.2.3]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://100.64.0.1/",
            "https://192.168.1.1/",
            "https://172.16.0.1/",
            "https://localhost:4318",
            "https://otel.observability.svc.cluster.local:4317",
            "https://metadata.google.internal/",
        ] {
            assert!(internal(bad).is_some(), "{bad} must be refused");
        }
        for ok in [
            "https://collector.example.com/v1",
            "https://203.0.113.7:4318",
            "https://[2001:db8::1]/",
        ] {
            assert_eq!(internal(ok), None, "{ok}");
        }
    }
}
