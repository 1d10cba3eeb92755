//! The hub's storage engines (Mimir, Loki, Tempo) as a simulated cluster runs them: their StatefulSet, its
//! pods, and the config file each reads, found as the container finds it (`-config.file` → volume → ConfigMap).

use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

use super::controllers::{deleting, is_ready, s};
use super::kube::KubeApi;
use crate::objects;

/// One of the hub's storage engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Engine {
    Mimir,
    Loki,
    Tempo,
}

impl Engine {
    pub(crate) const ALL: [Engine; 3] = [Engine::Mimir, Engine::Loki, Engine::Tempo];

    /// Its StatefulSet.
    pub(crate) fn named(self) -> objects::Named {
        match self {
            Engine::Mimir => objects::MIMIR,
            Engine::Loki => objects::LOKI,
            Engine::Tempo => objects::TEMPO,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        self.named().name
    }

    /// The path of its ingester ring's status page.
    pub(crate) fn ring_path(self) -> &'static str {
        match self {
            Engine::Loki => "/ring",
            Engine::Mimir | Engine::Tempo => "/ingester/ring",
        }
    }
}

/// The engine's StatefulSet in `api`, if deployed.
pub(crate) fn statefulset(api: &KubeApi, engine: Engine) -> Option<Value> {
    let n = engine.named();
    api.get("apps/v1", "StatefulSet", Some(n.namespace), n.name)
}

/// The pods the StatefulSet controls now (Terminating ones too), by name.
pub(crate) fn pods(api: &KubeApi, engine: Engine) -> Vec<Value> {
    let Some(sts) = statefulset(api, engine) else {
        return Vec::new();
    };
    let uid = &sts["metadata"]["uid"];
    let mut pods: Vec<Value> = api
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == engine.named().namespace)
        .filter(|p| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["controller"] == true && o["uid"] == *uid))
        })
        .collect();
    pods.sort_by(|a, b| s(&a["metadata"]["name"]).cmp(s(&b["metadata"]["name"])));
    pods
}

/// Whether a pod's containers run and it is Ready (its engine joined the ring and serves).
pub(crate) fn serving(pod: &Value) -> bool {
    !deleting(pod) && pod["status"]["phase"] == "Running" && is_ready(pod)
}

/// What the engine's container reads at start.
pub(crate) struct Deployed {
    /// The config file, `${VAR}` expanded when the container runs with `-config.expand-env=true`.
    pub config: Yaml,
    /// Why the container cannot start (an env var from a Secret or key that does not exist), if it cannot.
    pub unstartable: Option<String>,
}

/// The value of `-name=v` / `--name=v` / `-name v` among a container's args.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| {
        let bare = a.trim_start_matches('-');
        if let Some(v) = bare.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
        (bare == name && a.starts_with('-')).then(|| args.get(i + 1).cloned())?
    })
}

/// The text of `path` in the container: the ConfigMap (or Secret) key mounted there.
fn file(api: &KubeApi, ns: &str, spec: &Value, container: &Value, path: &str) -> Result<String, String> {
    let mounts = container["volumeMounts"].as_array().cloned().unwrap_or_default();
    let (mount, rel) = mounts
        .iter()
        .filter_map(|m| {
            let dir = s(&m["mountPath"]).trim_end_matches('/');
            let rel = path.strip_prefix(dir)?.strip_prefix('/')?;
            Some((m, rel.to_string()))
        })
        .max_by_key(|(m, _)| s(&m["mountPath"]).len())
        .ok_or(format!("no volume is mounted at {path}"))?;
    let rel = match s(&mount["subPath"]) {
        "" => rel,
        sub => sub.to_string(),
    };
    let volume = spec["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
        .ok_or(format!("no volume {}", mount["name"]))?;
    let (kind, name, data) = if let Some(cm) = volume["configMap"]["name"].as_str() {
        ("ConfigMap", cm, "data")
    } else if let Some(secret) = volume["secret"]["secretName"].as_str() {
        ("Secret", secret, "data")
    } else {
        return Err(format!("the volume at {path} is neither a ConfigMap nor a Secret"));
    };
    let obj = api
        .get("v1", kind, Some(ns), name)
        .ok_or(format!("{kind} {ns}/{name} (mounted at {path}) does not exist"))?;
    let text = obj[data][rel.as_str()]
        .as_str()
        .ok_or(format!("{kind} {ns}/{name} has no key {rel}"))?;
    if kind == "Secret" {
        return decode(text).ok_or(format!("Secret {ns}/{name} key {rel} is not base64 text"));
    }
    Ok(text.to_string())
}

fn decode(b64: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}

/// The value of one env entry of a container (`value`, or `valueFrom` a Secret's or ConfigMap's key).
fn env_value(api: &KubeApi, ns: &str, env: &Value) -> Result<String, String> {
    if let Some(v) = env["value"].as_str() {
        return Ok(v.to_string());
    }
    let from = &env["valueFrom"];
    let (kind, r) = if from["secretKeyRef"].is_object() {
        ("Secret", &from["secretKeyRef"])
    } else if from["configMapKeyRef"].is_object() {
        ("ConfigMap", &from["configMapKeyRef"])
    } else {
        return Ok(String::new());
    };
    let (name, key) = (s(&r["name"]), s(&r["key"]));
    let missing = |what: String| {
        Err(format!(
            "{what}: the container cannot start (CreateContainerConfigError)"
        ))
    };
    let Some(obj) = api.get("v1", kind, Some(ns), name) else {
        return missing(format!(
            "{kind} {ns}/{name} named by env {} does not exist",
            s(&env["name"])
        ));
    };
    let value = match kind {
        "Secret" => obj["data"][key]
            .as_str()
            .and_then(decode)
            .or_else(|| obj["stringData"][key].as_str().map(str::to_string)),
        _ => obj["data"][key].as_str().map(str::to_string),
    };
    value.map_or_else(|| missing(format!("{kind} {ns}/{name} has no key {key}")), Ok)
}

/// `${VAR}` and `${VAR:default}` replaced from `env` (unset: empty), as `-config.expand-env` does.
fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = &rest[at + 2..at + end];
        let (name, default) = inner.split_once(':').unwrap_or((inner, ""));
        let value = env.iter().find(|(n, _)| n == name).map_or(default, |(_, v)| v.as_str());
        out.push_str(value);
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The engine's config as its container reads it, from the StatefulSet's pod template.
pub(crate) fn deployed(api: &KubeApi, engine: Engine) -> Result<Deployed, String> {
    let sts = statefulset(api, engine).ok_or(format!("no StatefulSet {}", engine.named()))?;
    let ns = engine.named().namespace;
    let spec = &sts["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let path = flag(&args, "config.file").ok_or(format!("{} runs without -config.file", engine.as_str()))?;
    let text = file(api, ns, spec, container, &path)?;
    let mut unstartable = None;
    let mut env = Vec::new();
    for e in container["env"].as_array().into_iter().flatten() {
        match env_value(api, ns, e) {
            Ok(v) => env.push((s(&e["name"]).to_string(), v)),
            Err(why) => {
                unstartable.get_or_insert(why);
            }
        }
    }
    let text = match flag(&args, "config.expand-env").as_deref() {
        Some("true") => expand(&text, &env),
        _ if args.iter().any(|a| a.trim_start_matches('-') == "config.expand-env") => expand(&text, &env),
        _ => text,
    };
    let config = serde_yaml_ng::from_str(&text).map_err(|e| format!("{path} is not YAML: {e}"))?;
    Ok(Deployed { config, unstartable })
}

/// The value at a dotted path of a YAML document.
pub(crate) fn at<'a>(doc: &'a Yaml, path: &str) -> Option<&'a Yaml> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

/// The text at a dotted path (numbers and booleans as text).
pub(crate) fn text(doc: &Yaml, path: &str) -> Option<String> {
    match at(doc, path)? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_expanded_with_defaults_and_flags_are_read_in_every_spelling() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(expand("k: ${A} ${B:d} ${C}.", &env), "k: x d .");
        let args: Vec<String> = ["-target=all", "--config.file", "/etc/m.yaml"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(flag(&args, "config.file").as_deref(), Some("/etc/m.yaml"));
        assert_eq!(flag(&args, "target").as_deref(), Some("all"));
        assert_eq!(flag(&args, "config.expand-env"), None);
    }
}
