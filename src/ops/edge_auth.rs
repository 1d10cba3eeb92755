//! Each edge's gateway credential (security.mtls): the fleet CA proves an edge belongs to the fleet, the
//! credential says which edge it is. The hub keeps the passwords (`observability-hub/lkeobs-edge-credentials`,
//! one key per edge, mounted by no pod) and derives from them the gateway's htpasswd file
//! (`observability-hub/otel-gateway-htpasswd`); each edge gets its own in `observability/otel-edge-auth`.
//! The gateway's `basicauth/edges` extension checks it and `resource/edge_identity` sets `cluster.id` from
//! the authenticated user name, so a compromised edge can only write as itself, and dropping an edge's
//! entry (`remove-edge`, or an edge gone from the fleet file) locks it out even with its certificate.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use crate::k8s::{K8s, SecretMode, Workload, WorkloadKind};
use crate::objects;

/// The passwords, in the hub: the source of truth, never mounted.
pub const CREDENTIALS_SECRET: (&str, &str) = objects::EDGE_CREDENTIALS_SECRET.pair();
/// The gateway's htpasswd file, derived from [`CREDENTIALS_SECRET`].
pub const HTPASSWD_SECRET: (&str, &str) = objects::GATEWAY_HTPASSWD_SECRET.pair();
/// The key of the htpasswd file in [`HTPASSWD_SECRET`].
pub const HTPASSWD_KEY: &str = "htpasswd";
/// An edge's own credential, in that edge (`username`, `password`).
pub const EDGE_AUTH_SECRET: (&str, &str) = objects::EDGE_AUTH_SECRET.pair();
/// The gateway workload (a Deployment, or a StatefulSet with `stack.persistent_queue`).
const GATEWAY: (&str, &str) = objects::GATEWAY.pair();

/// Edge name → password.
pub type Passwords = BTreeMap<String, SecretString>;

/// What [`ensure_hub`] and [`revoke`] changed in the hub.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HubChange {
    /// Edges given a new password.
    pub added: Vec<String>,
    /// Edges whose password was dropped.
    pub revoked: Vec<String>,
    /// The gateway's htpasswd file was written: the gateway reads it only at start.
    pub htpasswd_changed: bool,
}

impl HubChange {
    /// "edge credentials: 1 added, 1 revoked", or nothing when only the htpasswd file was rewritten.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            parts.push(format!("{} added ({})", self.added.len(), self.added.join(", ")));
        }
        if !self.revoked.is_empty() {
            parts.push(format!("{} revoked ({})", self.revoked.len(), self.revoked.join(", ")));
        }
        if parts.is_empty() && self.htpasswd_changed {
            parts.push("gateway htpasswd rewritten".into());
        }
        (!parts.is_empty()).then(|| format!("edge credentials: {}", parts.join(", ")))
    }
}

/// 32 bytes from the system's cryptographic generator, base64url.
fn generate() -> Result<SecretString, crate::Error> {
    let mut raw = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| crate::Error::Internal("the system random generator failed".into()))?;
    Ok(SecretString::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
    ))
}

/// The gateway's htpasswd file: one `edge:{SHA}base64(sha1(password))` line per edge, sorted by name, so
/// an unchanged fleet always yields the same bytes. `{SHA}` is a fast hash, which is enough here: each
/// password is 256 random bits (no dictionary to try), and go-htpasswd, the extension's parser, accepts it.
pub fn htpasswd(passwords: &Passwords) -> String {
    let mut out = String::new();
    for (edge, password) in passwords {
        let digest = ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            password.expose_secret().as_bytes(),
        );
        let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        out.push_str(&format!("{edge}:{{SHA}}{hash}\n"));
    }
    out
}

/// The passwords in the hub's credentials Secret (a value that is not usable text counts as missing).
async fn read_passwords(hub: &K8s) -> Result<Passwords, crate::Error> {
    let (ns, name) = CREDENTIALS_SECRET;
    let data = hub.get_secret(ns, name).await?.unwrap_or_default();
    Ok(data
        .into_iter()
        .filter_map(|(k, v)| {
            String::from_utf8(v)
                .ok()
                .filter(|s| !s.is_empty())
                .map(|s| (k, SecretString::from(s)))
        })
        .collect())
}

fn bytes(passwords: &Passwords) -> BTreeMap<String, Vec<u8>> {
    passwords
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_secret().as_bytes().to_vec()))
        .collect()
}

/// Writes the htpasswd Secret derived from `passwords` unless it already holds exactly that.
async fn sync_htpasswd(hub: &K8s, fleet: &str, passwords: &Passwords) -> Result<bool, crate::Error> {
    let (ns, name) = HTPASSWD_SECRET;
    let data = BTreeMap::from([(HTPASSWD_KEY.to_string(), htpasswd(passwords).into_bytes())]);
    if hub.get_secret(ns, name).await?.as_ref() == Some(&data) {
        return Ok(false);
    }
    hub.ensure_secret(ns, name, &objects::labels(fleet, "hub"), &data, SecretMode::Replace)
        .await?;
    Ok(true)
}

/// Gives every edge in `edges` a password (generating the missing ones), drops the others when `prune`
/// (edges no longer in the fleet), and brings the gateway's htpasswd file in line. Returns the passwords
/// of `edges`.
pub async fn ensure_hub(
    hub: &K8s,
    fleet: &str,
    edges: &[&str],
    prune: bool,
) -> Result<(Passwords, HubChange), crate::Error> {
    let mut passwords = read_passwords(hub).await?;
    let mut change = HubChange::default();
    for edge in edges {
        if !passwords.contains_key(*edge) {
            passwords.insert((*edge).to_string(), generate()?);
            change.added.push((*edge).to_string());
        }
    }
    if prune {
        let keep: BTreeSet<&str> = edges.iter().copied().collect();
        change.revoked = passwords
            .keys()
            .filter(|k| !keep.contains(k.as_str()))
            .cloned()
            .collect();
        passwords.retain(|k, _| keep.contains(k.as_str()));
    }
    if !change.added.is_empty() || !change.revoked.is_empty() {
        store_passwords(hub, fleet, &passwords).await?;
    }
    change.htpasswd_changed = sync_htpasswd(hub, fleet, &passwords).await?;
    let wanted = passwords
        .into_iter()
        .filter(|(k, _)| edges.contains(&k.as_str()))
        .collect();
    Ok((wanted, change))
}

/// Writes the hub's password Secret (the source of truth).
async fn store_passwords(hub: &K8s, fleet: &str, passwords: &Passwords) -> Result<(), crate::Error> {
    let (ns, name) = CREDENTIALS_SECRET;
    let labels = objects::labels(fleet, "hub");
    hub.ensure_secret(ns, name, &labels, &bytes(passwords), SecretMode::Replace)
        .await?;
    Ok(())
}

/// Drops `edge`'s password from both hub Secrets (`remove-edge`); idempotent, so a re-run after a failure
/// still brings the htpasswd file in line.
pub async fn revoke(hub: &K8s, fleet: &str, edge: &str) -> Result<HubChange, crate::Error> {
    let mut passwords = read_passwords(hub).await?;
    let mut change = HubChange::default();
    if passwords.remove(edge).is_some() {
        store_passwords(hub, fleet, &passwords).await?;
        change.revoked.push(edge.to_string());
    }
    change.htpasswd_changed = sync_htpasswd(hub, fleet, &passwords).await?;
    Ok(change)
}

/// The edge's own copy (`username` = its name, `password`), replaced when it differs from the hub's.
/// Returns whether it was written.
pub async fn ensure_edge(
    edge: &K8s,
    fleet: &str,
    edge_name: &str,
    password: &SecretString,
) -> Result<bool, crate::Error> {
    let (ns, name) = EDGE_AUTH_SECRET;
    let data = BTreeMap::from([
        ("username".to_string(), edge_name.as_bytes().to_vec()),
        ("password".to_string(), password.expose_secret().as_bytes().to_vec()),
    ]);
    if edge.get_secret(ns, name).await?.as_ref() == Some(&data) {
        return Ok(false);
    }
    edge.ensure_secret(ns, name, &objects::labels(fleet, edge_name), &data, SecretMode::Replace)
        .await?;
    Ok(true)
}

/// Restarts the gateway: `basicauth` reads its htpasswd file only at start (contrib
/// `extension/basicauthextension/extension.go`, `Start`). `stateful`: the fleet runs it as a StatefulSet
/// (`stack.persistent_queue`); the other kind is tried when that one is not there (the fleet file changed
/// since the last `up`). Returns whether one was restarted.
pub async fn restart_gateway(hub: &K8s, stateful: bool, reason: &str) -> Result<bool, crate::Error> {
    let kinds = if stateful {
        [WorkloadKind::StatefulSet, WorkloadKind::Deployment]
    } else {
        [WorkloadKind::Deployment, WorkloadKind::StatefulSet]
    };
    for kind in kinds {
        let w = Workload {
            kind,
            namespace: GATEWAY.0.into(),
            name: GATEWAY.1.into(),
        };
        if hub.restart(&w, reason).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn htpasswd_line_is_sha1_base64_of_the_password() {
        // printf 'password' | openssl sha1 -binary | base64 → W6ph5Mm5Pz8GgiULbPgzG37mj9g=
        let p = Passwords::from([("edge-a".to_string(), pw("password"))]);
        assert_eq!(htpasswd(&p), "edge-a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
    }

    #[test]
    fn htpasswd_is_sorted_and_stable() {
        let mut p = Passwords::new();
        p.insert("zeta".into(), pw("z"));
        p.insert("alpha".into(), pw("a"));
        let first = htpasswd(&p);
        let names: Vec<&str> = first.lines().map(|l| l.split(':').next().unwrap_or("")).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(htpasswd(&p), first);
    }

    #[test]
    fn generated_passwords_are_256_bit_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn summary_counts_and_names() {
        let c = HubChange {
            added: vec!["us".into()],
            revoked: vec!["eu".into()],
            htpasswd_changed: true,
        };
        assert_eq!(c.summary().unwrap(), "edge credentials: 1 added (us), 1 revoked (eu)");
        assert_eq!(HubChange::default().summary(), None);
    }
}
