//! Bucket names of a fleet, `lkeobs-<fleet>-<6 random>-<signal>`, and the API's rule for bucket
//! labels. Buckets take no tags, so a fleet finds its buckets again by this name (plus the owner marker).
//!
//! Fleet part: the fleet name as a DNS label (lowercase, runs of other characters become one `-`).
//! A bucket name may have at most 63 characters, which leaves [`FLEET_PART_MAX`] (41) for the fleet
//! with the longest signal (`metrics`). A longer fleet part is shortened deterministically: its first
//! 34 characters (trailing dashes dropped), `-`, and the first 6 hex digits of the SHA-256 of the fleet
//! name as given, so two long fleets sharing a prefix still get different parts, and a fleet always gets
//! the same one. Valid fleet names (at most 21 characters) are never shortened.

use std::fmt;

use sha2::{Digest, Sha256};

/// The longest bucket label the API accepts.
pub const BUCKET_LABEL_MAX: usize = 63;
/// Length of the random part.
pub const SUFFIX_LEN: usize = 6;
/// The longest fleet part: 63 − `lkeobs-` − `-` − 6 − `-` − `metrics`.
pub const FLEET_PART_MAX: usize = BUCKET_LABEL_MAX - "lkeobs-".len() - 1 - SUFFIX_LEN - 1 - "metrics".len();
const HASH_LEN: usize = 6;

/// The signal a bucket holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BucketSignal {
    /// Mimir blocks.
    Metrics,
    /// Loki chunks and index.
    Logs,
    /// Tempo blocks.
    Traces,
}

impl BucketSignal {
    /// All three, in order.
    pub const ALL: [BucketSignal; 3] = [BucketSignal::Metrics, BucketSignal::Logs, BucketSignal::Traces];

    /// `metrics`, `logs` or `traces`.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketSignal::Metrics => "metrics",
            BucketSignal::Logs => "logs",
            BucketSignal::Traces => "traces",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sig| sig.as_str() == s)
    }
}

impl fmt::Display for BucketSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The random part of a bucket name: 6 of `[a-z0-9]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketSuffix(String);

impl BucketSuffix {
    /// A fresh random suffix.
    pub fn random() -> Self {
        Self::from_rng(&mut fastrand::Rng::new())
    }

    /// A suffix drawn from `rng` (seeded in tests).
    pub fn from_rng(rng: &mut fastrand::Rng) -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        Self(
            (0..SUFFIX_LEN)
                .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
                .collect(),
        )
    }

    /// A suffix read back from a name; `None` unless it is 6 of `[a-z0-9]`.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == SUFFIX_LEN && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            .then(|| Self(s.to_string()))
    }

    /// The six characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fleet's part of its bucket names (see the module doc for the shortening).
pub fn fleet_part(fleet: &str) -> String {
    let mut part = String::with_capacity(fleet.len());
    for c in fleet.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            part.push(c);
        } else if !part.is_empty() && !part.ends_with('-') {
            part.push('-');
        }
    }
    let mut part = part.trim_end_matches('-').to_string();
    if part.is_empty() {
        part.push_str("fleet");
    }
    if part.len() <= FLEET_PART_MAX {
        return part;
    }
    let hash = Sha256::digest(fleet.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let keep = FLEET_PART_MAX - 1 - HASH_LEN;
    let head = part[..keep].trim_end_matches('-');
    format!("{head}-{}", &hex[..HASH_LEN])
}

/// `lkeobs-<fleet part>-`: every bucket of the fleet starts with it (as may another fleet's whose
/// name extends this one: compare [`parse_bucket_name`]'s fleet part, then the owner marker).
pub fn bucket_prefix(fleet: &str) -> String {
    format!("lkeobs-{}-", fleet_part(fleet))
}

/// `lkeobs-<fleet part>-<suffix>-<signal>`, at most 63 characters, a valid bucket label.
pub fn bucket_name(fleet: &str, suffix: &BucketSuffix, signal: BucketSignal) -> String {
    format!("{}{}-{}", bucket_prefix(fleet), suffix.as_str(), signal.as_str())
}

/// A bucket name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedBucketName {
    /// The fleet part (compare with [`fleet_part`]).
    pub fleet_part: String,
    /// The random part.
    pub suffix: BucketSuffix,
    /// The signal.
    pub signal: BucketSignal,
}

/// Reads `lkeobs-<fleet part>-<suffix>-<signal>` back; `None` for any other name.
pub fn parse_bucket_name(name: &str) -> Option<ParsedBucketName> {
    let rest = name.strip_prefix("lkeobs-")?;
    let (rest, signal) = rest.rsplit_once('-')?;
    let (fleet, suffix) = rest.rsplit_once('-')?;
    (!fleet.is_empty() && is_valid_bucket_label(name)).then_some(())?;
    Some(ParsedBucketName {
        fleet_part: fleet.to_string(),
        suffix: BucketSuffix::parse(suffix)?,
        signal: BucketSignal::parse(signal)?,
    })
}

/// Whether `name` is one of `fleet`'s bucket names (the owner marker is still to be checked).
pub fn is_fleet_bucket(name: &str, fleet: &str) -> bool {
    parse_bucket_name(name).is_some_and(|p| p.fleet_part == fleet_part(fleet))
}

/// The API's bucket label rule (spec 4.189 `label` pattern): 3–63 characters; dot-separated parts of
/// dash-separated runs of `[a-z0-9]` (so no leading, trailing or doubled dash or dot).
pub fn is_valid_bucket_label(label: &str) -> bool {
    (3..=BUCKET_LABEL_MAX).contains(&label.len())
        && label.split('.').all(|part| {
            part.split('-')
                .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn suffix() -> BucketSuffix {
        BucketSuffix::from_rng(&mut fastrand::Rng::with_seed(7))
    }

    #[test]
    fn names_have_the_shape_and_read_back() {
        let s = suffix();
        let name = bucket_name("demo", &s, BucketSignal::Metrics);
        assert_eq!(name, format!("lkeobs-demo-{}-metrics", s.as_str()));
        assert!(is_valid_bucket_label(&name));
        let parsed = parse_bucket_name(&name).unwrap();
        assert_eq!(parsed.fleet_part, "demo");
        assert_eq!(parsed.signal, BucketSignal::Metrics);
        assert_eq!(parsed.suffix, s);
        assert!(is_fleet_bucket(&name, "demo"));
        // Fleet `demo`'s prefix also starts fleet `demo-eu`'s names: the parsed part tells them apart.
        let other = bucket_name("demo-eu", &s, BucketSignal::Logs);
        assert!(other.starts_with(&bucket_prefix("demo")));
        assert!(!is_fleet_bucket(&other, "demo"));
        assert!(is_fleet_bucket(&other, "demo-eu"));
        for bad in [
            "lkeobs-demo-abc-logs",
            "lkeobs-demo-abcdef-blobs",
            "other-demo-abcdef-logs",
            "lkeobs--abcdef-logs",
        ] {
            assert_eq!(parse_bucket_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn suffixes_are_random_and_lowercase_alphanumeric() {
        let a = BucketSuffix::random();
        let b = BucketSuffix::random();
        let c = BucketSuffix::random();
        assert!(a != b || b != c, "three equal random suffixes");
        for s in [&a, &b, &c] {
            assert_eq!(BucketSuffix::parse(s.as_str()).as_ref(), Some(s));
        }
        assert_eq!(BucketSuffix::parse("ABCDEF"), None);
    }

    #[test]
    fn long_fleets_are_shortened_deterministically_and_stay_distinct() {
        let long_a = format!("{}-a", "x".repeat(60));
        let long_b = format!("{}-b", "x".repeat(60));
        let part_a = fleet_part(&long_a);
        assert_eq!(part_a.len(), FLEET_PART_MAX);
        assert_eq!(part_a, fleet_part(&long_a), "not deterministic");
        assert_ne!(part_a, fleet_part(&long_b));
        for signal in BucketSignal::ALL {
            let name = bucket_name(&long_a, &suffix(), signal);
            assert!(name.len() <= BUCKET_LABEL_MAX, "{name}");
            assert!(is_valid_bucket_label(&name), "{name}");
            assert!(is_fleet_bucket(&name, &long_a));
        }
        // A cut that lands on a dash does not leave `--`.
        let dashy = format!("{}-{}", "y".repeat(33), "z".repeat(30));
        assert!(is_valid_bucket_label(&bucket_name(
            &dashy,
            &suffix(),
            BucketSignal::Metrics
        )));
        // The longest part that fits is kept as it is.
        let exact = "f".repeat(FLEET_PART_MAX);
        assert_eq!(fleet_part(&exact), exact);
        assert_eq!(
            bucket_name(&exact, &suffix(), BucketSignal::Metrics).len(),
            BUCKET_LABEL_MAX
        );
    }

    #[test]
    fn odd_fleet_names_become_dns_labels() {
        assert_eq!(fleet_part("Prod_EU"), "prod-eu");
        assert_eq!(fleet_part("--a..b--"), "a-b");
        assert_eq!(fleet_part("!!!"), "fleet");
    }

    #[test]
    fn the_label_rule_follows_the_spec() {
        for ok in ["abc", "a-b.c-d", "lkeobs-demo-a1b2c3-logs", &"a".repeat(63)] {
            assert!(is_valid_bucket_label(ok), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "a..b",
            ".abc",
            "abc.",
            "ABC",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_bucket_label(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn the_label_rule_agrees_with_the_spec_pattern(s in "[a-z0-9.-]{1,70}") {
            // The spec's pattern without its length lookahead (the regex crate has no lookaround).
            let pattern = regex::Regex::new(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:[.][a-z0-9]+(?:-[a-z0-9]+)*)*$").unwrap();
            let spec = (3..=63).contains(&s.len()) && pattern.is_match(&s);
            prop_assert_eq!(is_valid_bucket_label(&s), spec);
        }

        #[test]
        fn every_generated_name_is_valid(fleet in "[a-zA-Z0-9_ .-]{0,80}", seed in any::<u64>()) {
            let suffix = BucketSuffix::from_rng(&mut fastrand::Rng::with_seed(seed));
            for signal in BucketSignal::ALL {
                let name = bucket_name(&fleet, &suffix, signal);
                prop_assert!(is_valid_bucket_label(&name), "{}", name);
                prop_assert!(is_fleet_bucket(&name, &fleet), "{}", name);
            }
        }
    }
}
