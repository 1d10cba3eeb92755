//! A TraceQL subset for the simulated Tempo's search: one spanset filter `{ cond && cond }` whose
//! conditions compare an attribute (`resource.x`, `span.x`, or `.x` for either) or the intrinsic `name`
//! with a string (`=`, `!=`, `=~`, `!~`). A trace matches when one of its spans passes every condition.

use super::lexer::{Cursor, Error, Tok, lex};
use super::matchers::{Matcher, op};
use crate::sim::data_store::Span;

/// Where a condition looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Resource,
    Span,
    /// `.x`: the span's attribute, else its resource's.
    Any,
    /// The span's name.
    Name,
}

/// A parsed spanset filter.
#[derive(Debug, Clone)]
pub struct SpanFilter {
    pub conditions: Vec<(Scope, Matcher)>,
}

fn condition(c: &mut Cursor) -> Result<(Scope, Matcher), Error> {
    let at = c.at();
    let Some(Tok::Ident(field)) = c.next() else {
        return Err((at, "expected an attribute".into()));
    };
    let (scope, key) = if let Some(k) = field.strip_prefix("resource.") {
        (Scope::Resource, k)
    } else if let Some(k) = field.strip_prefix("span.") {
        (Scope::Span, k)
    } else if let Some(k) = field.strip_prefix('.') {
        (Scope::Any, k)
    } else if field == "name" {
        (Scope::Name, "name")
    } else {
        return Err((
            at,
            format!("unknown identifier {field:?} (attributes need a scope: resource., span. or .)"),
        ));
    };
    let Some(op) = op(c.peek()) else {
        return Err(c.unexpected("expected a comparison operator"));
    };
    c.next();
    let vat = c.at();
    let Some(Tok::Str(value)) = c.next() else {
        return Err((vat, "expected a string (only string comparisons are supported)".into()));
    };
    Ok((scope, Matcher::new(key, op, &value).map_err(|e| (vat, e))?))
}

/// Parses `{ … }`; errors are `(byte offset, message)`.
pub fn parse(query: &str) -> Result<SpanFilter, Error> {
    let mut c = Cursor::new(lex(query, true)?, query.len());
    c.expect("{")?;
    let mut conditions = Vec::new();
    if !c.eat("}") {
        loop {
            conditions.push(condition(&mut c)?);
            if c.eat("}") {
                break;
            }
            if !c.eat("&&") {
                return Err(c.unexpected("expected && or } (|| and pipelines are not supported)"));
            }
        }
    }
    if !c.done() {
        return Err(c.unexpected("expected the end of the query (pipelines are not supported)"));
    }
    Ok(SpanFilter { conditions })
}

impl SpanFilter {
    /// Whether a span passes every condition. A missing attribute fails every comparison, as in TraceQL.
    pub fn matches(&self, span: &Span) -> bool {
        self.conditions.iter().all(|(scope, m)| {
            let value = match scope {
                Scope::Resource => span.resource.get(&m.name),
                Scope::Span => span.attributes.get(&m.name),
                Scope::Any => span.attributes.get(&m.name).or_else(|| span.resource.get(&m.name)),
                Scope::Name => Some(&span.name),
            };
            value.is_some_and(|v| m.accepts(v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::data_store::labels;

    #[test]
    fn filters_spans_by_scoped_attributes() {
        let span = Span {
            trace_id: "ab".into(),
            name: "lkeobs-canary".into(),
            start_ns: 1,
            resource: labels(&[("cluster.id", "us-east"), ("service.name", "app")]),
            attributes: labels(&[("lkeobs.loadtest.run", "ab12")]),
        };
        let yes = [
            "{ resource.cluster.id = \"us-east\" }",
            "{ span.lkeobs.loadtest.run = \"ab12\" }",
            "{ .cluster.id =~ \"us-.*\" && name != \"x\" }",
            "{}",
        ];
        for q in yes {
            assert!(parse(q).expect(q).matches(&span), "{q}");
        }
        let no = [
            "{ span.cluster.id = \"us-east\" }",
            "{ resource.cluster = \"us-east\" }",
            "{ resource.cluster.id != \"us-east\" }",
            "{ span.other != \"x\" }",
        ];
        for q in no {
            assert!(!parse(q).expect(q).matches(&span), "{q}");
        }
        for bad in [
            "{ cluster.id = \"a\" }",
            "{ .a = \"b\" || .c = \"d\" }",
            "{ .a = \"b\" } | count() > 1",
            "resource.cluster.id = \"a\"",
            "{ .a = 1 }",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
