//! The fleet's monthly cost for the commands: the price lists read once per run (cached by the run's
//! client), each cluster's rendered stack read for what it makes the platform bill (NodeBalancers,
//! volumes), priced by `plan::cost`; and the monthly limit enforced before anything is written.

use std::collections::BTreeMap;

use crate::Error;
use crate::fleet::Fleet;
use crate::linode::Client;
use crate::plan::ObservedCluster;
use crate::plan::cost::object_storage::{self, Ingest, RetentionDays, StorageEstimate};
use crate::plan::cost::{self, Budget, FleetCost};
use crate::stack::{Footprint, Inputs, Renderer};

/// Each cluster's billable stack resources, by cluster name.
pub fn footprints(fleet: &Fleet, renderer: &Renderer) -> Result<BTreeMap<String, Footprint>, Error> {
    fleet
        .clusters()
        .map(|c| {
            let rendered = renderer.render(fleet, c, &Inputs::default())?;
            Ok((c.name.get_ref().clone(), rendered.footprint()?))
        })
        .collect()
}

/// The fleet's cost from the live price lists; with `observed`, also what its existing clusters cost now.
pub async fn price(
    client: &Client,
    fleet: &Fleet,
    observed: Option<&[ObservedCluster]>,
    renderer: &Renderer,
) -> Result<FleetCost, Error> {
    let prices = client.price_lists().await?;
    let footprints = footprints(fleet, renderer)?;
    let mut cost = cost::price_fleet(fleet, &footprints, observed, &prices);
    if let Some(estimate) = storage_estimate(fleet)? {
        let (types, settings) = tokio::join!(client.list_object_storage_types(), client.get_account_settings());
        // A token without `account:read_only` cannot tell the enrolment: the base charge is counted.
        let enrolment = match settings {
            Ok(s) => Some(s.object_storage),
            Err(e) if e.is_missing_scope() => None,
            Err(e) => return Err(e.into()),
        };
        let items = object_storage::items(&estimate, enrolment, &types?);
        object_storage::add_to(&mut cost, fleet.hub.name.get_ref(), items);
    }
    Ok(cost)
}

/// What an `ha` hub's buckets are expected to hold (None: the hub keeps its data on volumes).
pub fn storage_estimate(fleet: &Fleet) -> Result<Option<StorageEstimate>, Error> {
    Ok(retention_days(fleet)?.map(|r| estimate(fleet, r)))
}

/// The buckets' expected size for this retention.
pub fn estimate(fleet: &Fleet, retention: RetentionDays) -> StorageEstimate {
    let [metrics, logs, traces] = crate::stack::ha_sizing::bucket_gb_per_edge_day();
    let per_cluster = Ingest { metrics, logs, traces };
    object_storage::estimate(
        fleet.hub.region.get_ref(),
        fleet.clusters().count(),
        retention,
        per_cluster,
    )
}

/// An `ha` hub's retention per signal, in whole days (None in mode "single").
pub fn retention_days(fleet: &Fleet) -> Result<Option<RetentionDays>, Error> {
    let Some(ha) = fleet.hub_mode.ha() else {
        return Ok(None);
    };
    // Validation parsed these durations already.
    let days = |d: &crate::fleet::spec::Spanned<String>| {
        crate::fleet::duration::parse(d.get_ref())
            .map(|d| d.as_secs().div_ceil(86_400))
            .map_err(|e| Error::Internal(format!("retention {:?} passed validation: {e}", d.get_ref())))
    };
    Ok(Some(RetentionDays {
        metrics: days(&ha.retention.metrics)?,
        logs: days(&ha.retention.logs)?,
        traces: days(&ha.retention.traces)?,
    }))
}

/// Refuses a fleet over its limit (exit 2), naming the biggest items.
pub fn enforce(budget: Option<Budget>, cost: &FleetCost) -> Result<(), Error> {
    match budget {
        Some(b) => b.check(cost).map_err(Error::OverBudget),
        None => Ok(()),
    }
}
