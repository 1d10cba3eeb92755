//! How long the simulated platform takes for each kind of work, at test pace or at LKE's pace sped up.

use std::time::Duration;

/// How long the simulated platform takes for each kind of work.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    /// From a node Linode first seen to its Kubernetes Node Ready.
    pub node_ready: Duration,
    /// From a workload's new generation (or new desired count) to its finished rollout status.
    pub rollout: Duration,
    /// From a LoadBalancer Service without address to its NodeBalancer, and from its deletion to the
    /// NodeBalancer's.
    pub load_balancer: Duration,
    /// From an unbound claim to its volume, and from its deletion to the volume's.
    pub volume: Duration,
    /// From a pod bound to a Ready node (its volumes attached) to its containers running and Ready.
    pub pod_start: Duration,
    /// From a pod's graceful delete (an eviction) to its kubelet having stopped it.
    pub pod_termination: Duration,
    /// From the last pod using a ReadWriteOnce volume gone from a node to the volume detached there,
    /// free to attach to another node.
    pub volume_detach: Duration,
    /// Pause between controller passes.
    pub tick: Duration,
}

impl Default for Latencies {
    fn default() -> Self {
        let ms = Duration::from_millis;
        Self {
            node_ready: ms(80),
            rollout: ms(50),
            load_balancer: ms(60),
            volume: ms(40),
            pod_start: ms(20),
            pod_termination: ms(30),
            volume_detach: ms(60),
            tick: ms(10),
        }
    }
}

impl Latencies {
    /// LKE's pace (a node boots in about 90 s, a rollout takes 20 s, a NodeBalancer 45 s, a volume
    /// 20 s, a pod starts in 10 s and stops in 10 s, a volume detaches in 30 s) run `speed` times faster (at least 1), ticks 20 ms apart.
    pub fn at_speed(speed: f64) -> Self {
        let speed = if speed.is_finite() { speed.max(1.0) } else { 1.0 };
        let scaled = |secs: f64| Duration::from_secs_f64(secs / speed);
        Self {
            node_ready: scaled(90.0),
            rollout: scaled(20.0),
            load_balancer: scaled(45.0),
            volume: scaled(20.0),
            pod_start: scaled(10.0),
            pod_termination: scaled(10.0),
            volume_detach: scaled(30.0),
            tick: Duration::from_millis(20),
        }
    }

    /// Everything at the next tick (ticks 2 ms apart).
    pub fn zero() -> Self {
        Self {
            node_ready: Duration::ZERO,
            rollout: Duration::ZERO,
            load_balancer: Duration::ZERO,
            volume: Duration::ZERO,
            pod_start: Duration::ZERO,
            pod_termination: Duration::ZERO,
            volume_detach: Duration::ZERO,
            tick: Duration::from_millis(2),
        }
    }
}
