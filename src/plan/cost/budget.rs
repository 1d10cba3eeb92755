//! The monthly cost limit (`--max-monthly-cost`, else `[fleet] max_monthly_cost`): a fleet that would cost
//! more as planned (the top of every range) is refused before anything is created or changed.

use serde::Serialize;

use super::FleetCost;
use crate::fleet::Fleet;

/// Where the limit was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetSource {
    /// `--max-monthly-cost` (overrides the fleet file).
    Flag,
    /// `[fleet] max_monthly_cost`.
    FleetFile,
}

/// A monthly cost limit in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    pub limit: f64,
    pub source: BudgetSource,
}

/// How many items the refusal names.
const NAMED_ITEMS: usize = 3;

impl Budget {
    /// The flag's limit, else the fleet file's, else none.
    pub fn resolve(flag: Option<f64>, fleet: &Fleet) -> Option<Budget> {
        match (flag, &fleet.fleet.max_monthly_cost) {
            (Some(limit), _) => Some(Budget {
                limit,
                source: BudgetSource::Flag,
            }),
            (None, Some(v)) => Some(Budget {
                limit: *v.get_ref(),
                source: BudgetSource::FleetFile,
            }),
            (None, None) => None,
        }
    }

    fn named(&self) -> String {
        match self.source {
            BudgetSource::Flag => format!("--max-monthly-cost {:.2}", self.limit),
            BudgetSource::FleetFile => format!("[fleet] max_monthly_cost = {:.2}", self.limit),
        }
    }

    /// Whether the fleet as planned stays within the limit; if not, or if a price is missing (the cost
    /// cannot be proven within it), the message says why and names the biggest items.
    pub fn check(&self, cost: &FleetCost) -> Result<(), String> {
        if !cost.missing.is_empty() {
            return Err(format!(
                "the fleet's cost cannot be checked against {}: no price for {}",
                self.named(),
                cost.missing.join("; ")
            ));
        }
        if cost.monthly.max <= self.limit {
            return Ok(());
        }
        let biggest: Vec<String> = cost
            .biggest()
            .into_iter()
            .take(NAMED_ITEMS)
            .map(|(cluster, i)| {
                let m = i.monthly.map_or(0.0, |m| m.max);
                format!("{cluster}: {} ${m:.2}", i.what)
            })
            .collect();
        Err(format!(
            "the fleet as planned costs up to ${:.2} a month, over {}; biggest items: {}",
            cost.monthly.max,
            self.named(),
            biggest.join(", ")
        ))
    }
}
