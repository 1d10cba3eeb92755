//! The suite's record: each check of each item (passed, failed, or skipped with the reason) and the JUnit
//! XML written from it, one `<testcase>` per check with the item as its class.

use std::time::Duration;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(String),
    /// Not run: not provable on the simulator, not automated, or a step it needs failed.
    Skipped(String),
}

/// One check of one item.
#[derive(Debug, Clone)]
pub struct Check {
    /// The item it proves (e.g. `control-plane-acl`), or `harness` for the suite's own safety checks.
    pub item: String,
    /// What it checks, e.g. `plan shows the ACL change`.
    pub name: String,
    pub verdict: Verdict,
    /// What it saw (passed checks too), for the JUnit `<system-out>`.
    pub detail: String,
    pub time: Duration,
}

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

/// The JUnit document: one `<testsuite>` named for the target, its properties (target, fleet), one
/// `<testcase classname=ITEM name=CHECK>` per check.
pub fn junit(suite: &str, properties: &[(&str, &str)], checks: &[Check]) -> String {
    let failures = checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Failed(_)))
        .count();
    let skipped = checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Skipped(_)))
        .count();
    let total: f64 = checks.iter().map(|c| c.time.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{total:.3}\">\n",
        escape(suite),
        checks.len()
    ));
    x.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" errors=\"0\" time=\"{total:.3}\">\n",
        escape(suite),
        checks.len()
    ));
    x.push_str("    <properties>\n");
    for (k, v) in properties {
        x.push_str(&format!(
            "      <property name=\"{}\" value=\"{}\"/>\n",
            escape(k),
            escape(v)
        ));
    }
    x.push_str("    </properties>\n");
    for c in checks {
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">\n",
            escape(&c.item),
            escape(&c.name),
            c.time.as_secs_f64()
        ));
        match &c.verdict {
            Verdict::Passed => {}
            Verdict::Failed(why) => x.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                escape(first_line(why)),
                escape(why)
            )),
            Verdict::Skipped(why) => x.push_str(&format!("      <skipped message=\"{}\"/>\n", escape(why))),
        }
        if !c.detail.is_empty() {
            x.push_str(&format!("      <system-out>{}</system-out>\n", escape(&c.detail)));
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// `(item, check, outcome)` of one testcase, as read back.
pub type Row = (String, String, String);

/// `(item, check, outcome)` of every testcase, read back with Python's XML parser (`xml.etree`), so a
/// document a CI system could not read fails here. None when python3 is missing (a skip, or a failure
/// under CI: see [`crate::tooling::require_tool`]).
pub fn parse_with_python(path: &std::path::Path) -> Option<Result<Vec<Row>, String>> {
    let python = crate::tooling::require_tool("PYTHON3", "python3", "apt-get install python3")?;
    const SCRIPT: &str = "import sys, xml.etree.ElementTree as ET\n\
        for c in ET.parse(sys.argv[1]).getroot().iter('testcase'):\n\
        \x20   o = 'failed' if c.find('failure') is not None else 'skipped' if c.find('skipped') is not None else 'passed'\n\
        \x20   print(c.get('classname') + '\\t' + c.get('name') + '\\t' + o)\n";
    let out = match std::process::Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .output()
    {
        Ok(o) => o,
        Err(e) => return Some(Err(format!("python3 does not run: {e}"))),
    };
    if !out.status.success() {
        return Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    Some(Ok(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(item: &str, name: &str, verdict: Verdict) -> Check {
        Check {
            item: item.into(),
            name: name.into(),
            verdict,
            detail: "saw <this> & \"that\"\nline two\u{1}".into(),
            time: Duration::from_millis(1500),
        }
    }

    #[test]
    fn the_junit_file_parses_and_names_every_check_with_its_outcome() {
        let checks = vec![
            check("control-plane-acl", "plan shows the change", Verdict::Passed),
            check(
                "gpu-nodes",
                "no taint",
                Verdict::Skipped("not provable on the simulator: <GPU>".into()),
            ),
            check(
                "upgrades",
                "kubelets on 1.34",
                Verdict::Failed("two of 4 nodes run 1.33\nnode a".into()),
            ),
        ];
        let xml = junit(
            "lkeobs live acceptance (simulator)",
            &[("target", "simulator & co")],
            &checks,
        );
        assert!(xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""), "{xml}");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("junit.xml");
        std::fs::write(&path, &xml).expect("write");
        let Some(parsed) = parse_with_python(&path) else { return };
        let rows = parsed.unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(
            rows,
            vec![
                (
                    "control-plane-acl".to_string(),
                    "plan shows the change".to_string(),
                    "passed".to_string()
                ),
                ("gpu-nodes".into(), "no taint".into(), "skipped".into()),
                ("upgrades".into(), "kubelets on 1.34".into(), "failed".into()),
            ]
        );
    }

    #[test]
    fn a_broken_document_is_caught_by_the_parser() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("junit.xml");
        std::fs::write(&path, "<testsuites><testcase classname=\"a\" name=\"b\"></testsuites>").expect("write");
        let Some(parsed) = parse_with_python(&path) else { return };
        assert!(parsed.is_err(), "an unclosed element is refused");
    }
}
