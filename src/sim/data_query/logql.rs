//! A LogQL subset for the simulated Loki: a stream selector, line filters (`|=`, `!=`, `|~`, `!~`) and
//! label filters (`| name op "value"`, over labels and structured metadata), evaluated over the stored
//! streams as `query_range` answers a log query (structured metadata merged into the labels, newest
//! lines first, at most `limit`). Metric queries and parsers are refused.

use std::collections::BTreeMap;

use regex::Regex;

use super::lexer::{Cursor, Error, Tok, lex};
use super::matchers::{Matcher, matcher, op, selector_body};
use crate::sim::data_store::{Labels, Store};

/// One stage after the selector.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `|= "s"` (true) or `!= "s"` (false).
    Contains(String, bool),
    /// `|~ "re"` (true) or `!~ "re"` (false).
    Regex(Regex, bool),
    /// `| name op "value"`.
    Label(Matcher),
}

/// A parsed log query.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub selector: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

/// Parses a log query; errors are `(byte offset, message)`.
pub fn parse(query: &str) -> Result<LogQuery, Error> {
    let mut c = Cursor::new(lex(query, false)?, query.len());
    if let Some(Tok::Ident(f)) = c.peek() {
        return Err((0, format!("metric query {f}(…) is not supported by the simulated Loki")));
    }
    c.expect("{")?;
    let selector = selector_body(&mut c)?;
    if selector.iter().all(Matcher::matches_empty) {
        return Err((
            0,
            "queries require at least one regexp or equality matcher that does not have an empty-compatible value"
                .into(),
        ));
    }
    let mut stages = Vec::new();
    while !c.done() {
        let at = c.at();
        let filter = match c.next() {
            Some(Tok::Op("|=")) => Some((false, true)),
            Some(Tok::Op("!=")) => Some((false, false)),
            Some(Tok::Op("|~")) => Some((true, true)),
            Some(Tok::Op("!~")) => Some((true, false)),
            Some(Tok::Op("|")) => None,
            _ => return Err((at, "expected a line filter or a pipe".into())),
        };
        if let Some((is_re, keep)) = filter {
            let at = c.at();
            let Some(Tok::Str(s)) = c.next() else {
                return Err((at, "expected a quoted string after the line filter".into()));
            };
            stages.push(if is_re {
                let re = Regex::new(&s).map_err(|e| (at, format!("invalid regular expression: {e}")))?;
                Stage::Regex(re, keep)
            } else {
                Stage::Contains(s, keep)
            });
            continue;
        }
        let is_label_filter = matches!(c.peek(), Some(Tok::Ident(_))) && op(c.peek_second()).is_some();
        if !is_label_filter {
            return Err(c.unexpected("only label filters (| name=\"value\") are supported after a pipe"));
        }
        stages.push(Stage::Label(matcher(&mut c)?));
    }
    Ok(LogQuery { selector, stages })
}

/// One stream of an answer: merged labels and `(ns, line)` entries.
pub type Answer = Vec<(Labels, Vec<(u128, String)>)>;

impl LogQuery {
    /// The lines in `[start_ns, end_ns)`, grouped by labels and structured metadata, newest first
    /// (`backward`) or oldest first, at most `limit` lines in all.
    pub fn eval(&self, store: &Store, start_ns: u128, end_ns: u128, limit: usize, backward: bool) -> Answer {
        let mut lines: Vec<(Labels, u128, String)> = Vec::new();
        for s in store
            .streams
            .iter()
            .filter(|s| self.selector.iter().all(|m| m.matches(&s.labels)))
        {
            for e in s.entries.iter().filter(|e| e.ns >= start_ns && e.ns < end_ns) {
                let mut all = s.labels.clone();
                all.extend(e.metadata.clone());
                let keep = self.stages.iter().all(|st| match st {
                    Stage::Contains(x, keep) => e.line.contains(x.as_str()) == *keep,
                    Stage::Regex(re, keep) => re.is_match(&e.line) == *keep,
                    Stage::Label(m) => m.matches(&all),
                });
                if keep {
                    lines.push((all, e.ns, e.line.clone()));
                }
            }
        }
        lines.sort_by_key(|l| l.1);
        if backward {
            lines.reverse();
        }
        lines.truncate(limit);
        let mut by_stream: BTreeMap<Labels, Vec<(u128, String)>> = BTreeMap::new();
        for (labels, ns, line) in lines {
            by_stream.entry(labels).or_default().push((ns, line));
        }
        by_stream.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::data_store::{Entry, labels};

    fn store() -> Store {
        let mut st = Store::default();
        let entry = |ns, line: &str, meta: &[(&str, &str)]| Entry {
            ns,
            line: line.into(),
            metadata: labels(meta),
        };
        let app = labels(&[("cluster_id", "us-east"), ("service_name", "app")]);
        st.log(
            app.clone(),
            entry(10, "GET /a", &[("hub_received_at", "otel-gateway-0")]),
        );
        st.log(app, entry(20, "POST /b", &[("hub_received_at", "otel-gateway-0")]));
        let canary = labels(&[("cluster_id", "us-east"), ("service_name", "lkeobs-canary")]);
        st.log(canary, entry(15, "lkeobs canary x", &[("lkeobs_canary_id", "x")]));
        st
    }

    #[test]
    fn selects_filters_and_orders_lines() {
        let st = store();
        let q = parse("{cluster_id=\"us-east\"}").expect("parse");
        let a = q.eval(&st, 0, 100, 100, true);
        assert_eq!(a.len(), 2);
        let total: usize = a.iter().map(|(_, e)| e.len()).sum();
        assert_eq!(total, 3);
        let a = q.eval(&st, 0, 100, 1, true);
        assert_eq!(a[0].1, vec![(20, "POST /b".to_string())], "newest first, limited");
        assert!(q.eval(&st, 21, 100, 100, true).is_empty(), "outside the time range");
        let q = parse("{service_name=\"lkeobs-canary\"} | lkeobs_canary_id=\"x\"").expect("parse");
        let a = q.eval(&st, 0, 100, 10, true);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0["lkeobs_canary_id"], "x");
        assert_eq!(a[0].0["cluster_id"], "us-east");
        let q = parse("{service_name=\"lkeobs-canary\"} | lkeobs_canary_id=\"y\"").expect("parse");
        assert!(q.eval(&st, 0, 100, 10, true).is_empty());
        let q = parse("{cluster_id=~\"us-.+\"} |= \"GET\" != \"POST\" |~ \"/[a-z]\"").expect("parse");
        assert_eq!(q.eval(&st, 0, 100, 10, true).len(), 1);
        let q = parse("{cluster=\"us-east\"}").expect("parse");
        assert!(
            q.eval(&st, 0, 100, 10, true).is_empty(),
            "no stream has a `cluster` label"
        );
    }

    #[test]
    fn refuses_what_loki_refuses_or_the_subset_lacks() {
        for q in [
            "{cluster_id=~\".*\"}",
            "{}",
            "cluster_id=\"a\"",
            "count_over_time({a=\"b\"}[5m])",
            "{a=\"b\"} | json",
            "{a=\"b\"} |= ",
            "{a=\"b\"",
        ] {
            assert!(parse(q).is_err(), "{q} parsed");
        }
    }
}
