//! No fleet value can add, remove or rename a rendered object, or break out of its scalar:
//! every string of every example fleet is replaced by hostile payloads and rendered directly
//! (bypassing `validate`); the renderer refuses, or the objects and document shapes are unchanged.

use lkeobs::fleet::Fleet;
use lkeobs::objects::ObjectRef;
use lkeobs::stack::{Inputs, RenderedCluster, Renderer};
use serde_yaml_ng::Value;

const EXAMPLE_FLEETS: [&str; 3] = ["example", "prod", "ci"];

fn load(name: &str) -> Fleet {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fleet/{name}.toml"));
    lkeobs::fleet::load(&path).expect("example fleet loads").fleet
}

/// Every document of every file, with each ConfigMap's `.yaml`/`.yml` data values (the embedded
/// configs) replaced by their parsed form.
fn parsed(rendered: &RenderedCluster) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for f in &rendered.files {
        for doc in serde_yaml_ng::Deserializer::from_str(&f.content) {
            let mut v = <Value as serde::Deserialize>::deserialize(doc).map_err(|e| format!("{}: {e}", f.name))?;
            if v.is_null() {
                continue;
            }
            if v["kind"] == "ConfigMap"
                && let Some(data) = v.get_mut("data").and_then(Value::as_mapping_mut)
            {
                for (key, text) in data.iter_mut() {
                    let key = key.as_str().unwrap_or_default();
                    if let Some(s) = text.as_str()
                        && (key.ends_with(".yaml") || key.ends_with(".yml"))
                    {
                        *text = serde_yaml_ng::from_str(s).map_err(|e| format!("{}: {key}: {e}", f.name))?;
                    }
                }
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// Every string of a fleet, by path, for mutation. Together with the roles they are every string
/// the fleet serializes to (checked below), so a new fleet key cannot escape this test.
fn strings(f: &mut Fleet) -> Vec<(String, &mut lkeobs::fleet::spec::Spanned<String>)> {
    let mut out = Vec::new();
    let m = &mut f.fleet;
    out.push(("fleet.name".to_string(), &mut m.name));
    out.push(("fleet.k8s_version".to_string(), &mut m.k8s_version));
    out.extend(
        m.tags
            .iter_mut()
            .enumerate()
            .map(|(i, t)| (format!("fleet.tags[{i}]"), t)),
    );
    out.extend(m.ttl.iter_mut().map(|t| ("fleet.ttl".to_string(), t)));
    for c in std::iter::once(&mut f.hub).chain(f.edges.iter_mut()) {
        let at = format!("cluster {}", c.name.get_ref());
        out.push((format!("{at}.name"), &mut c.name));
        out.push((format!("{at}.region"), &mut c.region));
        for (i, p) in c.pools.iter_mut().enumerate() {
            out.push((format!("{at}.pools[{i}].type"), &mut p.node_type));
            for l in &mut p.labels {
                out.push((format!("{at}.pools[{i}].labels.key"), &mut l.key));
                out.push((format!("{at}.pools[{i}].labels.value"), &mut l.value));
            }
            for t in &mut p.taints {
                out.push((format!("{at}.pools[{i}].taints.key"), &mut t.key));
                out.push((format!("{at}.pools[{i}].taints.value"), &mut t.value));
                out.push((format!("{at}.pools[{i}].taints.effect"), &mut t.effect));
            }
        }
    }
    let s = &mut f.security;
    out.extend(
        s.grafana_allow
            .iter_mut()
            .map(|v| ("security.grafana_allow".to_string(), v)),
    );
    out.extend(
        s.control_plane_acl
            .iter_mut()
            .map(|v| ("security.control_plane_acl".to_string(), v)),
    );
    out.push(("stack.retention".to_string(), &mut f.stack.retention));
    out.extend(
        f.stack
            .persistent_queue
            .iter_mut()
            .map(|v| ("stack.persistent_queue".to_string(), v)),
    );
    for (i, d) in f.destinations.iter_mut().enumerate() {
        let at = format!("destinations[{i}]");
        out.push((format!("{at}.type"), &mut d.kind));
        for (key, v) in [
            ("endpoint", &mut d.endpoint),
            ("token_env", &mut d.token_env),
            ("site", &mut d.site),
            ("protocol", &mut d.protocol),
        ] {
            out.extend(v.iter_mut().map(|v| (format!("{at}.{key}"), v)));
        }
        out.extend(d.signals.iter_mut().map(|v| (format!("{at}.signals"), v)));
    }
    out
}

fn count_strings(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(_) => 1,
        serde_json::Value::Array(a) => a.iter().map(count_strings).sum(),
        serde_json::Value::Object(o) => o.values().map(count_strings).sum(),
        _ => 0,
    }
}

#[test]
fn mutation_sites_cover_every_string_of_the_example_fleets() {
    for name in EXAMPLE_FLEETS {
        let mut fleet = load(name);
        let serialized = count_strings(&serde_json::to_value(&fleet).unwrap());
        // Strings that are lkeobs' own words, not the file's: each cluster's role, and hub_mode's `mode` tag.
        let roles = fleet.clusters().count() + 1;
        assert_eq!(
            strings(&mut fleet).len() + roles,
            serialized,
            "{name}: a fleet string is not mutated"
        );
    }
}

/// The marker every payload carries: it may show up in the output only inside the whole payload.
const MARKER: &str = "pwned";

fn payloads() -> Vec<String> {
    let mut p: Vec<String> = [
        "pwned\"",
        "pwned'",
        // A lone `\r` is a line break to YAML but not to the `indent` filter.
        "\"\r---\rapiVersion: v1\rkind: Namespace\rmetadata:\r  name: pwned\rx: |-\r  y",
        "\"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: pwned\n",
        "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: pwned}\n# ",
        "\"\n  pwned/x:\n    endpoint: https://evil.example\n",
        "\r\n    pwned: true\r\n",
        "pwned\"}, {\"x\": \"y",
        "pwned: x # y } { ] , & * ! % \\ \\\" \\n---\\n",
        "# pwned",
        "{pwned",
        "}pwned",
        "&pwned",
        "*pwned",
        "!pwned",
        "%pwned",
        "pwned\t\u{0}\u{7f}\u{85}\u{2028}\u{2029}\u{feff}",
        "{{ pwned }}{% if true %}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    p.push(format!("pwned{}", "\"a\n".repeat(1_000)));
    p
}

/// Every string scalar and key of the parsed documents.
fn scalars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|v| scalars(v, out)),
        Value::Mapping(m) => {
            for (k, v) in m {
                scalars(k, out);
                scalars(v, out);
            }
        }
        Value::Tagged(t) => {
            out.push(format!("!{}", t.tag));
            scalars(&t.value, out);
        }
        _ => {}
    }
}

/// How the context passes a value on (endpoints are normalised as URLs).
fn rendered_form(path: &str, value: &str) -> String {
    if path.ends_with(".endpoint")
        && let Ok(u) = url::Url::parse(value)
    {
        return u.as_str().trim_end_matches('/').to_string();
    }
    value.to_string()
}

/// The objects are `expected`, every document parses, the marker shows up only inside the
/// whole value (`form`), and a key rendered verbatim (in this cluster: `verbatim`) has its value
/// intact in one scalar.
fn assert_intact(
    what: &str,
    rendered: &RenderedCluster,
    expected: &[ObjectRef],
    path: &str,
    form: &str,
    verbatim: bool,
) {
    let mut objects = rendered.objects().unwrap_or_else(|e| panic!("{what}: {e}"));
    objects.sort();
    let added: Vec<String> = objects
        .iter()
        .filter(|o| !expected.contains(o))
        .map(|o| o.to_string())
        .collect();
    let gone: Vec<String> = expected
        .iter()
        .filter(|o| !objects.contains(o))
        .map(|o| o.to_string())
        .collect();
    assert!(
        objects == expected,
        "{what}: the rendered objects changed: added {added:?}, gone {gone:?}"
    );
    let docs = parsed(rendered).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut all = Vec::new();
    docs.iter().for_each(|d| scalars(d, &mut all));
    for s in all.iter().filter(|s| s.contains(MARKER)) {
        let short: String = s.chars().take(200).collect();
        assert!(s.contains(form), "{what}: the marker escaped its scalar into {short:?}");
    }
    if verbatim && VERBATIM.iter().any(|k| path.contains(k)) {
        assert!(
            all.iter().any(|s| s.contains(form)),
            "{what}: the value is not intact in one scalar"
        );
    }
}

/// Keys rendered as (part of) one scalar: their hostile value must be found intact.
const VERBATIM: [&str; 5] = [
    "fleet.tags",
    ".site",
    ".token_env",
    "stack.retention",
    "stack.persistent_queue",
];

/// Whether the pair (fleet string `site`, payload `payload`) is rendered in this run. Under `CI` every pair is
/// (the full matrix, a few thousand renders); otherwise a deterministic sample: two payloads per string
/// (`payload == site`, and a stride of 7 through the list, both modulo the payload count) and each payload on
/// at least one string (`site == payload` modulo the string count), so every string and every payload is
/// rendered at least once in every fleet.
fn sampled(full: bool, site: usize, sites: usize, payload: usize, payloads: usize) -> bool {
    full || payload == site % payloads || payload == (site * 7 + 3) % payloads || site == payload % sites
}

/// What one worker rendered: renders checked and refused, the strings and payloads it covered.
#[derive(Default)]
struct Tally {
    checked: usize,
    refused: usize,
    sites: std::collections::BTreeSet<usize>,
    payloads: std::collections::BTreeSet<usize>,
}

/// Renders `name` with every (sampled) hostile value in every string and checks each render, the strings
/// spread over one worker per core (the full matrix is CPU-bound).
fn hostile_renders_of(name: &str) {
    let full = lkeobs::ci::is_ci();
    let started = std::time::Instant::now();
    let original = load(name);
    let sites = strings(&mut original.clone()).len();
    let payload_count = payloads().len();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let original = &original;
                scope.spawn(move || render_sites(name, original, full, |site| site % workers == w))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let checked: usize = tallies.iter().map(|t| t.checked).sum();
    let refused: usize = tallies.iter().map(|t| t.refused).sum();
    let sites_seen: std::collections::BTreeSet<usize> = tallies.iter().flat_map(|t| t.sites.iter().copied()).collect();
    let payloads_seen: std::collections::BTreeSet<usize> =
        tallies.iter().flat_map(|t| t.payloads.iter().copied()).collect();
    assert_eq!(
        sites_seen.len(),
        sites,
        "{name}: every fleet string is rendered hostile"
    );
    assert_eq!(payloads_seen.len(), payload_count, "{name}: every payload is rendered");
    if full {
        assert!(checked >= sites * payload_count, "{name}: {checked} renders checked");
    }
    eprintln!(
        "{name}: {checked} hostile renders checked ({}), {refused} refused, in {:?} on {workers} workers",
        if full {
            "full matrix"
        } else {
            "sample; CI=true renders all"
        },
        started.elapsed()
    );
}

/// Renders the hostile variants of the strings `mine` picks.
fn render_sites(name: &str, original: &Fleet, full: bool, mine: impl Fn(usize) -> bool) -> Tally {
    let renderer = Renderer::new().unwrap();
    let payloads = payloads();
    let mut tally = Tally::default();
    let cluster_names: Vec<String> = original.clusters().map(|c| c.name.get_ref().clone()).collect();
    let expected: Vec<_> = original
        .clusters()
        .map(|c| {
            let mut o = renderer
                .render(original, c, &Inputs::default())
                .unwrap()
                .objects()
                .unwrap();
            o.sort();
            o
        })
        .collect();
    let sites = strings(&mut original.clone()).len();
    for site in (0..sites).filter(|s| mine(*s)) {
        for (p, payload) in payloads.iter().enumerate() {
            if !sampled(full, site, sites, p, payloads.len()) {
                continue;
            }
            tally.sites.insert(site);
            tally.payloads.insert(p);
            // An indicator matters where a scalar starts: those replace the value, the rest follow it.
            let replace = payload.starts_with(['#', '{', '}', '&', '*', '!', '%']);
            let mut fleet = original.clone();
            let (path, value) = {
                let mut all = strings(&mut fleet);
                let (path, s) = &mut all[site];
                let value = if replace && !path.ends_with(".type") {
                    payload.clone()
                } else {
                    format!("{}{payload}", s.get_ref())
                };
                **s = lkeobs::fleet::spec::spanned(s.span(), value.clone());
                (path.clone(), value)
            };
            let form = rendered_form(&path, &value);
            for (i, cluster) in fleet.clusters().enumerate() {
                // A cluster's own keys reach that cluster's render only.
                if path.starts_with("cluster ") && !path.starts_with(&format!("cluster {}.", cluster_names[i])) {
                    continue;
                }
                let short: String = value.chars().take(80).collect();
                let what = format!("{name}/{}: {path} = {short:?}", cluster_names[i]);
                tally.checked += 1;
                let Ok(rendered) = renderer.render(&fleet, cluster, &Inputs::default()) else {
                    tally.refused += 1;
                    continue;
                };
                // The verbatim keys are the hub's (tags, destinations, retention, queue).
                assert_intact(&what, &rendered, &expected[i], &path, &form, i == 0);
            }
        }
    }
    tally
}

#[test]
fn the_sample_covers_every_string_and_every_payload() {
    for sites in [1, 5, 19, 60] {
        for payloads in [1, 19, 25] {
            let pairs: Vec<(usize, usize)> = (0..sites)
                .flat_map(|s| (0..payloads).map(move |p| (s, p)))
                .filter(|&(s, p)| sampled(false, s, sites, p, payloads))
                .collect();
            for s in 0..sites {
                assert!(pairs.iter().any(|&(x, _)| x == s), "string {s} of {sites}");
            }
            for p in 0..payloads {
                assert!(pairs.iter().any(|&(_, y)| y == p), "payload {p} of {payloads}");
            }
            assert!(pairs.len() <= 2 * sites + payloads, "{} pairs", pairs.len());
        }
    }
    assert!(
        (0..60).all(|s| (0..19).all(|p| sampled(true, s, 60, p, 19))),
        "CI renders all"
    );
}

#[test]
fn no_value_of_the_example_fleet_adds_removes_or_breaks_out_of_a_rendered_object() {
    hostile_renders_of("example");
}

#[test]
fn no_value_of_the_prod_fleet_adds_removes_or_breaks_out_of_a_rendered_object() {
    hostile_renders_of("prod");
}

#[test]
fn no_value_of_the_ci_fleet_adds_removes_or_breaks_out_of_a_rendered_object() {
    hostile_renders_of("ci");
}

/// A lone `\r` is a line break to YAML but not to the `indent` filter.
#[test]
fn datadog_site_with_carriage_returns_adds_no_namespace() {
    let renderer = Renderer::new().unwrap();
    let mut fleet = load("prod");
    let mut expected = renderer
        .render(&fleet, &fleet.hub, &Inputs::default())
        .unwrap()
        .objects()
        .unwrap();
    expected.sort();
    // The trailing block scalar swallows the rest of the ConfigMap, so today's output parses.
    let value = "datadoghq.com\"\r---\rapiVersion: v1\rkind: Namespace\rmetadata:\r  name: pwned\rx: |-\r  y";
    let d = fleet
        .destinations
        .iter_mut()
        .find(|d| d.kind.get_ref() == "datadog")
        .expect("prod has Datadog");
    d.site = Some(lkeobs::fleet::spec::spanned(0..0, value.to_string()));
    match renderer.render(&fleet, &fleet.hub, &Inputs::default()) {
        Err(e) => assert!(e.to_string().contains("objects"), "{e}"),
        Ok(rendered) => assert_intact("prod/hub: site", &rendered, &expected, ".site", value, true),
    }
}
