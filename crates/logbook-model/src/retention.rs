//! How long stored rows are kept. Defaults come from the seeds: events 90 days, access
//! records and the audit trail 7 years; any event type may be kept shorter or longer.

use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::EventType;

/// A number of days for one event type, written `EVENT_TYPE=DAYS` (e.g. `REQUEST=30`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeDays {
    pub event_type: EventType,
    pub days: u32,
}

impl FromStr for TypeDays {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (event_type, days) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} should be EVENT_TYPE=DAYS, e.g. REQUEST=30"))?;
        let event_type = EventType::parse(event_type.trim())?;
        let days = days
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                format!("{days:?} is not a whole number of days from 1 to {MAX_DAYS}")
            })?;
        Ok(Self { event_type, days })
    }
}

/// Seeds 000 and 002: the audit trail and access records are kept seven years.
pub const AUDIT_DAYS: u32 = 2_555;

/// A hundred years: longer is a typo, and it keeps every date arithmetic in range.
pub const MAX_DAYS: u32 = 36_500;

/// How long events are kept: a number of days, and other numbers for some types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRetention {
    pub days: u32,
    pub by_type: Vec<TypeDays>,
}

impl Default for EventRetention {
    fn default() -> Self {
        Self {
            days: Self::DEFAULT_DAYS,
            by_type: Vec::new(),
        }
    }
}

impl EventRetention {
    /// Seed 000: events are kept 90 days.
    pub const DEFAULT_DAYS: u32 = 90;

    /// How many days events of `event_type` are kept.
    pub fn days_for(&self, event_type: &EventType) -> u32 {
        self.by_type
            .iter()
            .find(|rule| &rule.event_type == event_type)
            .map_or(self.days, |rule| rule.days)
    }

    /// The first day whose events of `event_type` are still kept at `now`: every whole
    /// day before it is past its time. Days are UTC days, as partitions and archives are.
    pub fn first_kept_day(&self, event_type: &EventType, now: DateTime<Utc>) -> NaiveDate {
        first_kept_day(self.days_for(event_type), now)
    }

    /// The first day every type keeps: no event from it on is past its time.
    pub fn first_day_every_type_keeps(&self, now: DateTime<Utc>) -> NaiveDate {
        let shortest = self
            .by_type
            .iter()
            .map(|rule| rule.days)
            .chain([self.days])
            .min()
            .unwrap_or(self.days);
        first_kept_day(shortest, now)
    }

    /// The first day some type still keeps: no event before it is kept at all.
    pub fn first_day_any_type_keeps(&self, now: DateTime<Utc>) -> NaiveDate {
        let longest = self
            .by_type
            .iter()
            .map(|rule| rule.days)
            .chain([self.days])
            .max()
            .unwrap_or(self.days);
        first_kept_day(longest, now)
    }
}

/// A tenant's own periods, set through the API: each replaces the server's default for
/// what it names, and the server's defaults hold for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionRules {
    /// Days for event types with no period of their own.
    pub days: Option<u32>,
    pub by_type: Vec<TypeDays>,
    /// Days the audit trail is kept, counted from when each event was received.
    pub audit_days: Option<u32>,
    /// Days access records are kept.
    pub access_days: Option<u32>,
}

impl RetentionRules {
    /// The tenant's retention: `defaults` with these rules over them.
    pub fn over(&self, defaults: &EventRetention) -> EventRetention {
        let mut by_type = self.by_type.clone();
        by_type.extend(
            defaults
                .by_type
                .iter()
                .filter(|d| !self.by_type.iter().any(|r| r.event_type == d.event_type))
                .cloned(),
        );
        EventRetention {
            days: self.days.unwrap_or(defaults.days),
            by_type,
        }
    }
}

/// A row of day `d` is kept while `d` is within `days` days of today; the day `days`
/// days ago is the last kept.
pub fn first_kept_day(days: u32, now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    today
        .checked_sub_days(Days::new(u64::from(days.min(MAX_DAYS))))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_type_equals_days() {
        let rule: TypeDays = "REQUEST=30".parse().unwrap();
        assert_eq!((rule.event_type.as_str(), rule.days), ("REQUEST", 30));
        for bad in [
            "REQUEST",
            "request=30",
            "REQUEST=0",
            "REQUEST=x",
            "REQUEST=36501",
        ] {
            assert!(bad.parse::<TypeDays>().is_err(), "{bad}");
        }
        assert!("REQUEST=36500".parse::<TypeDays>().is_ok());
    }

    #[test]
    fn a_tenants_rules_replace_only_what_they_name() {
        let defaults = EventRetention {
            days: 90,
            by_type: vec!["REQUEST=30".parse().unwrap(), "AUDIT=400".parse().unwrap()],
        };
        let rules = RetentionRules {
            by_type: vec!["REQUEST=7".parse().unwrap(), "ERROR=365".parse().unwrap()],
            ..Default::default()
        };
        let merged = rules.over(&defaults);
        assert_eq!(merged.days, 90);
        let days = |t: &str| merged.days_for(&EventType::parse(t).unwrap());
        assert_eq!(
            (days("REQUEST"), days("ERROR"), days("AUDIT"), days("LOG")),
            (7, 365, 400, 90)
        );
        let longer = RetentionRules {
            days: Some(180),
            ..Default::default()
        };
        assert_eq!(longer.over(&defaults).days, 180);
        assert_eq!(RetentionRules::default().over(&defaults), defaults);
    }

    #[test]
    fn each_type_keeps_its_own_days() {
        let retention = EventRetention {
            days: 90,
            by_type: vec!["REQUEST=30".parse().unwrap(), "AUDIT=400".parse().unwrap()],
        };
        let now: DateTime<Utc> = "2026-12-04T10:00:00Z".parse().unwrap();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let request = EventType::parse("REQUEST").unwrap();
        let login = EventType::parse("AUTH_LOGIN").unwrap();
        assert_eq!(retention.first_kept_day(&request, now), day("2026-11-04"));
        assert_eq!(retention.first_kept_day(&login, now), day("2026-09-05"));
        assert_eq!(retention.first_day_any_type_keeps(now), day("2025-10-30"));
        assert_eq!(retention.first_day_every_type_keeps(now), day("2026-11-04"));
    }
}
