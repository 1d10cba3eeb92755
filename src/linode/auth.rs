//! Finds the Linode API token: `LINODE_TOKEN`, else `LINODE_CLI_TOKEN`, else the linode-cli config.
//!
//! The token lives in a [`secrecy::SecretString`] and is only exposed when building the
//! `Authorization` header (marked sensitive); it never appears in Debug, Display, logs or JSON.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::error::{Error, Result};

/// A Linode personal access token. Debug output is redacted; it does not implement Display
/// or Serialize.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    /// Resolves the token from the real process environment and `$HOME`.
    /// Call once at startup; see [`resolve_token`].
    pub fn from_env() -> Result<Self> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        resolve_token(|key| std::env::var(key).ok(), home.as_deref())
    }

    /// The secret, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// Where linode-cli keeps its config: `$XDG_CONFIG_HOME/linode-cli`, else `~/.config/linode-cli`.
pub fn linode_cli_config_path(env: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<PathBuf> {
    let base = match env("XDG_CONFIG_HOME").filter(|v| !v.trim().is_empty()) {
        Some(xdg) => PathBuf::from(xdg),
        None => home?.join(".config"),
    };
    Some(base.join("linode-cli"))
}

/// Resolves the token from `LINODE_TOKEN`, else `LINODE_CLI_TOKEN`, else the linode-cli
/// config file (`[DEFAULT] default-user = NAME`, then `[NAME] token = ...`).
///
/// Pure over `env` (a variable lookup) and `home`, so it can be tested without touching the
/// real environment. When nothing is found, one [`Error::NoToken`] names all three sources.
pub fn resolve_token(env: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Result<Token> {
    for key in ["LINODE_TOKEN", "LINODE_CLI_TOKEN"] {
        if let Some(value) = env(key) {
            let value = value.trim();
            if !value.is_empty() {
                return Ok(Token::new(value));
            }
        }
    }
    let Some(path) = linode_cli_config_path(&env, home) else {
        return Err(Error::NoToken {
            detail: "no linode-cli config: neither XDG_CONFIG_HOME nor HOME is set".into(),
        });
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoToken {
                detail: format!("{} does not exist", path.display()),
            });
        }
        Err(err) => {
            return Err(Error::NoToken {
                detail: format!("could not read {}: {err}", path.display()),
            });
        }
    };
    token_from_ini(&text).map_err(|why| Error::NoToken {
        detail: format!("{}: {why}", path.display()),
    })
}

/// Picks the default user's token out of a linode-cli INI file.
fn token_from_ini(text: &str) -> std::result::Result<Token, String> {
    let default_user = ini_get(text, "DEFAULT", "default-user");
    let token = match &default_user {
        Some(user) => ini_get(text, user, "token").or_else(|| ini_get(text, "DEFAULT", "token")),
        None => ini_get(text, "DEFAULT", "token"),
    };
    match (token, default_user) {
        (Some(token), _) => Ok(Token::new(token)),
        (None, Some(user)) => Err(format!("no token for default-user {user:?}")),
        (None, None) => Err("no [DEFAULT] default-user and no token".into()),
    }
}

/// The value of `key` in `[section]` of an INI text (`key = value` or `key: value`).
fn ini_get(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = v.trim();
        if k.trim() == key && !value.is_empty() {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn linode_token_wins_over_cli_token() {
        let t = resolve_token(env(&[("LINODE_TOKEN", "a"), ("LINODE_CLI_TOKEN", "b")]), None);
        assert_eq!(t.unwrap().expose(), "a");
        let t = resolve_token(env(&[("LINODE_TOKEN", " "), ("LINODE_CLI_TOKEN", "b")]), None);
        assert_eq!(t.unwrap().expose(), "b");
    }

    #[test]
    fn reads_the_default_users_token_from_xdg_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("linode-cli"),
            "[DEFAULT]\ndefault-user = alice\n\n[bob]\ntoken = nope\n\n[alice]\nregion = us-east\ntoken = from-file\n",
        )
        .unwrap();
        let xdg = dir.path().to_str().unwrap();
        let t = resolve_token(env(&[("XDG_CONFIG_HOME", xdg)]), None).unwrap();
        assert_eq!(t.expose(), "from-file");
    }

    #[test]
    fn falls_back_to_home_dot_config() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".config")).unwrap();
        std::fs::write(
            home.path().join(".config/linode-cli"),
            "[DEFAULT]\ndefault-user = me\n[me]\ntoken: t0k\n",
        )
        .unwrap();
        let t = resolve_token(env(&[]), Some(home.path())).unwrap();
        assert_eq!(t.expose(), "t0k");
    }

    #[test]
    fn nothing_found_names_all_three_sources() {
        let home = tempfile::tempdir().unwrap();
        let err = resolve_token(env(&[]), Some(home.path())).unwrap_err();
        let text = err.to_string();
        for needle in ["LINODE_TOKEN", "LINODE_CLI_TOKEN", "linode-cli", "does not exist"] {
            assert!(text.contains(needle), "{text}");
        }
        let err = resolve_token(env(&[]), None).unwrap_err();
        assert!(err.to_string().contains("HOME"), "{err}");
    }

    #[test]
    fn config_without_the_users_token_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("linode-cli"), "[DEFAULT]\ndefault-user = ghost\n").unwrap();
        let xdg = dir.path().to_str().unwrap();
        let err = resolve_token(env(&[("XDG_CONFIG_HOME", xdg)]), None).unwrap_err();
        assert!(err.to_string().contains("ghost"), "{err}");
    }

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("sekrit-value");
        assert!(!format!("{t:?}").contains("sekrit"));
    }
}
