//! Unit conversions between manifest values and the Nomad API: durations in integer
//! nanoseconds (JSON) or Go duration strings (HCL), CPU in MHz, memory in MiB.

/// Nanoseconds per millisecond.
const NS_PER_MS: i64 = 1_000_000;

/// Nanoseconds in `ms` milliseconds, if it fits Go's `time.Duration` (an `i64`).
pub(crate) fn ns_from_ms(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(NS_PER_MS)
}

/// Nanoseconds in `s` seconds.
pub(crate) const fn secs(s: i64) -> i64 {
    s * 1_000 * NS_PER_MS
}

/// Nomad CPU shares in MHz for `millicores`, rounded up: Nomad schedules CPU in MHz and the
/// platform says how many MHz one core is worth on its clients.
pub(crate) fn mhz(millicores: u64, mhz_per_core: u32) -> u64 {
    (u128::from(millicores) * u128::from(mhz_per_core))
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// Mebibytes in `bytes`, rounded up (Nomad's `MemoryMB` and `SizeMB` are MiB).
pub(crate) fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

/// A Go duration string for `ns` nanoseconds, in the largest exact units (`90s` is `1m30s`,
/// `5m`, `24h`, `1500ms` is `1s500ms`). Nomad's HCL parser reads it with `time.ParseDuration`.
pub(crate) fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ns.unsigned_abs();
    if ns < 0 {
        out.push('-');
    }
    const UNITS: [(&str, u64); 6] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    for (unit, size) in UNITS {
        let n = rest / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            rest -= n * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(ns_from_ms(1500), Some(1_500_000_000));
        assert_eq!(ns_from_ms(u64::MAX), None);
        assert_eq!(mhz(500, 2400), 1200);
        assert_eq!(mhz(1, 1000), 1);
        assert_eq!(mhz(333, 1000), 333);
        assert_eq!(mhz(250, 2200), 550);
        assert_eq!(mib(268_435_456), 256);
        assert_eq!(mib(1_000_000_000), 954);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(secs(10)), "10s");
        assert_eq!(go_duration(secs(90)), "1m30s");
        assert_eq!(go_duration(secs(300)), "5m");
        assert_eq!(go_duration(secs(86_400)), "24h");
        assert_eq!(go_duration(1_500_000_000), "1s500ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1), "1ns");
    }
}
