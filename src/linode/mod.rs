//! The Linode API v4 client: the only code that talks to the Linode API.
//!
//! Build a [`Client`] from a [`ClientConfig`] (token from [`Token::from_env`] or
//! [`resolve_token`], base URL from `LINODE_URL`), then call typed methods such as
//! [`Client::create_lke_cluster_idempotent`] or [`Client::list_firewalls`]. Every list follows
//! all pages; every request goes through one shared [`RateLimiter`], the retry policy of
//! `retry.rs`, and is counted in [`Client::api_calls`]. Errors are [`Error`]; the token never
//! appears in any output.
//!
//! This module knows nothing of fleets.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lkeobs::linode::Error> {
//! use lkeobs::linode::{Client, ClientConfig, Filter, Token};
//!
//! let mut config = ClientConfig::new(Token::from_env()?);
//! if let Ok(url) = std::env::var("LINODE_URL") {
//!     config.base_url = url;
//! }
//! config.deadline = Some(tokio::time::Instant::now() + std::time::Duration::from_secs(1800));
//! let client = Client::new(config)?;
//! let ours = client.list_lke_clusters(Some(&Filter::tag("lkeobs"))).await?;
//! let api_calls = serde_json::to_value(client.api_calls()); // {"GET /lke/clusters": 1}
//! # let _ = (ours, api_calls);
//! # Ok(())
//! # }
//! ```

mod account;
mod auth;
mod bucket_names;
mod calls;
mod client;
mod endpoint;
mod error;
mod filter;
mod firewalls;
mod instances;
mod lke;
mod nodebalancers;
mod object_storage;
mod pools;
mod prices;
mod ratelimit;
mod regions;
mod request;
mod retry;
pub mod scopes;
mod tags;
mod types;
mod volumes;
mod wire;

pub use account::{Account, account_capability};
pub use auth::{Token, linode_cli_config_path, resolve_token};
pub use bucket_names::{
    BUCKET_LABEL_MAX, BucketSignal, BucketSuffix, FLEET_PART_MAX, ParsedBucketName, bucket_name, bucket_prefix,
    fleet_part, is_fleet_bucket, is_valid_bucket_label, parse_bucket_name,
};
pub use calls::ApiCalls;
pub use client::{Client, ClientConfig, DEFAULT_BASE_URL, PAGE_SIZE};
pub use endpoint::{ALLOW_ENV, Endpoint};
pub use error::{ApiError, ApiErrorItem, BodyKind, Error, Result, TransportKind};
pub use filter::{Filter, Order};
pub use firewalls::{
    CreateFirewall, CreateFirewallDevice, DeviceEntity, DeviceType, Firewall, FirewallAction, FirewallDevice,
    FirewallDevicesSpec, FirewallRule, FirewallRules, FirewallRulesState, FirewallStatus, Protocol, RuleAddresses,
    UpdateFirewall,
};
pub use instances::{Instance, InstanceIps, IpAddress, Ipv4Addresses};
pub use lke::{
    AclAddresses, ApiEndpoint, ControlPlane, ControlPlaneAcl, ControlPlaneAclBody, ControlPlaneSpec, CreateLkeCluster,
    LkeCluster, LkeVersion, UpdateLkeCluster,
};
pub use nodebalancers::{EntityRef, NodeBalancer};
pub use object_storage::{
    AccountSettings, Bucket, BucketAccess, BucketAcl, BucketPermission, CreateBucket, CreateObjectStorageKey,
    EndpointType, KeyRegion, ObjectStorageEndpoint, ObjectStorageKey, ObjectStoragePrice, ObjectStorageRegionPrice,
    ObjectStorageStatus, ObjectStorageType, pick_endpoint, s3_host,
};
pub use pools::{Autoscaler, LkeNode, NodePool, NodePoolSpec, Taint, TaintEffect, UpdateNodePool};
pub use prices::{PriceLists, PricedType};
pub use ratelimit::{RateLimiter, RateLimits, RequestClass};
pub use regions::{PlanAvailability, Region, capability};
pub use retry::RetrySettings;
pub use tags::{CreateTag, Tag};
pub use types::{LinodeType, Price, RegionPrice};
pub use volumes::Volume;
