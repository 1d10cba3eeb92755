//! The Object Storage prices `plan` needs, from `GET /object-storage/types`: the account's monthly base
//! (new cost only when the account is not enrolled) and the overage per GB-month (read from the
//! overage type's `hourly` field, as Cloud Manager does). A price the API does not give is `None`, never 0.

use serde::Serialize;

use super::error::Result;
use crate::linode::Client;

/// The id of the base type.
pub const BASE_TYPE: &str = "objectstorage";
/// The id of the per-GB overage type.
pub const OVERAGE_TYPE: &str = "objectstorage-overage";

/// Object Storage prices in one region (USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StoragePrices {
    /// The account's monthly base (`objectstorage` `price.monthly`, the region's price when listed).
    pub base_monthly: Option<f64>,
    /// Storage included in the base, in GB (250 per the pricing page; the API does not give it).
    pub included_gb: u64,
    /// Per GB-month above the included storage (`objectstorage-overage` `price.hourly`, the region's price
    /// when listed).
    pub overage_per_gb_month: Option<f64>,
}

impl StoragePrices {
    /// The monthly storage overage for `gb` stored: `None` when the price is missing.
    pub fn overage_monthly(&self, gb: f64) -> Option<f64> {
        let over = (gb - self.included_gb as f64).max(0.0);
        self.overage_per_gb_month.map(|p| over * p)
    }
}

/// The storage included in the base (TD "Object Storage pricing": 250 GB).
pub const INCLUDED_GB: u64 = 250;

/// Reads the prices of `region` (one call).
pub async fn prices(client: &Client, region: &str) -> Result<StoragePrices> {
    let types = client.list_object_storage_types().await?;
    let find = |id: &str| types.iter().find(|t| t.id == id).map(|t| t.price_in(region));
    Ok(StoragePrices {
        base_monthly: find(BASE_TYPE).and_then(|p| p.monthly),
        included_gb: INCLUDED_GB,
        overage_per_gb_month: find(OVERAGE_TYPE).and_then(|p| p.hourly),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overage_counts_only_above_the_included_storage_and_a_missing_price_stays_missing() {
        let p = StoragePrices {
            base_monthly: Some(5.0),
            included_gb: 250,
            overage_per_gb_month: Some(0.02),
        };
        assert_eq!(p.overage_monthly(100.0), Some(0.0));
        assert!((p.overage_monthly(350.0).unwrap() - 2.0).abs() < 1e-9);
        let missing = StoragePrices {
            overage_per_gb_month: None,
            ..p
        };
        assert_eq!(missing.overage_monthly(1000.0), None);
    }
}
