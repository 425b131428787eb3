//! ojek logs, the pure part: the [`Record`] every shipped line becomes, normalising the JSON
//! shippers send into it ([`Record::from_json`]), the words the message is searched by
//! ([`tokens`]), and the query language ([`query`]): parsing with positions in errors,
//! printing back, and evaluating a query against a record (for live tail, and as the ground
//! truth the index is tested against). No I/O.
//!
//! ```
//! use ojek_logs::{Record, evaluate, parse};
//! let line = serde_json::json!({"level": "error", "msg": "payment failed", "http": {"status": 502}});
//! let serde_json::Value::Object(line) = line else { unreachable!() };
//! let record = Record::from_json(line, "shop", "production", 1_795_564_800_000);
//! let query = parse("level:error AND http.status:>=500 AND NOT \"payment ok\"").expect("valid");
//! assert!(evaluate(&query, &record));
//! ```

mod normalise;
pub mod query;
pub mod record;
mod time;
mod tokens;

pub use normalise::normalise_level;
pub use query::{Query, QueryError, evaluate, parse, parse_at};
pub use record::{FieldKind, FieldValue, Record};
pub use tokens::{MAX_TOKEN_BYTES, positioned_tokens, tokens};
