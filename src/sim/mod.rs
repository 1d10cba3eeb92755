//! The local Linode + LKE simulator: a stateful Linode API v4 (the subset lkeobs uses) and one
//! Kubernetes API per simulated cluster, all on 127.0.0.1, with controllers that make them behave
//! like LKE (nodes joining and going Ready, rollouts, the scheduler, kubelets, pod GC, HPA bounds,
//! disruption budgets and evictions, ReadWriteOnce volumes moving between nodes, LoadBalancer
//! Services getting NodeBalancers, claims getting volumes, leftovers when a cluster is deleted) and fault injection (429s, 5xx, lost
//! answers). `lkeobs sim` serves it to other processes; the tests and `lkeobs demo` run it in-process.

mod ccm;
mod controllers;
mod csi;
mod data_alertmanager;
mod data_answers;
mod data_blocks;
mod data_endpoints;
mod data_engine_storage;
mod data_engines;
mod data_feeds;
mod data_flush;
mod data_grafana;
mod data_links;
mod data_mimir;
pub mod data_path;
mod data_policies;
mod data_query;
mod data_rings;
mod data_s3;
mod data_shared;
mod data_sources;
pub mod data_store;
mod disruption;
mod gateway_load;
mod gateway_start;
pub mod guard;
mod hpa;
pub mod http;
pub mod jobs;
pub mod kube;
mod kube_clock;
mod kube_defaults;
mod kube_discovery;
mod kube_fields;
mod kube_immutable;
mod kube_kinds;
mod kube_openapi;
mod kube_portforward;
mod kube_routes;
mod kube_spdy;
mod kube_table;
pub mod kube_tls;
mod kubelet;
mod latencies;
pub mod linode;
mod linode_acl;
mod linode_catalog;
mod linode_firewalls;
mod linode_limits;
mod linode_list;
mod linode_nodes;
mod linode_pools;
mod linode_routes;
pub mod linode_scopes;
mod netpol;
mod nodes;
pub mod object_storage;
mod on_demand;
mod otlp_intake;
mod persist;
mod pod_names;
pub mod pod_port;
mod scheduler;
pub mod serve;
mod volumes_attach;
pub mod world;

pub use kube::KubeApi;
pub use linode::{Faults, LinodeApi, State};
pub use linode_list::{api_error, filter_matches, paginate};
pub use world::{Latencies, World};
