use super::doc::split_prefix;
use super::*;

#[test]
fn new_edge_defaults() {
    let e = NewEdge::new("eu-central");
    assert_eq!(e.name(), "eu-central");
    assert_eq!(e.region(), "eu-central");
    assert_eq!(e.node_type(), "g6-standard-2");
    assert_eq!(e.count(), 2);
    assert_eq!(e.gpu(), None);
}

#[test]
fn from_flags_overrides_only_what_is_given() {
    let e = NewEdge::from_flags("ap-west", Some("mumbai"), None, Some(3), Some("g2-gpu-rtx4000a1-s")).unwrap();
    assert_eq!(e.name(), "mumbai");
    assert_eq!(e.region(), "ap-west");
    assert_eq!(e.node_type(), DEFAULT_NODE_TYPE);
    assert_eq!(e.count(), 3);
    assert_eq!(e.gpu(), Some(("g2-gpu-rtx4000a1-s", 1)));
    assert!(NewEdge::from_flags("ap-west", None, None, None, Some("g6-standard-2")).is_err());
}

#[test]
fn parse_gpu_reads_type_and_count() {
    assert_eq!(
        parse_gpu("g2-gpu-rtx4000a1-s:2").unwrap(),
        ("g2-gpu-rtx4000a1-s".to_string(), 2)
    );
    assert_eq!(
        parse_gpu("g1-gpu-rtx6000-1").unwrap(),
        ("g1-gpu-rtx6000-1".to_string(), 1)
    );
}

#[test]
fn parse_gpu_errors_say_what_is_wrong() {
    let reason = |spec: &str| match parse_gpu(spec) {
        Err(EditError::Gpu { reason, .. }) => reason,
        other => panic!("{spec}: expected a GPU error, got {other:?}"),
    };
    assert!(reason("").contains("missing the plan type"));
    assert!(reason(":2").contains("missing the plan type"));
    assert!(reason("g2-gpu-rtx4000a1-s:").contains("missing the node count"));
    assert!(reason("g2-gpu-rtx4000a1-s:two").contains("`two` is not a whole number"));
    assert!(reason("g2-gpu-rtx4000a1-s:-1").contains("not a whole number"));
    assert!(reason("g2-gpu-rtx4000a1-s:0").contains("at least 1 node"));
    assert!(reason("g2-gpu-rtx4000a1-s:1:2").contains("not a whole number"));
    assert!(reason("RTX4000").contains("not a Linode type id"));
    assert!(reason("g6-standard-2:1").contains("not a GPU plan"));
    let shown = parse_gpu("g6-standard-2").unwrap_err().to_string();
    assert!(shown.starts_with("--gpu \"g6-standard-2\": "), "{shown}");
}

#[test]
fn split_prefix_keeps_banners_detached() {
    assert_eq!(split_prefix(""), ("", ""));
    assert_eq!(split_prefix("\n"), ("\n", ""));
    assert_eq!(split_prefix("\n# about b\n"), ("\n", "# about b\n"));
    assert_eq!(split_prefix("# about b\n"), ("", "# about b\n"));
    assert_eq!(
        split_prefix("\n# banner\n\n# about b\n  "),
        ("\n# banner\n\n", "# about b\n  ")
    );
    assert_eq!(split_prefix("# a\n  \n"), ("# a\n  \n", ""));
}

#[test]
fn unknown_edge_lists_edges_when_nothing_is_close() {
    let e = EditError::UnknownEdge {
        name: "zzz".into(),
        suggestion: None,
        edges: vec!["us-east".into(), "eu-west".into()],
    };
    assert_eq!(
        e.to_string(),
        "the fleet has no edge named `zzz`; its edges are: us-east, eu-west"
    );
}
