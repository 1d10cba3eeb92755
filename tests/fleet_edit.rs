//! `add-edge` / `remove-edge` text edits on the real example fleets, and the atomic fleet-file write.

use lkeobs::fleet::edit::{EditError, NewEdge, add_edge, remove_edge, write_fleet_file};
use lkeobs::fleet::{Cluster, FleetError, Loaded, parse};

const PROD: &str = include_str!("../fleet/prod.toml");
const EXAMPLE: &str = include_str!("../fleet/example.toml");
const CI: &str = include_str!("../fleet/ci.toml");

fn loaded(text: &str) -> Loaded {
    match parse("test.toml", text) {
        Ok(l) => l,
        Err(FleetError::Invalid { errors, .. }) => {
            panic!("{}", errors.iter().map(|e| e.render()).collect::<String>())
        }
        Err(e) => panic!("{e}"),
    }
}

fn edge<'a>(l: &'a Loaded, name: &str) -> &'a Cluster {
    l.fleet
        .edges
        .iter()
        .find(|c| c.name.get_ref() == name)
        .unwrap_or_else(|| panic!("no edge {name}"))
}

fn pools(c: &Cluster) -> Vec<(String, u32)> {
    c.pools
        .iter()
        .map(|p| (p.node_type.get_ref().clone(), *p.count.get_ref()))
        .collect()
}

/// Every line of `original` appears in `edited`, in the same order.
fn assert_lines_kept(original: &str, edited: &str) {
    let mut rest = edited.lines();
    for line in original.lines() {
        assert!(
            rest.any(|l| l == line),
            "line {line:?} missing or out of order in:\n{edited}"
        );
    }
}

#[test]
fn add_to_prod_keeps_every_line_and_the_new_edge_parses() {
    let e = NewEdge::new("eu-central").with_count(3);
    let out = add_edge(PROD, "prod.toml", &e).unwrap();
    assert_lines_kept(PROD, &out);
    let l = loaded(&out);
    let names: Vec<&str> = l.fleet.edges.iter().map(|c| c.name.get_ref().as_str()).collect();
    assert_eq!(names, ["us-east", "eu-west", "gpu-sg", "eu-central"]);
    let c = edge(&l, "eu-central");
    assert_eq!(c.region.get_ref(), "eu-central");
    assert_eq!(pools(c), [("g6-standard-2".to_string(), 3)]);
    assert!(!c.has_gpu());
    // Only the new table was added, between the last edge and [security].
    let at = PROD.find("\n[security]").unwrap();
    let expected = format!(
        "{}\n[edges.eu-central]\nregion = \"eu-central\"\npools = [{{ type = \"g6-standard-2\", count = 3 }}]\n{}",
        &PROD[..at],
        &PROD[at..]
    );
    assert_eq!(out, expected);
}

#[test]
fn add_with_gpu_gives_a_gpu_pool_formatted_like_the_examples() {
    let e = NewEdge::from_flags("ap-west", Some("gpu-ap-west"), None, None, Some("g2-gpu-rtx4000a1-s:2")).unwrap();
    let out = add_edge(PROD, "prod.toml", &e).unwrap();
    assert_lines_kept(PROD, &out);
    let c = edge(&loaded(&out), "gpu-ap-west").clone();
    assert!(c.has_gpu());
    assert_eq!(
        pools(&c),
        [("g6-standard-2".to_string(), 2), ("g2-gpu-rtx4000a1-s".to_string(), 2)]
    );
    assert!(out.contains(
        "\n[edges.gpu-ap-west]\nregion = \"ap-west\"\npools = [\n  { type = \"g6-standard-2\", count = 2 },\n  \
         { type = \"g2-gpu-rtx4000a1-s\", count = 2 },\n]\n\n[security]\n"
    ));
}

#[test]
fn add_then_remove_gives_back_the_original_bytes() {
    for (file, text) in [("example.toml", EXAMPLE), ("prod.toml", PROD), ("ci.toml", CI)] {
        for e in [
            NewEdge::new("eu-central"),
            NewEdge::new("ap-west")
                .with_name("gpu-1")
                .with_gpu("g2-gpu-rtx4000a1-s", 1),
        ] {
            let added = add_edge(text, file, &e).unwrap();
            assert_ne!(added, text);
            let removed = remove_edge(&added, file, e.name()).unwrap();
            assert_eq!(removed, text, "{file}: {}", e.name());
        }
    }
}

#[test]
fn add_goes_after_hub_when_there_are_no_edges_and_remove_takes_it_back() {
    let no_edges = EXAMPLE.replace(
        "[edges.us-east]           # edges run the OTel agent, the scraper and kube-state-metrics\nregion = \"us-east\"\npools = [{ type = \"g6-standard-2\", count = 2 }]\n\n",
        "",
    );
    assert!(!no_edges.contains("[edges"));
    let out = add_edge(&no_edges, "f.toml", &NewEdge::new("us-east")).unwrap();
    assert!(out.contains(
        "pools = [{ type = \"g6-standard-4\", count = 3 }]\n\n[edges.us-east]\nregion = \"us-east\"\n\
         pools = [{ type = \"g6-standard-2\", count = 2 }]\n\n[security]\n"
    ));
    assert_eq!(loaded(&out).fleet.edges.len(), 1);
    assert_eq!(remove_edge(&out, "f.toml", "us-east").unwrap(), no_edges);
}

#[test]
fn remove_takes_the_table_and_its_attached_comments_only() {
    let out = remove_edge(PROD, "prod.toml", "eu-west").unwrap();
    let block = "\n[edges.eu-west]\nregion = \"eu-west\"\npools = [{ type = \"g6-standard-2\", count = 2, autoscale = { min = 2, max = 4 } }]\n";
    assert_eq!(out, PROD.replacen(block, "", 1));
    assert!(loaded(&out).fleet.cluster("eu-west").is_none());

    // The header's own comment goes; a banner separated by a blank line stays.
    let text = EXAMPLE.replace(
        "\n[edges.us-east]",
        "\n# ---- edges ----\n\n# Virginia, close to most customers\n[edges.us-east]",
    );
    let out = remove_edge(&text, "f.toml", "us-east").unwrap();
    assert!(!out.contains("Virginia") && !out.contains("[edges"));
    assert!(out.contains("# ---- edges ----\n\n[security]"), "{out}");
    loaded(&out);
}

#[test]
fn a_banner_before_the_last_table_moves_to_the_end() {
    let text = format!(
        "{EXAMPLE}\n# ---- more ----\n\n[edges.eu-west]\nregion = \"eu-west\"\npools = [{{ type = \"g6-standard-2\", count = 1 }}]\n"
    );
    let out = remove_edge(&text, "f.toml", "eu-west").unwrap();
    assert_eq!(out, format!("{EXAMPLE}\n# ---- more ----\n"));
}

#[test]
fn crlf_and_missing_final_newline_are_kept() {
    let crlf = EXAMPLE.replace('\n', "\r\n");
    let added = add_edge(&crlf, "f.toml", &NewEdge::new("eu-west")).unwrap();
    assert!(!added.replace("\r\n", "").contains('\n'), "LF-only line in a CRLF file");
    assert_eq!(remove_edge(&added, "f.toml", "eu-west").unwrap(), crlf);

    let unterminated = PROD.trim_end();
    let added = add_edge(unterminated, "f.toml", &NewEdge::new("eu-central")).unwrap();
    assert_eq!(remove_edge(&added, "f.toml", "eu-central").unwrap(), unterminated);
}

#[test]
fn add_refuses_an_existing_name() {
    for name in ["us-east", "hub"] {
        let e = NewEdge::new("eu-central").with_name(name);
        match add_edge(PROD, "prod.toml", &e) {
            Err(EditError::EdgeExists { name: n }) => assert_eq!(n, name),
            other => panic!("expected EdgeExists, got {other:?}"),
        }
    }
}

#[test]
fn add_with_a_too_long_label_fails_with_the_fleets_own_error() {
    let name = "eu-central-observability"; // lkeobs-prod-eu-central-observability: 36 > 32
    let e = NewEdge::new("eu-central").with_name(name);
    let err = add_edge(PROD, "prod.toml", &e).unwrap_err();
    assert!(matches!(err, EditError::Invalid(_)), "{err:?}");
    let errors = err.located();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (expected_line, _) = lkeobs::fleet::diag::line_col(PROD, PROD.find("[security]").unwrap());
    assert_eq!(errors[0].file, "prod.toml");
    assert_eq!(errors[0].field, format!("edges.{name}"));
    assert_eq!(
        errors[0].line, expected_line,
        "the new header's line in the edited text"
    );
    assert!(errors[0].message.contains("LKE label"), "{}", errors[0].message);
    assert!(errors[0].render().contains(&format!("[edges.{name}]")));
}

#[test]
fn add_with_a_bad_region_or_type_fails_with_the_fleets_own_errors() {
    let e = NewEdge::new("Frankfurt").with_name("fra").with_node_type("big");
    let err = add_edge(PROD, "prod.toml", &e).unwrap_err();
    let fields: Vec<&str> = err.located().iter().map(|l| l.field.as_str()).collect();
    assert_eq!(fields, ["edges.fra.region", "edges.fra.pools[0].type"]);
    let e = NewEdge::new("eu-central").with_count(0);
    let err = add_edge(PROD, "prod.toml", &e).unwrap_err();
    assert_eq!(err.located()[0].field, "edges.eu-central.pools[0].count");
}

#[test]
fn an_invalid_file_is_not_edited() {
    let text = PROD.replace("region = \"us-east\"", "regoin = \"us-east\"");
    let err = add_edge(&text, "prod.toml", &NewEdge::new("eu-central")).unwrap_err();
    assert!(matches!(err, EditError::InvalidBefore(_)), "{err:?}");
    let (line, _) = lkeobs::fleet::diag::line_col(&text, text.find("regoin").unwrap());
    assert_eq!(err.located()[0].line, line);
}

#[test]
fn remove_unknown_suggests_the_closest_name() {
    match remove_edge(PROD, "prod.toml", "eu-wset") {
        Err(e @ EditError::UnknownEdge { .. }) => {
            assert!(e.to_string().contains("did you mean `eu-west`?"), "{e}");
            let EditError::UnknownEdge { suggestion, edges, .. } = e else {
                unreachable!()
            };
            assert_eq!(suggestion.as_deref(), Some("eu-west"));
            assert_eq!(edges, ["us-east", "eu-west", "gpu-sg"]);
        }
        other => panic!("expected UnknownEdge, got {other:?}"),
    }
}

#[test]
fn remove_hub_fails() {
    assert!(matches!(
        remove_edge(PROD, "prod.toml", "hub"),
        Err(EditError::HubNotRemovable)
    ));
}

#[test]
fn remove_the_only_edge_leaves_a_valid_fleet() {
    let out = remove_edge(CI, "ci.toml", "edge-1").unwrap();
    assert!(!out.contains("edges"));
    assert!(loaded(&out).fleet.edges.is_empty());
    assert_lines_kept(&out, CI);
}

#[cfg(unix)]
#[test]
fn write_fleet_file_keeps_the_mode_and_leaves_no_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lkeobs.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

    let new = add_edge(EXAMPLE, "lkeobs.toml", &NewEdge::new("eu-west")).unwrap();
    write_fleet_file(&path, &new).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), new);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["lkeobs.toml"]);
}

#[cfg(unix)]
#[test]
fn write_fleet_file_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("prod.toml");
    let link = dir.path().join("lkeobs.toml");
    std::fs::write(&real, PROD).unwrap();
    std::os::unix::fs::symlink("prod.toml", &link).unwrap();
    write_fleet_file(&link, "changed\n").unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "changed\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn write_fleet_file_reports_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_fleet_file(&dir.path().join("nope/lkeobs.toml"), "x").unwrap_err();
    assert!(matches!(err, EditError::Io { .. }), "{err:?}");
    assert!(!err.is_invalid_input());
}

#[test]
fn unusual_layouts_are_edited_in_place() {
    // An edge defined after [security]: the new one goes after it, at the end.
    let late = format!(
        "{EXAMPLE}\n# a late edge\n[edges.eu-west]\nregion = \"eu-west\"\npools = [{{ type = \"g6-standard-2\", count = 1 }}]\n"
    );
    let out = add_edge(&late, "f.toml", &NewEdge::new("ap-west")).unwrap();
    assert!(out.starts_with(late.as_str()), "{out}");
    assert!(
        out.ends_with("\n[edges.ap-west]\nregion = \"ap-west\"\npools = [{ type = \"g6-standard-2\", count = 2 }]\n")
    );
    assert_eq!(remove_edge(&out, "f.toml", "ap-west").unwrap(), late);
    // Its attached comment leaves with it.
    assert_eq!(remove_edge(&late, "f.toml", "eu-west").unwrap(), EXAMPLE);

    // An explicit [edges] table holding inline edges.
    let inline = EXAMPLE.replace(
        "[edges.us-east]           # edges run the OTel agent, the scraper and kube-state-metrics\nregion = \"us-east\"\npools = [{ type = \"g6-standard-2\", count = 2 }]\n",
        "[edges]\n# Virginia\nus-east = { region = \"us-east\", pools = [{ type = \"g6-standard-2\", count = 2 }] }\n",
    );
    assert_eq!(loaded(&inline).fleet.edges.len(), 1);
    let out = add_edge(&inline, "f.toml", &NewEdge::new("eu-west")).unwrap();
    assert_lines_kept(&inline, &out);
    assert_eq!(loaded(&out).fleet.edges.len(), 2);
    assert_eq!(remove_edge(&out, "f.toml", "eu-west").unwrap(), inline);
    let out = remove_edge(&inline, "f.toml", "us-east").unwrap();
    assert!(
        out.contains("[edges]\n\n[security]") && !out.contains("Virginia"),
        "{out}"
    );
    assert!(loaded(&out).fleet.edges.is_empty());
}
