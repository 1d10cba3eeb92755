//! The OAuth scopes of a personal access token, as the Linode API enforces them: each endpoint needs its
//! area's `read_only` (reads) or `read_write` (writes) scope, and a token without it is answered 401
//! "Your OAuth token is not authorized to use this endpoint." (the table follows the spec's `security`).

/// The reason the platform gives for a token without the endpoint's scope.
pub const NOT_AUTHORIZED: &str = "Your OAuth token is not authorized to use this endpoint.";

/// The scope area `path` (without `/v4`) belongs to; None: any token may call it (regions, types).
pub fn area(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["account", ..] => Some("account"),
        ["object-storage", "types" | "clusters", ..] => None,
        ["object-storage", ..] => Some("object_storage"),
        ["lke", "types" | "tiers", ..] => None,
        ["lke", ..] => Some("lke"),
        ["networking", "firewalls", ..] => Some("firewall"),
        ["nodebalancers", "types", ..] => None,
        ["nodebalancers", ..] => Some("nodebalancers"),
        ["linode", "types", ..] => None,
        ["linode", ..] => Some("linodes"),
        ["volumes", "types", ..] => None,
        ["volumes", ..] => Some("volumes"),
        ["tags", ..] => Some("account"),
        _ => None,
    }
}

/// Reads that need the `read_write` scope all the same: a cluster's kubeconfig (credentials), one node of a
/// cluster or of a NodeBalancer config.
fn read_needs_write(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        segs.as_slice(),
        ["lke", "clusters", _, "kubeconfig"]
            | ["lke", "clusters", _, "nodes", _]
            | ["nodebalancers", _, "configs", _, "nodes", _]
    )
}

/// The scope `method path` needs (`lke:read_write`), if any.
pub fn needed(method: &str, path: &str) -> Option<String> {
    let level = if method.eq_ignore_ascii_case("GET") && !read_needs_write(path) {
        "read_only"
    } else {
        "read_write"
    };
    area(path).map(|a| format!("{a}:{level}"))
}

/// Whether a token with `scopes` (`*` for all; `area:read_write` grants `area:read_only` too) may call it.
pub fn allows(scopes: &[String], method: &str, path: &str) -> bool {
    let Some(needed) = needed(method, path) else {
        return true;
    };
    scopes.iter().any(|s| {
        s == "*"
            || *s == needed
            || needed
                .strip_suffix(":read_only")
                .is_some_and(|a| *s == format!("{a}:read_write"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_read_only_or_read_write_and_writes_read_write() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(allows(&s(&["lke:read_only"]), "GET", "/lke/clusters"));
        assert!(!allows(&s(&["lke:read_only"]), "POST", "/lke/clusters"));
        assert!(allows(
            &s(&["object_storage:read_write"]),
            "GET",
            "/object-storage/buckets"
        ));
        assert!(!allows(&s(&["lke:read_write"]), "GET", "/account/settings"));
        assert!(allows(&s(&[]), "GET", "/regions/us-ord"));
        assert!(allows(&s(&[]), "GET", "/object-storage/types"));
        assert!(allows(&s(&["*"]), "DELETE", "/volumes/7"));
    }
}
