//! Wall-clock times as RFC 3339 text (UTC, whole seconds), as Alertmanager's API and lkeobs' markers take them.

use std::time::SystemTime;

/// `2026-12-07T15:04:05Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_seconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_655_845);
        assert_eq!(super::rfc3339(t), "2026-12-07T15:04:05Z");
    }
}
