//! Subject alternative names: IP or DNS, parsed from strings, and the gateway's and Grafana's fixed sets.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::{Error, Result};

/// DNS names of the gateway's Services every server certificate carries. Edges verify against the
/// fourth (`gateway.service_host`, via `server_name_override`) whatever address they dial.
pub const GATEWAY_DNS_NAMES: [&str; 5] = [
    "otel-gateway",
    "otel-gateway.observability-hub",
    "otel-gateway.observability-hub.svc",
    crate::objects::GATEWAY_SERVICE_HOST,
    "otel-gateway-external.observability-hub.svc.cluster.local",
];

/// Names Grafana's server certificate carries besides its LoadBalancer address: its Service, and the
/// loopback names `kubectl port-forward svc/grafana 3000:3000` is browsed at.
pub const GRAFANA_NAMES: [&str; 5] = [
    "grafana.monitoring",
    "grafana.monitoring.svc",
    "grafana.monitoring.svc.cluster.local",
    "localhost",
    "127.0.0.1",
];

/// A subject alternative name. DNS names are kept lower-case (they compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    /// An IP literal (`10.0.0.1`, `2600::1`, `[2600::1]`) becomes an IP SAN, anything else must be a DNS name.
    pub fn parse(s: &str) -> Result<San> {
        let trimmed = s.trim();
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(San::Ip(ip));
        }
        let name = trimmed.strip_suffix('.').unwrap_or(trimmed).to_ascii_lowercase();
        if is_dns_name(&name) {
            Ok(San::Dns(name))
        } else {
            Err(Error::InvalidSan(s.to_owned()))
        }
    }

    pub(super) fn to_rcgen(&self) -> Result<rcgen::SanType> {
        Ok(match self {
            San::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            San::Dns(name) => {
                rcgen::SanType::DnsName(name.as_str().try_into().map_err(|_| Error::InvalidSan(name.clone()))?)
            }
        })
    }
}

impl FromStr for San {
    type Err = Error;
    fn from_str(s: &str) -> Result<San> {
        San::parse(s)
    }
}

impl From<IpAddr> for San {
    fn from(ip: IpAddr) -> San {
        San::Ip(ip)
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// Host name syntax: 1–253 characters, dot-separated labels of 1–63 `[a-z0-9-]` not starting or ending with `-`.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The gateway certificate's SANs: [`GATEWAY_DNS_NAMES`] plus the LoadBalancer address (IP or host name) when known.
pub fn gateway_sans(lb_address: Option<&str>) -> Result<Vec<San>> {
    let mut sans: Vec<San> = GATEWAY_DNS_NAMES.iter().map(|n| San::Dns((*n).to_owned())).collect();
    if let Some(address) = lb_address {
        let san = San::parse(address)?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// Grafana's certificate SANs: [`GRAFANA_NAMES`] plus its LoadBalancer address (IP or host name).
pub fn grafana_sans(lb_address: &str) -> Result<Vec<San>> {
    let mut sans = GRAFANA_NAMES
        .iter()
        .map(|n| San::parse(n))
        .collect::<Result<Vec<_>>>()?;
    let san = San::parse(lb_address)?;
    if !sans.contains(&san) {
        sans.push(san);
    }
    Ok(sans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ips_and_dns_names() {
        assert_eq!(San::parse("172.233.1.2").ok(), Some(San::Ip([172, 233, 1, 2].into())));
        assert_eq!(
            San::parse("[2600:3c00::1]").ok(),
            "2600:3c00::1".parse::<IpAddr>().ok().map(San::Ip)
        );
        assert_eq!(
            San::parse("2600:3c00::1").ok(),
            "2600:3c00::1".parse::<IpAddr>().ok().map(San::Ip)
        );
        assert_eq!(
            San::parse(" NB-1.ip.LinodeUserContent.com. ").ok(),
            Some(San::Dns("nb-1.ip.linodeusercontent.com".into()))
        );
        for bad in [
            "",
            ".",
            "a..b",
            "-a.b",
            "a_b",
            "a b",
            "*.example.com",
            "http://x",
            &"a".repeat(64),
        ] {
            assert!(San::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn displays_with_kind() {
        assert_eq!(San::Ip([10, 0, 0, 1].into()).to_string(), "IP:10.0.0.1");
        assert_eq!(San::Dns("a.b".into()).to_string(), "DNS:a.b");
    }

    #[test]
    fn gateway_sans_adds_the_lb_address_once() -> Result<()> {
        assert_eq!(gateway_sans(None)?.len(), GATEWAY_DNS_NAMES.len());
        let with_ip = gateway_sans(Some("172.233.1.2"))?;
        assert_eq!(with_ip.last(), Some(&San::Ip([172, 233, 1, 2].into())));
        assert_eq!(gateway_sans(Some("otel-gateway"))?.len(), GATEWAY_DNS_NAMES.len());
        assert!(gateway_sans(Some("not a host")).is_err());
        Ok(())
    }

    #[test]
    fn grafana_sans_are_its_names_loopback_and_the_lb_address() -> Result<()> {
        let sans = grafana_sans("172.233.9.9")?;
        assert_eq!(sans.len(), GRAFANA_NAMES.len() + 1);
        assert!(sans.contains(&San::Ip([127, 0, 0, 1].into())));
        assert!(sans.contains(&San::Dns("localhost".into())));
        assert_eq!(sans.last(), Some(&San::Ip([172, 233, 9, 9].into())));
        assert_eq!(grafana_sans("localhost")?.len(), GRAFANA_NAMES.len());
        assert!(grafana_sans("not a host").is_err());
        Ok(())
    }
}
