//! The price lists: `GET /linode/types`, `/lke/types` (control-plane tiers), `/nodebalancers/types` and
//! `/volumes/types`, each with a base `price` and `region_prices` for regions priced differently. Read at
//! most once per client, that is once per run, and kept only in memory.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::client::Client;
use super::error::Result;
use super::request::ApiPath;
use super::types::{LinodeType, Price, RegionPrice};

/// One entry of `/lke/types`, `/nodebalancers/types` or `/volumes/types`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricedType {
    /// e.g. `lke-ha`, `nodebalancer`, `volume`.
    pub id: String,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// Base price (for volumes: per GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Prices of the regions priced differently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_prices: Vec<RegionPrice>,
}

/// The four price lists, as the API answered them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PriceLists {
    /// `GET /linode/types`.
    pub linode: Vec<LinodeType>,
    /// `GET /lke/types`: control-plane tiers (`lke-sa`, `lke-ha`).
    pub lke: Vec<PricedType>,
    /// `GET /nodebalancers/types`.
    pub nodebalancer: Vec<PricedType>,
    /// `GET /volumes/types` (per GiB).
    pub volume: Vec<PricedType>,
}

/// What a client keeps of the catalog for its lifetime (one run).
#[derive(Debug, Default)]
pub(super) struct CatalogCache {
    linode_types: OnceCell<Arc<Vec<LinodeType>>>,
    prices: OnceCell<Arc<PriceLists>>,
}

impl Client {
    /// `GET /lke/types`.
    pub async fn list_lke_types(&self) -> Result<Vec<PricedType>> {
        self.list(&ApiPath::new("/lke/types", &[]), None).await
    }

    /// `GET /nodebalancers/types`.
    pub async fn list_nodebalancer_types(&self) -> Result<Vec<PricedType>> {
        self.list(&ApiPath::new("/nodebalancers/types", &[]), None).await
    }

    /// `GET /volumes/types`.
    pub async fn list_volume_types(&self) -> Result<Vec<PricedType>> {
        self.list(&ApiPath::new("/volumes/types", &[]), None).await
    }

    /// Every Linode type, listed on first use and kept by this client (and its clones).
    pub async fn linode_types(&self) -> Result<Arc<Vec<LinodeType>>> {
        self.inner
            .cache
            .linode_types
            .get_or_try_init(|| async { self.list_linode_types(None).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// The four price lists, listed at once on first use and kept by this client (and its clones); the
    /// Linode types are shared with [`Client::linode_types`].
    pub async fn price_lists(&self) -> Result<Arc<PriceLists>> {
        self.inner
            .cache
            .prices
            .get_or_try_init(|| async {
                let (linode, lke, nodebalancer, volume) = tokio::try_join!(
                    self.linode_types(),
                    self.list_lke_types(),
                    self.list_nodebalancer_types(),
                    self.list_volume_types()
                )?;
                Ok::<_, super::error::Error>(Arc::new(PriceLists {
                    linode: linode.as_ref().clone(),
                    lke,
                    nodebalancer,
                    volume,
                }))
            })
            .await
            .cloned()
    }
}
