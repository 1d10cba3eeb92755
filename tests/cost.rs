//! The monthly cost in `plan`, `up` and `validate` against the Linode fake, which serves the four price lists
//! with region prices: each example fleet's cost recomputed here from the fake's prices (not by lkeobs'
//! cost code), the monthly limit refusing with exit 2 before any write, a missing price reported, offline
//! saying that prices need the API, and the price-list calls and answers checked against the OpenAPI spec.

use crate::support;
use crate::tooling;

use std::path::Path;

use serde_json::Value;
use support::FAKE_TOKEN;
use support::linode_fake::{EXAMPLE_REGIONS, LinodeFake, State, sells, us_regions};
use support::openapi;
use tooling::{EXAMPLE_FLEETS, fleet, lkeobs};

/// The fake's catalog widened to every example fleet's regions, versions and GPU plan.
fn catalog() -> State {
    let mut s = State::seeded();
    s.regions = us_regions(&EXAMPLE_REGIONS);
    s.availability = vec![sells("sg-sin-2", "g2-gpu-rtx4000a1-s", true)];
    s.versions = vec!["1.32".into(), "1.33".into()];
    s
}

fn run(fake: &LinodeFake, fleet_file: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        // fleet/prod.toml's destination tokens, so `up` gets as far as the cost.
        .env("SPLUNK_HEC_TOKEN", "splunk-test")
        .env("DD_API_KEY", "0123456789abcdef0123456789abcdef")
        .env("PARTNER_OTLP_TOKEN", "partner-test")
        .args(args)
        .args(["--output", "json", "--fleet"])
        .arg(fleet_file)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One unit's monthly price from a fake price list: the region's entry of `region_prices`, else `price`.
fn unit(list: &[Value], id: &str, region: &str) -> f64 {
    let entry = list
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the fake"));
    entry["region_prices"]
        .as_array()
        .and_then(|rp| rp.iter().find(|r| r["id"] == region))
        .unwrap_or(&entry["price"])["monthly"]
        .as_f64()
        .unwrap()
}

/// What the fleet file says each cluster costs a month (min, max), reckoned from the fake's price lists:
/// nodes × type price (autoscaled pools min..max), the HA control plane, on the hub one NodeBalancer for the
/// gateway plus one for Grafana when `grafana_allow` is set, 50 GiB each for Prometheus, Loki and Tempo,
/// and the gateway queue's GiB × gateway replicas (min..max) when `persistent_queue` is set.
fn reckon(fleet_toml: &toml::Value, prices: &State) -> Vec<(String, f64, f64)> {
    let mut clusters = vec![("hub".to_string(), &fleet_toml["hub"])];
    if let Some(edges) = fleet_toml.get("edges").and_then(|e| e.as_table()) {
        clusters.extend(edges.iter().map(|(n, t)| (n.clone(), t)));
    }
    let mut out = Vec::new();
    for (name, c) in clusters {
        let region = c["region"].as_str().unwrap();
        let (mut lo, mut hi) = (0.0, 0.0);
        for p in c["pools"].as_array().unwrap() {
            let price = unit(&prices.types, p["type"].as_str().unwrap(), region);
            let (a, b) = match p.get("autoscale") {
                Some(s) => (s["min"].as_integer().unwrap(), s["max"].as_integer().unwrap()),
                None => (p["count"].as_integer().unwrap(), p["count"].as_integer().unwrap()),
            };
            lo += price * a as f64;
            hi += price * b as f64;
        }
        if c.get("high_availability").and_then(|v| v.as_bool()) == Some(true) {
            let ha = unit(&prices.lke_types, "lke-ha", region);
            lo += ha;
            hi += ha;
        }
        if name == "hub" {
            let grafana = fleet_toml
                .get("security")
                .and_then(|s| s.get("grafana_allow"))
                .and_then(|g| g.as_array())
                .is_some_and(|g| !g.is_empty());
            let nb = unit(&prices.nodebalancer_types, "nodebalancer", region) * if grafana { 2.0 } else { 1.0 };
            let gib = unit(&prices.volume_types, "volume", region);
            let stores = 3.0 * 50.0 * gib;
            lo += nb + stores;
            hi += nb + stores;
            let stack = fleet_toml.get("stack");
            if let Some(q) = stack.and_then(|s| s.get("persistent_queue")).and_then(|q| q.as_str()) {
                let size: f64 = q.trim_end_matches("Gi").parse().unwrap();
                let g = stack.and_then(|s| s.get("gateway"));
                let replicas = |k: &str, d: i64| g.and_then(|g| g.get(k)).and_then(|v| v.as_integer()).unwrap_or(d);
                lo += size * replicas("min_replicas", 2) as f64 * gib;
                hi += size * replicas("max_replicas", 10) as f64 * gib;
            }
        }
        out.push((name, lo, hi));
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

fn total(plan: &Value) -> f64 {
    plan["cost"]["monthly"]["max"].as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_prices_every_example_fleet_as_the_fakes_price_lists_say() {
    for name in EXAMPLE_FLEETS {
        let fake = LinodeFake::start_with(catalog()).await;
        let (code, plan, err) = run(&fake, &fleet(name), &["plan"]);
        assert_eq!(code, 0, "{name}: {err}\n{plan:#}");
        let cost = &plan["cost"];
        assert_eq!(cost["status"], "priced", "{name}: {cost:#}");
        let text = std::fs::read_to_string(fleet(name)).unwrap();
        let expected = reckon(&toml::from_str(&text).unwrap(), &fake.state());
        let (mut lo, mut hi) = (0.0, 0.0);
        for (cluster, min, max) in &expected {
            let got = cost["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == cluster.as_str())
                .unwrap_or_else(|| panic!("{name}: no cost for {cluster}"));
            let m = &got["monthly"];
            assert!(
                close(m["min"].as_f64().unwrap(), *min) && close(m["max"].as_f64().unwrap(), *max),
                "{name}/{cluster}: lkeobs says {m}, the price lists say {min}–{max}\n{got:#}"
            );
            for item in got["items"].as_array().unwrap() {
                assert!(item["source"]["list"].is_string(), "{name}/{cluster}: no source {item}");
            }
            lo += min;
            hi += max;
        }
        assert!(close(cost["monthly"]["min"].as_f64().unwrap(), lo), "{name}: {cost:#}");
        assert!(close(total(&plan), hi), "{name}: {cost:#}");
        // Nothing exists yet: the whole cost is the difference.
        assert_eq!(cost["now"]["max"].as_f64(), Some(0.0), "{name}");
        assert!(close(cost["difference"]["max"].as_f64().unwrap(), hi), "{name}");
        // us-ord has its own price in the fake, us-east has not.
        let bases: Vec<&str> = cost["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["items"].as_array().unwrap())
            .filter_map(|i| i["source"]["basis"].as_str())
            .collect();
        assert!(
            bases.contains(&"region") && bases.contains(&"base"),
            "{name}: {bases:?}"
        );
        assert_eq!(
            fake.state().processed("GET", "/lke/types"),
            1,
            "{name}: price lists read once"
        );
        assert_eq!(
            fake.state().processed("GET", "/linode/types"),
            1,
            "{name}: shared with the preflight"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_difference_counts_what_runs_now() {
    let fake = LinodeFake::start_with(catalog()).await;
    let (_, before, _) = run(&fake, &fleet("example"), &["plan"]);
    let tags: Vec<String> = ["lkeobs", "lkeobs-fleet-example", "lkeobs-role-edge", "team-obs"]
        .map(String::from)
        .to_vec();
    let pool = lkeobs::linode::NodePoolSpec::new("g6-standard-2", 1);
    fake.seed_cluster("lkeobs-example-us-east", "us-east", vec![pool], &tags)
        .await;
    let (code, plan, err) = run(&fake, &fleet("example"), &["plan"]);
    assert_eq!(code, 0, "{err}");
    let edge = plan["cost"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "us-east")
        .unwrap()
        .clone();
    assert_eq!(
        edge["now"]["max"].as_f64(),
        Some(24.0),
        "1 × g6-standard-2 at base price: {edge:#}"
    );
    assert_eq!(
        edge["monthly"]["max"].as_f64(),
        Some(48.0),
        "2 × g6-standard-2: {edge:#}"
    );
    assert_eq!(plan["cost"]["now"]["max"].as_f64(), Some(24.0));
    assert!(close(
        plan["cost"]["difference"]["max"].as_f64().unwrap(),
        total(&before) - 24.0
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_below_the_cost_exits_2_names_the_biggest_items_and_writes_nothing() {
    let fake = LinodeFake::start_with(catalog()).await;
    let (_, plan, _) = run(&fake, &fleet("prod"), &["plan"]);
    let below = format!("{:.2}", total(&plan) - 1.0);

    let (code, report, err) = run(&fake, &fleet("prod"), &["plan", "--max-monthly-cost", &below]);
    assert_eq!(code, 2, "plan over the limit: {err}");
    assert_eq!(report["budget"]["source"], "flag", "{report:#}");
    assert!(
        err.contains("pool g6-standard-4 × 3–5"),
        "the biggest item is named: {err}"
    );
    let (code, _, err) = run(
        &fake,
        &fleet("prod"),
        &["plan", "--detailed-exitcode", "--max-monthly-cost", &below],
    );
    assert_eq!(code, 1, "--detailed-exitcode keeps 2 for changes: {err}");

    for args in [
        // A deadline, so that an `up` that went past the limit fails rather than waits for clusters.
        vec![
            "up",
            "--no-verify",
            "--timeout",
            "30s",
            "--max-monthly-cost",
            below.as_str(),
        ],
        vec!["up", "--dry-run", "--max-monthly-cost", below.as_str()],
    ] {
        fake.state().log.clear();
        let (code, report, err) = run(&fake, &fleet("prod"), &args);
        // JSON mode: an error is the report's `error`; a plan over its limit says so on stderr.
        let err = format!("{err}{}", report["error"].as_str().unwrap_or_default());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("over --max-monthly-cost") && err.contains("g6-standard-4"),
            "{args:?}: {err}"
        );
        assert_eq!(fake.writes(), Vec::<String>::new(), "{args:?} wrote");
        assert!(fake.state().processed("GET", "/volumes/types") >= 1, "{args:?} priced");
    }
    let (code, _, err) = run(
        &fake,
        &fleet("prod"),
        &["plan", "--max-monthly-cost", &format!("{:.2}", total(&plan))],
    );
    assert_eq!(code, 0, "at the limit is within it: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_files_limit_applies_and_the_flag_overrides_it() {
    let fake = LinodeFake::start_with(catalog()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.toml");
    let text = std::fs::read_to_string(fleet("example")).unwrap();
    std::fs::write(
        &file,
        text.replace("tags = [\"team-obs\"]", "tags = [\"team-obs\"]\nmax_monthly_cost = 50"),
    )
    .unwrap();

    let (code, report, _) = run(&fake, &file, &["up", "--no-verify", "--timeout", "30s"]);
    let err = report["error"].as_str().unwrap_or_default();
    assert_eq!(code, 2, "{report:#}");
    assert!(err.contains("max_monthly_cost = 50.00"), "{err}");
    assert_eq!(fake.writes(), Vec::<String>::new());
    let (code, report, err) = run(&fake, &file, &["plan", "--max-monthly-cost", "100000"]);
    assert_eq!(code, 0, "the flag overrides the file: {err}");
    assert_eq!(report["budget"]["limit"].as_f64(), Some(100000.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_price_is_reported_never_counted_as_zero() {
    let mut state = catalog();
    state.lke_types.retain(|t| t["id"] != "lke-ha");
    let fake = LinodeFake::start_with(state).await;
    let (code, plan, err) = run(&fake, &fleet("prod"), &["plan"]);
    assert_eq!(code, 0, "{err}");
    let missing = plan["cost"]["missing"].as_array().expect("missing listed").clone();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0]
            .as_str()
            .unwrap()
            .contains("hub: HA control plane (lke-ha is not in /lke/types)")
    );
    let hub = &plan["cost"]["clusters"][0];
    let ha = hub["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "control_plane")
        .unwrap();
    assert!(ha.get("monthly").is_none() && ha["missing"].is_string(), "{ha:#}");

    let (code, _, err) = run(&fake, &fleet("prod"), &["plan", "--max-monthly-cost", "100000"]);
    assert_eq!(code, 2, "a limit cannot be checked without every price: {err}");
    assert!(err.contains("cannot be checked"), "{err}");
}

#[test]
fn offline_says_that_prices_need_the_api() {
    let out = lkeobs()
        .args(["plan", "--offline", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("prices need the Linode API"), "{text}");
    let out = lkeobs()
        .args(["plan", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cost"]["status"], "unavailable", "{v:#}");
    assert!(v["cost"]["reason"].as_str().unwrap().contains("no Linode token"));
    let out = lkeobs()
        .args(["plan", "--offline", "--max-monthly-cost", "500", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a limit cannot be checked offline");
    let out = lkeobs()
        .args(["validate", "--output", "json", "--fleet"])
        .arg(fleet("prod"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cost"]["status"], "unavailable", "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_with_a_token_shows_the_planned_cost() {
    let fake = LinodeFake::start_with(catalog()).await;
    let (code, v, err) = run(&fake, &fleet("ci"), &["validate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["cost"]["status"], "priced", "{v:#}");
    let expected: f64 = reckon(
        &toml::from_str(&std::fs::read_to_string(fleet("ci")).unwrap()).unwrap(),
        &fake.state(),
    )
    .iter()
    .map(|c| c.2)
    .sum();
    assert!(close(total(&v), expected), "{v:#}");
    assert!(
        v["cost"].get("now").is_none(),
        "validate does not compare with the account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_list_calls_and_the_fakes_answers_match_the_spec() {
    let Some(spec) = openapi::load("LKEOBS_LINODE_OPENAPI", "openapi.json") else {
        return;
    };
    let fake = LinodeFake::start_with(catalog()).await;
    let (code, _, err) = run(&fake, &fleet("prod"), &["plan"]);
    assert_eq!(code, 0, "{err}");
    for path in ["/linode/types", "/lke/types", "/nodebalancers/types", "/volumes/types"] {
        let log = fake.state().log.clone();
        let sent = log
            .iter()
            .find(|l| l.path == path)
            .unwrap_or_else(|| panic!("{path} not read"));
        assert_eq!(sent.method, "GET");
        assert!(sent.body.is_none() && sent.filter.is_none(), "{path}: {sent:?}");
        let schema = openapi::response_schema(&spec, path);
        let answer = raw_get(&fake, path).await;
        let errors = openapi::violations(&schema, &answer);
        assert!(
            errors.is_empty(),
            "the fake's {path} breaks the spec: {errors:?}\n{answer:#}"
        );
    }
}

/// The fake's raw answer to `GET path` (one page).
async fn raw_get(fake: &LinodeFake, path: &str) -> Value {
    lkeobs::tls::install_crypto_provider();
    let url = format!("{}{path}?page=1&page_size=500", fake.base_url());
    reqwest::Client::new()
        .get(url)
        .bearer_auth(FAKE_TOKEN)
        .send()
        .await
        .expect("the fake answers")
        .json()
        .await
        .expect("JSON answer")
}
