//! Lists as the Linode API answers them: API errors, X-Filter matching and pagination.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::http::{Reply, Request};

/// `{"errors":[{"reason":…,"field":…}]}` with a status.
pub fn api_error(status: u16, field: Option<&str>, reason: &str) -> Reply {
    let mut item = json!({ "reason": reason });
    if let Some(field) = field {
        item["field"] = json!(field);
    }
    Reply::new(status).set_body_json(json!({ "errors": [item] }))
}

/// Whether `object` matches an X-Filter value (equality, tags, `+and`, `+or`, `+contains`,
/// `+neq`, `+gt`, `+lt`; `+order_by` ignored).
pub fn filter_matches(object: &Value, filter: &Value) -> bool {
    let Some(map) = filter.as_object() else {
        return true;
    };
    map.iter().all(|(key, want)| match key.as_str() {
        "+and" => want
            .as_array()
            .is_some_and(|a| a.iter().all(|f| filter_matches(object, f))),
        "+or" => want
            .as_array()
            .is_some_and(|a| a.iter().any(|f| filter_matches(object, f))),
        "+order_by" | "+order" => true,
        field => {
            let got = field.split('.').fold(object, |v, k| &v[k]);
            match want {
                Value::Object(op) => op.iter().all(|(op, arg)| compare(got, op, arg)),
                _ => match got {
                    Value::Array(items) => items.contains(want),
                    _ => got == want,
                },
            }
        }
    })
}

fn compare(got: &Value, op: &str, arg: &Value) -> bool {
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    match op {
        "+contains" => got.as_str().zip(arg.as_str()).is_some_and(|(g, a)| g.contains(a)),
        "+neq" => got != arg,
        "+gt" => num(got) > num(arg),
        "+gte" => num(got) >= num(arg),
        "+lt" => num(got) < num(arg),
        "+lte" => num(got) <= num(arg),
        _ => false,
    }
}

/// One page of `items` as the API answers a list, after filtering.
pub fn paginate(request: &Request, items: Vec<Value>) -> Reply {
    let filter = request
        .headers
        .get("x-filter")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str::<Value>(v).ok());
    let items: Vec<Value> = items
        .into_iter()
        .filter(|item| filter.as_ref().is_none_or(|f| filter_matches(item, f)))
        .collect();
    let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size: usize = query
        .get("page_size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(25, 500);
    let pages = items.len().div_ceil(size).max(1);
    let data: Vec<Value> = items.iter().skip((page - 1) * size).take(size).cloned().collect();
    Reply::new(200).set_body_json(json!({
        "data": data, "page": page, "pages": pages, "results": items.len()
    }))
}
