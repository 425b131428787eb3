//! Reading times and numbers: timestamps in shipped records (RFC 3339, epoch numbers of any
//! unit) and values in queries (RFC 3339, dates, `now-15m`, epoch milliseconds). Pure: the
//! current time is always passed in.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds in a day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// An RFC 3339 date-time with any offset (`T`, `t` or a space between date and time); without
/// an offset, UTC. Unix milliseconds (sub-millisecond digits are dropped).
pub(crate) fn parse_date_time(text: &str) -> Option<i64> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| time.and_utc().timestamp_millis())
}

/// A date `YYYY-MM-DD`: the Unix milliseconds of its midnight, UTC.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    // chrono accepts "2026-1-5"; a query date has exactly this shape.
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|time| time.and_utc().timestamp_millis())
}

/// An epoch integer in seconds, milliseconds, microseconds or nanoseconds, told apart by
/// magnitude (below 10¹¹: seconds, 10¹⁴: milliseconds, 10¹⁷: microseconds, else nanoseconds),
/// as Unix milliseconds; `None` outside the years ±262 000.
pub(crate) fn epoch_integer_to_ms(value: i128) -> Option<i64> {
    let magnitude = value.unsigned_abs();
    let ms = if magnitude < 100_000_000_000 {
        value.checked_mul(1000)?
    } else if magnitude < 100_000_000_000_000 {
        value
    } else if magnitude < 100_000_000_000_000_000 {
        value.div_euclid(1000)
    } else {
        value.div_euclid(1_000_000)
    };
    representable(i64::try_from(ms).ok()?)
}

/// Like [`epoch_integer_to_ms`], for a number with a fraction (`1700000000.123` seconds).
pub(crate) fn epoch_float_to_ms(value: f64) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let magnitude = value.abs();
    let ms = if magnitude < 1e11 {
        value * 1000.0
    } else if magnitude < 1e14 {
        value
    } else if magnitude < 1e17 {
        value / 1e3
    } else {
        value / 1e6
    }
    .floor();
    if ms.abs() > 9.0e15 {
        return None;
    }
    // In range: |ms| ≤ 9e15 fits an i64 exactly enough.
    representable(ms as i64)
}

/// `ms` if chrono can represent it (so it can always be printed as RFC 3339).
pub(crate) fn representable(ms: i64) -> Option<i64> {
    DateTime::from_timestamp_millis(ms).map(|_| ms)
}

/// `ms` as RFC 3339 in UTC with milliseconds (`2026-11-25T10:00:00.000Z`), for the years
/// 0000 to 9999 that RFC 3339 can write.
pub(crate) fn format_ms(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .filter(|time| (0..=9999).contains(&time.year()))
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A time in a query. `day_end` is set for a date: the next midnight, so that ranges and
/// equality can cover the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryTime {
    /// Unix milliseconds.
    pub(crate) start: i64,
    /// For a date, the end of the day (exclusive).
    pub(crate) day_end: Option<i64>,
}

/// A time in a query: RFC 3339, a date, `now` with `+`/`-` offsets in `s`, `m`, `h`, `d`,
/// `w` (`now-15m`, `now-1d+2h`), or an integer of epoch milliseconds. The error says what
/// was expected.
pub(crate) fn parse_query_time(text: &str, now_ms: i64) -> Result<QueryTime, String> {
    let instant = |start| QueryTime { start, day_end: None };
    if let Some(rest) = text.strip_prefix("now") {
        return relative(rest, now_ms).map(instant);
    }
    if let Some(start) = parse_date(text) {
        return Ok(QueryTime {
            start,
            day_end: start.checked_add(MS_PER_DAY),
        });
    }
    if let Some(start) = parse_date_time(text) {
        return Ok(instant(start));
    }
    if is_integer(text) {
        return text
            .parse::<i64>()
            .map(instant)
            .map_err(|_| format!("{text:?} is too large for epoch milliseconds"));
    }
    if parse_number(text).is_some() {
        return Err(format!(
            "{text:?}: a number for a time is epoch milliseconds and must be an integer"
        ));
    }
    Err(format!(
        "expected a time (2026-11-25T10:00:00Z, 2026-11-25, now, now-15m or epoch milliseconds), found \
            {text:?}"
    ))
}

/// `now` + offsets like `-15m+1h`.
fn relative(mut rest: &str, now_ms: i64) -> Result<i64, String> {
    let mut ms = now_ms;
    while !rest.is_empty() {
        let bad = || {
            format!(
                "expected now, or now with offsets like now-15m, now-1h, now-2d, now+30s, now-1w; found {:?}",
                format!("now{rest}")
            )
        };
        let sign: i64 = match rest.as_bytes().first() {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => return Err(bad()),
        };
        let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let amount: i64 = rest[1..=digits].parse().map_err(|_| bad())?;
        let after = &rest[1 + digits..];
        let (unit, unit_len) = match after.as_bytes().first() {
            Some(b's') => (1_000, 1),
            Some(b'm') => (60_000, 1),
            Some(b'h') => (3_600_000, 1),
            Some(b'd') => (MS_PER_DAY, 1),
            Some(b'w') => (7 * MS_PER_DAY, 1),
            _ => return Err(bad()),
        };
        let offset = amount
            .checked_mul(unit)
            .and_then(|offset| offset.checked_mul(sign))
            .ok_or_else(|| format!("{:?} is too far from now", format!("now{rest}")))?;
        ms = ms
            .checked_add(offset)
            .ok_or_else(|| format!("{:?} is too far from now", format!("now{rest}")))?;
        rest = &after[unit_len..];
    }
    Ok(ms)
}

/// `-?[0-9]+`.
pub(crate) fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A decimal number: `-?(digits[.digits*]|.digits)([eE][+-]?digits)?`, finite. Not `inf`,
/// `NaN`, hex or surrounding spaces, which `str::parse::<f64>` would partly accept.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let int_digits = count_digits(&bytes[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(&bytes[i..]);
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&bytes[i..]);
        if exp_digits == 0 {
            return None;
        }
        i += exp_digits;
    }
    if i != bytes.len() {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_25: i64 = 1_795_564_800_000; // 2026-11-25T00:00:00Z

    #[test]
    fn date_times_with_any_offset() {
        assert_eq!(parse_date_time("2026-11-25T00:00:00Z"), Some(NOV_25));
        assert_eq!(parse_date_time("2026-11-25T07:00:00+07:00"), Some(NOV_25));
        assert_eq!(parse_date_time("2026-11-24 19:00:00.5-05:00"), Some(NOV_25 + 500));
        assert_eq!(parse_date_time("2026-11-25T00:00:00.123456"), Some(NOV_25 + 123));
        assert_eq!(parse_date_time("2026-11-25"), None);
        assert_eq!(parse_date_time("yesterday"), None);
    }

    #[test]
    fn epochs_by_magnitude() {
        let s = 1_795_564_800;
        assert_eq!(epoch_integer_to_ms(s), Some(NOV_25));
        assert_eq!(epoch_integer_to_ms(s * 1000), Some(NOV_25));
        assert_eq!(epoch_integer_to_ms(s * 1_000_000 + 999), Some(NOV_25));
        assert_eq!(epoch_integer_to_ms(s * 1_000_000_000), Some(NOV_25));
        assert_eq!(epoch_float_to_ms(1_795_564_800.25), Some(NOV_25 + 250));
        assert_eq!(epoch_float_to_ms(1e300), None);
        assert_eq!(epoch_integer_to_ms(i128::MAX), None);
    }

    #[test]
    fn query_times() {
        let now = NOV_25 + 3_600_000;
        let at = |text| parse_query_time(text, now);
        assert_eq!(at("now").map(|t| t.start), Ok(now));
        assert_eq!(at("now-15m").map(|t| t.start), Ok(now - 900_000));
        assert_eq!(at("now-1d+1h").map(|t| t.start), Ok(now - MS_PER_DAY + 3_600_000));
        assert_eq!(
            at("2026-11-25"),
            Ok(QueryTime {
                start: NOV_25,
                day_end: Some(NOV_25 + MS_PER_DAY)
            })
        );
        assert_eq!(at("1795564800000").map(|t| t.start), Ok(NOV_25));
        assert!(at("now-15").is_err());
        assert!(at("now-99999999999999999w").is_err());
        assert!(at("2026-13-01").is_err());
        assert!(at("1.5").is_err());
    }

    #[test]
    fn strict_numbers() {
        assert_eq!(parse_number("500"), Some(500.0));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("5."), Some(5.0));
        for bad in ["", "-", ".", "inf", "NaN", "1e", " 1", "0x10", "1e999", "+1"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }
}
