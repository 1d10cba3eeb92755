//! Which container runtime the DCGM exporter needs on a GPU cluster: the RuntimeClass whose handler is
//! `nvidia` when the cluster has one (whether `nvidia` is containerd's default on LKE
//! is unverified), looked up before the stack is rendered so rendering stays free of I/O.

use crate::fleet::Cluster;
use crate::k8s::K8s;
use crate::stack::GpuRuntime;

/// The containerd runtime handler NVIDIA's container toolkit installs.
pub const NVIDIA_HANDLER: &str = "nvidia";

/// `None` for a cluster without GPU pools (nothing to look at); otherwise what the cluster has.
pub async fn detect(k8s: &K8s, cluster: &Cluster) -> Result<Option<GpuRuntime>, crate::Error> {
    if !cluster.has_gpu() {
        return Ok(None);
    }
    Ok(Some(match k8s.runtime_class_for(NVIDIA_HANDLER).await? {
        Some(name) => GpuRuntime::RuntimeClass(name),
        None => GpuRuntime::Default,
    }))
}
