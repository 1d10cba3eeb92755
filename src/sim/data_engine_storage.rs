//! Where and when each engine writes to object storage, read from its deployed config: the S3 bucket,
//! endpoint, region and credentials (Mimir `blocks_storage.s3`, Loki's Thanos objstore or own S3 client,
//! Tempo `storage.trace.s3`), how long its ingesters hold data before a block or chunk goes out, its tenant.

use std::time::Duration;

use serde_yaml_ng::Value as Yaml;

use super::data_engines::{Engine, at, text};

/// An engine's object storage settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Target {
    /// The S3 host (`host:port`, no scheme).
    pub host: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Whether the client sends aws-chunked payloads with checksum trailers (Loki's own S3 client).
    pub chunked: bool,
}

/// How long an engine holds data in memory before it writes it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    /// Mimir's block range, Loki's `max_chunk_age`, Tempo's `max_block_duration`.
    pub period: Duration,
    /// Loki's `chunk_idle_period`: a stream without new lines that long is flushed.
    pub idle: Option<Duration>,
}

/// A Go duration (`2h`, `30m`, `1h30m`, `500ms`, `10s`).
pub(crate) fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * secs;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

fn duration(doc: &Yaml, path: &str, default: Duration) -> Duration {
    text(doc, path).and_then(|t| go_duration(&t)).unwrap_or(default)
}

/// When the engine writes out what it holds (its config, else the release's defaults).
pub(crate) fn timing(engine: Engine, doc: &Yaml) -> Timing {
    let m = |n: u64| Duration::from_secs(60 * n);
    match engine {
        Engine::Mimir => {
            let first = at(doc, "blocks_storage.tsdb.block_ranges_period")
                .and_then(|v| v.as_sequence())
                .and_then(|s| s.first())
                .and_then(|v| v.as_str())
                .and_then(go_duration);
            Timing {
                period: first.unwrap_or(m(120)),
                idle: None,
            }
        }
        Engine::Loki => Timing {
            period: duration(doc, "ingester.max_chunk_age", m(120)),
            idle: Some(duration(doc, "ingester.chunk_idle_period", m(30))),
        },
        Engine::Tempo => Timing {
            period: duration(doc, "ingester.max_block_duration", m(30)),
            idle: None,
        },
    }
}

/// The first of `paths` that holds a mapping.
fn section<'a>(doc: &'a Yaml, paths: &[&str]) -> Option<(&'a Yaml, String)> {
    paths
        .iter()
        .find_map(|p| at(doc, p).filter(|v| v.is_mapping()).map(|v| (v, p.to_string())))
}

/// The engine's S3 settings: None when it keeps its data elsewhere (a filesystem backend), Err when they
/// are incomplete.
pub(crate) fn s3(engine: Engine, doc: &Yaml) -> Option<Result<S3Target, String>> {
    // (section paths, bucket key, access key, secret key, aws-chunked)
    let (paths, bucket_key, access, secret, chunked): (&[&str], _, _, _, _) = match engine {
        Engine::Mimir => {
            let backend = text(doc, "blocks_storage.backend").or_else(|| text(doc, "common.storage.backend"));
            if backend.as_deref() != Some("s3") {
                return None;
            }
            (
                &["blocks_storage.s3", "common.storage.s3"],
                "bucket_name",
                "access_key_id",
                "secret_access_key",
                false,
            )
        }
        Engine::Loki if text(doc, "storage_config.use_thanos_objstore").as_deref() == Some("true") => (
            &["storage_config.object_store.s3", "common.storage.object_store.s3"],
            "bucket_name",
            "access_key_id",
            "secret_access_key",
            false,
        ),
        // Loki's own S3 client (aws-sdk-go-v2 in 3.x) sends aws-chunked payloads with checksum trailers.
        Engine::Loki => (
            &["storage_config.aws", "common.storage.s3"],
            "bucketnames",
            "access_key_id",
            "secret_access_key",
            true,
        ),
        Engine::Tempo => {
            if text(doc, "storage.trace.backend").as_deref() != Some("s3") {
                return None;
            }
            (&["storage.trace.s3"], "bucket", "access_key", "secret_key", false)
        }
    };
    let (sec, where_) = section(doc, paths)?;
    let field = |k: &str| text(sec, k).unwrap_or_default();
    let target = S3Target {
        host: field("endpoint"),
        region: field("region"),
        bucket: field(bucket_key)
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        access_key: field(access),
        secret_key: field(secret),
        chunked,
    };
    let missing: Vec<String> = [
        ("endpoint", &target.host),
        (bucket_key, &target.bucket),
        (access, &target.access_key),
        (secret, &target.secret_key),
    ]
    .iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(k, _)| format!("{where_}.{k}"))
    .collect();
    if !missing.is_empty() {
        return Some(Err(format!("{} is empty", missing.join(", "))));
    }
    Some(Ok(target))
}

/// The engine's tenant for data that arrives without `X-Scope-OrgID` (None: such data is refused), and
/// whether a tenant header is required at all.
pub(crate) fn default_tenant(engine: Engine, doc: &Yaml) -> Option<String> {
    let flag = |path: &str, default: bool| text(doc, path).map_or(default, |t| t == "true");
    match engine {
        Engine::Mimir if !flag("multitenancy_enabled", true) => {
            Some(text(doc, "no_auth_tenant").unwrap_or_else(|| "anonymous".into()))
        }
        Engine::Loki if !flag("auth_enabled", true) => Some("fake".into()),
        Engine::Tempo if !flag("multitenancy_enabled", false) => Some("single-tenant".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml {
        serde_yaml_ng::from_str(text).unwrap_or(Yaml::Null)
    }

    #[test]
    fn durations_parse_as_go_spells_them() {
        assert_eq!(go_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(go_duration("5x"), None);
    }

    #[test]
    fn settings_come_from_each_engines_own_keys_with_release_defaults() {
        let mimir = yaml(
            "multitenancy_enabled: false\nblocks_storage:\n  backend: s3\n  s3: {endpoint: h:1, region: r, bucket_name: b, access_key_id: a, secret_access_key: s}",
        );
        let t = s3(Engine::Mimir, &mimir).and_then(Result::ok);
        assert_eq!(t.map(|t| (t.host, t.bucket)), Some(("h:1".into(), "b".into())));
        assert_eq!(timing(Engine::Mimir, &mimir).period, Duration::from_secs(7200));
        assert_eq!(default_tenant(Engine::Mimir, &mimir).as_deref(), Some("anonymous"));
        assert_eq!(
            default_tenant(Engine::Mimir, &yaml("{}")),
            None,
            "Mimir is multi-tenant by default"
        );
        let loki =
            yaml("storage_config:\n  aws: {endpoint: h, bucketnames: b, access_key_id: a, secret_access_key: ''}");
        assert_eq!(
            s3(Engine::Loki, &loki),
            Some(Err("storage_config.aws.secret_access_key is empty".into()))
        );
        let tempo = yaml("storage: {trace: {backend: local}}\ningester: {max_block_duration: 5m}");
        assert_eq!(s3(Engine::Tempo, &tempo), None);
        assert_eq!(timing(Engine::Tempo, &tempo).period, Duration::from_secs(300));
        assert_eq!(timing(Engine::Loki, &tempo).idle, Some(Duration::from_secs(1800)));
    }
}
