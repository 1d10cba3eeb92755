//! The DCGM exporter's privileges: restricted (no capability, no escalation, read-only root, no profiling fields)
//! unless `[stack] gpu_profiling = true`, which adds SYS_ADMIN and the profiling (DCP) fields.

use crate::tooling;

use std::process::Command;

use serde_yaml_ng::Value;
use tooling::{fleet, kubernetes_validate, lkeobs, run};

/// `fleet/prod.toml`, with `gpu_profiling` set when `profiling`.
fn prod(profiling: bool) -> String {
    let text = std::fs::read_to_string(fleet("prod")).unwrap();
    let line = "# gpu_profiling = true";
    assert!(text.contains(line), "prod.toml documents gpu_profiling");
    if profiling {
        text.replacen(line, "gpu_profiling = true", 1)
    } else {
        text
    }
}

/// The gpu-sg edge's rendered `13-dcgm-exporter.yaml`, as text, from a render into `dir`.
fn render_dcgm(fleet_text: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fleet.toml");
    std::fs::write(&path, fleet_text).unwrap();
    let out = dir.join("out");
    lkeobs()
        .args(["render", "--cluster", "gpu-sg", "--fleet"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let file = out.join("gpu-sg").join("13-dcgm-exporter.yaml");
    assert!(file.exists(), "{} not rendered", file.display());
    file
}

fn documents(file: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// (container, pod spec, counters CSV) of a render.
fn dcgm(profiling: bool) -> (Value, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let docs = documents(&render_dcgm(&prod(profiling), dir.path()));
    let pod = find(&docs, "DaemonSet")["spec"]["template"]["spec"].clone();
    // The exporter skips `#` lines (its CSV reader's comment character).
    let csv = find(&docs, "ConfigMap")["data"]["counters.csv"].as_str().unwrap();
    let counters = csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    (pod["containers"][0].clone(), pod, counters)
}

fn mount_path(container: &Value, path: &str) -> Option<String> {
    container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == path)
        .map(|m| m["name"].as_str().unwrap().to_string())
}

fn is_empty_dir(pod: &Value, volume: &str) -> bool {
    pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|v| v["name"] == volume && v["emptyDir"].is_mapping())
}

#[test]
fn without_gpu_profiling_dcgm_runs_restricted_and_watches_no_profiling_field() {
    let (c, pod, counters) = dcgm(false);
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], Value::Bool(false), "{sc:?}");
    assert_eq!(sc["readOnlyRootFilesystem"], Value::Bool(true), "{sc:?}");
    assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{sc:?}");
    assert!(sc["capabilities"]["add"].is_null(), "no capability added: {sc:?}");
    assert!(pod["securityContext"]["capabilities"].is_null());
    // The image's entrypoint writes to the root filesystem (ldconfig, setcap): the binary runs directly.
    assert_eq!(c["command"][0], "/usr/bin/dcgm-exporter");
    // What the embedded host engine and the exporter may write lands on emptyDirs.
    for path in ["/var/log", "/tmp"] {
        let volume = mount_path(&c, path).unwrap_or_else(|| panic!("{path} not mounted"));
        assert!(is_empty_dir(&pod, &volume), "{path} is not an emptyDir");
    }
    // The fields come from our list, mounted from the ConfigMap; none is a profiling (DCP) field.
    assert!(
        c["args"][0]
            .as_str()
            .unwrap()
            .starts_with("--collectors=/etc/lkeobs-dcgm/")
    );
    assert!(mount_path(&c, "/etc/lkeobs-dcgm").is_some());
    assert!(counters.contains("DCGM_FI_DEV_GPU_UTIL"), "{counters}");
    assert!(!counters.contains("DCGM_FI_PROF_"), "{counters}");
}

#[test]
fn gpu_profiling_adds_sys_admin_and_the_profiling_fields_only() {
    let (c, pod, counters) = dcgm(true);
    let sc = &c["securityContext"];
    assert_eq!(sc["capabilities"]["add"][0], "SYS_ADMIN", "{sc:?}");
    assert!(sc["readOnlyRootFilesystem"].is_null() && sc["allowPrivilegeEscalation"].is_null());
    assert!(
        c["command"].is_null(),
        "the image's entrypoint grants the binary SYS_ADMIN"
    );
    assert!(counters.contains("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"), "{counters}");
    assert!(counters.contains("DCGM_FI_DEV_GPU_UTIL"), "{counters}");
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
}

#[test]
fn the_counters_change_rolls_the_exporter() {
    let checksum = |p| {
        let dir = tempfile::tempdir().unwrap();
        let docs = documents(&render_dcgm(&prod(p), dir.path()));
        find(&docs, "DaemonSet")["spec"]["template"]["metadata"]["annotations"]["checksum/counters"].clone()
    };
    assert_ne!(checksum(false), checksum(true));
}

#[test]
fn kubernetes_validate_accepts_dcgm_with_and_without_profiling() {
    let Some(tool) = kubernetes_validate() else {
        return;
    };
    for profiling in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let file = render_dcgm(&prod(profiling), dir.path());
        let (ok, out) = run(Command::new(&tool)
            .args(["--strict", "--quiet", "-k", "1.33.0"])
            .arg(&file));
        assert!(ok && !out.contains("rror"), "gpu_profiling = {profiling}: {out}");
    }
}
