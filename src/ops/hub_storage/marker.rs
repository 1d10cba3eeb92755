//! The ownership marker: buckets take no tags, so each fleet bucket holds an object
//! [`OWNER_MARKER`] whose JSON body names the fleet that created it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use crate::objstore::OWNER_MARKER;

/// Who a bucket belongs to, by its marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "owner", content = "fleet")]
pub enum Ownership {
    /// The marker names this fleet.
    Ours,
    /// There is no marker (a bucket created by a run that stopped before writing it, or not lkeobs').
    Unmarked,
    /// The marker names another fleet (or cannot be read: then the body's first characters).
    Other(String),
    /// The marker was not read (no key that may read the bucket was at hand).
    Unchecked,
}

/// The marker's body: `{"tool":"lkeobs","fleet":"<fleet>","created":"<RFC 3339>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Always `lkeobs`.
    pub tool: String,
    /// The fleet name, exactly as in the fleet file.
    pub fleet: String,
    /// When it was written (UTC).
    pub created: String,
}

impl Marker {
    /// The marker of `fleet`, written now.
    pub fn new(fleet: &str) -> Self {
        Self {
            tool: "lkeobs".to_string(),
            fleet: fleet.to_string(),
            created: crate::clock::rfc3339(SystemTime::now()),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| self.fleet.clone().into_bytes())
    }
}

/// Reads a marker body as `fleet` sees it. A bare fleet name (the body `objstore::OWNER_MARKER`'s doc
/// describes) is accepted too.
pub fn ownership(body: Option<&[u8]>, fleet: &str) -> Ownership {
    let Some(body) = body else {
        return Ownership::Unmarked;
    };
    let owner = match serde_json::from_slice::<Marker>(body) {
        Ok(m) if m.tool == "lkeobs" => m.fleet,
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text == fleet {
                return Ownership::Ours;
            }
            return Ownership::Other(text.chars().take(64).collect());
        }
    };
    if owner == fleet {
        Ownership::Ours
    } else {
        Ownership::Other(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_read_back_and_tell_fleets_apart() {
        let body = Marker::new("demo").body();
        assert_eq!(ownership(Some(&body), "demo"), Ownership::Ours);
        assert_eq!(ownership(Some(&body), "demo-eu"), Ownership::Other("demo".into()));
        assert_eq!(ownership(Some(b"demo\n"), "demo"), Ownership::Ours);
        assert_eq!(ownership(Some(b"other"), "demo"), Ownership::Other("other".into()));
        assert_eq!(ownership(None, "demo"), Ownership::Unmarked);
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with(r#"{"tool":"lkeobs","fleet":"demo","created":"20"#),
            "{text}"
        );
    }
}
