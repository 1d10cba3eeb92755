//! Teardown always and proof of zero leftovers: an inventory of what the fleet owns (by id, taken after
//! every `up`, so resources an item deleted on the way are tracked too), a teardown that runs when the
//! harness is dropped (failure or panic), and the account re-listed afterwards against that inventory —
//! independently of lkeobs' own leftover report.

use std::collections::BTreeSet;

use lkeobs::linode::Client;

use crate::live::harness::Harness;

/// Everything of the fleet seen on the account: `(kind, id)` with a label for messages.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub items: BTreeSet<(&'static str, u64, String)>,
}

impl Inventory {
    fn has(&self, kind: &str, id: u64) -> bool {
        self.items.iter().any(|(k, i, _)| *k == kind && *i == id)
    }

    fn ids(&self, kind: &str) -> BTreeSet<u64> {
        self.items
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, i, _)| *i)
            .collect()
    }
}

/// Adds what the fleet owns now: clusters labelled `lkeobs-<fleet>-…`, their node Linodes, NodeBalancers
/// of those clusters, volumes attached to those nodes or tagged with the fleet, the gateway firewall.
pub async fn take(client: &Client, fleet: &str, inv: &mut Inventory) -> Result<(), String> {
    let prefix = format!("lkeobs-{fleet}-");
    let fleet_tag = lkeobs::naming::fleet_tag(fleet);
    let e = |what: &str, err: lkeobs::linode::Error| format!("list {what}: {err}");
    for c in client.list_lke_clusters(None).await.map_err(|x| e("clusters", x))? {
        if !c.label.starts_with(&prefix) {
            continue;
        }
        for p in client.list_node_pools(c.id).await.map_err(|x| e("pools", x))? {
            for n in p.nodes {
                if let Some(id) = n.instance_id {
                    inv.items
                        .insert(("linode", id, format!("node {} of {}", n.id, c.label)));
                }
            }
        }
        inv.items.insert(("cluster", c.id, c.label));
    }
    let clusters = inv.ids("cluster");
    let nodes = inv.ids("linode");
    for nb in client
        .list_nodebalancers(None)
        .await
        .map_err(|x| e("NodeBalancers", x))?
    {
        if nb.lke_cluster.as_ref().is_some_and(|r| clusters.contains(&r.id)) || nb.tags.contains(&fleet_tag) {
            inv.items.insert(("nodebalancer", nb.id, nb.label));
        }
    }
    for v in client.list_volumes(None).await.map_err(|x| e("volumes", x))? {
        if v.linode_id.is_some_and(|id| nodes.contains(&id)) || v.tags.contains(&fleet_tag) {
            inv.items.insert(("volume", v.id, v.label));
        }
    }
    for f in client.list_firewalls(None).await.map_err(|x| e("firewalls", x))? {
        if f.label == lkeobs::naming::firewall_label(fleet) || f.tags.contains(&fleet_tag) {
            inv.items.insert(("firewall", f.id, f.label));
        }
    }
    Ok(())
}

/// What is still on the account of `inv`, plus anything new labelled or tagged as the fleet's.
pub async fn left(client: &Client, fleet: &str, inv: &Inventory) -> Result<Vec<String>, String> {
    let mut now = Inventory::default();
    take(client, fleet, &mut now).await?;
    let mut left: Vec<String> = now
        .items
        .iter()
        .map(|(k, id, l)| format!("{k} {l} (id {id})"))
        .collect();
    let e = |what: &str, err: lkeobs::linode::Error| format!("list {what}: {err}");
    for i in client.list_instances(None).await.map_err(|x| e("Linodes", x))? {
        if inv.has("linode", i.id) && !now.has("linode", i.id) {
            left.push(format!("linode {} (id {})", i.label, i.id));
        }
    }
    for nb in client
        .list_nodebalancers(None)
        .await
        .map_err(|x| e("NodeBalancers", x))?
    {
        if inv.has("nodebalancer", nb.id) && !now.has("nodebalancer", nb.id) {
            left.push(format!("nodebalancer {} (id {})", nb.label, nb.id));
        }
    }
    for v in client.list_volumes(None).await.map_err(|x| e("volumes", x))? {
        if inv.has("volume", v.id) && !now.has("volume", v.id) {
            left.push(format!("volume {} (id {})", v.label, v.id));
        }
    }
    for f in client.list_firewalls(None).await.map_err(|x| e("firewalls", x))? {
        if inv.has("firewall", f.id) && !now.has("firewall", f.id) {
            left.push(format!("firewall {} (id {})", f.label, f.id));
        }
    }
    Ok(left)
}

impl Drop for Harness {
    /// The teardown of last resort: a failed check, a panic or an early return still deletes the fleet.
    /// (Ctrl-C kills the test process without unwinding: `scripts/live-acceptance` traps it and tears down.)
    fn drop(&mut self) {
        if self.torn_down || !self.created {
            return;
        }
        eprintln!(
            "[live] tearing down fleet {} (the run ended before its teardown)",
            self.fleet
        );
        let out = self.lkeobs(&["teardown"]);
        if out.code != 0 {
            eprintln!(
                "[live] TEARDOWN FAILED for fleet {}: {}\nrun `lkeobs teardown` with {} or wait for `lkeobs reap`",
                self.fleet,
                out.why(),
                self.fleet_file().display()
            );
        }
    }
}
