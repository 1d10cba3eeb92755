//! The query languages of the simulated hub, evaluated over what it stores ([`crate::sim::data_store`]):
//! PromQL for Prometheus, LogQL for Loki, TraceQL for Tempo, each the subset lkeobs and its stack use.
//! A query outside the subset is an error, answered as the real API answers a bad query.

pub mod lexer;
pub mod logql;
pub mod matchers;
pub mod promql;
pub mod promql_eval;
pub mod traceql;

/// A parse error as the backends word it: `1:<column>: parse error: <message>`.
pub fn parse_error((offset, msg): lexer::Error) -> String {
    format!("1:{}: parse error: {msg}", offset + 1)
}
