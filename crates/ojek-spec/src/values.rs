//! Small value types with their own syntax: quantities, durations, int-or-percent, cron.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Kubernetes-style quantity: `500m`, `0.5`, `2`, `256Mi`, `1G`. Kept as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quantity(pub String);

impl Quantity {
    /// The amount as a float in base units (cores or bytes), if the syntax is valid.
    pub fn value(&self) -> Option<f64> {
        parse_quantity(&self.0)
    }
    /// CPU in millicores, rounded up.
    pub fn millicores(&self) -> Option<u64> {
        // Round away float noise first (`9m` is 9.000000000000002 millicores), then up.
        self.value()
            .map(|v| ((v * 1000.0 * 1e6).round() / 1e6).ceil() as u64)
    }
    /// Memory in bytes, rounded up.
    pub fn bytes(&self) -> Option<u64> {
        self.value().map(|v| v.ceil() as u64)
    }
}

/// Parses a quantity into base units; `None` when the syntax is not a quantity.
pub fn parse_quantity(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, mult) = SUFFIXES
        .iter()
        .find_map(|(s, m)| text.strip_suffix(s).map(|n| (n, *m)))
        .unwrap_or((text, 1.0));
    let digits = number.strip_prefix('+').unwrap_or(number);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    digits
        .parse::<f64>()
        .ok()
        .map(|v| v * mult)
        .filter(|v| v.is_finite())
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Quantity(string_or_number(d)?))
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A quantity: a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, …).",
            "type": ["string", "number"]
        })
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::S(s) => s,
        Raw::N(n) => n.to_string(),
    })
}

/// A duration written like Go's: `30s`, `1m30s`, `500ms`, `2h`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Duration(pub String);

impl Duration {
    /// Milliseconds, if the syntax is valid.
    pub fn millis(&self) -> Option<u64> {
        parse_duration(&self.0)
    }
    /// Whole seconds, rounded up.
    pub fn seconds(&self) -> Option<u64> {
        self.millis().map(|ms| ms.div_ceil(1000))
    }
}

/// Parses `1h30m`, `45s`, `250ms` into milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let value: u64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('s') {
            (1000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else {
            return None;
        };
        total = total.checked_add(value.checked_mul(unit)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Duration(String::deserialize(d)?))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration such as 30s, 1m30s, 500ms or 2h.",
            "type": "string",
            "pattern": "^([0-9]+(ms|s|m|h))+$"
        })
    }
}

/// A count or a percentage (`1`, `25%`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntOrPercent {
    /// A count.
    Int(u32),
    /// A percentage, as written (`25%`).
    Percent(String),
}

impl IntOrPercent {
    /// True when a percentage is well-formed (0–100%) or this is a count.
    pub fn is_valid(&self) -> bool {
        match self {
            IntOrPercent::Int(_) => true,
            IntOrPercent::Percent(p) => p
                .strip_suffix('%')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= 100),
        }
    }
    /// As JSON: a number or the percent string (the Kubernetes IntOrString form).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            IntOrPercent::Int(i) => serde_json::Value::from(*i),
            IntOrPercent::Percent(p) => serde_json::Value::from(p.as_str()),
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Int(i) => s.serialize_u32(*i),
            IntOrPercent::Percent(p) => s.serialize_str(p),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            I(u32),
            S(String),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::I(i) => IntOrPercent::Int(i),
            Raw::S(s) => IntOrPercent::Percent(s),
        })
    }
}

impl JsonSchema for IntOrPercent {
    fn schema_name() -> Cow<'static, str> {
        "IntOrPercent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A count (2) or a percentage (\"25%\").",
            "type": ["integer", "string"],
            "minimum": 0,
            "maximum": 4294967295u64
        })
    }
}

/// Checks a five-field cron schedule or macro; the error says which field is wrong.
pub fn check_cron(schedule: &str) -> Result<(), String> {
    const MACROS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if schedule.starts_with('@') {
        return if MACROS.contains(&schedule) {
            Ok(())
        } else {
            Err(format!(
                "unknown macro `{schedule}`; use one of {}",
                MACROS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    const NAMES: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day of month", 1, 31, &[]),
        (
            "month",
            1,
            12,
            &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
        ),
        (
            "day of week",
            0,
            7,
            &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        ),
    ];
    for (field, (name, lo, hi, names)) in fields.iter().zip(NAMES) {
        for part in field.split(',') {
            check_cron_part(part, lo, hi, names).map_err(|e| format!("{name} field `{field}`: {e}"))?;
        }
    }
    Ok(())
}

fn check_cron_part(part: &str, lo: u32, hi: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s >= 1 && s <= hi => {}
            _ => return Err(format!("step `{step}` must be a number from 1 to {hi}")),
        }
    }
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            return Ok(i as u32 + lo);
        }
        match v.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(format!("`{v}` is not a value from {lo} to {hi}")),
        }
    };
    if range == "*" || range == "?" {
        return Ok(());
    }
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("range `{range}` goes backwards"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(Quantity("500m".into()).millicores(), Some(500));
        for m in 1..2200u64 {
            assert_eq!(Quantity(format!("{m}m")).millicores(), Some(m), "{m}m");
        }
        assert_eq!(Quantity("0.25".into()).millicores(), Some(250));
        assert_eq!(Quantity("2".into()).millicores(), Some(2000));
        assert_eq!(Quantity("256Mi".into()).bytes(), Some(268_435_456));
        assert_eq!(Quantity("1G".into()).bytes(), Some(1_000_000_000));
        for bad in ["", "Mi", "1.2.3", "-1", "12 Mi", "1GB", "abc"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        for bad in ["", "30", "s", "1d", "1.5s", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn cron() {
        for ok in [
            "*/5 * * * *",
            "0 2 * * 1-5",
            "30 1 1,15 jan-jun MON",
            "@daily",
            "0 0 * * 7",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
        let err = check_cron("61 * * * *").expect_err("minute");
        assert!(err.contains("minute"), "{err}");
        assert!(check_cron("* * *").expect_err("fields").contains("5 fields"));
        assert!(check_cron("@sometimes").is_err());
        assert!(check_cron("5-1 * * * *").is_err());
        assert!(check_cron("*/0 * * * *").is_err());
    }

    #[test]
    fn percents() {
        assert!(IntOrPercent::Percent("25%".into()).is_valid());
        assert!(!IntOrPercent::Percent("25".into()).is_valid());
        assert!(!IntOrPercent::Percent("125%".into()).is_valid());
    }
}
