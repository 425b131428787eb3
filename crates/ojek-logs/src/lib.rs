//! ojek logs, the pure part: the [`Record`] every shipped line becomes, normalising the JSON
//! shippers send into it ([`record`]), and the query language ([`query`]): parsing with
//! positions in errors, and evaluating a query against a record (for live tail, and as the
//! ground truth the index is tested against). No I/O.

pub mod query;
pub mod record;

pub use query::{Query, QueryError, parse};
pub use record::Record;
