//! Builds the JSON value of the Linode `X-Filter` request header.
//!
//! Only fields the API documents as filterable work; several keys in one object are ANDed.

use serde_json::{Map, Value, json};

/// An `X-Filter` expression, e.g. `{"label": "hub"}` or `{"+or": [{"tags": "a"}, {"tags": "b"}]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Value);

/// Sort direction for [`Filter::order_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending (`"asc"`).
    Asc,
    /// Descending (`"desc"`).
    Desc,
}

impl Filter {
    /// `{"<field>": <value>}`: the field equals the value.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self(json!({ field: value.into() }))
    }

    /// `{"label": "<label>"}`.
    pub fn label(label: &str) -> Self {
        Self::eq("label", label)
    }

    /// `{"tags": "<tag>"}`: the object carries this tag.
    pub fn tag(tag: &str) -> Self {
        Self::eq("tags", tag)
    }

    /// `{"<field>": {"+contains": "<text>"}}`: the string field contains the text.
    pub fn contains(field: &str, text: &str) -> Self {
        Self::op(field, "+contains", text)
    }

    /// `{"<field>": {"+neq": <value>}}`.
    pub fn neq(field: &str, value: impl Into<Value>) -> Self {
        Self::op(field, "+neq", value)
    }

    /// `{"<field>": {"+gt": <number>}}`.
    pub fn gt(field: &str, value: impl Into<Value>) -> Self {
        Self::op(field, "+gt", value)
    }

    /// `{"+and": [...]}`: every filter matches.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Self {
        Self::list("+and", filters)
    }

    /// `{"+or": [...]}`: at least one filter matches.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Self {
        Self::list("+or", filters)
    }

    /// Adds `"+order_by": <field>, "+order": "asc"|"desc"` to this filter.
    pub fn order_by(mut self, field: &str, order: Order) -> Self {
        let order = match order {
            Order::Asc => "asc",
            Order::Desc => "desc",
        };
        if let Value::Object(map) = &mut self.0 {
            map.insert("+order_by".into(), field.into());
            map.insert("+order".into(), order.into());
        }
        self
    }

    /// The header value: compact JSON.
    pub fn header_value(&self) -> String {
        self.0.to_string()
    }

    /// The filter as a JSON value.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    fn op(field: &str, op: &str, value: impl Into<Value>) -> Self {
        let mut inner = Map::new();
        inner.insert(op.into(), value.into());
        Self(json!({ field: Value::Object(inner) }))
    }

    fn list(op: &str, filters: impl IntoIterator<Item = Filter>) -> Self {
        let items: Vec<Value> = filters.into_iter().map(|f| f.0).collect();
        Self(json!({ op: items }))
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.header_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_label() {
        assert_eq!(Filter::label("hub").header_value(), r#"{"label":"hub"}"#);
        assert_eq!(Filter::eq("id", 42).header_value(), r#"{"id":42}"#);
    }

    #[test]
    fn tags_filter_is_a_plain_string() {
        assert_eq!(Filter::tag("lkeobs").header_value(), r#"{"tags":"lkeobs"}"#);
    }

    #[test]
    fn contains_and_comparison_operators() {
        assert_eq!(
            Filter::contains("label", "edge").header_value(),
            r#"{"label":{"+contains":"edge"}}"#
        );
        assert_eq!(Filter::gt("gpus", 0).header_value(), r#"{"gpus":{"+gt":0}}"#);
        assert_eq!(
            Filter::neq("status", "deleted").header_value(),
            r#"{"status":{"+neq":"deleted"}}"#
        );
    }

    #[test]
    fn and_or_nest() {
        let f = Filter::and([
            Filter::tag("lkeobs"),
            Filter::or([Filter::label("a"), Filter::label("b")]),
        ]);
        assert_eq!(
            f.header_value(),
            r#"{"+and":[{"tags":"lkeobs"},{"+or":[{"label":"a"},{"label":"b"}]}]}"#
        );
    }

    #[test]
    fn order_by_adds_keys() {
        let f = Filter::eq("entity.type", "linode").order_by("created", Order::Desc);
        let v = f.as_json();
        assert_eq!(v["entity.type"], "linode");
        assert_eq!(v["+order_by"], "created");
        assert_eq!(v["+order"], "desc");
        assert_eq!(f.to_string(), f.header_value());
    }
}
