//! Durations as written in fleet files and flags: `90m`, `4h`, `2d`, `1w`, or combined like `1h30m`.

use std::time::Duration;

/// Parses `90s`, `90m`, `4h`, `2d`, `1w` and sums like `1h30m`. Zero and empty are rejected.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    if text.contains(char::is_whitespace) {
        return Err("write the number and unit together, without spaces (like 4h or 1h30m)".into());
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("unknown unit `{c}` (use s, m, h, d or w)")),
        };
        if digits.is_empty() {
            return Err(format!("`{c}` must follow a number"));
        }
        let n: u64 = digits.parse().map_err(|_| "number too large".to_string())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or("duration too large")?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("`{digits}` has no unit (write e.g. {digits}m or {digits}h)"));
    }
    if total == 0 {
        return Err("must be longer than zero".into());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("4h"), Ok(Duration::from_secs(14_400)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("").is_err());
        assert!(parse("4").is_err());
        assert!(parse("h").is_err());
        assert!(parse("4x").is_err());
        assert!(parse("0h").is_err());
        assert!(parse("99999999999999999999d").is_err());
    }
}
