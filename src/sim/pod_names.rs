//! Pod names as Kubernetes' workload controllers make them: `<sts>-<ordinal>` for a StatefulSet,
//! `<deploy>-<pod-template-hash>-<5 chars>` for a Deployment (through its ReplicaSet) and `<ds>-<5 chars>`
//! for a DaemonSet, the random parts drawn from `rand.SafeEncodeString`'s alphabet (stable here, so a
//! controller pass finds the pods the last one made).

use serde_json::Value;

/// The alphabet of Kubernetes' generated names (no vowels, no look-alike digits).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `len` characters of the alphabet drawn from `seed`.
fn encoded(mut seed: u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            let c = ALPHANUMS[(seed % ALPHANUMS.len() as u64) as usize];
            seed /= ALPHANUMS.len() as u64;
            char::from(c)
        })
        .collect()
}

/// The Deployment's `pod-template-hash`: a hash of its pod template, so a changed template names new pods.
pub(crate) fn pod_template_hash(w: &Value) -> String {
    let template = serde_json::to_vec(&w["spec"]["template"]).unwrap_or_default();
    let hash = fnv1a(&template) as u32;
    // As `rand.SafeEncodeString(fmt.Sprint(hash))`: every decimal digit mapped into the alphabet.
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// The name of a workload's `n`th pod.
pub(crate) fn pod_name(kind: &str, w: &Value, n: usize) -> String {
    let name = w["metadata"]["name"].as_str().unwrap_or_default();
    let uid = w["metadata"]["uid"].as_str().unwrap_or_default();
    match kind {
        "StatefulSet" => format!("{name}-{n}"),
        "Deployment" => {
            let hash = pod_template_hash(w);
            let suffix = encoded(fnv1a(format!("{uid}/{hash}/{n}").as_bytes()), 5);
            format!("{name}-{hash}-{suffix}")
        }
        _ => format!("{name}-{}", encoded(fnv1a(format!("{uid}/{n}").as_bytes()), 5)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_named_as_their_controllers_name_them() {
        let w = json!({"metadata": {"name": "grafana", "uid": "u1"}, "spec": {"template": {"spec": {"containers": [{"name": "g"}]}}}});
        assert_eq!(pod_name("StatefulSet", &w, 2), "grafana-2");
        let deploy = pod_name("Deployment", &w, 0);
        let parts: Vec<&str> = deploy.split('-').collect();
        assert_eq!(parts.len(), 3, "{deploy}");
        assert_eq!(parts[1], pod_template_hash(&w));
        assert_eq!(parts[2].len(), 5);
        assert!(
            parts[1..].iter().all(|p| p.bytes().all(|b| ALPHANUMS.contains(&b))),
            "{deploy}"
        );
        assert_ne!(deploy, pod_name("Deployment", &w, 1), "one name per replica");
        assert_eq!(deploy, pod_name("Deployment", &w, 0), "the same name every pass");
        let mut changed = w.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("grafana:12");
        assert_ne!(
            pod_template_hash(&changed),
            pod_template_hash(&w),
            "a new template, new pods"
        );
        let ds = pod_name("DaemonSet", &w, 0);
        assert!(ds.starts_with("grafana-") && ds.len() == "grafana-".len() + 5, "{ds}");
    }
}
