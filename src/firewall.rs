//! The gateway Cloud Firewall's rules: inbound DROP, ACCEPT TCP 4317,4318 from every edge node's public IPv4,
//! chunked by the API's limits (255 addresses a rule, 25 rules). Pure: building and reading rule sets.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::linode::{FirewallAction, FirewallRule, FirewallRules, Protocol, RuleAddresses};

/// OTLP gRPC and HTTP.
pub const OTLP_PORTS: &str = "4317,4318";
/// Addresses one rule may hold.
pub const ADDRESSES_PER_RULE: usize = 255;
/// Rules one firewall may hold (inbound and outbound together).
pub const MAX_RULES: usize = 25;

/// Too many edge nodes for one firewall.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{nodes} edge node addresses need more than {MAX_RULES} firewall rules of {ADDRESSES_PER_RULE} addresses")]
pub struct TooManyAddresses {
    pub nodes: usize,
}

/// The rules for the given edge node addresses (deduplicated and sorted, so equal inputs give equal rules).
pub fn gateway_rules(edge_ips: &[Ipv4Addr]) -> Result<FirewallRules, TooManyAddresses> {
    let ips: BTreeSet<Ipv4Addr> = edge_ips.iter().copied().collect();
    let addresses: Vec<String> = ips.iter().map(|ip| format!("{ip}/32")).collect();
    let chunks: Vec<&[String]> = addresses.chunks(ADDRESSES_PER_RULE).collect();
    if chunks.len() > MAX_RULES {
        return Err(TooManyAddresses { nodes: addresses.len() });
    }
    let inbound = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| FirewallRule {
            action: FirewallAction::Accept,
            protocol: Protocol::Tcp,
            ports: Some(OTLP_PORTS.to_string()),
            addresses: RuleAddresses {
                ipv4: Some(chunk.to_vec()),
                ipv6: None,
            },
            label: Some(format!("otlp-edges-{}", i + 1)),
            description: Some("lkeobs: OTLP from edge nodes".to_string()),
        })
        .collect();
    Ok(FirewallRules {
        inbound_policy: FirewallAction::Drop,
        inbound,
        outbound_policy: FirewallAction::Accept,
        outbound: Vec::new(),
    })
}

/// The IPv4 addresses (without `/32`) an existing rule set lets reach the OTLP ports.
pub fn allowed_ips(rules: &FirewallRules) -> BTreeSet<String> {
    rules
        .inbound
        .iter()
        .filter(|r| r.action == FirewallAction::Accept)
        .flat_map(|r| {
            r.addresses
                .ipv4
                .iter()
                .flatten()
                .chain(r.addresses.ipv6.iter().flatten())
        })
        .map(|a| a.trim_end_matches("/32").trim_end_matches("/128").to_string())
        .collect()
}

/// Everything in `rules` the gateway rules never contain, described for people: policies other than
/// inbound DROP / outbound ACCEPT, inbound rules that are not `ACCEPT TCP 4317,4318` from IPv4 hosts,
/// and any outbound rule. A hand-added `ACCEPT ::/0` or a `DROP` shows here.
pub fn foreign_rules(rules: &FirewallRules) -> Vec<String> {
    let mut out = Vec::new();
    if rules.inbound_policy != FirewallAction::Drop {
        out.push(format!("inbound policy {:?} (want Drop)", rules.inbound_policy));
    }
    if rules.outbound_policy != FirewallAction::Accept {
        out.push(format!("outbound policy {:?} (want Accept)", rules.outbound_policy));
    }
    for r in &rules.inbound {
        let v6 = r.addresses.ipv6.as_ref().is_some_and(|v| !v.is_empty());
        let hosts_only = r.addresses.ipv4.iter().flatten().all(|a| a.ends_with("/32"));
        if r.action != FirewallAction::Accept
            || r.protocol != Protocol::Tcp
            || r.ports.as_deref() != Some(OTLP_PORTS)
            || v6
            || !hosts_only
        {
            out.push(format!(
                "inbound {:?} {:?} ports {} from {}",
                r.action,
                r.protocol,
                r.ports.as_deref().unwrap_or("all"),
                r.addresses
                    .ipv4
                    .iter()
                    .flatten()
                    .chain(r.addresses.ipv6.iter().flatten())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for r in &rules.outbound {
        out.push(format!("outbound {:?} {:?}", r.action, r.protocol));
    }
    out
}

/// Whether `current` already is what [`gateway_rules`] would produce for `wanted` (policies and the address set).
pub fn matches(current: &FirewallRules, wanted: &FirewallRules) -> bool {
    current.inbound_policy == wanted.inbound_policy
        && current.outbound_policy == wanted.outbound_policy
        && current.inbound.len() == wanted.inbound.len()
        && foreign_rules(current).is_empty()
        && allowed_ips(current) == allowed_ips(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(n: usize) -> Vec<Ipv4Addr> {
        (0..n)
            .map(|i| Ipv4Addr::new(203, 0, (i / 250) as u8, (i % 250) as u8 + 1))
            .collect()
    }

    #[test]
    fn inbound_drop_and_one_rule_per_255_addresses() {
        let r = gateway_rules(&ips(600)).unwrap();
        assert_eq!(r.inbound_policy, FirewallAction::Drop);
        assert_eq!(r.outbound_policy, FirewallAction::Accept);
        let sizes: Vec<usize> = r
            .inbound
            .iter()
            .map(|x| x.addresses.ipv4.as_ref().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![255, 255, 90]);
        assert!(
            r.inbound
                .iter()
                .all(|x| x.ports.as_deref() == Some("4317,4318") && x.protocol == Protocol::Tcp)
        );
        assert!(r.inbound[0].addresses.ipv4.as_ref().unwrap()[0].ends_with("/32"));
    }

    #[test]
    fn more_than_25_rules_is_an_error() {
        assert!(gateway_rules(&ips(25 * 255)).is_ok());
        assert_eq!(
            gateway_rules(&ips(25 * 255 + 1)),
            Err(TooManyAddresses { nodes: 25 * 255 + 1 })
        );
    }

    #[test]
    fn duplicates_collapse_and_order_does_not_matter() {
        let mut a = ips(10);
        let b: Vec<Ipv4Addr> = a.iter().rev().copied().chain(a.iter().copied()).collect();
        assert_eq!(gateway_rules(&a), gateway_rules(&b));
        a.push(a[0]);
        assert_eq!(
            gateway_rules(&a).unwrap().inbound[0]
                .addresses
                .ipv4
                .as_ref()
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn no_edges_means_drop_everything() {
        let r = gateway_rules(&[]).unwrap();
        assert!(r.inbound.is_empty());
        assert_eq!(r.inbound_policy, FirewallAction::Drop);
    }

    #[test]
    fn drift_is_detected() {
        let want = gateway_rules(&ips(3)).unwrap();
        assert!(matches(&want, &want));
        let other = gateway_rules(&ips(4)).unwrap();
        assert!(!matches(&other, &want));
        let mut open = want.clone();
        open.inbound_policy = FirewallAction::Accept;
        assert!(!matches(&open, &want));
    }

    #[test]
    fn hand_added_ipv6_or_drop_rules_are_drift() {
        let ok = gateway_rules(&ips(3)).unwrap();
        assert!(foreign_rules(&ok).is_empty());
        assert!(matches(&ok, &ok));
        let mut open = ok.clone();
        open.inbound[0].addresses.ipv6 = Some(vec!["::/0".into()]);
        assert!(!matches(&open, &ok), "an ACCEPT ::/0 is drift");
        assert!(allowed_ips(&open).contains("::/0"));
        assert!(foreign_rules(&open)[0].contains("::/0"));
        let mut dropped = ok.clone();
        dropped.inbound[0].action = FirewallAction::Drop;
        assert!(!matches(&dropped, &ok), "a changed action is drift");
        let mut wide = ok.clone();
        wide.inbound[0].addresses.ipv4 = Some(vec!["0.0.0.0/0".into()]);
        assert_eq!(foreign_rules(&wide).len(), 1);
    }
}
