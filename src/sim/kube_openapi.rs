//! The OpenAPI documents kubectl reads before it writes: `/openapi/v2` (an empty document: the simulator
//! has no schemas, so kubectl's client-side validation has nothing to check against) and `/openapi/v3`,
//! whose per-group-version documents list each served kind's PATCH with the `fieldValidation` parameter,
//! so `kubectl apply`/`create` leave field validation to the server, as with kube-apiserver.

use serde_json::{Map, Value, json};

use super::http::Reply;
use super::kube::State;
use super::kube_kinds::{Kind, api_version};

/// The media type of the protobuf OpenAPI v2 document client-go asks for.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// `api/v1` or `apis/<group>/<version>`: a group version's path under `/openapi/v3/`.
fn gv_path(k: &Kind) -> String {
    if k.group.is_empty() {
        format!("api/{}", k.version)
    } else {
        format!("apis/{}/{}", k.group, k.version)
    }
}

/// The PATCH operation of one kind's object path, with the parameters kubectl looks for.
fn object_path(k: &Kind) -> (String, Value) {
    let base = format!("/{}", gv_path(k));
    let path = if k.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}/{{name}}", k.plural)
    } else {
        format!("{base}/{}/{{name}}", k.plural)
    };
    let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}});
    let mut parameters = vec![json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})];
    if k.namespaced {
        parameters.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let operation_parameters = ["dryRun", "fieldManager", "fieldValidation", "force"].map(query);
    let operation = json!({"operationId": format!("patch{}", k.kind), "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version, "kind": k.kind},
        "parameters": operation_parameters,
        "responses": {"200": {"description": "OK"}}});
    parameters.push(query("fieldValidation"));
    (path, json!({"parameters": parameters, "patch": operation}))
}

/// The answer to an OpenAPI path (split in segments), None when the path is no OpenAPI path.
pub(crate) fn answer(st: &State, segs: &[&str], accept: Option<&str>) -> Option<Reply> {
    match segs {
        ["openapi", "v2"] => Some(if accept.is_some_and(|a| a.contains("protobuf")) {
            Reply::new(200).set_body_raw(Vec::new(), V2_PROTOBUF)
        } else {
            Reply::new(200).set_body_json(
                json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "lkeobs-sim"}, "paths": {}}),
            )
        }),
        ["openapi", "v3"] => {
            let mut paths = Map::new();
            for k in &st.kinds {
                let gv = gv_path(k);
                let url = format!("/openapi/v3/{gv}?hash={}", api_version(k).len());
                paths.insert(gv, json!({"serverRelativeURL": url}));
            }
            Some(Reply::new(200).set_body_json(json!({"paths": paths})))
        }
        ["openapi", "v3", rest @ ..] => {
            let gv = rest.join("/");
            let kinds: Vec<&Kind> = st.kinds.iter().filter(|k| gv_path(k) == gv).collect();
            if kinds.is_empty() {
                return None;
            }
            let paths: Map<String, Value> = kinds.iter().map(|k| object_path(k)).collect();
            Some(Reply::new(200).set_body_json(json!({"openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "lkeobs-sim"}, "paths": paths, "components": {"schemas": {}}})))
        }
        _ => None,
    }
}
