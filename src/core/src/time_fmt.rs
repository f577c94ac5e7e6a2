//! Timestamps are integer milliseconds since the Unix epoch in storage and RFC 3339 on
//! the wire.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const HOUR_MS: i64 = 3_600_000;

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-21T21:41:23.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let t = t
        .replace_nanosecond((ms.rem_euclid(1000) as u32) * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Calendar year of a timestamp (used by order numbers).
pub fn year(ms: i64) -> i32 {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.year())
        .unwrap_or(1970)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_milliseconds_in_utc() {
        assert_eq!(
            super::rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(super::year(1_700_000_000_123), 2023);
    }
}

/// A client's date or timestamp: RFC 3339, or a calendar day `YYYY-MM-DD` (its midnight,
/// UTC). `None` when it is neither.
pub fn parse_instant_ms(s: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
}

/// A stored instant (integer milliseconds since the epoch) that answers as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Instant(pub i64);

impl serde::Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

impl schemars::JsonSchema for Instant {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Instant".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "RFC 3339, UTC, milliseconds", "example": "2026-11-21T21:41:23.000Z" })
    }
}
