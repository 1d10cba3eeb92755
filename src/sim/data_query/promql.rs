//! A PromQL parser for the subset the probes, the load test and the hub's rules use: selectors with
//! label matchers, range selectors, functions (`timestamp`, `time`, `rate`, `increase`, `*_over_time`),
//! aggregations (`sum`, `count`, `max`, `min`, `avg`, `group` with `by`/`without`), arithmetic,
//! comparisons (with `bool`) and `and`/`or`/`unless`. Anything else is a parse error, as Prometheus
//! answers a query it cannot parse (`bad_data`).

use super::lexer::{Cursor, Error, Tok, lex};
use super::matchers::{Matcher, Op, selector_body};

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Num(f64),
    /// A string literal (the arguments of `label_replace`).
    Str(String),
    /// A vector selector; with a range (seconds) a range selector.
    Select {
        matchers: Vec<Matcher>,
        range: Option<f64>,
    },
    Call {
        func: String,
        args: Vec<Expr>,
    },
    Agg {
        op: String,
        labels: Vec<String>,
        without: bool,
        expr: Box<Expr>,
    },
    Bin {
        op: &'static str,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        /// `bool` after a comparison: 0/1 instead of filtering.
        boolean: bool,
    },
}

/// The aggregation operators understood.
const AGGREGATIONS: [&str; 6] = ["sum", "count", "max", "min", "avg", "group"];

/// Functions understood: name and whether the argument is a range vector (None: no argument).
const FUNCTIONS: [(&str, Option<bool>); 12] = [
    ("time", None),
    ("timestamp", Some(false)),
    ("abs", Some(false)),
    ("rate", Some(true)),
    ("increase", Some(true)),
    ("max_over_time", Some(true)),
    ("min_over_time", Some(true)),
    ("avg_over_time", Some(true)),
    ("sum_over_time", Some(true)),
    ("count_over_time", Some(true)),
    ("last_over_time", Some(true)),
    ("present_over_time", Some(true)),
];

/// Binary operators by precedence, lowest first.
const LEVELS: [&[&str]; 4] = [
    &["or"],
    &["and", "unless"],
    &["==", "!=", ">=", "<=", ">", "<"],
    &["+", "-"],
];

/// Parses a PromQL expression; errors are `(byte offset, message)`.
pub fn parse(query: &str) -> Result<Expr, Error> {
    let mut c = Cursor::new(lex(query, false)?, query.len());
    let e = binary(&mut c, 0)?;
    if !c.done() {
        return Err(c.unexpected("expected the end of the expression"));
    }
    Ok(e)
}

fn next_op(c: &Cursor, ops: &[&'static str]) -> Option<&'static str> {
    match c.peek() {
        Some(Tok::Op(o)) => ops.iter().copied().find(|x| x == o),
        Some(Tok::Ident(w)) => ops.iter().copied().find(|x| x == w),
        _ => None,
    }
}

fn binary(c: &mut Cursor, level: usize) -> Result<Expr, Error> {
    let Some(ops) = LEVELS.get(level) else {
        return product(c);
    };
    let mut lhs = binary(c, level + 1)?;
    while let Some(op) = next_op(c, ops) {
        c.next();
        let boolean = matches!(c.peek(), Some(Tok::Ident(w)) if w == "bool");
        if boolean {
            c.next();
        }
        if let Some(Tok::Ident(w)) = c.peek()
            && ["on", "ignoring", "group_left", "group_right"].contains(&w.as_str())
        {
            return Err((c.at(), format!("vector matching modifier {w} is not supported")));
        }
        let rhs = binary(c, level + 1)?;
        lhs = Expr::Bin {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            boolean,
        };
    }
    Ok(lhs)
}

fn product(c: &mut Cursor) -> Result<Expr, Error> {
    let mut lhs = unary(c)?;
    while let Some(op) = next_op(c, &["*", "/"]) {
        c.next();
        let rhs = unary(c)?;
        lhs = Expr::Bin {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            boolean: false,
        };
    }
    Ok(lhs)
}

fn unary(c: &mut Cursor) -> Result<Expr, Error> {
    if c.eat("-") {
        let e = unary(c)?;
        return Ok(Expr::Bin {
            op: "*",
            lhs: Box::new(Expr::Num(-1.0)),
            rhs: Box::new(e),
            boolean: false,
        });
    }
    let e = primary(c)?;
    if c.eat("[") {
        let at = c.at();
        let Some(Tok::Dur(range)) = c.next() else {
            return Err((at, "expected a duration in the range selector".into()));
        };
        c.expect("]")?;
        return match e {
            Expr::Select { matchers, range: None } => Ok(Expr::Select {
                matchers,
                range: Some(range),
            }),
            _ => Err((
                at,
                "ranges only allowed for vector selectors (subqueries are not supported)".into(),
            )),
        };
    }
    Ok(e)
}

fn label_list(c: &mut Cursor) -> Result<Vec<String>, Error> {
    c.expect("(")?;
    let mut out = Vec::new();
    loop {
        if c.eat(")") {
            return Ok(out);
        }
        let at = c.at();
        match c.next() {
            Some(Tok::Ident(l)) => out.push(l),
            _ => return Err((at, "expected a label name in the grouping".into())),
        }
        if !c.eat(",") {
            c.expect(")")?;
            return Ok(out);
        }
    }
}

fn grouping(c: &mut Cursor) -> Result<Option<(Vec<String>, bool)>, Error> {
    match c.peek() {
        Some(Tok::Ident(w)) if w == "by" || w == "without" => {
            let without = w == "without";
            c.next();
            Ok(Some((label_list(c)?, without)))
        }
        _ => Ok(None),
    }
}

fn selector(c: &mut Cursor, name: Option<String>, at: usize) -> Result<Expr, Error> {
    let mut matchers = Vec::new();
    if let Some(n) = name {
        matchers.push(Matcher::new("__name__", Op::Eq, &n).map_err(|e| (at, e))?);
    }
    if c.eat("{") {
        matchers.extend(selector_body(c)?);
    }
    if matchers.iter().all(Matcher::matches_empty) {
        return Err((at, "vector selector must contain at least one non-empty matcher".into()));
    }
    Ok(Expr::Select { matchers, range: None })
}

fn primary(c: &mut Cursor) -> Result<Expr, Error> {
    let at = c.at();
    match c.peek().cloned() {
        Some(Tok::Num(n)) => {
            c.next();
            Ok(Expr::Num(n))
        }
        Some(Tok::Str(s)) => {
            c.next();
            Ok(Expr::Str(s))
        }
        Some(Tok::Op("(")) => {
            c.next();
            let e = binary(c, 0)?;
            c.expect(")")?;
            Ok(e)
        }
        Some(Tok::Op("{")) => selector(c, None, at),
        Some(Tok::Ident(name)) if AGGREGATIONS.contains(&name.as_str()) => {
            c.next();
            let before = grouping(c)?;
            c.expect("(")?;
            let expr = binary(c, 0)?;
            c.expect(")")?;
            let after = grouping(c)?;
            let (labels, without) = before.or(after).unwrap_or_default();
            Ok(Expr::Agg {
                op: name,
                labels,
                without,
                expr: Box::new(expr),
            })
        }
        Some(Tok::Ident(name)) => {
            c.next();
            if !c.eat("(") {
                return selector(c, Some(name), at);
            }
            let known = FUNCTIONS.iter().find(|(f, _)| *f == name);
            if known.is_none() && name != "label_replace" {
                return Err((at, format!("unknown function with name {name:?}")));
            }
            let mut args = Vec::new();
            while !c.eat(")") {
                args.push(binary(c, 0)?);
                if !c.eat(",") {
                    c.expect(")")?;
                    break;
                }
            }
            let Some((_, takes)) = known else {
                // label_replace(v instant-vector, dst string, replacement string, src string, regex string)
                let strings = args.iter().skip(1).filter(|a| matches!(a, Expr::Str(_))).count();
                if args.len() != 5 || strings != 4 || matches!(args[0], Expr::Str(_)) {
                    return Err((at, "label_replace takes a vector and four strings".into()));
                }
                return Ok(Expr::Call { func: name, args });
            };
            let wants = usize::from(takes.is_some());
            if args.len() != wants {
                return Err((
                    at,
                    format!("expected {wants} argument(s) in call to {name:?}, got {}", args.len()),
                ));
            }
            let is_range = |e: &Expr| matches!(e, Expr::Select { range: Some(_), .. });
            if let (Some(range), Some(arg)) = (takes, args.first())
                && *range != is_range(arg)
            {
                let want = if *range { "range vector" } else { "instant vector" };
                return Err((at, format!("expected type {want} in call to function {name:?}")));
            }
            Ok(Expr::Call { func: name, args })
        }
        _ => Err(c.unexpected("expected an expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_probes_queries() {
        for q in [
            "count by (cluster_id, hub_received_at) ({cluster_id=~\"hub|us-east\"})",
            "max by (cluster_id) (timestamp(k8s_node_cpu_usage{cluster_id=~\"hub\"}) or timestamp(k8s_node_memory_working_set_bytes{cluster_id=~\"hub\"}))",
            "count by (cluster_id, k8s_node_name) ({__name__=~\"k8s_node_.+\", cluster_id=~\"a\\\\.b\"})",
            "lkeobs_canary{lkeobs_canary_id=\"abc\"}",
            "count({lkeobs_loadtest_run=\"ab12\"})",
            "sum by (cluster_id) (increase(otelcol_exporter_sent_spans_total{exporter=\"otlp_grpc/hub\", cluster_id!=\"\"}[5m])) > 0",
            "time() - max(x) by (a) > bool 5",
        ] {
            parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        }
    }

    /// Every `expr:` of a rules file (one line, or a `|` block indented under it).
    fn rule_exprs(yaml: &str) -> Vec<String> {
        let lines: Vec<&str> = yaml.lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("expr:") else {
                continue;
            };
            let indent = line.len() - line.trim_start().len();
            if rest.trim() != "|" {
                out.push(rest.trim().to_string());
                continue;
            }
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .copied()
                .collect();
            out.push(block.join("\n"));
        }
        out
    }

    #[test]
    fn parses_every_rule_of_the_hubs_prometheus() {
        let exprs = rule_exprs(include_str!("../../../manifests/hub/20-prometheus.yaml"));
        assert!(exprs.len() > 10, "{exprs:?}");
        for q in exprs {
            parse(&q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        }
    }

    #[test]
    fn refuses_what_prometheus_refuses_or_the_subset_lacks() {
        for q in [
            "{cluster_id=~\".*\"}",
            "{}",
            "count by (cluster_id ({a=\"b\"})",
            "rate(a)",
            "timestamp(a[5m])",
            "label_values(a, b)",
            "a + on(b) c",
            "a{b=\"c\"",
            "a b",
            "",
        ] {
            assert!(parse(q).is_err(), "{q} parsed");
        }
    }
}
