//! The host and port a collector dials for an exporter endpoint, in each spelling the collector takes:
//! `host:port`, a URL (default port by scheme), a gRPC target (`dns:///host:port`).

/// `(host, port)` of `host:port`, a URL (default ports by scheme) or a gRPC target (`dns:///host:port`,
/// `dns://authority/host:port`; gRPC's default port 443).
pub(crate) fn host_port(endpoint: &str) -> Option<(String, u16)> {
    if let Some(target) = endpoint.strip_prefix("dns:") {
        let target = match target.strip_prefix("//") {
            Some(rest) => rest.split_once('/')?.1,
            None => target,
        };
        return match host_port(target) {
            Some(hp) => Some(hp),
            None if !target.is_empty() && !target.contains(['/', ':']) => Some((target.to_string(), 443)),
            None => None,
        };
    }
    let (default, rest) = match endpoint.split_once("://") {
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (80, rest),
        None => (0, endpoint),
    };
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            Some((host.trim_matches(['[', ']']).to_string(), port.parse().ok()?))
        }
        _ if default > 0 => Some((authority.to_string(), default)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn endpoints_give_their_host_and_port() {
        let hp = |e: &str| host_port(e);
        assert_eq!(
            hp("http://prometheus.monitoring.svc.cluster.local:9090/api/v1/write"),
            Some(("prometheus.monitoring.svc.cluster.local".into(), 9090))
        );
        assert_eq!(
            hp("tempo.monitoring.svc.cluster.local:4317"),
            Some(("tempo.monitoring.svc.cluster.local".into(), 4317))
        );
        assert_eq!(
            hp("https://splunk.example.com/services"),
            Some(("splunk.example.com".into(), 443))
        );
        assert_eq!(hp("203.0.113.7:4317"), Some(("203.0.113.7".into(), 4317)));
        assert_eq!(hp("[2001:db8::1]:4317"), Some(("2001:db8::1".into(), 4317)));
        assert_eq!(hp("nohost"), None);
        assert_eq!(
            hp("dns:///tempo-headless.monitoring.svc.cluster.local:4317"),
            Some(("tempo-headless.monitoring.svc.cluster.local".into(), 4317))
        );
        assert_eq!(hp("dns://8.8.8.8/example.com:4317"), Some(("example.com".into(), 4317)));
        assert_eq!(hp("dns:example.com"), Some(("example.com".into(), 443)));
    }
}
