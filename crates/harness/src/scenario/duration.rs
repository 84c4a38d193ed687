//! Durations in scenario files: `"500ms"`, `"20s"`, `"1.5s"`, `"2m"`, `"1h"`; `"none"` where a
//! setting can be switched off; and seeded draws `{ min = "10s", max = "50s" }`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Parses `"<number><unit>"` with unit `ms`, `s`, `m` or `h`; whole milliseconds at most.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{s}` has no unit: write e.g. \"20s\" or \"500ms\""))?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: write e.g. \"20s\" or \"500ms\""))?;
    let ms_per_unit = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => {
            return Err(format!(
                "`{s}` has unknown unit `{unit}`: use ms, s, m or h"
            ))
        }
    };
    let ms = value * ms_per_unit;
    if !ms.is_finite() || ms > 1e12 {
        return Err(format!("`{s}` is too long"));
    }
    if ms.fract() != 0.0 {
        return Err(format!("`{s}` is not a whole number of milliseconds"));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Formats a duration the way scenario files write it.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A duration setting (`"20s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Dur).map_err(de::Error::custom)
    }
}

/// A signed duration (`"-1h"`, `"+30m"`, `"90s"`), in whole milliseconds: a clock step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedDur(pub i64);

impl<'de> Deserialize<'de> for SignedDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        let (sign, rest) = match t.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, t.strip_prefix('+').unwrap_or(t)),
        };
        let d = parse_duration(rest).map_err(de::Error::custom)?;
        let ms = i64::try_from(d.as_millis()).map_err(|_| de::Error::custom("too long"))?;
        Ok(SignedDur(sign * ms))
    }
}

/// A duration setting that may be `"none"` (switched off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptDur(pub Option<Duration>);

impl<'de> Deserialize<'de> for OptDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim() == "none" {
            return Ok(OptDur(None));
        }
        parse_duration(&s)
            .map(|d| OptDur(Some(d)))
            .map_err(|e| de::Error::custom(format!("{e} (or \"none\")")))
    }
}

/// A range of durations `{ min = "..", max = ".." }`, or one fixed duration (`min = max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurRange {
    /// Lower end (inclusive).
    pub min: Duration,
    /// Upper end (inclusive).
    pub max: Duration,
}

impl DurRange {
    /// A range holding exactly `d`.
    #[must_use]
    pub fn fixed(d: Duration) -> Self {
        DurRange { min: d, max: d }
    }

    /// Whether the range is a single value.
    #[must_use]
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

impl<'de> Deserialize<'de> for DurRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RangeVisitor)
    }
}

struct RangeVisitor;

impl<'de> Visitor<'de> for RangeVisitor {
    type Value = DurRange;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration like \"20s\" or a range like { min = \"10s\", max = \"30s\" }")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DurRange, E> {
        parse_duration(v).map(DurRange::fixed).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DurRange, A::Error> {
        let (mut min, mut max) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "min" => min = Some(map.next_value::<Dur>()?.0),
                "max" => max = Some(map.next_value::<Dur>()?.0),
                other => {
                    return Err(de::Error::unknown_field(other, &["min", "max"]));
                }
            }
        }
        let min = min.ok_or_else(|| de::Error::missing_field("min"))?;
        let max = max.ok_or_else(|| de::Error::missing_field("max"))?;
        if min > max {
            return Err(de::Error::custom(format!(
                "min ({}) is greater than max ({})",
                format_duration(min),
                format_duration(max)
            )));
        }
        Ok(DurRange { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_durations_with_a_hint() {
        assert!(parse_duration("20").unwrap_err().contains("no unit"));
        assert!(parse_duration("20x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("s").unwrap_err().contains("not a duration"));
        assert!(parse_duration("0.5ms").unwrap_err().contains("whole"));
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(20)), "20s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
