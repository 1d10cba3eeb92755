//! What `up` reports: per cluster its id, label, region, nodes, context, the stage it reached and how long it
//! took; the gateway endpoint; how to reach Grafana and read its password; the firewall; verification; API calls.

use serde::Serialize;

use crate::fleet::Role;
use crate::linode::ApiCalls;
use crate::objects;
use crate::ops::converge::upgrade::{Status, UpgradeReport};
use crate::ops::gateway_firewall::FirewallReport;
use crate::ui::{Failure, Outcome};

/// The steps of one cluster, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Pending,
    Cluster,
    Kubeconfig,
    Nodes,
    Stack,
    Gateway,
    Certificates,
    Rollout,
    /// Waiting for its turn in the fleet's upgrade order.
    UpgradeTurn,
    Upgrade,
    Ready,
}

impl Stage {
    /// What the progress line says while the stage runs.
    pub fn doing(self) -> &'static str {
        match self {
            Stage::Pending => "waiting",
            Stage::Cluster => "creating or updating the cluster",
            Stage::Kubeconfig => "waiting for the kubeconfig",
            Stage::Nodes => "waiting for nodes Ready",
            Stage::Stack => "applying the stack",
            Stage::Gateway => "waiting for the gateway address",
            Stage::Certificates => "certificates",
            Stage::Rollout => "waiting for rollouts",
            Stage::UpgradeTurn => "waiting for its turn to upgrade",
            Stage::Upgrade => "upgrading Kubernetes",
            Stage::Ready => "ready",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pending => "pending",
            Stage::Cluster => "cluster",
            Stage::Kubeconfig => "kubeconfig",
            Stage::Nodes => "nodes",
            Stage::Stack => "stack",
            Stage::Gateway => "gateway",
            Stage::Certificates => "certificates",
            Stage::Rollout => "rollout",
            Stage::UpgradeTurn => "upgrade_turn",
            Stage::Upgrade => "upgrade",
            Stage::Ready => "ready",
        }
    }
}

/// One cluster's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    pub name: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub label: String,
    pub region: String,
    /// Nodes Ready in Kubernetes.
    pub nodes: usize,
    pub context: String,
    /// The last stage started (`ready` when it finished).
    pub stage: Stage,
    pub seconds: f64,
    /// What this run changed (empty: nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<super::done::Done>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its Kubernetes upgrade in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeReport>,
}

/// Where edges send OTLP.
#[derive(Debug, Clone, Serialize)]
pub struct Gateway {
    pub address: String,
    pub otlp_grpc: String,
    pub otlp_http: String,
    pub mtls: bool,
}

/// How to reach Grafana.
#[derive(Debug, Clone, Serialize)]
pub struct Grafana {
    /// Its LoadBalancer URL (`https://`) when `grafana_allow` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub port_forward: String,
    /// With `grafana_allow`: writes the fleet CA's certificate (public, never a key) to `lkeobs-ca.crt`, the
    /// file to trust for Grafana's HTTPS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_command: Option<String>,
    /// Prints the admin password (the password itself is never in the report).
    pub password_command: String,
}

/// Whether verification ran and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<usize>,
    /// The last round's outcomes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probes::Outcome>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub fleet: String,
    pub clusters: Vec<ClusterReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    pub grafana: Grafana,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<FirewallReport>,
    pub verification: Verification,
    /// Files the kubeconfig contexts were written to.
    pub kubeconfig: Vec<String>,
    /// Fleet-wide steps that failed (e.g. the gateway firewall sync); the clusters' own are in `clusters`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
    /// The fleet's security warnings (allowed but weak choices).
    pub warnings: Vec<String>,
    pub seconds: f64,
    pub api_calls: ApiCalls,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        text(self)
    }

    /// Clusters (or fleet-wide steps) that did not finish, then failed probes.
    fn outcome(&self) -> Outcome {
        let mut what: Vec<&str> = self
            .clusters
            .iter()
            .filter(|c| c.error.is_some())
            .map(|c| c.name.as_str())
            .collect();
        what.extend(self.unfinished.iter().map(String::as_str));
        if !what.is_empty() {
            return Outcome::failed(
                Failure::Incomplete,
                format!(
                    "not finished: {}; what is done stays done: re-run the same command to resume",
                    what.join(", ")
                ),
            );
        }
        let stopped: Vec<String> = self
            .clusters
            .iter()
            .filter_map(|c| {
                c.upgrade
                    .as_ref()
                    .filter(|u| u.status == Status::ProbesFailed)
                    .map(|u| (c, u))
            })
            .map(|(c, u)| format!("{} {}", c.name, u.detail.as_deref().unwrap_or("failed its probes")))
            .collect();
        let blocked: Vec<String> = self
            .clusters
            .iter()
            .filter_map(|c| {
                c.upgrade
                    .as_ref()
                    .filter(|u| u.status == Status::Blocked)
                    .map(|u| (c, u))
            })
            .map(|(c, u)| format!("{} {}", c.name, u.detail.as_deref().unwrap_or("blocked")))
            .collect();
        if stopped.is_empty() && !blocked.is_empty() {
            return Outcome::failed(
                Failure::VerifyFailed,
                format!(
                    "not upgraded: {}; the other clusters went on; once changed, re-run `lkeobs up` to finish the upgrade",
                    blocked.join("; ")
                ),
            );
        }
        if !stopped.is_empty() {
            let skipped = self
                .clusters
                .iter()
                .filter(|c| c.upgrade.as_ref().is_some_and(|u| u.status == Status::Skipped))
                .count();
            return Outcome::failed(
                Failure::VerifyFailed,
                format!(
                    "the upgrade stopped: {}; {skipped} cluster(s) not upgraded; once fixed, re-run `lkeobs up` to finish the upgrade",
                    stopped.join("; ")
                ),
            );
        }
        match self.verification.failed {
            Some(n) if n > 0 => Outcome::failed(Failure::VerifyFailed, format!("{n} verification probe(s) failed")),
            _ => Outcome::Done,
        }
    }
}

/// Grafana's LoadBalancer URL: HTTPS only (a public Grafana never serves clear text); IPv6 in brackets.
pub(super) fn grafana_url(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("https://[{address}]:3000")
    } else {
        format!("https://{address}:3000")
    }
}

/// How to reach Grafana through the hub's context `hub_ctx`: its HTTPS URL when public (`tls`), the
/// port-forward, and the commands that print its CA certificate and admin password (never the password).
pub(super) fn grafana_access(hub_ctx: &str, url: Option<String>, tls: bool) -> Grafana {
    let (g, admin) = (objects::GRAFANA, objects::GRAFANA_ADMIN_SECRET);
    Grafana {
        url,
        port_forward: format!(
            "kubectl --context {hub_ctx} -n {} port-forward svc/{} 3000:3000",
            g.namespace, g.name
        ),
        ca_command: tls.then(|| grafana_ca_command(hub_ctx)),
        password_command: format!(
            "kubectl --context {hub_ctx} -n {} get secret {} -o jsonpath='{{.data.admin-password}}' | base64 -d",
            admin.namespace, admin.name
        ),
    }
}

/// Writes the fleet CA certificate Grafana's certificate chains to (`ca.crt` of its TLS Secret: public,
/// never the key) to `lkeobs-ca.crt`.
pub(super) fn grafana_ca_command(hub_ctx: &str) -> String {
    format!(
        "kubectl --context {hub_ctx} -n {} get secret {} -o jsonpath='{{.data.ca\\.crt}}' | base64 -d > lkeobs-ca.crt",
        objects::GRAFANA_TLS_SECRET.namespace,
        objects::GRAFANA_TLS_SECRET.name
    )
}

fn pad(s: &str, w: usize) -> String {
    format!("{s:<w$}")
}

/// The text form.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let headers = ["CLUSTER", "ROLE", "ID", "REGION", "NODES", "STAGE", "TIME", "CONTEXT"];
    let rows: Vec<[String; 8]> = r
        .clusters
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.role.as_str().to_string(),
                c.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                c.region.clone(),
                c.nodes.to_string(),
                if c.error.is_some() {
                    format!("failed at {}", c.stage.as_str())
                } else {
                    c.stage.as_str().to_string()
                },
                format!("{:.0}s", c.seconds),
                c.context.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| pad(c, w))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    out.push_str(&format!("fleet {}\n", r.fleet));
    out.push_str(&line(headers.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        out.push_str(&line(row.to_vec()));
    }
    for c in &r.clusters {
        for ch in &c.changes {
            out.push_str(&format!("  {}: {ch}\n", c.name));
        }
        if let Some(e) = &c.error {
            out.push_str(&format!("  {}: error: {e}\n", c.name));
        }
    }
    super::upgrade_text::upgrades(r, &mut out);
    if let Some(g) = &r.gateway {
        out.push_str(&format!(
            "\ngateway   {} (OTLP gRPC), {} (OTLP HTTP){}\n",
            g.otlp_grpc,
            g.otlp_http,
            if g.mtls { ", client certificates required" } else { "" }
        ));
    }
    if let Some(f) = &r.firewall {
        out.push_str(&format!("firewall  {} (id {})", f.label, f.id));
        if !f.added.is_empty() {
            out.push_str(&format!(", allows now {}", f.added.join(", ")));
        }
        if !f.removed.is_empty() {
            out.push_str(&format!(", no longer {}", f.removed.join(", ")));
        }
        out.push('\n');
        if !f.missing_edges.is_empty() {
            out.push_str(&format!(
                "          not yet allowed: {} (re-run `lkeobs up`)\n",
                f.missing_edges.join(", ")
            ));
        }
    }
    let scheme = if r.grafana.ca_command.is_some() {
        "https"
    } else {
        "http"
    };
    match &r.grafana.url {
        Some(u) => out.push_str(&format!("grafana   {u}\n")),
        None => out.push_str(&format!(
            "grafana   {}   then open {scheme}://localhost:3000\n",
            r.grafana.port_forward
        )),
    }
    if let Some(ca) = &r.grafana.ca_command {
        out.push_str(&format!(
            "          served over HTTPS by the fleet CA: {ca}   then curl --cacert lkeobs-ca.crt, or trust it in a browser profile of its own for this fleet (never in your everyday browser's store)\n"
        ));
    }
    out.push_str(&format!(
        "          user admin, password: {}\n",
        r.grafana.password_command
    ));
    if r.verification.run {
        let table = crate::probes::table(&r.verification.probes);
        out.push('\n');
        out.push_str(&table);
        out.push('\n');
    }
    match (&r.verification.run, &r.verification.reason, r.verification.failed) {
        (true, _, Some(0)) => out.push_str("verify    every probe passed\n"),
        (true, _, Some(n)) => out.push_str(&format!("verify    {n} probe(s) failed (see the table)\n")),
        (_, Some(why), _) => out.push_str(&format!("verify    not run: {why}\n")),
        _ => {}
    }
    if !r.kubeconfig.is_empty() {
        out.push_str(&format!("kubeconfig written to {}\n", r.kubeconfig.join(" and ")));
    }
    out.push_str(&format!(
        "{} in {:.0}s, {} Linode API calls\n",
        if r.ok {
            "done"
        } else {
            "NOT done: re-run `lkeobs up` to resume"
        },
        r.seconds,
        r.api_calls.values().sum::<u64>()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_is_reported_over_https_with_the_command_that_writes_the_ca_not_a_key() {
        assert_eq!(grafana_url("172.233.9.9"), "https://172.233.9.9:3000");
        assert_eq!(grafana_url("2600:3c00::1"), "https://[2600:3c00::1]:3000");
        let cmd = grafana_ca_command("lkeobs-prod-hub");
        assert!(cmd.contains("-n monitoring get secret grafana-tls"), "{cmd}");
        assert!(cmd.contains(r"{.data.ca\.crt}"), "{cmd}");
        assert!(!cmd.contains("tls.key") && !cmd.contains("ca.key"), "{cmd}");
    }
}
