//! The security policy a fleet file is held to. `strict` (the default under CI) refuses, at their line, the
//! choices `open` only warns about: mTLS or the gateway firewall off, GPU profiling on, networks wider than /8
//! (IPv4) or /16 (IPv6) or sets that together admit every address, and node labels or taints under the
//! prefixes Kubernetes reserves.

use std::net::IpAddr;

use ipnet::IpNet;

use super::diag::Diag;
use super::spec::{Fleet, Spanned};

/// `--policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Weakening choices are errors.
    Strict,
    /// Weakening choices are warnings (interactive use).
    #[default]
    Open,
}

impl Policy {
    /// The flag's choice, else `strict` under CI and `open` elsewhere.
    pub fn resolve(flag: Option<Policy>, ci: bool) -> Policy {
        flag.unwrap_or(if ci { Policy::Strict } else { Policy::Open })
    }
}

/// The widest prefix a network list may hold under `strict`.
const MIN_PREFIX_V4: u8 = 8;
const MIN_PREFIX_V6: u8 = 16;

/// The label and taint key prefixes Kubernetes reserves for itself (and subdomains of them).
const RESERVED_DOMAINS: [&str; 2] = ["kubernetes.io", "k8s.io"];

/// What `strict` refuses in `f`, each at its line.
pub fn violations(f: &Fleet) -> Vec<Diag> {
    let mut out = Vec::new();
    let help = "change the fleet file, or run with --policy open where a person accepts the risk";
    if let Some(span) = f.security.mtls_off_span() {
        out.push(
            Diag::new(
                span,
                "security.mtls",
                "turns mTLS off: the hub would accept OTLP without a client certificate",
            )
            .value("false")
            .help(help),
        );
    }
    if let Some(span) = f.security.gateway_firewall_off_span() {
        out.push(
            Diag::new(
                span,
                "security.gateway_firewall",
                "turns the gateway firewall off: the OTLP gateway would be open to the internet",
            )
            .value("false")
            .help(help),
        );
    }
    if *f.stack.gpu_profiling.get_ref() {
        out.push(
            Diag::new(
                f.stack.gpu_profiling.span(),
                "stack.gpu_profiling",
                "runs the DCGM exporter with SYS_ADMIN and a writable root filesystem",
            )
            .value("true")
            .help(help),
        );
    }
    networks("security.grafana_allow", &f.security.grafana_allow, &mut out);
    networks("security.control_plane_acl", &f.security.control_plane_acl, &mut out);
    for c in f.clusters() {
        for (p, pool) in c.pools.iter().enumerate() {
            let at = format!("{}.pools[{p}]", c.field_path());
            for (i, l) in pool.labels.iter().enumerate() {
                reserved_key(&format!("{at}.labels[{i}]"), &l.key, "label", &mut out);
            }
            for (i, t) in pool.taints.iter().enumerate() {
                reserved_key(&format!("{at}.taints[{i}].key"), &t.key, "taint", &mut out);
            }
        }
    }
    out
}

fn reserved_key(field: &str, key: &Spanned<String>, what: &str, out: &mut Vec<Diag>) {
    let Some((prefix, _)) = key.get_ref().split_once('/') else {
        return;
    };
    let prefix = prefix.to_ascii_lowercase();
    if RESERVED_DOMAINS
        .iter()
        .any(|d| prefix == *d || prefix.ends_with(&format!(".{d}")))
    {
        out.push(
            Diag::new(
                key.span(),
                field,
                format!("a node {what} under a prefix Kubernetes reserves (kubernetes.io/, k8s.io/): it could pose as one the platform sets"),
            )
            .value(format!("{:?}", key.get_ref()))
            .help("use a prefix of your own, e.g. example.com/role"),
        );
    }
}

/// Each network wider than the limit, and a list whose networks together admit every address.
fn networks(field: &str, list: &[Spanned<String>], out: &mut Vec<Diag>) {
    let mut v4: Vec<(u128, u128)> = Vec::new();
    let mut v6: Vec<(u128, u128)> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let s = item.get_ref();
        let net = match s.parse::<IpNet>() {
            Ok(n) => n,
            Err(_) => match s.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => continue, // reported by validation
            },
        };
        let (min, family) = match net {
            IpNet::V4(_) => (MIN_PREFIX_V4, "IPv4"),
            IpNet::V6(_) => (MIN_PREFIX_V6, "IPv6"),
        };
        if net.prefix_len() < min {
            out.push(
                Diag::new(
                    item.span(),
                    format!("{field}[{i}]"),
                    format!("admits a network wider than /{min}, the widest {family} network the strict policy allows"),
                )
                .value(format!("{s:?}"))
                .help("list the networks that need access, or run with --policy open"),
            );
        }
        match net {
            IpNet::V4(n) => v4.push((u128::from(u32::from(n.network())), u128::from(u32::from(n.broadcast())))),
            IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
        }
    }
    let span = list.first().map(|l| l.span()).unwrap_or_default();
    for (ranges, max, everything) in [(v4, u128::from(u32::MAX), "0.0.0.0/0"), (v6, u128::MAX, "::/0")] {
        if covers(ranges, max) {
            out.push(
                Diag::new(
                    span.clone(),
                    field,
                    format!("its networks together admit every address ({everything})"),
                )
                .help("list the networks that need access, or run with --policy open"),
            );
        }
    }
}

/// Whether the inclusive ranges together cover `0..=max`.
fn covers(mut ranges: Vec<(u128, u128)>, max: u128) -> bool {
    ranges.sort_unstable();
    let mut next = 0u128;
    for (start, end) in ranges {
        if start > next {
            return false;
        }
        if end >= max {
            return true;
        }
        next = next.max(end + 1);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_covering_everything_are_found() {
        let v4 = |a: u32, b: u32| (u128::from(a), u128::from(b));
        assert!(covers(
            vec![v4(0x8000_0000, u32::MAX), v4(0, 0x7fff_ffff)],
            u128::from(u32::MAX)
        ));
        assert!(!covers(
            vec![v4(0, 0x7fff_ffff), v4(0x8000_0001, u32::MAX)],
            u128::from(u32::MAX)
        ));
        assert!(!covers(vec![], u128::from(u32::MAX)));
        assert!(covers(vec![(0, u128::MAX)], u128::MAX));
    }

    #[test]
    fn defaults_follow_ci() {
        assert_eq!(Policy::resolve(None, true), Policy::Strict);
        assert_eq!(Policy::resolve(None, false), Policy::Open);
        assert_eq!(Policy::resolve(Some(Policy::Open), true), Policy::Open);
    }
}
