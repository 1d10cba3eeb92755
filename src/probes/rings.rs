//! The `ha` hub's rings: every replica of Mimir, Loki and Tempo `ACTIVE` in its engine's ingester ring,
//! read from the engine's ring page as JSON (dskit's `{"shards": [{"id", "state", …}]}`).

use serde::Deserialize;

use super::backend::Backend;
use super::outcome::Outcome;
use crate::fleet::{Fleet, HaEngine};
use crate::k8s::K8s;
use crate::objects::{self, Named};

/// One engine's ring, as the probe reads it.
#[derive(Clone, Debug)]
pub struct Ring {
    pub engine: HaEngine,
    /// The engine's HTTP API (no path prefix: the ring pages sit at the root).
    pub backend: Backend,
    /// `/ingester/ring` (Mimir, Tempo) or `/ring` (Loki).
    pub path: &'static str,
    /// The replicas the fleet runs.
    pub replicas: u32,
}

impl Ring {
    /// The probe's name, e.g. `ring/mimir`.
    pub fn probe_name(&self) -> &'static str {
        match self.engine {
            HaEngine::Mimir => "ring/mimir",
            HaEngine::Loki => "ring/loki",
            HaEngine::Tempo => "ring/tempo",
        }
    }
}

/// The rings of `fleet`'s hub (none in mode "single").
pub fn of_hub(hub: &K8s, fleet: &Fleet) -> Vec<Ring> {
    let Some(ha) = crate::stack::ha_context::vars(fleet, None).ha else {
        return Vec::new();
    };
    let ring = |engine, named: Named, port, path, replicas| Ring {
        engine,
        backend: Backend::service(hub, named, port),
        path,
        replicas,
    };
    vec![
        ring(
            HaEngine::Mimir,
            objects::MIMIR,
            objects::MIMIR_HTTP_PORT,
            "/ingester/ring",
            ha.mimir.replicas,
        ),
        ring(HaEngine::Loki, objects::LOKI, 3100, "/ring", ha.loki.replicas),
        ring(
            HaEngine::Tempo,
            objects::TEMPO,
            3200,
            "/ingester/ring",
            ha.tempo.replicas,
        ),
    ]
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    shards: Vec<Shard>,
}

#[derive(Deserialize)]
struct Shard {
    id: String,
    state: String,
}

/// What a ring page says: (members ACTIVE, every member as `id STATE`).
fn read(body: &[u8]) -> Result<(usize, Vec<String>), String> {
    let page: Page = serde_json::from_slice(body).map_err(|e| format!("not a ring page in JSON: {e}"))?;
    let active = page.shards.iter().filter(|s| s.state == "ACTIVE").count();
    let members = page.shards.iter().map(|s| format!("{} {}", s.id, s.state)).collect();
    Ok((active, members))
}

/// The verdict on a ring of `replicas` from its page: passes with every replica ACTIVE.
pub fn judge(name: &str, replicas: u32, body: &[u8]) -> Outcome {
    match read(body) {
        Err(e) => Outcome::fail(name, "hub", e),
        Ok((active, members)) => {
            let detail = format!("{active}/{replicas} ACTIVE ({})", members.join(", "));
            if active >= replicas as usize {
                Outcome::pass(name, "hub", detail)
            } else {
                Outcome::fail(
                    name,
                    "hub",
                    format!("{detail}: a write needs 2 of 3 replicas, and one more replica lost stops ingest"),
                )
            }
        }
    }
}

/// `ring/<engine>`: every replica ACTIVE.
pub async fn probe(ring: &Ring) -> Outcome {
    let name = ring.probe_name();
    match ring.backend.get_json(ring.path).await {
        Err(e) => Outcome::fail(name, "hub", e),
        Ok(r) if !r.is_success() => Outcome::fail(name, "hub", format!("GET {} {}", ring.path, r.answered())),
        Ok(r) => judge(name, ring.replicas, &r.body),
    }
}

/// Members ACTIVE and in all, for `status` (None: the page could not be read).
pub async fn health(ring: &Ring) -> Result<(usize, usize), String> {
    let r = ring.backend.get_json(ring.path).await?;
    if !r.is_success() {
        return Err(format!("GET {} {}", ring.path, r.answered()));
    }
    read(&r.body).map(|(active, members)| (active, members.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"shards":[
        {"id":"mimir-0","state":"ACTIVE","address":"10.2.0.5:9095","timestamp":"2026-12-07T10:00:00Z","tokens":[1]},
        {"id":"mimir-1","state":"ACTIVE","address":"10.2.1.5:9095","timestamp":"2026-12-07T10:00:00Z","tokens":[2]},
        {"id":"mimir-2","state":"UNHEALTHY","address":"10.2.2.5:9095","timestamp":"2026-12-07T09:00:00Z","tokens":[3]}
    ],"now":"2026-12-07T10:00:01Z"}"#;

    #[test]
    fn a_ring_passes_only_with_every_replica_active() {
        let o = judge("ring/mimir", 3, PAGE.as_bytes());
        assert!(o.failed(), "{o:?}");
        assert!(
            o.detail
                .starts_with("2/3 ACTIVE (mimir-0 ACTIVE, mimir-1 ACTIVE, mimir-2 UNHEALTHY)"),
            "{o:?}"
        );
        let all = PAGE.replace("UNHEALTHY", "ACTIVE");
        let o = judge("ring/mimir", 3, all.as_bytes());
        assert!(!o.failed(), "{o:?}");
        assert!(o.detail.starts_with("3/3 ACTIVE"), "{o:?}");
    }

    #[test]
    fn an_html_page_is_a_failure_saying_so() {
        let o = judge("ring/loki", 3, b"<html>ring</html>");
        assert!(o.failed() && o.detail.contains("not a ring page in JSON"), "{o:?}");
    }
}
