//! JUnit XML of a probe run, as CI systems read it: one `<testsuite>` per cluster, one `<testcase>`
//! per probe, `<failure>` or `<skipped>` with the detail.

use super::outcome::{Outcome, Verdict};

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// The JUnit XML document for `outcomes` (suites in the order clusters first appear).
pub fn junit(outcomes: &[Outcome]) -> String {
    let mut clusters: Vec<&str> = Vec::new();
    for o in outcomes {
        if !clusters.contains(&o.cluster.as_str()) {
            clusters.push(&o.cluster);
        }
    }
    let count = |os: &[&Outcome], v: Verdict| os.iter().filter(|o| o.outcome == v).count();
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let total_ms: u64 = outcomes.iter().map(|o| o.duration_ms).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"lkeobs verify\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">\n",
        all.len(),
        count(&all, Verdict::Fail),
        count(&all, Verdict::Skip),
        seconds(total_ms)
    ));
    for cluster in clusters {
        let suite: Vec<&Outcome> = outcomes.iter().filter(|o| o.cluster == cluster).collect();
        let ms: u64 = suite.iter().map(|o| o.duration_ms).sum();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">\n",
            escape(cluster),
            suite.len(),
            count(&suite, Verdict::Fail),
            count(&suite, Verdict::Skip),
            seconds(ms)
        ));
        for o in suite {
            let open = format!(
                "    <testcase classname=\"lkeobs.{}\" name=\"{}\" time=\"{}\"",
                escape(&o.cluster),
                escape(&o.name),
                seconds(o.duration_ms)
            );
            let detail = escape(&o.detail);
            let out = match o.latency_ms {
                Some(l) => format!("{detail}&#10;end-to-end latency: {}", seconds(l)),
                None => detail.clone(),
            };
            match o.outcome {
                Verdict::Pass => {
                    x.push_str(&format!("{open}>\n      <system-out>{out}</system-out>\n    </testcase>\n"));
                }
                Verdict::Fail => x.push_str(&format!(
                    "{open}>\n      <failure message=\"{detail}\" type=\"ProbeFailed\">{out}</failure>\n    </testcase>\n"
                )),
                Verdict::Skip => x.push_str(&format!(
                    "{open}>\n      <skipped message=\"{detail}\"/>\n    </testcase>\n"
                )),
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn junit_has_a_suite_per_cluster_and_escapes_details() {
        let outcomes = vec![
            Outcome::pass("pods", "hub", "ok").took(Duration::from_millis(1500)),
            Outcome::fail(
                "prometheus/series",
                "eu-west",
                "no series with cluster_id=\"eu-west\" <5m>",
            ),
            Outcome::skip("tempo/search", "eu-west", "no traced workloads & no canary"),
        ];
        let x = junit(&outcomes);
        assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lkeobs verify\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.500\">"), "{x}");
        assert!(x.contains("<testsuite name=\"hub\" tests=\"1\" failures=\"0\""), "{x}");
        assert!(
            x.contains("<testsuite name=\"eu-west\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{x}"
        );
        assert!(
            x.contains("<testcase classname=\"lkeobs.hub\" name=\"pods\" time=\"1.500\">"),
            "{x}"
        );
        assert!(
            x.contains(
                "<failure message=\"no series with cluster_id=&quot;eu-west&quot; &lt;5m&gt;\" type=\"ProbeFailed\">"
            ),
            "{x}"
        );
        assert!(
            x.contains("<skipped message=\"no traced workloads &amp; no canary\"/>"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert_eq!(x.matches("</testsuite>").count(), 2);
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(escape("a\u{1}b\tc\nd"), "ab c&#10;d");
    }
}
