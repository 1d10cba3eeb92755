//! The simulated Linode API as the tests use it: [`LinodeFake`] starts the product simulator
//! (`lkeobs::sim::LinodeApi`) and adds test conveniences (a fast client, seeded clusters).

use std::ops::Deref;
use std::sync::Arc;

use lkeobs::linode::{Client, ClientConfig};
pub use lkeobs::sim::linode::*;

use super::{FAKE_TOKEN, test_config};

/// The running simulated Linode API (dereferences to [`LinodeApi`]: `state()`, `base_url()`, `writes()`).
pub struct LinodeFake(pub Arc<LinodeApi>);

impl Deref for LinodeFake {
    type Target = LinodeApi;

    fn deref(&self) -> &LinodeApi {
        &self.0
    }
}

impl LinodeFake {
    /// Starts one with [`State::seeded`].
    pub async fn start() -> Self {
        Self::start_with(State::seeded()).await
    }

    /// Starts one with the given state.
    pub async fn start_with(state: State) -> Self {
        LinodeFake(Arc::new(
            LinodeApi::start(state).await.expect("start the simulated Linode API"),
        ))
    }

    /// The example fleet's hub (us-ord) and edge `us-east`, tagged as fleet `example`'s, each with one
    /// pool of `nodes` `node_type` nodes.
    pub async fn seed_example(&self, node_type: &str, nodes: u32) {
        for (label, region, role) in [
            ("lkeobs-example-hub", "us-ord", "hub"),
            ("lkeobs-example-us-east", "us-east", "edge"),
        ] {
            let tags = [
                "lkeobs".to_string(),
                "lkeobs-fleet-example".into(),
                format!("lkeobs-role-{role}"),
            ];
            let pools = vec![lkeobs::linode::NodePoolSpec::new(node_type, nodes)];
            self.seed_cluster(label, region, pools, &tags).await;
        }
    }

    /// Creates an LKE cluster through the API (as `up` or another tool would) and returns its id.
    pub async fn seed_cluster(
        &self,
        label: &str,
        region: &str,
        pools: Vec<lkeobs::linode::NodePoolSpec>,
        tags: &[String],
    ) -> u64 {
        let req = lkeobs::linode::CreateLkeCluster {
            label: label.into(),
            region: region.into(),
            k8s_version: "1.32".into(),
            node_pools: pools,
            tags: tags.to_vec(),
            control_plane: None,
            tier: None,
        };
        self.client().create_lke_cluster(&req).await.expect("seed cluster").id
    }

    /// A fast client config pointing at the simulator.
    pub fn config(&self) -> ClientConfig {
        test_config(&self.base_url(), FAKE_TOKEN)
    }

    /// A fast client pointing at the simulator.
    pub fn client(&self) -> Client {
        Client::new(self.config()).expect("client for the simulator")
    }
}
