//! What `up` takes from outside the fleet file before its first write: the destinations' tokens, from the
//! environment captured at start-up.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;
use crate::fleet::{Diag, FleetError, Loaded};
use crate::ops::environment::Environment;

/// The destinations' tokens from the environment; a missing one is an error on its `token_env` line,
/// raised before anything is created.
pub(super) fn destination_tokens(
    environment: &Environment,
    loaded: &Loaded,
) -> Result<BTreeMap<String, SecretString>, Error> {
    let mut tokens = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, d) in loaded.fleet.destinations.iter().enumerate() {
        let Some(env) = &d.token_env else { continue };
        match environment.non_empty(env.get_ref()) {
            Some(v) => match d.kind().and_then(|k| k.token_problem(v.expose_secret()).map(|why| (k, why))) {
                None => {
                    tokens.insert(env.get_ref().clone(), v.clone());
                }
                Some((kind, why)) => errors.push(loaded.locate(
                    &Diag::new(
                        env.span(),
                        format!("destinations[{i}].token_env"),
                        format!("the value of {} {why}", env.get_ref()),
                    )
                    .help(format!(
                        "the hub's gateway would not start with it (its {kind} exporter checks the token at start); export the token as the destination issued it"
                    )),
                )),
            },
            None => errors.push(loaded.locate(
                &Diag::new(
                    env.span(),
                    format!("destinations[{i}].token_env"),
                    format!("the environment variable {} is not set (or empty)", env.get_ref()),
                )
                .help("export it before running up: its value becomes the Secret observability-hub/lkeobs-destinations"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(tokens)
    } else {
        Err(FleetError::Invalid {
            file: loaded.file.clone(),
            errors,
        }
        .into())
    }
}

/// The alert receivers' secrets from the environment; a missing or unusable one is an error on its line,
/// raised before anything is created.
pub(super) fn alert_secrets(
    environment: &Environment,
    allow: Option<&crate::fleet::trust::TokenAllowlist>,
    loaded: &Loaded,
) -> Result<BTreeMap<String, SecretString>, Error> {
    crate::fleet::alert_secrets::read(&loaded.fleet, |n| environment.non_empty(n), allow).map_err(|diags| {
        FleetError::Invalid {
            file: loaded.file.clone(),
            errors: diags.iter().map(|d| loaded.locate(d)).collect(),
        }
        .into()
    })
}
