//! The OAuth scope a request needs, to name it when the API refuses a token without it (401 "Your OAuth
//! token is not authorized to use this endpoint."): each area's `read_only` for reads, `read_write` otherwise.

/// What the API says to a token without the endpoint's scope.
pub const NOT_AUTHORIZED_REASON: &str = "not authorized to use this endpoint";

/// The scope `method` on `path` (a path or its template, without `/v4`) needs; None where the API names none.
pub fn needed(method: &str, path: &str) -> Option<String> {
    let all: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let area = match (all.first().copied()?, all.get(1).copied()) {
        (_, Some("types" | "tiers")) | ("object-storage", Some("clusters")) => return None,
        ("account" | "tags", _) => "account",
        ("object-storage", _) => "object_storage",
        ("lke", _) => "lke",
        ("networking", Some("firewalls")) => "firewall",
        ("nodebalancers", _) => "nodebalancers",
        ("linode", _) => "linodes",
        ("volumes", _) => "volumes",
        _ => return None,
    };
    // Reads of credentials or of one node need `read_write` too (the spec's `security` says so).
    let secret_read = all.last() == Some(&"kubeconfig") || (all.len() >= 5 && all[all.len() - 2] == "nodes");
    let level = if method.eq_ignore_ascii_case("GET") && !secret_read {
        "read_only"
    } else {
        "read_write"
    };
    Some(format!("{area}:{level}"))
}

#[cfg(test)]
mod tests {
    use super::needed;

    #[test]
    fn each_area_reads_with_read_only_and_writes_with_read_write() {
        assert_eq!(needed("GET", "/account/settings").as_deref(), Some("account:read_only"));
        assert_eq!(
            needed("POST", "/object-storage/keys").as_deref(),
            Some("object_storage:read_write")
        );
        assert_eq!(
            needed("PUT", "/networking/firewalls/{firewallId}/rules").as_deref(),
            Some("firewall:read_write")
        );
        assert_eq!(needed("GET", "/linode/types"), None);
        assert_eq!(
            needed("GET", "/lke/clusters/{}/kubeconfig").as_deref(),
            Some("lke:read_write")
        );
        assert_eq!(needed("GET", "/regions/us-ord"), None);
    }
}
