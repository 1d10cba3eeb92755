//! The closed vocabularies of `[[destinations]]`: its type, OTLP protocol and signals, parsed from the fleet
//! file's text in one place and used as types everywhere after.

use super::spec::Destination;

/// `type`: where a destination sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    SplunkHec,
    Datadog,
    Otlp,
}

impl DestinationKind {
    pub const NAMES: [&'static str; 3] = ["splunk_hec", "datadog", "otlp"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "splunk_hec" => Some(DestinationKind::SplunkHec),
            "datadog" => Some(DestinationKind::Datadog),
            "otlp" => Some(DestinationKind::Otlp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::SplunkHec => "splunk_hec",
            DestinationKind::Datadog => "datadog",
            DestinationKind::Otlp => "otlp",
        }
    }
}

impl DestinationKind {
    /// Why `token` cannot work for this kind of destination (the gateway's exporter would refuse to start, or
    /// the header it goes into would break), or `None`. Never quotes the token.
    pub fn token_problem(self, token: &str) -> Option<&'static str> {
        if token.trim().is_empty() {
            return Some("is empty");
        }
        if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Some(
                "holds whitespace or a control character (a trailing newline from a file?); it goes into an HTTP header",
            );
        }
        match self {
            DestinationKind::Datadog if !token.chars().all(|c| c.is_ascii_hexdigit()) => Some(
                "is not a Datadog API key: the datadog exporter takes hexadecimal digits only (0-9, a-f) and refuses to start otherwise",
            ),
            _ => None,
        }
    }
}

impl std::fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `protocol` of an `otlp` destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    #[default]
    Grpc,
    Http,
}

impl OtlpProtocol {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "grpc" => Some(OtlpProtocol::Grpc),
            "http" => Some(OtlpProtocol::Http),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::Http => "http",
        }
    }
}

/// One of `signals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    Metrics,
    Logs,
    Traces,
}

impl Signal {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "metrics" => Some(Signal::Metrics),
            "logs" => Some(Signal::Logs),
            "traces" => Some(Signal::Traces),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }
}

impl Destination {
    /// The type; `None` only for a fleet that did not pass validation.
    pub fn kind(&self) -> Option<DestinationKind> {
        DestinationKind::parse(self.kind.get_ref())
    }

    /// The OTLP protocol (`grpc` when not given); `None` for a value validation refuses.
    pub fn protocol(&self) -> Option<OtlpProtocol> {
        match &self.protocol {
            None => Some(OtlpProtocol::default()),
            Some(p) => OtlpProtocol::parse(p.get_ref()),
        }
    }

    /// The signals it receives, in file order; values validation refuses are left out.
    pub fn signals(&self) -> Vec<Signal> {
        self.signals.iter().filter_map(|s| Signal::parse(s.get_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_itself() {
        for n in DestinationKind::NAMES {
            assert_eq!(DestinationKind::parse(n).map(DestinationKind::as_str), Some(n));
        }
        for n in ["grpc", "http"] {
            assert_eq!(OtlpProtocol::parse(n).map(OtlpProtocol::as_str), Some(n));
        }
        for n in ["metrics", "logs", "traces"] {
            assert_eq!(Signal::parse(n).map(Signal::as_str), Some(n));
        }
        assert_eq!(DestinationKind::parse("splunk"), None);
        assert_eq!(Signal::parse("Metrics"), None);
    }
}

#[cfg(test)]
mod token_tests {
    use super::DestinationKind::{Datadog, Otlp, SplunkHec};

    #[test]
    fn token_shapes_the_exporters_take() {
        assert_eq!(Datadog.token_problem("0123456789abcdefABCDEF0123456789"), None);
        assert!(Datadog.token_problem("dd-api-key-xyz").unwrap().contains("hexadecimal"));
        assert_eq!(SplunkHec.token_problem("00000000-1111-2222-3333-444444444444"), None);
        assert_eq!(Otlp.token_problem("abc.def_ghi"), None);
        for kind in [Datadog, SplunkHec, Otlp] {
            assert_eq!(kind.token_problem(""), Some("is empty"));
            assert!(kind.token_problem("abc\n").unwrap().contains("newline"));
            assert!(kind.token_problem("ab cd").unwrap().contains("whitespace"));
        }
    }
}
