//! The log record.

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
