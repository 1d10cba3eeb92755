//! Teardown's cluster-side deletes (docs/architecture.md, the sweep): our LoadBalancer Services and our volumes, each
//! waited for until gone, so the cloud controller and the CSI driver release their NodeBalancers
//! and Linode volumes while the cluster still runs.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use kube::api::{Api, DeleteParams, ListParams};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, timeout_at};

use super::client::K8s;
use super::error::{K8sError, Result, api_code};
use super::wait::events::warning_hint;
use super::wait::wait_object;
use crate::objects::ObjectRef;
use crate::objects::fleet_selector;

fn object_ref<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectRef {
    ObjectRef {
        api_version: K::api_version(&()).to_string(),
        kind: K::kind(&()).to_string(),
        namespace: obj.meta().namespace.clone(),
        name: obj.meta().name.clone().unwrap_or_default(),
    }
}

impl K8s {
    /// Deletes every Service of type LoadBalancer labelled as the fleet's, then waits until all
    /// are gone (the cloud controller holds them with a finalizer until their NodeBalancer is deleted).
    pub async fn delete_load_balancers(&self, fleet: &str, deadline: Instant) -> Result<Vec<ObjectRef>> {
        let api: Api<Service> = Api::all(self.client().clone());
        let services = self.list_ours(&api, fleet, deadline).await?;
        let lbs: Vec<Service> = services
            .into_iter()
            .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
            .collect();
        self.delete_and_wait(&lbs, deadline).await
    }

    /// Deletes the fleet's StatefulSets (so no pod holds or re-creates a claim), then its
    /// PersistentVolumeClaims, and waits until the claims are gone and so are their volumes whose
    /// reclaim policy is Delete (the CSI driver deletes the Linode volume first). Returns what it deleted.
    pub async fn delete_volumes(&self, fleet: &str, deadline: Instant) -> Result<Vec<ObjectRef>> {
        let sts_api: Api<StatefulSet> = Api::all(self.client().clone());
        let statefulsets = self.list_ours(&sts_api, fleet, deadline).await?;
        let mut deleted = Vec::new();
        for sts in &statefulsets {
            self.delete_one(sts, deadline).await?;
            deleted.push(object_ref(sts));
        }
        let pvc_api: Api<PersistentVolumeClaim> = Api::all(self.client().clone());
        let claims = self.list_ours(&pvc_api, fleet, deadline).await?;
        let pv_api: Api<PersistentVolume> = Api::all(self.client().clone());
        let mut volumes = Vec::new();
        for pvc in &claims {
            let Some(pv_name) = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()) else {
                continue;
            };
            let pv = timeout_at(deadline, pv_api.get_opt(&pv_name)).await;
            if let Ok(Ok(Some(pv))) = pv {
                let policy = pv
                    .spec
                    .as_ref()
                    .and_then(|s| s.persistent_volume_reclaim_policy.as_deref());
                if policy == Some("Delete") {
                    volumes.push(pv);
                }
            }
        }
        deleted.extend(self.delete_and_wait(&claims, deadline).await?);
        // The claims are gone; their volumes follow once the CSI driver deleted the disk.
        self.wait_all_gone(&volumes, deadline).await?;
        Ok(deleted)
    }

    async fn list_ours<K: Deletable>(&self, api: &Api<K>, fleet: &str, deadline: Instant) -> Result<Vec<K>> {
        let start = Instant::now();
        let selector = fleet_selector(fleet);
        let what = format!("list {} labelled {selector}", K::plural(&()));
        match timeout_at(deadline, api.list(&ListParams::default().labels(&selector))).await {
            Ok(Ok(list)) => Ok(list.items),
            Ok(Err(e)) => Err(K8sError::api(what, e)),
            Err(_) => Err(K8sError::no_answer(what, start.elapsed())),
        }
    }

    /// Deletes one object (background propagation); absent already counts as deleted.
    async fn delete_one<K: Deletable>(&self, obj: &K, deadline: Instant) -> Result<()> {
        let start = Instant::now();
        let api = K::api(self.client(), obj);
        let what = format!("delete {}", object_ref(obj));
        match timeout_at(deadline, api.delete(&obj.name_any(), &DeleteParams::background())).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if api_code(&e) == Some(404) => Ok(()),
            Ok(Err(e)) => Err(K8sError::api(what, e)),
            Err(_) => Err(K8sError::no_answer(what, start.elapsed())),
        }
    }

    async fn delete_and_wait<K: Deletable>(&self, objects: &[K], deadline: Instant) -> Result<Vec<ObjectRef>> {
        for obj in objects {
            self.delete_one(obj, deadline).await?;
            tracing::info!(object = %object_ref(obj), "deleting");
        }
        self.wait_all_gone(objects, deadline).await?;
        Ok(objects.iter().map(object_ref).collect())
    }

    /// Waits until every object is gone; the first that is not is reported with its finalizers
    /// and newest Warning event.
    async fn wait_all_gone<K: Deletable>(&self, objects: &[K], deadline: Instant) -> Result<()> {
        let waits = objects.iter().map(|obj| async move {
            let api = K::api(self.client(), obj);
            let uid = obj.uid();
            // Gone, or replaced by a new object of the same name (another uid).
            let gone = move |o: Option<&K>| o.is_none_or(|o| o.uid() != uid);
            match wait_object(api, &obj.name_any(), deadline, gone).await {
                Ok(_) => Ok(()),
                Err(expired) => {
                    let state = match &expired.last {
                        Some(Some(o)) if !o.finalizers().is_empty() => {
                            format!("still present, held by finalizers {}", o.finalizers().join(", "))
                        }
                        _ => "still present".to_string(),
                    };
                    let mut hint = match obj.namespace() {
                        Some(ns) => warning_hint(self.client(), &ns, &K::kind(&()), &obj.name_any()).await,
                        None => String::new(),
                    };
                    hint.push_str(&expired.error_hint());
                    let r = object_ref(obj);
                    Err(K8sError::Timeout {
                        what: format!(
                            "deleting {} {}",
                            r.kind.to_lowercase(),
                            r.namespace.map_or(r.name.clone(), |ns| format!("{ns}/{}", r.name))
                        ),
                        state,
                        waited: expired.waited,
                        hint,
                    })
                }
            }
        });
        futures::future::join_all(waits).await.into_iter().collect()
    }
}

/// A kind teardown deletes, and where one of its objects lives.
trait Deletable: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static {
    fn api(client: &Client, obj: &Self) -> Api<Self>;
}

fn in_namespace<K>(client: &Client, obj: &K) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default())
}

impl Deletable for Service {
    fn api(client: &Client, obj: &Self) -> Api<Self> {
        in_namespace(client, obj)
    }
}

impl Deletable for StatefulSet {
    fn api(client: &Client, obj: &Self) -> Api<Self> {
        in_namespace(client, obj)
    }
}

impl Deletable for PersistentVolumeClaim {
    fn api(client: &Client, obj: &Self) -> Api<Self> {
        in_namespace(client, obj)
    }
}

impl Deletable for PersistentVolume {
    fn api(client: &Client, _: &Self) -> Api<Self> {
        Api::all(client.clone())
    }
}
