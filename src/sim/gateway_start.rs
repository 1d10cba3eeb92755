//! Whether the simulated hub gateway would start: the collector checks each exporter's token when it
//! starts (the datadog exporter wants a non-empty hex API key, splunk_hec a non-empty token, a header with
//! a line break is refused) and exits otherwise, so no data passes.

use base64::Engine as _;
use serde_json::Value;

use super::kube::KubeApi;
use crate::fleet::DestinationKind;

/// Why the gateway's collector would exit at start, if it would: reads its ConfigMap's exporters and the
/// values of the `${env:NAME}` tokens they use from the destinations Secret.
pub(crate) fn refusal(hub: &KubeApi) -> Option<String> {
    let (ns, cm) = (crate::objects::GATEWAY.namespace, crate::objects::GATEWAY.name);
    let config = hub.get("v1", "ConfigMap", Some(ns), cm)?;
    let text = config["data"]["config.yaml"].as_str()?;
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
    let tokens = crate::objects::DESTINATIONS_SECRET;
    let secret = hub.get("v1", "Secret", Some(tokens.namespace), tokens.name);
    for (id, exporter) in doc.get("exporters")?.as_mapping()? {
        let id = id.as_str().unwrap_or_default();
        let kind = match id.split('/').next() {
            Some("datadog") => DestinationKind::Datadog,
            Some("splunk_hec") => DestinationKind::SplunkHec,
            Some("otlp_grpc" | "otlp_http") if id.contains("/dest") => DestinationKind::Otlp,
            _ => continue,
        };
        let rendered = serde_yaml_ng::to_string(exporter).unwrap_or_default();
        let Some(var) = rendered.split("${env:").nth(1).and_then(|rest| rest.split('}').next()) else {
            continue;
        };
        let value = secret.as_ref().and_then(|s| secret_value(s, var)).unwrap_or_default();
        if let Some(why) = kind.token_problem(&value) {
            return Some(format!(
                "the hub's gateway exits at start: exporter {id}: the value of {var} {why}"
            ));
        }
    }
    None
}

fn secret_value(secret: &Value, key: &str) -> Option<String> {
    if let Some(v) = secret["stringData"][key].as_str() {
        return Some(v.to_string());
    }
    let b64 = secret["data"][key].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}
