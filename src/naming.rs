//! Every name and tag lkeobs derives from a fleet, and the Linode limits they must fit.

/// LKE cluster labels: at most 32 characters, `[A-Za-z0-9-]`.
pub const CLUSTER_LABEL_MAX: usize = 32;
/// Cloud Firewall labels: 3–32 characters.
pub const FIREWALL_LABEL_MAX: usize = 32;
/// Tags: 3–50 characters.
pub const TAG_MIN: usize = 3;
pub const TAG_MAX: usize = 50;

/// The tag every lkeobs resource carries.
pub const TAG_OWNER: &str = "lkeobs";

/// `lkeobs-<fleet>-<cluster>`: the LKE label and `k8s.cluster.name`.
pub fn cluster_label(fleet: &str, cluster: &str) -> String {
    format!("lkeobs-{fleet}-{cluster}")
}

/// `lkeobs-<fleet>.<cluster>`: the kubeconfig context of a cluster. The `.` occurs in no fleet or cluster
/// name, so two fleets never share a context (as `lkeobs-a-b-c` was for fleet `a`'s edge `b-c` and fleet
/// `a-b`'s edge `c`).
pub fn context_name(fleet: &str, cluster: &str) -> String {
    format!("lkeobs-{fleet}.{cluster}")
}

/// `lkeobs-<fleet>-gw`: the gateway's Cloud Firewall.
pub fn firewall_label(fleet: &str) -> String {
    format!("lkeobs-{fleet}-gw")
}

/// The prefix of [`fleet_tag`].
const FLEET_PREFIX: &str = "lkeobs-fleet-";

/// `lkeobs-fleet-<fleet>`.
pub fn fleet_tag(fleet: &str) -> String {
    format!("{FLEET_PREFIX}{fleet}")
}

/// The fleet a tag names, if it is a [`fleet_tag`].
pub fn parse_fleet_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix(FLEET_PREFIX).filter(|f| !f.is_empty())
}

/// `lkeobs-role-hub` or `lkeobs-role-edge`.
pub fn role_tag(role: &str) -> String {
    format!("lkeobs-role-{role}")
}

/// The prefix of [`expires_tag`].
const EXPIRES_PREFIX: &str = "lkeobs-expires-";

/// The expiry (unix seconds) a tag carries, if it is an [`expires_tag`].
pub fn parse_expires_tag(tag: &str) -> Option<u64> {
    tag.strip_prefix(EXPIRES_PREFIX)?.parse().ok()
}

/// `lkeobs-expires-<unix-seconds>` for ephemeral fleets.
pub fn expires_tag(unix_seconds: u64) -> String {
    format!("{EXPIRES_PREFIX}{unix_seconds}")
}

/// The prefix of [`upgrade_tag`].
const UPGRADE_PREFIX: &str = "lkeobs-upgrading-to-";

/// `lkeobs-upgrading-to-1.34`: set with the control plane's upgrade, removed once the cluster's nodes run
/// the new version and its probes pass, so a re-run knows an upgrade to finish.
pub fn upgrade_tag(version: &str) -> String {
    format!("{UPGRADE_PREFIX}{version}")
}

/// The version an [`upgrade_tag`] names.
pub fn parse_upgrade_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix(UPGRADE_PREFIX)
}

/// The StorageClass lkeobs installs on the hub (reclaimPolicy Delete, tagged volumes).
pub fn storage_class(fleet: &str) -> String {
    format!("lkeobs-{fleet}")
}

/// Tags for a resource of the fleet that belongs to no single cluster role (firewall, volumes).
pub fn fleet_tags(fleet: &str, user_tags: &[String]) -> Vec<String> {
    let mut tags = vec![TAG_OWNER.to_string(), fleet_tag(fleet)];
    for t in user_tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    tags
}

/// Tags for a cluster: the fleet's plus its role.
pub fn cluster_tags(fleet: &str, role: &str, user_tags: &[String]) -> Vec<String> {
    let mut tags = fleet_tags(fleet, user_tags);
    tags.insert(2, role_tag(role));
    tags
}

/// The longest fleet name whose every derived name fits (the hub's label is the binding one).
pub fn max_fleet_name_len() -> usize {
    CLUSTER_LABEL_MAX - cluster_label("", "hub").len()
}

/// Whether `name` is a DNS label: `[a-z0-9-]`, starting and ending with a letter or digit, no `--`.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("--")
}

/// Whether `label` satisfies the Cloud Firewall label rules (3–32, alnum ends, `[A-Za-z0-9-_.]`, no doubled separators).
pub fn is_valid_firewall_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    (3..=FIREWALL_LABEL_MAX).contains(&label.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !label.contains("--")
        && !label.contains("__")
        && !label.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names() {
        assert_eq!(cluster_label("prod", "us-east"), "lkeobs-prod-us-east");
        assert_eq!(firewall_label("prod"), "lkeobs-prod-gw");
        assert_eq!(
            cluster_tags("prod", "edge", &["team-obs".into()]),
            vec!["lkeobs", "lkeobs-fleet-prod", "lkeobs-role-edge", "team-obs"]
        );
    }

    #[test]
    fn fleet_name_budget_leaves_room_for_the_hub_label() {
        let name = "a".repeat(max_fleet_name_len());
        assert_eq!(cluster_label(&name, "hub").len(), CLUSTER_LABEL_MAX);
        assert!(is_valid_firewall_label(&firewall_label(&name)));
    }

    #[test]
    fn dns_label_rules() {
        assert!(is_dns_label("us-east-2"));
        assert!(!is_dns_label("Us-east"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label("a--b"));
        assert!(!is_dns_label("a_b"));
        assert!(!is_dns_label(""));
    }

    #[test]
    fn firewall_label_rules() {
        assert!(is_valid_firewall_label("lkeobs-prod-gw"));
        assert!(!is_valid_firewall_label("ab"));
        assert!(!is_valid_firewall_label("lkeobs--gw"));
        assert!(!is_valid_firewall_label(&"a".repeat(33)));
    }
}
