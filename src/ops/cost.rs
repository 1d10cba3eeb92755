//! The fleet's monthly cost for the commands: the price lists read once per run (cached by the run's
//! client), each cluster's rendered stack read for what it makes the platform bill (NodeBalancers,
//! volumes), priced by `plan::cost`; and the monthly limit enforced before anything is written.

use std::collections::BTreeMap;

use crate::Error;
use crate::fleet::Fleet;
use crate::linode::Client;
use crate::plan::ObservedCluster;
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
    Ok(cost::price_fleet(fleet, &footprints, observed, &prices))
}

/// Refuses a fleet over its limit (exit 2), naming the biggest items.
pub fn enforce(budget: Option<Budget>, cost: &FleetCost) -> Result<(), Error> {
    match budget {
        Some(b) => b.check(cost).map_err(Error::OverBudget),
        None => Ok(()),
    }
}
