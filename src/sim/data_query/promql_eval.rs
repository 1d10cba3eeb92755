//! Evaluates a parsed PromQL expression over the stored series at one instant, as Prometheus does:
//! a 5 minute lookback for instant selectors, functions and arithmetic drop `__name__`, one-to-one
//! vector matching on the other labels, and a vector holding one label set twice is an error.

use std::collections::BTreeMap;

use super::promql::Expr;
use crate::sim::data_store::{Labels, Store};

/// Prometheus' default lookback for instant vector selectors.
pub const LOOKBACK: f64 = 300.0;

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
    /// When the sample was taken (unix seconds), for `timestamp()`.
    pub t: f64,
}

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
}

fn without_name(mut l: Labels) -> Labels {
    l.remove("__name__");
    l
}

fn unique(v: Vec<Sample>) -> Result<Vec<Sample>, String> {
    let mut seen = std::collections::BTreeSet::new();
    for s in &v {
        if !seen.insert(&s.labels) {
            return Err("vector cannot contain metrics with the same labelset".into());
        }
    }
    Ok(v)
}

fn vector(v: Value, what: &str) -> Result<Vec<Sample>, String> {
    match v {
        Value::Vector(v) => Ok(v),
        Value::Scalar(_) => Err(format!("expected an instant vector {what}, got a scalar")),
    }
}

/// A series' labels and its samples `(unix seconds, value)` within a range.
type Ranged = (Labels, Vec<(f64, f64)>);

/// The samples of each selected series within `(now - range, now]`.
fn ranged(store: &Store, e: &Expr, now: f64) -> Result<Vec<Ranged>, String> {
    let Expr::Select {
        matchers,
        range: Some(range),
    } = e
    else {
        return Err("expected a range vector".into());
    };
    Ok(store
        .series
        .iter()
        .filter(|s| matchers.iter().all(|m| m.matches(&s.labels)))
        .map(|s| {
            let pts: Vec<(f64, f64)> = s
                .samples
                .iter()
                .copied()
                .filter(|(t, _)| *t > now - range && *t <= now)
                .collect();
            (s.labels.clone(), pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect())
}

/// The increase of a counter over samples, counting a drop as a reset.
fn increase(pts: &[(f64, f64)]) -> f64 {
    pts.windows(2)
        .map(|w| if w[1].1 >= w[0].1 { w[1].1 - w[0].1 } else { w[1].1 })
        .sum()
}

/// A counter's increase over the range, extrapolated to its ends as Prometheus does (`extrapolatedRate`):
/// towards each end by the gap when it is under 1.1 average intervals, else by half an interval, and
/// never before the counter would have been zero. None under two samples.
fn extrapolated_increase(pts: &[(f64, f64)], range: f64, now: f64) -> Option<f64> {
    let (first, last) = (pts.first()?, pts.last()?);
    let sampled = last.0 - first.0;
    if pts.len() < 2 || sampled <= 0.0 {
        return None;
    }
    let inc = increase(pts);
    let avg = sampled / (pts.len() - 1) as f64;
    let threshold = avg * 1.1;
    let mut to_start = first.0 - (now - range);
    if inc > 0.0 && first.1 >= 0.0 {
        to_start = to_start.min(sampled * first.1 / inc);
    }
    let to_end = now - last.0;
    let grow = |gap: f64| if gap < threshold { gap } else { avg / 2.0 };
    Some(inc * (sampled + grow(to_start) + grow(to_end)) / sampled)
}

fn over_time(func: &str, pts: &[(f64, f64)], range: f64, now: f64) -> Option<f64> {
    let values = pts.iter().map(|p| p.1);
    let n = pts.len() as f64;
    Some(match func {
        "rate" | "increase" => {
            let extrapolated = extrapolated_increase(pts, range, now)?;
            if func == "rate" {
                extrapolated / range
            } else {
                extrapolated
            }
        }
        "max_over_time" => values.fold(f64::NEG_INFINITY, f64::max),
        "min_over_time" => values.fold(f64::INFINITY, f64::min),
        "avg_over_time" => values.sum::<f64>() / n,
        "sum_over_time" => values.sum(),
        "count_over_time" => n,
        "present_over_time" => 1.0,
        _ => pts.last()?.1,
    })
}

/// `label_replace(v, dst, replacement, src, regex)`: where `src` matches `regex` (anchored), `dst`
/// becomes `replacement` with `$1`… expanded (removed when that is empty); the name stays.
fn label_replace(store: &Store, args: &[Expr], now: f64) -> Result<Value, String> {
    let text = |i: usize| match args.get(i) {
        Some(Expr::Str(s)) => Ok(s.as_str()),
        _ => Err("label_replace takes a vector and four strings".to_string()),
    };
    let (dst, replacement, src, re) = (text(1)?, text(2)?, text(3)?, text(4)?);
    let re = regex::Regex::new(&format!("^(?:{re})$"))
        .map_err(|e| format!("invalid regular expression in label_replace(): {e}"))?;
    let v = vector(eval(store, &args[0], now)?, "in label_replace()")?;
    let out = v
        .into_iter()
        .map(|mut s| {
            let value = s.labels.get(src).cloned().unwrap_or_default();
            if let Some(caps) = re.captures(&value) {
                let mut new = String::new();
                caps.expand(replacement, &mut new);
                if new.is_empty() {
                    s.labels.remove(dst);
                } else {
                    s.labels.insert(dst.to_string(), new);
                }
            }
            s
        })
        .collect();
    unique(out).map(Value::Vector)
}

fn call(store: &Store, func: &str, args: &[Expr], now: f64) -> Result<Value, String> {
    if func == "label_replace" {
        return label_replace(store, args, now);
    }
    let Some(arg) = args.first() else {
        return Ok(Value::Scalar(now));
    };
    if let Expr::Select { range: Some(range), .. } = arg {
        let out = ranged(store, arg, now)?
            .into_iter()
            .filter_map(|(labels, pts)| {
                Some(Sample {
                    value: over_time(func, &pts, *range, now)?,
                    labels: without_name(labels),
                    t: now,
                })
            })
            .collect();
        return unique(out).map(Value::Vector);
    }
    let v = vector(eval(store, arg, now)?, &format!("in {func}()"))?;
    let out = v
        .into_iter()
        .map(|s| Sample {
            value: if func == "timestamp" { s.t } else { s.value.abs() },
            labels: without_name(s.labels),
            t: now,
        })
        .collect();
    unique(out).map(Value::Vector)
}

fn aggregate(op: &str, labels: &[String], without: bool, v: Vec<Sample>, now: f64) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
    for s in v {
        let key: Labels = s
            .labels
            .into_iter()
            .filter(|(k, _)| {
                if without {
                    k != "__name__" && !labels.contains(k)
                } else {
                    labels.contains(k)
                }
            })
            .collect();
        groups.entry(key).or_default().push(s.value);
    }
    groups
        .into_iter()
        .map(|(labels, vals)| {
            let n = vals.len() as f64;
            let value = match op {
                "sum" => vals.iter().sum(),
                "count" => n,
                "max" => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "min" => vals.iter().copied().fold(f64::INFINITY, f64::min),
                "avg" => vals.iter().sum::<f64>() / n,
                _ => 1.0,
            };
            Sample { labels, value, t: now }
        })
        .collect()
}

fn arith(op: &str, a: f64, b: f64) -> Option<f64> {
    let cmp = |c: bool| Some(if c { 1.0 } else { 0.0 });
    match op {
        "+" => Some(a + b),
        "-" => Some(a - b),
        "*" => Some(a * b),
        "/" => Some(a / b),
        "==" => cmp(a == b),
        "!=" => cmp(a != b),
        ">" => cmp(a > b),
        "<" => cmp(a < b),
        ">=" => cmp(a >= b),
        "<=" => cmp(a <= b),
        _ => None,
    }
}

fn is_comparison(op: &str) -> bool {
    ["==", "!=", ">", "<", ">=", "<="].contains(&op)
}

/// `lhs op rhs` for one pair of values: the sample kept (None: filtered out).
fn combine(op: &str, boolean: bool, mut keep: Sample, a: f64, b: f64) -> Option<Sample> {
    let r = arith(op, a, b)?;
    if is_comparison(op) && !boolean {
        return (r == 1.0).then_some(keep);
    }
    keep.labels = without_name(keep.labels);
    keep.value = r;
    Some(keep)
}

fn binary(store: &Store, op: &str, boolean: bool, lhs: &Expr, rhs: &Expr, now: f64) -> Result<Value, String> {
    let (l, r) = (eval(store, lhs, now)?, eval(store, rhs, now)?);
    let sig = |s: &Sample| without_name(s.labels.clone());
    if ["and", "or", "unless"].contains(&op) {
        let (l, r) = (
            vector(l, "left of a set operator")?,
            vector(r, "right of a set operator")?,
        );
        let right: Vec<Labels> = r.iter().map(sig).collect();
        let left: Vec<Labels> = l.iter().map(sig).collect();
        return Ok(Value::Vector(match op {
            "and" => l.into_iter().filter(|s| right.contains(&sig(s))).collect(),
            "unless" => l.into_iter().filter(|s| !right.contains(&sig(s))).collect(),
            _ => l
                .into_iter()
                .chain(r.into_iter().filter(|s| !left.contains(&sig(s))))
                .collect(),
        }));
    }
    match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            if is_comparison(op) && !boolean {
                return Err("comparisons between scalars must use BOOL modifier".into());
            }
            arith(op, a, b)
                .map(Value::Scalar)
                .ok_or(format!("unknown operator {op}"))
        }
        (Value::Vector(v), Value::Scalar(b)) => Ok(Value::Vector(
            v.into_iter()
                .filter_map(|s| {
                    let a = s.value;
                    combine(op, boolean, s, a, b)
                })
                .collect(),
        )),
        (Value::Scalar(a), Value::Vector(v)) => Ok(Value::Vector(
            v.into_iter()
                .filter_map(|s| {
                    let b = s.value;
                    let mut out = combine(op, boolean, s, a, b)?;
                    if is_comparison(op) && !boolean {
                        out.value = b;
                    }
                    Some(out)
                })
                .collect(),
        )),
        (Value::Vector(l), Value::Vector(r)) => {
            let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
            for s in &r {
                if right.insert(sig(s), s.value).is_some() {
                    return Err("found duplicate series for the match group on the right hand-side".into());
                }
            }
            let out = l
                .into_iter()
                .filter_map(|s| {
                    let b = *right.get(&sig(&s))?;
                    let a = s.value;
                    combine(op, boolean, s, a, b)
                })
                .collect();
            unique(out).map(Value::Vector)
        }
    }
}

/// The value of `e` at `now` (unix seconds) over `store`.
pub fn eval(store: &Store, e: &Expr, now: f64) -> Result<Value, String> {
    match e {
        Expr::Num(n) => Ok(Value::Scalar(*n)),
        Expr::Str(_) => Err("a string is not a value here".into()),
        Expr::Select { range: Some(_), .. } => Err("a range vector cannot be the result of a query here".into()),
        Expr::Select { matchers, range: None } => Ok(Value::Vector(
            store
                .series
                .iter()
                .filter(|s| matchers.iter().all(|m| m.matches(&s.labels)))
                .filter_map(|s| {
                    let (t, value) = s.samples.iter().rev().find(|(t, _)| *t <= now && *t > now - LOOKBACK)?;
                    Some(Sample {
                        labels: s.labels.clone(),
                        value: *value,
                        t: *t,
                    })
                })
                .collect(),
        )),
        Expr::Call { func, args } => call(store, func, args, now),
        Expr::Agg {
            op,
            labels,
            without,
            expr,
        } => {
            let v = vector(eval(store, expr, now)?, &format!("in {op}()"))?;
            Ok(Value::Vector(aggregate(op, labels, *without, v, now)))
        }
        Expr::Bin { op, lhs, rhs, boolean } => binary(store, op, *boolean, lhs, rhs, now),
    }
}

#[cfg(test)]
mod tests;
