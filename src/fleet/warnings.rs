//! Choices a fleet file may make that weaken its security: reported as warnings by `validate`, `plan`
//! and `up` under `--policy open`; `--policy strict` (the default under CI) refuses them (`policy`).

use super::spec::Fleet;

/// One line per weakness, in the order the file declares them.
pub fn security_warnings(f: &Fleet) -> Vec<String> {
    let mut out = Vec::new();
    let acl = &f.security.control_plane_acl;
    if acl.is_empty() {
        out.push(
            "security.control_plane_acl is empty: every cluster's Kubernetes API answers any address (the admin token still guards it); list the networks that run lkeobs and kubectl"
                .to_string(),
        );
    }
    for a in acl {
        if matches!(a.get_ref().as_str(), "0.0.0.0/0" | "::/0") {
            out.push(format!(
                "security.control_plane_acl allows {}: every address may reach the Kubernetes API",
                a.get_ref()
            ));
        }
    }
    if !f.security.mtls {
        out.push(
            "security.mtls is off: the hub's gateway accepts OTLP from anyone its firewall lets through, without a client certificate"
                .to_string(),
        );
    }
    if !f.security.gateway_firewall {
        out.push("security.gateway_firewall is off: the OTLP gateway's address is open to the internet".to_string());
    }
    let has_gpu = f.hub.has_gpu() || f.edges.iter().any(|e| e.has_gpu());
    if *f.stack.gpu_profiling.get_ref() && has_gpu {
        out.push(
            "stack.gpu_profiling is on: the DCGM exporter on GPU nodes runs with SYS_ADMIN and a writable root filesystem for the profiling metrics"
                .to_string(),
        );
    }
    out
}

/// What `--policy strict` would refuse and the warnings above do not already name, as warnings for
/// `--policy open`: networks wider than /8 or /16, sets admitting every address, reserved node label and
/// taint prefixes.
pub fn open_policy_warnings(f: &Fleet) -> Vec<String> {
    const NAMED_ABOVE: [&str; 3] = ["security.mtls", "security.gateway_firewall", "stack.gpu_profiling"];
    super::policy::violations(f)
        .into_iter()
        .filter(|d| !NAMED_ABOVE.contains(&d.field.as_str()))
        .map(|d| format!("{} {}", d.field, d.message))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::parse;
    use crate::fleet::tests::with;

    /// The rule tests' base fleet with a narrow control-plane ACL (mTLS and the firewall are on by default).
    fn safe() -> String {
        with("[security]\n", "[security]\ncontrol_plane_acl = [\"203.0.113.0/24\"]\n")
    }

    fn warnings(src: &str) -> Vec<String> {
        security_warnings(&parse("t.toml", src).expect("valid").fleet)
    }

    #[test]
    fn a_fleet_with_an_acl_mtls_and_the_firewall_has_no_warning() {
        assert!(warnings(&safe()).is_empty(), "{:?}", warnings(&safe()));
    }

    #[test]
    fn no_acl_an_open_acl_and_mtls_off_are_each_named() {
        let open = safe()
            .replace("\"203.0.113.0/24\"", "\"0.0.0.0/0\"")
            .replace("[security]\n", "[security]\nmtls = false\n");
        let w = warnings(&open);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("0.0.0.0/0") && w[1].contains("mtls is off"));
        let w = warnings(&safe().replace("control_plane_acl = [\"203.0.113.0/24\"]\n", ""));
        assert!(w[0].contains("control_plane_acl is empty"), "{w:?}");
    }

    #[test]
    fn gpu_profiling_is_named_only_where_a_gpu_pool_runs_the_exporter() {
        let gpu = safe().replace("g6-standard-2", "g2-gpu-rtx4000a1-s");
        let on = |src: &str| src.replace("[stack]\n", "[stack]\ngpu_profiling = true\n");
        let w = warnings(&on(&gpu));
        assert!(w.len() == 1 && w[0].contains("gpu_profiling is on"), "{w:?}");
        assert!(warnings(&on(&safe())).is_empty());
        assert!(warnings(&gpu).is_empty());
    }
}
