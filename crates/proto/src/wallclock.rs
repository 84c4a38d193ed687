//! Where a component reads wall time: the operating system's clock, or one the embedding
//! program provides (a simulator gives each host a skewed, steppable clock). Wall time only ever
//! appears where real systems show it (message timestamps); timers always run on monotonic time.

use std::fmt;
use std::rc::Rc;

/// Where a component reads wall time.
#[derive(Clone)]
pub enum WallSource {
    /// The operating system's clock.
    Real,
    /// A clock provided by the embedding program (a simulated host's clock), in Unix
    /// milliseconds.
    Provided(Rc<dyn Fn() -> i64>),
}

impl fmt::Debug for WallSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WallSource::Real => f.write_str("Real"),
            WallSource::Provided(_) => f.write_str("Provided"),
        }
    }
}

impl WallSource {
    /// A wall clock read through `now_unix_ms`.
    #[must_use]
    pub fn provided(now_unix_ms: impl Fn() -> i64 + 'static) -> Self {
        WallSource::Provided(Rc::new(now_unix_ms))
    }

    /// The current wall time in Unix milliseconds.
    #[must_use]
    pub fn now_unix_ms(&self) -> i64 {
        match self {
            WallSource::Real => crate::clock::real_unix_ms(),
            WallSource::Provided(now) => now(),
        }
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC, e.g. `2026-01-01T00:00:00.000Z`.
#[must_use]
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
