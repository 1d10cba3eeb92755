//! What a user reads, pinned as snapshots (`tests/snapshots/`): `--help` of the binary and of every
//! subcommand, and the exact diagnostics of bad fleet files (exit code, stdout, stderr).

use crate::tooling;

use clap::CommandFactory;
use tooling::lkeobs;

/// Exit code, stdout and stderr of one run, in one text.
fn transcript(out: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn help_of_the_binary_and_of_every_subcommand() {
    let out = lkeobs().arg("--help").output().expect("lkeobs runs");
    assert!(out.status.success());
    insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout));
    let cli = lkeobs::cli::Cli::command();
    let names: Vec<String> = cli.get_subcommands().map(|c| c.get_name().to_string()).collect();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let out = lkeobs().args([name.as_str(), "--help"]).output().expect("lkeobs runs");
        assert!(out.status.success(), "{name} --help: {}", transcript(&out));
        insta::assert_snapshot!(format!("help_{name}"), String::from_utf8_lossy(&out.stdout));
    }
}

/// Bad fleet files, each with what it gets wrong.
const BAD_FLEETS: [(&str, &str); 8] = [
    ("syntax", "[fleet]\nname = \"demo\nk8s_version = \"1.33\"\n"),
    (
        "unknown_keys",
        "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\nttl_hours = 4\n\n[hub]\nregoin = \"us-ord\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n",
    ),
    ("missing_hub", "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\n"),
    (
        "names_and_versions",
        "[fleet]\nname = \"Demo--fleet-with-a-very-long-name\"\nk8s_version = 1.33\ntags = [\"x\", \"lkeobs-mine\"]\n\n[hub]\nregion = \"us-ord\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n\n[edges.hub]\nregion = \"us-east\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n",
    ),
    (
        "pools",
        "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\n\n[hub]\nregion = \"us-ord\"\npools = [\n  { type = \"g6-standard-2\", count = 0 },\n  { type = \"g6-standard-2\", count = 3, autoscale = { min = 4, max = 2 } },\n  { type = \"g6-standard-2\", count = 1, labels = { \"lkeobs.io/gpu\" = \"x\" }, taints = [{ key = \"a\", value = \"b\", effect = \"Sometimes\" }] },\n]\n",
    ),
    (
        "security_and_stack",
        "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\nttl = \"4 hours\"\n\n[hub]\nregion = \"us-ord\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n\n[security]\ngrafana_allow = [\"10.0.0.1/8\", \"not-a-cidr\"]\ncontrol_plane_acl = [\"0.0.0.0/0\"]\n\n[stack]\nretention = \"12h\"\ngateway = { min_replicas = 5, max_replicas = 2 }\npersistent_queue = \"1Gi\"\n",
    ),
    (
        "destinations",
        "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\n\n[hub]\nregion = \"us-ord\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n\n[[destinations]]\ntype = \"splunk\"\nsignals = [\"logs\"]\n\n[[destinations]]\ntype = \"splunk_hec\"\nendpoint = \"http://user:pw@splunk.example.com:8088\"\ntoken_env = \"LINODE_TOKEN\"\nsignals = []\n\n[[destinations]]\ntype = \"datadog\"\ntoken_env = \"DD_API_KEY\"\nsite = \"datadog.example.com\"\nsignals = [\"metrics\", \"profiles\"]\n",
    ),
    (
        "hostile_strings",
        "[fleet]\nname = \"demo\"\nk8s_version = \"1.33\"\ntags = [\"team-${HOME}\", \"a\\u001b[31mred\"]\n\n[hub]\nregion = \"us-ord\\n\"\npools = [{ type = \"g6-standard-2\", count = 1 }]\n",
    ),
];

#[test]
fn bad_fleet_files_get_their_exact_diagnostics() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in BAD_FLEETS {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("fleet file");
        let out = lkeobs()
            .args(["validate", "--offline", "--fleet"])
            .arg(&path)
            .output()
            .expect("lkeobs runs");
        assert_eq!(out.status.code(), Some(2), "{name}: {}", transcript(&out));
        let text = transcript(&out).replace(&dir.path().display().to_string(), "[DIR]");
        insta::assert_snapshot!(format!("fleet_errors_{name}"), text);
    }
}
