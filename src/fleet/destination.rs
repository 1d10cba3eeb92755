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
