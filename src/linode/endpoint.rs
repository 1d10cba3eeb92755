//! Which Linode API a base URL names: the real one (`https://api.linode.com`), a simulator on this
//! machine's loopback (`lkeobs sim`), or anything else, which lkeobs refuses unless told otherwise: a
//! `LINODE_URL` mix-up must not send a real token somewhere unexpected, nor make a simulated run look
//! real.

/// The kind of Linode API a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://api.linode.com`.
    Real,
    /// A simulator on 127.0.0.1, ::1 or localhost.
    Simulated,
    /// Another address, allowed explicitly (`LKEOBS_ALLOW_LINODE_URL=1`).
    Other,
}

/// The environment variable that allows a `LINODE_URL` that is neither real nor loopback.
pub const ALLOW_ENV: &str = "LKEOBS_ALLOW_LINODE_URL";

impl Endpoint {
    /// What `base_url` names; an error in lkeobs' words when it is neither real nor loopback and
    /// `allow_other` is false.
    pub fn of(base_url: &str, allow_other: bool) -> Result<Endpoint, String> {
        let parsed = url::Url::parse(base_url).map_err(|e| format!("LINODE_URL {base_url:?} is not a URL: {e}"))?;
        let host = parsed.host_str().unwrap_or_default();
        if parsed.scheme() == "https" && host == "api.linode.com" {
            return Ok(Endpoint::Real);
        }
        if matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost") {
            return Ok(Endpoint::Simulated);
        }
        if allow_other {
            return Ok(Endpoint::Other);
        }
        Err(format!(
            "LINODE_URL {base_url} is neither the Linode API (https://api.linode.com/v4) nor a simulator on \
             127.0.0.1 (`lkeobs sim`); set {ALLOW_ENV}=1 to use it anyway"
        ))
    }

    /// `real`, `simulated` or `other` (the `linode_api.kind` of JSON reports).
    pub fn kind(self) -> &'static str {
        match self {
            Endpoint::Real => "real",
            Endpoint::Simulated => "simulated",
            Endpoint::Other => "other",
        }
    }

    /// The line at the top of an online command's report.
    pub fn line(self, base_url: &str) -> String {
        match self {
            Endpoint::Real => format!("Linode API: real ({base_url})"),
            Endpoint::Simulated => format!("Linode API: simulated ({base_url})"),
            Endpoint::Other => format!("Linode API: other ({base_url}, allowed by {ALLOW_ENV})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_loopback_and_refused() {
        assert_eq!(Endpoint::of("https://api.linode.com/v4", false), Ok(Endpoint::Real));
        assert_eq!(Endpoint::of("http://127.0.0.1:4000/v4", false), Ok(Endpoint::Simulated));
        assert_eq!(Endpoint::of("http://localhost:4000/v4", false), Ok(Endpoint::Simulated));
        let refused = Endpoint::of("https://api.linode.example.com/v4", false).unwrap_err();
        assert!(refused.contains(ALLOW_ENV), "{refused}");
        assert!(
            Endpoint::of("http://api.linode.com/v4", false).is_err(),
            "plain HTTP to the real host"
        );
        assert_eq!(Endpoint::of("https://proxy.internal/v4", true), Ok(Endpoint::Other));
        assert!(
            Endpoint::of("http://127.0.0.1:1/v4", false)
                .unwrap()
                .line("x")
                .contains("simulated")
        );
    }
}
