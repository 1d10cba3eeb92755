//! The load generator Job one edge runs: `telemetrygen` (pinned at the collector's version) sending
//! traces, metrics and logs at the asked rates to that edge's own agent, marked with the run's id.

use std::time::Duration;

use serde_json::{Value, json};

use crate::objects::{self, AGENT, OBSERVABILITY};
use crate::stack::versions::TELEMETRYGEN;

/// The label every load-test Job and pod carries, valued with the run id.
pub const RUN_LABEL: &str = "lkeobs.io/loadtest";
/// The attribute that marks every generated span, log record and metric point with the run id
/// (`lkeobs_loadtest_run` in Loki's structured metadata and as a Prometheus label).
pub const RUN_ATTRIBUTE: &str = "lkeobs.loadtest.run";
/// The generated data's `service.name` (Loki's `service_name`).
pub const SERVICE: &str = "lkeobs-loadtest";
/// Added to the duration for `activeDeadlineSeconds`: time to pull the image and start. If lkeobs
/// itself is killed, Kubernetes still stops the generator then.
pub const START_GRACE: Duration = Duration::from_secs(300);
/// `ttlSecondsAfterFinished`: a finished Job lkeobs could not delete goes by itself after this.
pub const TTL_AFTER_FINISHED: u32 = 600;
/// The most one telemetrygen worker is asked to send per second; more runs more workers.
const PER_WORKER: f64 = 1000.0;
/// The user the telemetrygen image runs as (cmd/telemetrygen/Dockerfile: `USER 10001:10001`, `ENTRYPOINT
/// ["/telemetrygen"]`, so the container args start with the subcommand), made explicit for `runAsNonRoot`.
const USER: i64 = 10001;

/// The flags of telemetrygen v0.159.0 by subcommand, from
/// opentelemetry-collector-contrib `cmd/telemetrygen/internal/config/config.go` (`CommonFlags`) and
/// `cmd/telemetrygen/pkg/{traces,metrics,logs}/config.go` (`Flags`). Every flag lkeobs passes must
/// be here (unit test below); a telemetrygen upgrade re-reads those files.
pub const TELEMETRYGEN_FLAGS: &[(&str, &[&str])] = &[
    (
        "traces",
        &[
            "otlp-http-url-path",
            "traces",
            "child-spans",
            "marshal",
            "status-code",
            "batch",
            "size",
            "span-duration",
        ],
    ),
    (
        "metrics",
        &[
            "otlp-http-url-path",
            "metrics",
            "otlp-metric-name",
            "trace-id",
            "span-id",
            "metric-type",
            "aggregation-temporality",
            "unique-timeseries",
            "unique-timeseries-duration",
            "size",
        ],
    ),
    (
        "logs",
        &[
            "otlp-http-url-path",
            "logs",
            "body",
            "severity-text",
            "severity-number",
            "trace-id",
            "span-id",
        ],
    ),
];

/// `CommonFlags` of the same version, shared by every subcommand.
pub const TELEMETRYGEN_COMMON_FLAGS: &[&str] = &[
    "workers",
    "rate",
    "duration",
    "interval",
    "otlp-endpoint",
    "otlp-insecure",
    "otlp-insecure-skip-verify",
    "otlp-http",
    "service",
    "otlp-header",
    "otlp-attributes",
    "telemetry-attributes",
    "ca-cert",
    "mtls",
    "client-cert",
    "client-key",
    "allow-export-failures",
    "size",
    "batch",
    "batch-size",
];

/// The three signals, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// The telemetrygen subcommand.
    pub fn subcommand(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The collector's counter suffix (`otelcol_receiver_accepted_<suffix>`).
    pub fn counter(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metric_points",
            Signal::Logs => "log_records",
        }
    }

    /// What one item is called in the report.
    pub fn items(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metric points",
            Signal::Logs => "log records",
        }
    }
}

/// Items per second per signal, for each edge.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rates {
    pub traces: f64,
    pub metrics: f64,
    pub logs: f64,
}

impl Rates {
    pub fn of(&self, s: Signal) -> f64 {
        match s {
            Signal::Traces => self.traces,
            Signal::Metrics => self.metrics,
            Signal::Logs => self.logs,
        }
    }
}

/// One edge's generator.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub fleet: &'a str,
    pub edge: &'a str,
    pub run_id: &'a str,
    pub rates: Rates,
    pub duration: Duration,
}

/// `lkeobs-loadtest-<run id>` (the same in every edge: each edge is its own cluster).
pub fn name(run_id: &str) -> String {
    format!("lkeobs-loadtest-{run_id}")
}

/// `12.5` → `12.5`, `1000.0` → `1000`.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// telemetrygen's arguments for one signal: its subcommand, then `--flag=value` pairs.
pub fn args(signal: Signal, spec: &Spec<'_>) -> Vec<String> {
    let rate = spec.rates.of(signal);
    let workers = (rate / PER_WORKER).ceil().max(1.0);
    // Plain OTLP/gRPC to the node-local agent inside the cluster, on purpose: the agent adds the
    // cluster identity and forwards over the real mTLS path to the hub gateway, which is what this
    // test measures. The generator never talks to the gateway itself (no `--otlp-insecure` there).
    let endpoint = format!("{}.{}.svc.cluster.local:4317", AGENT.name, AGENT.namespace);
    let mut a = vec![
        signal.subcommand().to_string(),
        format!("--otlp-endpoint={endpoint}"),
        "--otlp-insecure".to_string(),
        format!("--service={SERVICE}"),
        format!("--duration={}ms", spec.duration.as_millis()),
        format!("--workers={workers}"),
        format!("--rate={}", number(rate / workers)),
        format!("--telemetry-attributes={RUN_ATTRIBUTE}=\"{}\"", spec.run_id),
    ];
    if signal == Signal::Traces {
        // One child per trace; telemetrygen's rate limiter counts every span, root and child alike.
        a.push("--child-spans=1".to_string());
    }
    a
}

/// The Job (batch/v1) for one edge, as JSON. Its pod meets the `restricted` Pod Security Standard like
/// the stack's own pods (tests/pod_security.rs): non-root, read-only root filesystem, no privilege
/// escalation, every capability dropped, RuntimeDefault seccomp, requests and limits.
pub fn manifest(spec: &Spec<'_>) -> Value {
    let name = name(spec.run_id);
    let mut labels = objects::labels(spec.fleet, spec.edge);
    labels.insert(RUN_LABEL.to_string(), spec.run_id.to_string());
    labels.insert("app.kubernetes.io/name".to_string(), "lkeobs-loadtest".to_string());
    let containers: Vec<Value> = Signal::ALL
        .iter()
        .filter(|s| spec.rates.of(**s) > 0.0)
        .map(|s| {
            json!({
                "name": s.subcommand(),
                "image": TELEMETRYGEN,
                "args": args(*s, spec),
                "resources": {
                    "requests": {"cpu": "100m", "memory": "64Mi"},
                    "limits": {"cpu": "1", "memory": "256Mi"}
                },
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "runAsNonRoot": true,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"}
                }
            })
        })
        .collect();
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": OBSERVABILITY, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            // Backstops if lkeobs is killed before it deletes the Job.
            "activeDeadlineSeconds": (spec.duration + START_GRACE).as_secs(),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": USER,
                        "runAsGroup": USER,
                        "seccompProfile": {"type": "RuntimeDefault"}
                    },
                    "containers": containers
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec<'static> {
        Spec {
            fleet: "f",
            edge: "us-east",
            run_id: "0123abcd",
            rates: Rates {
                traces: 1000.0,
                metrics: 5000.0,
                logs: 2000.0,
            },
            duration: Duration::from_secs(300),
        }
    }

    #[test]
    fn every_flag_lkeobs_passes_is_one_of_that_telemetrygen_versions_flags() {
        for signal in Signal::ALL {
            let args = args(signal, &spec());
            let own = TELEMETRYGEN_FLAGS
                .iter()
                .find(|(sub, _)| *sub == args[0])
                .map(|(_, f)| *f)
                .unwrap_or_default();
            assert!(!own.is_empty(), "{} is not a telemetrygen subcommand", args[0]);
            for a in &args[1..] {
                let flag = a
                    .strip_prefix("--")
                    .and_then(|f| f.split('=').next())
                    .unwrap_or_else(|| panic!("{a} is not a --flag"));
                assert!(
                    own.contains(&flag) || TELEMETRYGEN_COMMON_FLAGS.contains(&flag),
                    "telemetrygen {} has no --{flag}",
                    args[0]
                );
            }
        }
    }

    #[test]
    fn rates_are_split_over_workers_and_the_run_id_marks_the_data() {
        let a = args(Signal::Metrics, &spec());
        assert!(
            a.contains(&"--workers=5".to_string()) && a.contains(&"--rate=1000".to_string()),
            "{a:?}"
        );
        assert!(a.contains(&"--duration=300000ms".to_string()), "{a:?}");
        assert!(
            a.contains(&"--telemetry-attributes=lkeobs.loadtest.run=\"0123abcd\"".to_string()),
            "{a:?}"
        );
        assert!(
            a[1].starts_with("--otlp-endpoint=otel-agent.observability.svc"),
            "{a:?}"
        );
        let a = args(
            Signal::Logs,
            &Spec {
                rates: Rates {
                    logs: 250.0,
                    ..spec().rates
                },
                ..spec()
            },
        );
        assert!(
            a.contains(&"--workers=1".to_string()) && a.contains(&"--rate=250".to_string()),
            "{a:?}"
        );
    }

    #[test]
    fn the_job_is_bounded_and_skips_a_signal_at_rate_zero() {
        let j = manifest(&Spec {
            rates: Rates {
                logs: 0.0,
                ..spec().rates
            },
            ..spec()
        });
        assert_eq!(j["spec"]["activeDeadlineSeconds"], 600);
        assert_eq!(j["spec"]["ttlSecondsAfterFinished"], 600);
        let names: Vec<&str> = j["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["traces", "metrics"]);
        assert_eq!(j["metadata"]["labels"][RUN_LABEL], "0123abcd");
    }
}
