//! Label matchers (`=`, `!=`, `=~`, `!~`) as Prometheus and Loki apply them: a missing label is the
//! empty string, and regular expressions are RE2 anchored at both ends.

use regex::Regex;

use super::lexer::{Cursor, Error, Tok};
use crate::sim::data_store::Labels;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Re,
    Nre,
}

/// One `name op "value"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// A matcher; fails on a regular expression that does not compile.
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        let re = match op {
            Op::Re | Op::Nre => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?,
            ),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Whether `value` (empty when the label is missing) passes.
    pub fn accepts(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (Op::Eq, _) => value == self.value,
            (Op::Ne, _) => value != self.value,
            (Op::Re, Some(re)) => re.is_match(value),
            (Op::Nre, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// Whether a label set passes.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.accepts(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Whether it also accepts a missing label (Prometheus and Loki refuse selectors made only of these).
    pub fn matches_empty(&self) -> bool {
        self.accepts("")
    }
}

/// The operator token of a matcher.
pub fn op(t: Option<&Tok>) -> Option<Op> {
    match t {
        Some(Tok::Op("=")) => Some(Op::Eq),
        Some(Tok::Op("!=")) => Some(Op::Ne),
        Some(Tok::Op("=~")) => Some(Op::Re),
        Some(Tok::Op("!~")) => Some(Op::Nre),
        _ => None,
    }
}

/// `name op "value"` at the cursor.
pub fn matcher(c: &mut Cursor) -> Result<Matcher, Error> {
    let at = c.at();
    let Some(Tok::Ident(name)) = c.next() else {
        return Err((at, "expected a label name".into()));
    };
    let Some(op) = op(c.peek()) else {
        return Err(c.unexpected("expected a label matching operator"));
    };
    c.next();
    let at = c.at();
    let Some(Tok::Str(value)) = c.next() else {
        return Err((at, "expected a quoted label value".into()));
    };
    Matcher::new(&name, op, &value).map_err(|e| (at, e))
}

/// `{a="x", b=~"y"}` (the opening brace already consumed): the matchers up to the closing brace.
pub fn selector_body(c: &mut Cursor) -> Result<Vec<Matcher>, Error> {
    let mut out = Vec::new();
    loop {
        if c.eat("}") {
            return Ok(out);
        }
        out.push(matcher(c)?);
        if !c.eat(",") {
            c.expect("}")?;
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::data_store::labels;

    #[test]
    fn matchers_treat_a_missing_label_as_empty_and_anchor_regexes() {
        let l = labels(&[("cluster_id", "us-east")]);
        assert!(
            Matcher::new("cluster_id", Op::Re, "hub|us-east")
                .expect("re")
                .matches(&l)
        );
        assert!(!Matcher::new("cluster_id", Op::Re, "us").expect("re").matches(&l));
        assert!(Matcher::new("cluster_id", Op::Nre, "us").expect("re").matches(&l));
        assert!(Matcher::new("cluster", Op::Eq, "").expect("eq").matches(&l));
        assert!(!Matcher::new("cluster", Op::Eq, "us-east").expect("eq").matches(&l));
        assert!(Matcher::new("x", Op::Re, ".*").expect("re").matches_empty());
        assert!(!Matcher::new("x", Op::Re, ".+").expect("re").matches_empty());
        assert!(Matcher::new("x", Op::Re, "(").is_err());
    }
}
