//! The objects each engine writes to its bucket, named as the real engines name them: a Mimir TSDB block
//! (`<tenant>/<ULID>/chunks/000001`, `index`, then `meta.json`), Loki chunks and a TSDB index with the Thanos
//! objstore client (`<tenant>/<fingerprint>/<from>:<through>:<checksum>`, `index/<table>/<tenant>/…`), a Tempo
//! block (`<tenant>/<blockID>/data.parquet`, `bloom-0`, then `meta.json`). Contents stand in for the formats.

use serde_json::json;

use super::data_store::{Labels, Store};
use crate::clock::rfc3339;

/// One object to put.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Object {
    pub key: String,
    pub body: Vec<u8>,
}

/// What `store` holds that is newer than `after_ns` (unix nanoseconds).
pub(crate) fn newer(store: &Store, after_ns: u128) -> Store {
    let mut out = Store::default();
    for s in &store.series {
        for (t, v) in &s.samples {
            if (*t * 1e9) as u128 > after_ns {
                out.sample(s.labels.clone(), *t, *v);
            }
        }
    }
    for s in &store.streams {
        for e in s.entries.iter().filter(|e| e.ns > after_ns) {
            out.log(s.labels.clone(), e.clone());
        }
    }
    out.spans
        .extend(store.spans.iter().filter(|s| s.start_ns > after_ns).cloned());
    out
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID for a block made at `ms` (48-bit time, 80 random bits, Crockford base32).
pub(crate) fn ulid(ms: u64) -> String {
    let value: u128 = (u128::from(ms & 0xFFFF_FFFF_FFFF) << 80) | (fastrand::u128(..) >> 48);
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// A random (v4) UUID, as Tempo names its blocks.
fn uuid() -> String {
    let v = (fastrand::u128(..) & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

fn labels_text(l: &Labels) -> String {
    let pairs: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn time(ns: u128) -> String {
    rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
}

/// A Mimir ingester's block of `store`'s series for `tenant`, made at `now_ms`.
pub(crate) fn mimir_block(tenant: &str, store: &Store, now_ms: u64) -> Vec<Object> {
    let id = ulid(now_ms);
    let mut chunks = 0x85BD_40DDu32.to_be_bytes().to_vec();
    let mut index = 0xBAAA_D700u32.to_be_bytes().to_vec();
    let (mut min, mut max, mut samples) = (i64::MAX, i64::MIN, 0usize);
    for s in &store.series {
        index.extend(format!("{}\n", labels_text(&s.labels)).bytes());
        for (t, v) in &s.samples {
            let ms = (*t * 1e3) as i64;
            (min, max, samples) = (min.min(ms), max.max(ms), samples + 1);
            chunks.extend(ms.to_be_bytes());
            chunks.extend(v.to_be_bytes());
        }
    }
    let meta = json!({"ulid": id, "minTime": min, "maxTime": max + 1,
        "stats": {"numSamples": samples, "numSeries": store.series.len(), "numChunks": store.series.len()},
        "compaction": {"level": 1, "sources": [id]}, "version": 1,
        "thanos": {"labels": {}, "downsample": {"resolution": 0}, "source": "receive",
            "segment_files": ["000001"],
            "files": [{"rel_path": "chunks/000001", "size_bytes": chunks.len()},
                {"rel_path": "index", "size_bytes": index.len()}, {"rel_path": "meta.json"}]}});
    vec![
        Object {
            key: format!("{tenant}/{id}/chunks/000001"),
            body: chunks,
        },
        Object {
            key: format!("{tenant}/{id}/index"),
            body: index,
        },
        Object {
            key: format!("{tenant}/{id}/meta.json"),
            body: serde_json::to_vec_pretty(&meta).unwrap_or_default(),
        },
    ]
}

/// A Loki ingester's flush of `store`'s streams for `tenant`: one chunk per stream, then its TSDB index in
/// the daily table `<prefix><day>`; `pod` names the ingester.
pub(crate) fn loki_flush(tenant: &str, pod: &str, table_prefix: &str, store: &Store, now_ns: u128) -> Vec<Object> {
    let mut out = Vec::new();
    let mut index = Vec::new();
    for s in &store.streams {
        let fp = u64::from_be_bytes(
            digest(labels_text(&s.labels).as_bytes())[..8]
                .try_into()
                .unwrap_or_default(),
        );
        let from = s.entries.iter().map(|e| e.ns).min().unwrap_or(now_ns) / 1_000_000;
        let through = s.entries.iter().map(|e| e.ns).max().unwrap_or(now_ns) / 1_000_000;
        let mut body = 0x012E_E56Au32.to_be_bytes().to_vec();
        for e in &s.entries {
            body.extend(format!("{} {}\n", e.ns, e.line).bytes());
        }
        let sum = u32::from_be_bytes(digest(&body)[..4].try_into().unwrap_or_default());
        index.extend(format!("{fp:x} {}\n", labels_text(&s.labels)).bytes());
        out.push(Object {
            key: format!("{tenant}/{fp:x}/{from:x}:{through:x}:{sum:x}"),
            body,
        });
    }
    let secs = now_ns / 1_000_000_000;
    let table = format!("{table_prefix}{}", secs / 86_400);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = std::io::Write::write_all(&mut gz, &index);
    out.push(Object {
        key: format!("index/{table}/{tenant}/{secs}-{pod}-{now_ns}.tsdb.gz"),
        body: gz.finish().unwrap_or_default(),
    });
    out
}

/// A Tempo ingester's block of `store`'s spans for `tenant`.
pub(crate) fn tempo_block(tenant: &str, store: &Store) -> Vec<Object> {
    let id = uuid();
    let spans: Vec<serde_json::Value> = store
        .spans
        .iter()
        .map(|s| json!({"traceId": s.trace_id, "name": s.name, "start": s.start_ns.to_string()}))
        .collect();
    let mut data = b"PAR1".to_vec();
    data.extend(serde_json::to_vec(&spans).unwrap_or_default());
    data.extend(b"PAR1");
    let traces: std::collections::BTreeSet<&str> = store.spans.iter().map(|s| s.trace_id.as_str()).collect();
    let start = store.spans.iter().map(|s| s.start_ns).min().unwrap_or_default();
    let end = store.spans.iter().map(|s| s.start_ns).max().unwrap_or_default();
    let meta = json!({"format": "vParquet4", "blockID": id, "tenantID": tenant, "startTime": time(start),
        "endTime": time(end), "totalObjects": traces.len(), "size": data.len(), "compactionLevel": 0,
        "encoding": "none", "indexPageSize": 0, "totalRecords": 1, "dataEncoding": "", "bloomShards": 1,
        "footerSize": 0});
    vec![
        Object {
            key: format!("{tenant}/{id}/data.parquet"),
            body: data,
        },
        Object {
            key: format!("{tenant}/{id}/bloom-0"),
            body: digest(id.as_bytes()).to_vec(),
        },
        Object {
            key: format!("{tenant}/{id}/meta.json"),
            body: serde_json::to_vec_pretty(&meta).unwrap_or_default(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_engines_shapes() {
        let id = ulid(1_700_000_000_000);
        assert_eq!(id.len(), 26);
        assert!(id.starts_with("01HF"), "{id}: the time leads");
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4", "{u}");
    }

    #[test]
    fn objects_are_named_as_the_engines_name_them() {
        let mut st = Store::default();
        st.sample(super::super::data_store::labels(&[("__name__", "up")]), 1.0, 1.0);
        let keys: Vec<String> = mimir_block("anonymous", &st, 1000).into_iter().map(|o| o.key).collect();
        assert!(
            keys[0].starts_with("anonymous/") && keys[0].ends_with("/chunks/000001"),
            "{keys:?}"
        );
        assert!(keys[2].ends_with("/meta.json"), "meta.json goes last: {keys:?}");
        assert!(
            newer(&st, 1_000_000_000).series.is_empty(),
            "a sample at 1 s is not newer than 1 s"
        );
    }
}
