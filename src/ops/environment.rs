//! The process environment as it was when the command started: later reads (destination tokens) look here,
//! never at the live environment. Values are secrets: `Debug` shows how many variables there are, no value.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;

/// A snapshot of the environment's (UTF-8) variables.
#[derive(Clone, Default)]
pub struct Environment {
    vars: Arc<BTreeMap<String, SecretString>>,
}

impl Environment {
    /// The environment now (variables whose name or value is not UTF-8 are left out).
    pub fn capture() -> Self {
        Self::from_pairs(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// An environment holding exactly `pairs` (tests, embedding).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Environment {
            vars: Arc::new(pairs.into_iter().map(|(k, v)| (k, SecretString::from(v))).collect()),
        }
    }

    /// The variable's value, when it is set and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&SecretString> {
        use secrecy::ExposeSecret;
        self.vars.get(name).filter(|v| !v.expose_secret().trim().is_empty())
    }
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Environment {{ {} variables }}", self.vars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_debug_shows_no_value() {
        let env = Environment::from_pairs([("A".to_string(), "s3cret".to_string()), ("B".into(), "  ".into())]);
        assert!(env.non_empty("A").is_some());
        assert!(env.non_empty("B").is_none());
        assert!(env.non_empty("C").is_none());
        let shown = format!("{env:?}");
        assert!(!shown.contains("s3cret") && shown.contains("2 variables"), "{shown}");
    }
}
