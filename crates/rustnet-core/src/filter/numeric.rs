//! Numeric keywords (`rtt:>50ms`, `retrans:>0`): a comparison with `>`,
//! `<` or `=` (none is `=`) against a number, with a unit for times.

use super::FilterError;
use crate::track::Connection;
use std::cmp::Ordering;

/// A numeric keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumField {
    /// Round-trip time, nanoseconds.
    Rtt,
    /// Retransmitted TCP segments, both directions.
    Retrans,
}

/// A parsed comparison; `None` value: the keyword had no value yet
/// ("rtt:" while typing), which matches connections that have the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NumTerm {
    pub field: NumField,
    op: Ordering,
    value: Option<u64>,
}

impl NumTerm {
    /// Parses the value of `field`'s keyword (lowercased, quotes removed).
    pub(super) fn parse(field: NumField, text: &str, raw: &str) -> Result<Self, FilterError> {
        let (op, rest) = match text.as_bytes().first() {
            Some(b'>') => (Ordering::Greater, &text[1..]),
            Some(b'<') => (Ordering::Less, &text[1..]),
            Some(b'=') => (Ordering::Equal, &text[1..]),
            _ => (Ordering::Equal, text),
        };
        if text.is_empty() {
            return Ok(NumTerm { field, op, value: None });
        }
        let value = match field {
            NumField::Rtt => duration_ns(rest),
            NumField::Retrans => rest.parse::<u64>().ok(),
        };
        let example = match field {
            NumField::Rtt => "a time with its unit, e.g. rtt:>50ms (units ns, us, ms, s)",
            NumField::Retrans => "a count, e.g. retrans:>0",
        };
        match value {
            Some(v) => Ok(NumTerm { field, op, value: Some(v) }),
            None => Err(FilterError { message: format!("{raw}: expected >, < or = and {example}") }),
        }
    }

    /// Whether the connection's number compares as asked; a connection
    /// without it (no RTT measured, not TCP) never matches.
    pub(super) fn matches(&self, c: &Connection) -> bool {
        let have = match self.field {
            NumField::Rtt => c.rtt.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            NumField::Retrans => c.tcp.map(|t| t.retransmits()),
        };
        match (have, self.value) {
            (Some(h), Some(v)) => h.cmp(&v) == self.op,
            (h, None) => h.is_some(),
            (None, _) => false,
        }
    }
}

/// "50ms", "1.5s", "200us" → nanoseconds; None without a known unit.
fn duration_ns(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    let v: f64 = num.parse().ok()?;
    let ns = (v * scale).round();
    // Finite and non-negative by construction (digits and a dot); the cast saturates.
    (ns.is_finite()).then_some(ns as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ns("50ms"), Some(50_000_000));
        assert_eq!(duration_ns("1.5s"), Some(1_500_000_000));
        assert_eq!(duration_ns("200us"), Some(200_000));
        assert_eq!(duration_ns("7ns"), Some(7));
        assert_eq!(duration_ns("50"), None);
        assert_eq!(duration_ns("ms"), None);
        assert_eq!(duration_ns("5min"), None);
        assert_eq!(duration_ns("1.2.3ms"), None);
    }
}
