//! Whether this process runs under CI: one rule for the binary (prompts) and the tests (required tools).

/// `CI` set to anything but empty, `false` or `0` (any case) means CI, as GitHub Actions, GitLab and
/// most runners set it (`true`, `1`).
pub fn is_ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0"
    })
}

/// [`is_ci_value`] of this process's `CI`.
pub fn is_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_ci() {
        for yes in ["true", "1", "TRUE", "yes"] {
            assert!(is_ci_value(Some(yes)), "{yes}");
        }
        for no in ["", "false", "False", "0", " "] {
            assert!(!is_ci_value(Some(no)), "{no:?}");
        }
        assert!(!is_ci_value(None));
    }
}
