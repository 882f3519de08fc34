//! One spelling for every instant Logbook hashes or signs: RFC 3339 in UTC with exactly
//! six fractional digits and `Z` (`2026-12-04T02:46:50.927000Z`). The same text is
//! hashed, stored, answered and exported, so a verifier that only reads and hashes the
//! export (RFC 8785 over the fields as written) agrees with Logbook byte for byte.

use chrono::{DateTime, SecondsFormat, Utc};

/// The canonical text of `at` (which both stores keep to the microsecond).
pub fn canonical(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Both stores keep microseconds, so every instant is cut to them on the way in.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// `#[serde(with = "timestamp::micros")]`: writes the canonical text; reads any RFC 3339.
pub mod micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::canonical(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_milliseconds_and_microseconds_keep_six_digits() {
        for (text, canonical_text) in [
            ("2026-12-04T02:05:04Z", "2026-12-04T02:05:04.000000Z"),
            ("2026-12-04T02:46:50.927Z", "2026-12-04T02:46:50.927000Z"),
            ("2026-12-04T02:46:50.922274Z", "2026-12-04T02:46:50.922274Z"),
            (
                "2026-12-04T03:46:50.9222749+01:00",
                "2026-12-04T02:46:50.922274Z",
            ),
        ] {
            let at: DateTime<Utc> = text.parse().unwrap();
            assert_eq!(canonical(&truncate_to_micros(at)), canonical_text);
        }
    }
}
