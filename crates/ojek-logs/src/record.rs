//! The log record, and finding a field in it by name (the names queries use).
//!
//! Turning shipped JSON into a record lives in [`crate::normalise`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One log line of one app in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// When it happened: Unix milliseconds (from the record, else when it was received).
    pub timestamp: i64,
    /// When ojek received it: Unix milliseconds.
    pub received: i64,
    /// App name.
    pub app: String,
    /// Environment.
    pub env: String,
    /// Level, lower case (`error`, `warn`, `info`, `debug`, `trace`, `fatal`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Host (node) name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Pod or allocation, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The app revision that produced it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// The experiment variant, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The message (full text).
    pub message: String,
    /// Every other field of the shipped record.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attrs: Map<String, Value>,
}

/// What a field name in a query refers to. Built-in names take precedence over `attrs` keys of
/// the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `message`: full text, searched by words.
    Message,
    /// `@timestamp` (alias `timestamp`): the record's time, Unix milliseconds.
    Timestamp,
    /// `level`: exact value, compared in lower case.
    Level,
    /// `app`, `env`, `host`, `pod`, `variant`: exact text.
    Text,
    /// `revision`: an integer.
    Revision,
    /// Anything else: a dotted path into [`Record::attrs`].
    Attr,
}

impl FieldKind {
    /// The kind of the field called `name`.
    pub fn of(name: &str) -> FieldKind {
        match name {
            "message" => FieldKind::Message,
            "@timestamp" | "timestamp" => FieldKind::Timestamp,
            "level" => FieldKind::Level,
            "app" | "env" | "host" | "pod" | "variant" => FieldKind::Text,
            "revision" => FieldKind::Revision,
            _ => FieldKind::Attr,
        }
    }
}

/// A field's value in a record, as queries see it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A built-in text field: `app`, `env`, `level`, `host`, `pod`, `variant`, `message`.
    Text(&'a str),
    /// A built-in integer: `revision`, or `@timestamp` (Unix milliseconds).
    Integer(i64),
    /// Every non-null value found in `attrs` at the path: by a literal key (`"http.status"`),
    /// through nested objects (`{"http": {"status": …}}`), through arrays of objects, or any
    /// mix. Arrays found here are left whole; queries match any of their elements.
    Attrs(Vec<&'a Value>),
}

impl Record {
    /// The field called `name`: a built-in field (`app`, `env`, `level`, `host`, `pod`,
    /// `revision`, `variant`, `message`, `@timestamp` or `timestamp`), otherwise a dotted path
    /// into [`attrs`](Record::attrs). `None` when the record has no such field, or only `null`.
    ///
    /// ```
    /// use ojek_logs::{Record, record::FieldValue};
    /// let line = serde_json::json!({"msg": "boom", "http": {"status": 500}, "user.id": "u1"});
    /// let serde_json::Value::Object(line) = line else { unreachable!() };
    /// let record = Record::from_json(line, "shop", "production", 0);
    /// assert_eq!(record.field("message"), Some(FieldValue::Text("boom")));
    /// assert_eq!(record.field("http.status"), Some(FieldValue::Attrs(vec![&serde_json::json!(500)])));
    /// assert_eq!(record.field("user.id"), Some(FieldValue::Attrs(vec![&serde_json::json!("u1")])));
    /// assert_eq!(record.field("pod"), None);
    /// ```
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        fn text(value: &Option<String>) -> Option<FieldValue<'_>> {
            value.as_deref().map(FieldValue::Text)
        }
        match name {
            "app" => Some(FieldValue::Text(&self.app)),
            "env" => Some(FieldValue::Text(&self.env)),
            "message" => Some(FieldValue::Text(&self.message)),
            "@timestamp" | "timestamp" => Some(FieldValue::Integer(self.timestamp)),
            "level" => text(&self.level),
            "host" => text(&self.host),
            "pod" => text(&self.pod),
            "variant" => text(&self.variant),
            "revision" => self.revision.map(FieldValue::Integer),
            path => {
                let mut found = Vec::new();
                collect_path(&self.attrs, path, &mut found);
                (!found.is_empty()).then_some(FieldValue::Attrs(found))
            }
        }
    }
}

/// Every non-null value at `path` in `object`: the literal key, and every split of the path at
/// a dot whose head is a key holding an object, or an array of objects, to look further in.
fn collect_path<'a>(object: &'a Map<String, Value>, path: &str, found: &mut Vec<&'a Value>) {
    if let Some(value) = object.get(path).filter(|value| !value.is_null()) {
        found.push(value);
    }
    for (dot, _) in path.match_indices('.') {
        if let Some(inner) = object.get(&path[..dot]) {
            collect_in(inner, &path[dot + 1..], found);
        }
    }
}

fn collect_in<'a>(value: &'a Value, path: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(object) => collect_path(object, path, found),
        Value::Array(items) => {
            for item in items {
                collect_in(item, path, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(attrs: Value) -> Record {
        let Value::Object(attrs) = attrs else {
            panic!("attrs must be an object")
        };
        Record {
            timestamp: 7,
            received: 8,
            app: "shop".into(),
            env: "production".into(),
            level: Some("error".into()),
            host: None,
            pod: Some("web-1".into()),
            revision: Some(12),
            variant: None,
            message: "boom".into(),
            attrs,
        }
    }

    #[test]
    fn built_in_fields() {
        let r = record(json!({"app": "shadowed"}));
        assert_eq!(r.field("app"), Some(FieldValue::Text("shop")));
        assert_eq!(r.field("env"), Some(FieldValue::Text("production")));
        assert_eq!(r.field("level"), Some(FieldValue::Text("error")));
        assert_eq!(r.field("pod"), Some(FieldValue::Text("web-1")));
        assert_eq!(r.field("message"), Some(FieldValue::Text("boom")));
        assert_eq!(r.field("revision"), Some(FieldValue::Integer(12)));
        assert_eq!(r.field("@timestamp"), Some(FieldValue::Integer(7)));
        assert_eq!(r.field("timestamp"), Some(FieldValue::Integer(7)));
        assert_eq!(r.field("host"), None);
        assert_eq!(r.field("variant"), None);
    }

    #[test]
    fn dotted_paths_nested_literal_and_mixed() {
        let r = record(json!({
            "http": {"status": 500, "request.method": "GET"},
            "http.status": "500",
            "a": {"b": {"c": true}},
            "gone": null,
            "items": [{"id": 1}, {"id": 2}, {"other": 3}],
        }));
        assert_eq!(
            r.field("http.status"),
            Some(FieldValue::Attrs(vec![&json!("500"), &json!(500)]))
        );
        assert_eq!(
            r.field("http.request.method"),
            Some(FieldValue::Attrs(vec![&json!("GET")]))
        );
        assert_eq!(r.field("a.b.c"), Some(FieldValue::Attrs(vec![&json!(true)])));
        assert_eq!(r.field("a.b"), Some(FieldValue::Attrs(vec![&json!({"c": true})])));
        assert_eq!(
            r.field("items.id"),
            Some(FieldValue::Attrs(vec![&json!(1), &json!(2)]))
        );
        assert_eq!(r.field("gone"), None);
        assert_eq!(r.field("http.nothing"), None);
        assert_eq!(r.field("a.b.c.d"), None);
        assert_eq!(r.field(""), None);
        assert_eq!(r.field("."), None);
    }
}
