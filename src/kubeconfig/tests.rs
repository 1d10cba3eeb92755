//! Merge, removal, file mode and concurrency of kubeconfig writes.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn api(id: u64) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: lke{id}\n  cluster:\n    server: https://{id}.example:443\nusers:\n- name: lke{id}-admin\n  user:\n    token: secret-{id}\ncontexts:\n- name: lke{id}-ctx\n  context:\n    cluster: lke{id}\n    user: lke{id}-admin\ncurrent-context: lke{id}-ctx\n"
    )
}

const FOREIGN: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: work\n  cluster:\n    server: https://work.example\nusers:\n- name: me\n  user:\n    token: mine\ncontexts:\n- name: work\n  context:\n    cluster: work\n    user: me\ncurrent-context: work\n";

fn names(doc: &Value, section: &str) -> Vec<String> {
    entries(doc, section).filter_map(name_of).map(str::to_string).collect()
}

#[test]
fn api_entries_are_renamed_consistently() {
    let e = entry_from_api(&api(7), "lkeobs-prod-hub").unwrap();
    let mut doc = empty_config();
    merge_into(&mut doc, &[e], None);
    for s in ["clusters", "users", "contexts"] {
        assert_eq!(names(&doc, s), ["lkeobs-prod-hub"]);
    }
    let ctx = &doc["contexts"][0]["context"];
    assert_eq!(ctx["cluster"], "lkeobs-prod-hub");
    assert_eq!(ctx["user"], "lkeobs-prod-hub");
    assert_eq!(doc["users"][0]["user"]["token"], "secret-7");
}

#[test]
fn foreign_entries_kept_ours_replaced_current_context_untouched() {
    let mut doc: Value = serde_yaml_ng::from_str(FOREIGN).unwrap();
    merge_into(&mut doc, &[entry_from_api(&api(1), "lkeobs-prod-hub").unwrap()], None);
    merge_into(&mut doc, &[entry_from_api(&api(2), "lkeobs-prod-hub").unwrap()], None);
    assert_eq!(names(&doc, "contexts"), ["work", "lkeobs-prod-hub"]);
    assert_eq!(names(&doc, "users"), ["me", "lkeobs-prod-hub"]);
    assert_eq!(doc["users"][1]["user"]["token"], "secret-2", "stale entry kept");
    assert_eq!(doc["current-context"], "work");
    merge_into(&mut doc, &[], Some("lkeobs-prod-hub"));
    assert_eq!(doc["current-context"], "lkeobs-prod-hub");
}

#[test]
fn removal_drops_ours_only_and_clears_a_dangling_current_context() {
    let mut doc: Value = serde_yaml_ng::from_str(FOREIGN).unwrap();
    merge_into(
        &mut doc,
        &[entry_from_api(&api(1), "lkeobs-prod-hub").unwrap()],
        Some("lkeobs-prod-hub"),
    );
    remove_from(&mut doc, &["lkeobs-prod-hub"], true);
    assert_eq!(names(&doc, "contexts"), ["work"]);
    assert_eq!(doc["current-context"], "");
}

#[test]
fn merged_file_is_0600_and_foreign_content_survives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, FOREIGN).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    merge_file(&path, &[entry_from_api(&api(3), "lkeobs-x-hub").unwrap()], None).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(names(&doc, "contexts"), ["work", "lkeobs-x-hub"]);
    assert_eq!(doc["current-context"], "work");
    remove_from_file(&path, &["lkeobs-x-hub"], &[]).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(names(&doc, "contexts"), ["work"]);
}

#[test]
fn concurrent_merges_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, FOREIGN).unwrap();
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let e = entry_from_api(&api(i), &format!("lkeobs-f{i}-hub")).unwrap();
                merge_file(&path, &[e], None).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ctx = names(&doc, "contexts");
    assert_eq!(ctx.len(), 17, "{ctx:?}");
    assert!(ctx.contains(&"work".to_string()));
}

#[test]
fn a_broken_file_is_not_overwritten_and_its_content_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, "token: hunter2\n- [broken").unwrap();
    let err = merge_file(&path, &[entry_from_api(&api(1), "a").unwrap()], None).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "token: hunter2\n- [broken");
}

#[test]
fn default_path_prefers_the_first_kubeconfig_entry() {
    assert_eq!(default_path(Some("/a/one:/b/two"), None), Some(PathBuf::from("/a/one")));
    assert_eq!(
        default_path(None, Some(Path::new("/home/u"))),
        Some(PathBuf::from("/home/u/.kube/config"))
    );
    assert_eq!(
        default_path(Some(""), Some(Path::new("/h"))),
        Some(PathBuf::from("/h/.kube/config"))
    );
}

#[test]
fn entry_debug_hides_the_token() {
    let e = entry_from_api(&api(9), "n").unwrap();
    assert!(!format!("{e:?}").contains("secret-9"));
}

#[test]
fn the_temp_file_is_new_and_never_followed_through_a_planted_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    // The name the writer used to pick (pid-based) and a spread of guesses: all symlinks to the victim.
    let target = dir.path().join("config");
    std::os::unix::fs::symlink(
        &victim,
        dir.path().join(format!(".config.lkeobs-{}.tmp", std::process::id())),
    )
    .unwrap();
    write_private(&target, b"secret: yes\n").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "secret: yes\n");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp") && e.path().is_file() && !e.path().is_symlink())
        .collect();
    assert!(leftovers.is_empty(), "no temp file left behind");
}

/// Fleet `a` with edge `b-c` and fleet `a-b` with edge `c` had the same old context `lkeobs-a-b-c`. Today's
/// names differ; an old entry is migrated or removed only when its server is the same cluster's.
#[test]
fn old_context_names_migrate_only_for_the_same_cluster() {
    assert_ne!(
        crate::naming::context_name("a", "b-c"),
        crate::naming::context_name("a-b", "c")
    );
    assert_eq!(legacy_name("lkeobs-a.b-c").as_deref(), Some("lkeobs-a-b-c"));

    // An old entry of fleet `a`'s edge `b-c` (server 1) in the user's file, current.
    let mut doc: Value = serde_yaml_ng::from_str(FOREIGN).unwrap();
    merge_into(
        &mut doc,
        &[entry_from_api(&api(1), "lkeobs-a-b-c").unwrap()],
        Some("lkeobs-a-b-c"),
    );
    // Fleet `a-b`'s edge `c` (server 2) arrives under its new name: fleet `a`'s old entry stays.
    merge_into(&mut doc, &[entry_from_api(&api(2), "lkeobs-a-b.c").unwrap()], None);
    assert_eq!(names(&doc, "contexts"), ["work", "lkeobs-a-b-c", "lkeobs-a-b.c"]);
    // Fleet `a`'s edge (server 1) under its new name replaces its old entry, current-context following.
    merge_into(&mut doc, &[entry_from_api(&api(1), "lkeobs-a.b-c").unwrap()], None);
    assert_eq!(names(&doc, "contexts"), ["work", "lkeobs-a-b.c", "lkeobs-a.b-c"]);
    assert_eq!(doc["current-context"], "lkeobs-a.b-c");

    // Teardown of fleet `a-b` removes only its own entry, even with an old one of fleet `a` present.
    merge_into(&mut doc, &[entry_from_api(&api(1), "lkeobs-a-b-c").unwrap()], None);
    remove_ours(&mut doc, &["lkeobs-a-b.c"], &[], true);
    assert_eq!(names(&doc, "contexts"), ["work", "lkeobs-a.b-c", "lkeobs-a-b-c"]);
    // Teardown of fleet `a` removes its new entry and its old one (same server).
    remove_ours(&mut doc, &["lkeobs-a.b-c"], &[], true);
    assert_eq!(names(&doc, "contexts"), ["work"]);
}
