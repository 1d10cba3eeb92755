//! The `ha` hub's writes to Object Storage: each engine's bucket (as its running config names it, listed
//! with the key the engines use) holds something the engine flushed, or the probe says why not yet.

use super::outcome::Outcome;
use crate::fleet::{Fleet, HaEngine};
use crate::k8s::K8s;
use crate::objects::{self, Named};
use crate::objstore::{S3Client, S3Config};
use crate::ops::hub_storage::{KnownKey, OWNER_MARKER};

/// Where one engine writes, read from its ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineBucket {
    pub bucket: String,
    pub host: String,
    pub region: String,
}

/// The engine's ConfigMap and its file, and the path of its S3 settings in it.
fn config_of(engine: HaEngine) -> (Named, &'static str, &'static [&'static str], &'static str) {
    match engine {
        HaEngine::Mimir => (objects::MIMIR, "mimir.yaml", &["blocks_storage", "s3"], "bucket_name"),
        HaEngine::Loki => (
            objects::LOKI,
            "config.yaml",
            &["storage_config", "object_store", "s3"],
            "bucket_name",
        ),
        HaEngine::Tempo => (objects::TEMPO, "tempo.yaml", &["storage", "trace", "s3"], "bucket"),
    }
}

/// Why an engine's bucket may still be empty in a healthy fleet (nothing is lost meanwhile: the
/// ingesters hold the data, replicated, and answer queries): its flush period as its config sets it, else
/// the release's default.
fn not_yet(engine: HaEngine, doc: &serde_json::Value) -> String {
    let set = |path: &[&str], default: &str| {
        path.iter()
            .fold(doc, |v, k| &v[*k])
            .as_str()
            .map_or_else(|| default.to_string(), str::to_string)
    };
    match engine {
        HaEngine::Mimir => format!(
            "Mimir uploads a block once its {} block range closes",
            set(&["blocks_storage", "tsdb", "block_ranges_period"], "2h")
        ),
        HaEngine::Loki => format!(
            "Loki flushes a chunk when it is full or idle for {}",
            set(&["ingester", "chunk_idle_period"], "30m")
        ),
        HaEngine::Tempo => format!(
            "Tempo cuts a block after {} or when it is full",
            set(&["ingester", "max_block_duration"], "30m")
        ),
    }
}

/// The bucket, host and region in an engine's config file.
pub fn read_config(engine: HaEngine, yaml: &str) -> Result<EngineBucket, String> {
    let (_, file, _, _) = config_of(engine);
    let doc: serde_json::Value = serde_yaml_ng::from_str(yaml).map_err(|e| format!("{file} is not YAML: {e}"))?;
    bucket_in(engine, &doc)
}

fn bucket_in(engine: HaEngine, doc: &serde_json::Value) -> Result<EngineBucket, String> {
    let (_, file, path, bucket_key) = config_of(engine);
    let s3 = path.iter().fold(doc, |v, k| &v[*k]);
    let field = |k: &str| {
        s3[k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{file} has no {}.{k}", path.join(".")))
    };
    Ok(EngineBucket {
        bucket: field(bucket_key)?,
        host: field("endpoint")?,
        region: field("region")?,
    })
}

/// `bucket/<engine>` for each engine of an `ha` hub (none in mode "single").
pub async fn probe(hub: &K8s, fleet: &Fleet) -> Vec<Outcome> {
    if fleet.hub_mode.ha().is_none() {
        return Vec::new();
    }
    let engines = [HaEngine::Mimir, HaEngine::Loki, HaEngine::Tempo];
    let name = |e: HaEngine| match e {
        HaEngine::Mimir => "bucket/mimir",
        HaEngine::Loki => "bucket/loki",
        HaEngine::Tempo => "bucket/tempo",
    };
    let key = match engines_key(hub).await {
        Ok(k) => k,
        Err(e) => {
            return engines
                .iter()
                .map(|e2| Outcome::fail(name(*e2), "hub", e.clone()))
                .collect();
        }
    };
    let mut out = Vec::new();
    for engine in engines {
        out.push(match one(hub, engine, &key).await {
            Ok((0, _, why)) => Outcome::skip(name(engine), "hub", format!("nothing flushed yet: {why}")),
            Ok((n, example, _)) => Outcome::pass(
                name(engine),
                "hub",
                format!("{n} object(s) written by {} (e.g. {example})", engine.as_str()),
            ),
            Err(e) => Outcome::fail(name(engine), "hub", e),
        });
    }
    out
}

/// The key the engines read (Secret `monitoring/lkeobs-object-storage`).
async fn engines_key(hub: &K8s) -> Result<KnownKey, String> {
    let (ns, secret) = objects::OBJECT_STORAGE_SECRET.pair();
    let data = hub
        .get_secret(ns, secret)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the engines' key (Secret {ns}/{secret}) is missing: `lkeobs up` writes it"))?;
    let text = data
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    KnownKey::from_secret_data(&text).ok_or_else(|| format!("Secret {ns}/{secret} lacks the key's id or secret"))
}

/// Objects the engine wrote (the owner marker aside), the first one's name, and when it flushes.
async fn one(hub: &K8s, engine: HaEngine, key: &KnownKey) -> Result<(usize, String, String), String> {
    let (cm, file, _, _) = config_of(engine);
    let data = hub
        .get_config_map_data(cm.namespace, cm.name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("ConfigMap {cm} is missing"))?;
    let yaml = data.get(file).ok_or_else(|| format!("ConfigMap {cm} has no {file}"))?;
    let doc: serde_json::Value = serde_yaml_ng::from_str(yaml).map_err(|e| format!("{file} is not YAML: {e}"))?;
    let at = bucket_in(engine, &doc)?;
    let config = S3Config::new(&at.host, &at.region, &key.access_key, key.secret_key.clone());
    let s3 = S3Client::new(config).map_err(|e| e.to_string())?;
    let page = s3
        .list_objects_v2(&at.bucket, "", None)
        .await
        .map_err(|e| format!("listing bucket {} on {}: {e}", at.bucket, at.host))?;
    let written: Vec<&str> = page
        .objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| *k != OWNER_MARKER)
        .collect();
    let more = if page.next.is_some() { "+" } else { "" };
    let example = written.first().map(|k| format!("{k}{more}")).unwrap_or_default();
    Ok((written.len(), example, not_yet(engine, &doc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engines_bucket_is_read_where_its_config_keeps_it() {
        let mimir = "blocks_storage:\n  backend: s3\n  s3:\n    endpoint: us-ord-1.linodeobjects.com\n    region: us-ord\n    bucket_name: lkeobs-a-x-metrics\n";
        assert_eq!(
            read_config(HaEngine::Mimir, mimir).unwrap(),
            EngineBucket {
                bucket: "lkeobs-a-x-metrics".into(),
                host: "us-ord-1.linodeobjects.com".into(),
                region: "us-ord".into()
            }
        );
        let tempo = "storage:\n  trace:\n    s3:\n      endpoint: h\n      region: r\n      bucket: b\n";
        assert_eq!(read_config(HaEngine::Tempo, tempo).unwrap().bucket, "b");
        let loki = "storage_config:\n  object_store:\n    s3:\n      endpoint: h\n      region: r\n";
        let err = read_config(HaEngine::Loki, loki).unwrap_err();
        assert!(err.contains("storage_config.object_store.s3.bucket_name"), "{err}");
    }

    #[test]
    fn the_wait_names_the_configured_flush_period_else_the_default() {
        let tempo: serde_json::Value = serde_yaml_ng::from_str("ingester:\n  max_block_duration: 5m\n").unwrap();
        assert_eq!(
            not_yet(HaEngine::Tempo, &tempo),
            "Tempo cuts a block after 5m or when it is full"
        );
        let none = serde_json::Value::Null;
        assert!(not_yet(HaEngine::Mimir, &none).contains("its 2h block range"));
    }
}
