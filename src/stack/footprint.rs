//! What a rendered stack makes the platform bill for: LoadBalancer Services (each becomes a NodeBalancer
//! through the cloud controller) and StatefulSet volume claims (each replica gets a Block Storage volume
//! through the CSI driver), read back from the rendered YAML so the price follows the manifests.

use serde::{Deserialize as _, Serialize};
use serde_yaml_ng::Value;

use super::render::{RenderError, RenderedCluster};

/// Linode's smallest volume: smaller claims are rounded up.
pub const MIN_VOLUME_GIB: u64 = 10;

/// One StatefulSet volume claim template: a volume per replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// `namespace/statefulset/claim`, e.g. `observability-hub/otel-gateway/queue`.
    pub name: String,
    /// Size of each volume in GiB (rounded up to Linode's 10 GiB minimum).
    pub gib: u64,
    /// Replicas: fixed (`min == max`) or the range of the HorizontalPodAutoscaler that scales it.
    pub replicas_min: u32,
    pub replicas_max: u32,
}

/// The billable resources one cluster's stack creates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Footprint {
    /// LoadBalancer Services as `namespace/name`.
    pub load_balancers: Vec<String>,
    pub claims: Vec<Claim>,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

fn number(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_u64()
}

/// A Kubernetes quantity in GiB (`50Gi`, `1Ti`), rounded up to whole GiB; None for other forms.
fn gib(quantity: &str) -> Option<u64> {
    let (n, mult) = if let Some(n) = quantity.strip_suffix("Gi") {
        (n, 1)
    } else if let Some(n) = quantity.strip_suffix("Ti") {
        (n, 1024)
    } else {
        return None;
    };
    n.parse::<u64>().ok().map(|n| n.saturating_mul(mult))
}

impl RenderedCluster {
    /// The LoadBalancer Services and volume claims of the rendered stack.
    pub fn footprint(&self) -> Result<Footprint, RenderError> {
        let mut docs = Vec::new();
        for f in &self.files {
            for doc in serde_yaml_ng::Deserializer::from_str(&f.content) {
                let value = Value::deserialize(doc).map_err(|source| RenderError::Yaml {
                    cluster: self.cluster.clone(),
                    file: f.name.clone(),
                    source,
                })?;
                if !value.is_null() {
                    docs.push(value);
                }
            }
        }
        let mut out = Footprint::default();
        for d in &docs {
            let ns = text(d, &["metadata", "namespace"]).unwrap_or("default");
            let name = text(d, &["metadata", "name"]).unwrap_or_default();
            match text(d, &["kind"]) {
                Some("Service") if text(d, &["spec", "type"]) == Some("LoadBalancer") => {
                    out.load_balancers.push(format!("{ns}/{name}"));
                }
                Some("StatefulSet") => {
                    let fixed = number(d, &["spec", "replicas"]).map_or(1, |r| r as u32);
                    let (lo, hi) = hpa_range(&docs, ns, name).unwrap_or((fixed, fixed));
                    let templates = d
                        .get("spec")
                        .and_then(|s| s.get("volumeClaimTemplates"))
                        .and_then(Value::as_sequence);
                    for t in templates.into_iter().flatten() {
                        let size = text(t, &["spec", "resources", "requests", "storage"]).and_then(gib);
                        out.claims.push(Claim {
                            name: format!("{ns}/{name}/{}", text(t, &["metadata", "name"]).unwrap_or_default()),
                            gib: size.unwrap_or(MIN_VOLUME_GIB).max(MIN_VOLUME_GIB),
                            replicas_min: lo,
                            replicas_max: hi,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The replica range of the HorizontalPodAutoscaler that scales StatefulSet `ns/name`, if one does.
fn hpa_range(docs: &[Value], ns: &str, name: &str) -> Option<(u32, u32)> {
    docs.iter().find_map(|d| {
        let scales_it = text(d, &["kind"]) == Some("HorizontalPodAutoscaler")
            && text(d, &["metadata", "namespace"]).unwrap_or("default") == ns
            && text(d, &["spec", "scaleTargetRef", "kind"]) == Some("StatefulSet")
            && text(d, &["spec", "scaleTargetRef", "name"]) == Some(name);
        if !scales_it {
            return None;
        }
        let max = number(d, &["spec", "maxReplicas"])? as u32;
        let min = number(d, &["spec", "minReplicas"]).map_or(1, |m| m as u32);
        Some((min, max))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_gi_and_ti_are_read_and_other_forms_are_not() {
        assert_eq!(gib("50Gi"), Some(50));
        assert_eq!(gib("1Ti"), Some(1024));
        assert_eq!(gib("500Mi"), None);
    }
}
