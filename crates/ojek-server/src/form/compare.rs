//! Comparing documents: equality that includes key order, and whether a text reads back as
//! a given document (how every edit is checked before it is returned).

use std::sync::Arc;

use ojek_spec::load::MAX_FILE_BYTES;
use ojek_spec::source::{Layer, parse_yaml};
use serde_json::Value as Json;

/// Equality that also compares the order of mapping keys (form lists follow it).
pub(super) fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        _ => a == b,
    }
}

/// Whether `text` is one YAML document holding exactly `want`.
pub(super) fn reads_as(text: &str, want: &Json) -> bool {
    let file: Arc<str> = Arc::from("<check>");
    match parse_yaml(&file, text, Layer::Manifest) {
        Ok(docs) => matches!(docs.as_slice(), [doc] if same(&doc.to_json(), want)),
        Err(_) => false,
    }
}

pub(super) fn reads_back(text: &str, desired: &Json) -> bool {
    text.len() <= MAX_FILE_BYTES && reads_as(text, desired)
}
