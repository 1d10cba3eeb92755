//! What lkeobs accepts in a kubeconfig the Linode API hands it: a server and its CA, and a user holding a
//! token or a client certificate, nothing else. An `exec` plugin, an auth provider, files (`tokenFile`,
//! `client-certificate`, `certificate-authority`), a proxy or impersonation would make lkeobs run a
//! program, read a local file or send its credentials elsewhere on the API's say-so.

use serde_yaml_ng::Value;

use super::{KubeconfigError, Result};

/// Keys a user entry may hold (LKE's carry `token` and an empty `as-user-extra`).
const USER_KEYS: [&str; 4] = ["token", "client-certificate-data", "client-key-data", "as-user-extra"];
/// Keys a cluster entry may hold.
const CLUSTER_KEYS: [&str; 4] = ["server", "certificate-authority-data", "tls-server-name", "extensions"];

/// Refuses a kubeconfig from the API whose users or clusters carry anything but inline credentials. The
/// error names the entry and key, never a value.
pub fn check_from_api(yaml: &str, what: &str) -> Result<()> {
    let refuse = |reason: String| {
        Err(KubeconfigError::Invalid {
            what: what.to_string(),
            reason,
        })
    };
    let Ok(doc) = serde_yaml_ng::from_str::<Value>(yaml) else {
        return refuse("not YAML".into());
    };
    let section = |name: &str| doc.get(name).and_then(Value::as_sequence).cloned().unwrap_or_default();
    for (list, body, allowed) in [
        ("users", "user", &USER_KEYS[..]),
        ("clusters", "cluster", &CLUSTER_KEYS[..]),
    ] {
        for entry in section(list) {
            let name = entry.get("name").and_then(Value::as_str).unwrap_or("?");
            let Some(fields) = entry.get(body).and_then(Value::as_mapping) else {
                continue;
            };
            for (key, value) in fields {
                let key = key.as_str().unwrap_or("?");
                let empty = value.is_null() || value.as_mapping().is_some_and(|m| m.is_empty());
                let ok = allowed.contains(&key) && (key != "as-user-extra" || empty);
                if !ok {
                    return refuse(format!(
                        "{body} {name:?} carries `{key}`: lkeobs only uses inline tokens and certificates from the API"
                    ));
                }
            }
            if body == "user" {
                let has = |k: &str| fields.get(k).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
                let certificate = has("client-certificate-data") && has("client-key-data");
                if !(has("token") || certificate) {
                    return refuse(format!("user {name:?} has neither a token nor a client certificate"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(user: &str, cluster: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lke1\n  cluster:\n    server: https://1.2.3.4:6443\n    certificate-authority-data: QQ==\n{cluster}users:\n- name: lke1-admin\n  user:\n{user}contexts:\n- name: lke1-ctx\n  context: {{cluster: lke1, user: lke1-admin}}\ncurrent-context: lke1-ctx\n"
        )
    }

    #[test]
    fn lkes_own_shape_passes() {
        let ok = config("    as-user-extra: {}\n    token: abc\n", "");
        assert!(check_from_api(&ok, "t").is_ok());
        let cert = config("    client-certificate-data: QQ==\n    client-key-data: QQ==\n", "");
        assert!(check_from_api(&cert, "t").is_ok());
    }

    #[test]
    fn programs_files_proxies_and_impersonation_are_refused() {
        for (user, cluster) in [
            (
                "    exec:\n      command: /bin/sh\n      apiVersion: client.authentication.k8s.io/v1\n",
                "",
            ),
            ("    tokenFile: /etc/shadow\n", ""),
            ("    token: abc\n    client-certificate: /home/me/.ssh/id\n", ""),
            ("    token: abc\n    as: system:admin\n", ""),
            ("    auth-provider:\n      name: oidc\n", ""),
            ("    token: abc\n    as-user-extra:\n      scopes: [x]\n", ""),
            ("    token: abc\n", "    proxy-url: http://evil.example:3128\n"),
            ("    token: abc\n", "    certificate-authority: /etc/ssl/x.pem\n"),
            ("    token: abc\n", "    insecure-skip-tls-verify: true\n"),
            ("    username: admin\n    password: secret-pw\n", ""),
        ] {
            let err = check_from_api(&config(user, cluster), "t").expect_err(user);
            let text = err.to_string();
            assert!(!text.contains("secret-pw") && !text.contains("/etc/shadow"), "{text}");
        }
    }
}
