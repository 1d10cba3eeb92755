//! What the simulated hub stores, as its backends hold it: Prometheus series (labels and samples), Loki
//! streams (labels, lines, structured metadata) and Tempo spans (resource and span attributes).

use std::collections::BTreeMap;

/// Labels or attributes, by name.
pub type Labels = BTreeMap<String, String>;

/// `[(name, value)]` as [`Labels`].
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// One Prometheus series: its labels (with `__name__`) and samples `(unix seconds, value)`, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(f64, f64)>,
}

/// One log line of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unix nanoseconds.
    pub ns: u128,
    pub line: String,
    /// Structured metadata (Loki 3 merges it into the stream's labels in answers).
    pub metadata: Labels,
}

/// One Loki stream: index labels and entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub labels: Labels,
    pub entries: Vec<Entry>,
}

/// One span as Tempo stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    pub name: String,
    pub start_ns: u128,
    /// Resource attributes (`service.name`, `cluster.id`, …).
    pub resource: Labels,
    /// Span attributes.
    pub attributes: Labels,
}

/// Everything the hub's backends hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Store {
    pub series: Vec<Series>,
    pub streams: Vec<Stream>,
    pub spans: Vec<Span>,
}

impl Store {
    /// Appends a sample to the series with exactly these labels (made when new).
    pub fn sample(&mut self, labels: Labels, unix_s: f64, value: f64) {
        match self.series.iter_mut().find(|s| s.labels == labels) {
            Some(s) => {
                s.samples.push((unix_s, value));
                s.samples.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            None => self.series.push(Series {
                labels,
                samples: vec![(unix_s, value)],
            }),
        }
    }

    /// Appends a line to the stream with exactly these labels (made when new).
    pub fn log(&mut self, labels: Labels, entry: Entry) {
        match self.streams.iter_mut().find(|s| s.labels == labels) {
            Some(s) => s.entries.push(entry),
            None => self.streams.push(Stream {
                labels,
                entries: vec![entry],
            }),
        }
    }

    /// Stores a span.
    pub fn span(&mut self, span: Span) {
        self.spans.push(span);
    }

    /// Adds everything `other` holds.
    pub fn extend(&mut self, other: &Store) {
        for s in &other.series {
            for (t, v) in &s.samples {
                self.sample(s.labels.clone(), *t, *v);
            }
        }
        for s in &other.streams {
            for e in &s.entries {
                self.log(s.labels.clone(), e.clone());
            }
        }
        self.spans.extend(other.spans.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_lines_join_the_series_and_stream_of_their_labels() {
        let mut st = Store::default();
        st.sample(labels(&[("__name__", "up")]), 2.0, 1.0);
        st.sample(labels(&[("__name__", "up")]), 1.0, 0.0);
        st.sample(labels(&[("__name__", "up"), ("a", "b")]), 1.0, 0.0);
        assert_eq!(st.series.len(), 2);
        assert_eq!(st.series[0].samples, vec![(1.0, 0.0), (2.0, 1.0)]);
        let e = Entry {
            ns: 1,
            line: "x".into(),
            metadata: Labels::new(),
        };
        st.log(labels(&[("a", "b")]), e.clone());
        st.log(labels(&[("a", "b")]), e);
        assert_eq!(st.streams.len(), 1);
        assert_eq!(st.streams[0].entries.len(), 2);
    }
}
