//! Request bodies: JSON, or YAML for apply patches (`application/apply-patch+yaml`).

use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses a body as JSON, falling back to YAML (a superset) for apply patches.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("error decoding YAML: {e}"))?;
    match docs.as_slice() {
        [doc] => to_json(doc),
        _ => Err(format!("expected one YAML document, got {}", docs.len())),
    }
}

fn to_json(y: &Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("bad number {s:?}"))?,
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => return Err(format!("unsupported YAML key {other:?}")),
                };
                m.insert(key, to_json(v)?);
            }
            Value::Object(m)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err("YAML aliases are not supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_and_json_bodies_give_the_same_value() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n  n: 2\n";
        let json =
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"x":"1","n":2}}"#;
        assert_eq!(parse(yaml), parse(json));
        assert_eq!(parse(json).expect("json")["data"]["n"], json!(2));
        assert!(parse(b"a: [").is_err());
    }
}
