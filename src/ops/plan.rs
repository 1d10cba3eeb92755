//! The one planning function behind `plan`, `up --dry-run` and `up` ([`compute`]), and `plan`'s run: the
//! plan, its monthly cost and the monthly limit.

use serde::Serialize;

use super::hub_plan::{self, HubHaPlan};
use super::{Ctx, compare, cost, discover, hub_storage};
use crate::Error;
use crate::fleet::Loaded;
use crate::linode::{ApiCalls, Client};
use crate::plan::cost::{Budget, Cost};
use crate::plan::{self, Observed, Plan};
use crate::stack::Renderer;
use crate::ui::{Failure, Outcome, cost_text, plan_text};

/// Which existing clusters' stacks the plan compares with what they run (a server-side dry run and the
/// objects to prune): what it lists is what `up` applies and prunes on those clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects<'a> {
    /// Every cluster's (`plan`, `up`).
    All,
    /// The hub's and this edge's (`add-edge`, which converges nothing else).
    HubAnd(&'a str),
}

/// A plan and what it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub observed: Observed,
    pub plan: Plan,
    /// A hub in mode "ha": its region's object storage as the preflight found it.
    pub storage_preflight: Option<hub_storage::Preflight>,
    /// A hub in mode "ha": the buckets and key found or to create, the engines' sizes.
    pub hub_ha: Option<HubHaPlan>,
}

/// Plans the fleet against the account: the preflight, discovery, the version check, the plan, and the
/// stacks of the existing clusters `objects` names compared. Nothing is written.
pub async fn compute(
    ctx: &Ctx,
    client: &Client,
    loaded: &Loaded,
    renderer: &Renderer,
    objects: Objects<'_>,
) -> Result<Planned, Error> {
    discover::preflight(client, loaded).await?;
    let fleet = &loaded.fleet;
    // Read only: the hub region's object storage, before anything is created.
    let storage_preflight = match fleet.hub_mode.ha() {
        Some(_) => Some(storage_preflight_of(client, loaded).await?),
        None => None,
    };
    let observed = discover::observe(client, &loaded.fleet).await?;
    discover::check_versions(loaded, &observed)?;
    let expires = expiry(&loaded.fleet, &observed)?;
    let mut plan = plan::online(&loaded.fleet, &observed, renderer, expires)?;
    let hub_ha = hub_plan::plan(fleet, Some(client)).await?;
    let scope = match objects {
        Objects::All => None,
        Objects::HubAnd(edge) => Some(edge),
    };
    compare::stacks(
        client,
        &loaded.fleet,
        &observed,
        &mut plan,
        renderer,
        compare::Scope {
            only_edge: scope,
            object_store: hub_ha.as_ref().and_then(|h| h.object_store.clone()),
            deadline: ctx.deadline(),
        },
    )
    .await?;
    plan.hub_mode_switch = crate::plan::hub_switch::detect(fleet, &plan.clusters);
    // The buckets and key to create are changes too (`--detailed-exitcode`).
    plan.changes += hub_ha.as_ref().map_or(0, |h| h.creates);
    Ok(Planned {
        observed,
        plan,
        storage_preflight,
        hub_ha,
    })
}

/// The hub region's object storage for an `ha` hub; a region without it is an error at the fleet file's
/// `[hub] region` line.
async fn storage_preflight_of(client: &Client, loaded: &Loaded) -> Result<hub_storage::Preflight, Error> {
    let region = &loaded.fleet.hub.region;
    match hub_storage::preflight(client, region.get_ref()).await {
        Ok(p) => Ok(p),
        Err(
            e @ (hub_storage::HubStorageError::RegionUnknown { .. }
            | hub_storage::HubStorageError::NoObjectStorage { .. }
            | hub_storage::HubStorageError::NoEndpoint { .. }),
        ) => {
            let diag = crate::fleet::Diag::new(region.span(), "hub.region", e.to_string())
                .help("`[hub] mode = \"ha\"` keeps the hub's data in Object Storage in the hub's region");
            Err(loaded.invalid(&[diag]).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The fleet's expiry for the plan's requests: the one its clusters carry, else now + `ttl`.
fn expiry(fleet: &crate::fleet::Fleet, observed: &Observed) -> Result<Option<u64>, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Error::Internal(format!("the clock is before 1970: {e}")))?;
    plan::expiry(fleet, observed, now).map_err(Error::Usage)
}

/// What `plan` prints: the plan, its monthly cost, the fleet's security warnings and the API calls it took.
#[derive(Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub plan: Plan,
    pub cost: Cost,
    /// A hub in mode "ha": the engines' sizes, the buckets and key, the buckets' expected size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_ha: Option<crate::ops::hub_plan::HubHaPlan>,
    /// The monthly limit, when one is set (`--max-monthly-cost`, else `[fleet] max_monthly_cost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    pub warnings: Vec<String>,
    api_calls: ApiCalls,
    /// `--detailed-exitcode`: changes to make end the command with exit code 2.
    #[serde(skip)]
    detailed_exitcode: bool,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut out = plan_text::render(&self.plan);
        if let Some(ha) = &self.hub_ha {
            out.push_str(&crate::ops::hub_plan::text(ha));
        }
        out.push('\n');
        out.push_str(&cost_text::render(&self.cost, self.budget.as_ref()));
        out
    }

    /// Problems (resources with our names that are not ours) fail the command after the plan that lists
    /// them; a fleet over its monthly limit is invalid input (exit code 2; 1 with `--detailed-exitcode`,
    /// where 2 means changes: see `error::Convention`).
    fn outcome(&self) -> Outcome {
        let over = match (&self.budget, &self.cost) {
            (Some(b), Cost::Priced(c)) => b.check(c).err(),
            _ => None,
        };
        if !self.plan.problems.is_empty() {
            Outcome::failed(
                Failure::Conflict,
                format!("the plan cannot be carried out: {}", self.plan.problems.join("; ")),
            )
        } else if let Some(why) = over {
            Outcome::failed(
                Failure::OverBudget,
                format!("{why}; `up` would create or change nothing"),
            )
        } else if self.detailed_exitcode && self.plan.changes > 0 {
            Outcome::Changes
        } else {
            Outcome::Done
        }
    }
}

/// How `plan` runs (also `up --dry-run`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Plan against an empty account, without the API.
    pub offline: bool,
    /// Changes to make end the command with exit code 2.
    pub detailed_exitcode: bool,
    /// `--max-monthly-cost` (overrides the fleet file's `max_monthly_cost`).
    pub max_monthly_cost: Option<f64>,
}

/// Runs `plan`: with a token the plan of [`compute`] priced from the live price lists; without one (or with
/// `--offline`) the plan against an empty account.
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet_to_apply()?;
    let warnings = ctx.security_warnings(&loaded.fleet);
    let renderer = Renderer::new()?;
    let budget = Budget::resolve(args.max_monthly_cost, &loaded.fleet);
    let client = if args.offline {
        Err("--offline".to_string())
    } else {
        ctx.linode_client()?.inspect_err(|why| {
            ctx.printer.note(&format!("{why}; planning against an empty account"));
        })
    };
    let (mut plan, cost, hub_ha) = match client {
        Err(why) => {
            if args.max_monthly_cost.is_some() {
                return Err(Error::Missing(format!(
                    "--max-monthly-cost needs the prices from the Linode API, which this run cannot read ({why})"
                )));
            }
            let why = if why == "--offline" {
                why
            } else {
                "no Linode token".into()
            };
            let expires = expiry(&loaded.fleet, &Observed::default())?;
            let hub_ha = hub_plan::plan(&loaded.fleet, None).await?;
            (
                plan::offline(&loaded.fleet, &renderer, expires)?,
                Cost::offline(&why),
                hub_ha,
            )
        }
        Ok(client) => {
            let planned = compute(ctx, &client, &loaded, &renderer, Objects::All).await?;
            let observed = Some(planned.observed.clusters.as_slice());
            let cost = match cost::price(&client, &loaded.fleet, observed, &renderer).await {
                Ok(c) => Cost::Priced(c),
                // Without a limit to check, a price list that cannot be read costs the plan nothing.
                Err(Error::Linode(e)) if budget.is_none() => Cost::Unavailable {
                    reason: format!("the price lists could not be read: {e}"),
                },
                Err(e) => return Err(e),
            };
            (planned.plan, cost, planned.hub_ha)
        }
    };
    if hub_ha.is_some() && plan.mode == crate::plan::PlanMode::Offline {
        // The buckets and key to create are changes too (`--detailed-exitcode`).
        plan.changes += hub_ha.as_ref().map_or(0, |h| h.creates);
    }
    Ok(Report {
        plan,
        cost,
        hub_ha,
        budget,
        warnings,
        api_calls: ctx.api_calls(),
        detailed_exitcode: args.detailed_exitcode,
    })
}
