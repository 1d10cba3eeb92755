//! The GPU items: an edge with a GPU pool added to the running fleet (`[edges.gpu]`), DCGM's pods ready,
//! LKE's GPU nodes untainted, DCGM restricted and stable, then the edge removed. Live only with
//! `LKEOBS_LIVE_GPU=TYPE@REGION` (a GPU pool costs more than the default ceiling).

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::api::{Api, ListParams};

use crate::live::harness::Harness;

const ITEM: &str = "gpu-nodes";
const DCGM_ITEM: &str = "pii-and-dcgm";
/// The edge the suite adds.
const EDGE: &str = "gpu";
/// On the simulator: a plan and a region its catalog sells it in.
const SIM_GPU: (&str, &str) = ("g2-gpu-rtx4000a1-s", "sg-sin-2");

/// `(type, region)` of the GPU pool, or why there is none.
fn gpu_spec(h: &Harness) -> Result<(String, String), String> {
    if !h.target.is_live() {
        return Ok((SIM_GPU.0.into(), SIM_GPU.1.into()));
    }
    let v = std::env::var("LKEOBS_LIVE_GPU").unwrap_or_default();
    v.split_once('@')
        .filter(|(t, r)| !t.is_empty() && !r.is_empty())
        .map(|(t, r)| (t.to_string(), r.to_string()))
        .ok_or_else(|| {
            "not run: set LKEOBS_LIVE_GPU=TYPE@REGION (e.g. g2-gpu-rtx4000a1-s@sg-sin-2) and raise \
             LKEOBS_LIVE_MAX_MONTHLY_COST to cover a GPU pool"
                .to_string()
        })
}

pub fn run(h: &mut Harness) {
    let (gpu_type, region) = match gpu_spec(h) {
        Ok(s) => s,
        Err(why) => {
            h.skip(ITEM, "all checks", &why);
            h.skip(DCGM_ITEM, "dcgm-exporter restricted on a real GPU", &why);
            return;
        }
    };
    let edited = h.edit_fleet(|d| {
        let mut t = toml_edit::Table::new();
        t["region"] = toml_edit::value(region.as_str());
        let mut pools = toml_edit::Array::new();
        for (ty, n) in [("g6-standard-1", 1), (gpu_type.as_str(), 1)] {
            let mut p = toml_edit::InlineTable::new();
            p.insert("type", ty.into());
            p.insert("count", i64::from(n).into());
            pools.push(p);
        }
        t["pools"] = toml_edit::value(pools);
        d["edges"][EDGE] = toml_edit::Item::Table(t);
    });
    if let Err(e) = edited {
        h.check(ITEM, "edit the fleet", |_| Err(e));
        return;
    }
    let up = h.check(ITEM, &format!("up with a {gpu_type} pool in {region} (exit 0)"), |h| {
        crate::live::changes::up(h, "adding a GPU edge")
    });
    if up {
        checks(h);
    }
    h.check(ITEM, "remove-edge gpu (exit 0)", |h| {
        crate::live::safety::inventory(h);
        h.lkeobs(&["remove-edge", EDGE]).ok("remove-edge gpu")?;
        Ok("removed".into())
    });
}

fn checks(h: &mut Harness) {
    h.check(ITEM, "verify: dcgm-exporter's pods are ready on the GPU edge", |h| {
        let out = h.lkeobs(&["verify"]);
        let rows = out.json["outcomes"].as_array().cloned().unwrap_or_default();
        let pods = rows
            .iter()
            .find(|o| o["name"] == "pods" && o["cluster"] == EDGE)
            .ok_or_else(|| format!("no pods row for {EDGE}: {}", out.why()))?;
        let detail = pods["detail"].as_str().unwrap_or_default();
        if pods["outcome"] != "pass" || !detail.contains("dcgm-exporter") {
            return Err(format!("pods row of {EDGE}: {pods}"));
        }
        Ok(detail.to_string())
    });
    let why = "taints and RuntimeClasses on GPU nodes are what LKE puts there (the simulator's are modelled)";
    h.live_only(ITEM, "GPU nodes carry lkeobs.io/gpu and no taint", why, |h| {
        let label = format!(
            "{}={}",
            lkeobs::objects::GPU_LABEL_KEY,
            lkeobs::objects::GPU_LABEL_VALUE
        );
        let nodes =
            h.rt.block_on(Api::<Node>::all(h.kube(EDGE)?).list(&ListParams::default().labels(&label)))
                .map_err(|e| e.to_string())?;
        if nodes.items.is_empty() {
            return Err(format!("no node labelled {label}"));
        }
        for n in &nodes.items {
            let taints = n.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
            if !taints.is_empty() {
                return Err(format!("{:?} has taints {taints:?}", n.metadata.name));
            }
        }
        Ok(format!("{} GPU node(s), untainted", nodes.items.len()))
    });
    h.live_only(
        ITEM,
        "RuntimeClasses on the GPU edge (recorded: nvidia or containerd's default)",
        why,
        |h| {
            let rcs =
                h.rt.block_on(Api::<RuntimeClass>::all(h.kube(EDGE)?).list(&ListParams::default()))
                    .map_err(|e| e.to_string())?;
            Ok(format!(
                "RuntimeClasses: {:?}",
                rcs.items
                    .iter()
                    .map(|r| format!("{}={}", r.metadata.name.clone().unwrap_or_default(), r.handler))
                    .collect::<Vec<_>>()
            ))
        },
    );
    let why = "the simulator's pods run no DCGM and no GPU";
    h.live_only(
        DCGM_ITEM,
        "dcgm-exporter runs restricted (read-only root) and never restarted",
        why,
        |h| {
            let api: Api<Pod> = Api::namespaced(h.kube(EDGE)?, lkeobs::objects::OBSERVABILITY);
            let pods =
                h.rt.block_on(api.list(&ListParams::default().labels("app.kubernetes.io/name=dcgm-exporter")))
                    .map_err(|e| e.to_string())?;
            if pods.items.is_empty() {
                return Err("no dcgm-exporter pod".into());
            }
            for p in &pods.items {
                let name = p.metadata.name.clone().unwrap_or_default();
                let spec = p.spec.as_ref().ok_or("a pod without spec")?;
                for c in &spec.containers {
                    let ro = c.security_context.as_ref().and_then(|s| s.read_only_root_filesystem);
                    if ro != Some(true) {
                        return Err(format!("{name}/{}: readOnlyRootFilesystem {ro:?}", c.name));
                    }
                }
                for s in p.status.iter().flat_map(|s| s.container_statuses.iter().flatten()) {
                    if !s.ready || s.restart_count > 0 {
                        return Err(format!(
                            "{name}/{}: ready {} restarts {}",
                            s.name, s.ready, s.restart_count
                        ));
                    }
                }
            }
            Ok(format!("{} dcgm-exporter pod(s) ready, no restart", pods.items.len()))
        },
    );
}
