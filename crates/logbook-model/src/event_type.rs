//! The `event_type` of an event: 1–64 characters of `A-Z 0-9 _`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated event type such as `REQUEST` or `AUTH_FAILURE`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

/// Seed 000's LOG_EVENT_TYPE values plus the types Logbook itself gives meaning to.
pub const KNOWN: &[&str] = &[
    "AUTH_FAILURE",
    "AUTH_LOGIN",
    "AUTH_LOGOUT",
    "AUTH_SIGNUP",
    "DEVICE_REJECTED",
    "DEVICE_VERIFIED",
    "OTP_SENT",
    "OTP_VERIFIED",
    "RATE_LIMIT",
    "REQUEST",
    "SECURITY_ALERT",
    "ACTION",
    "ACTIVITY",
    "ERROR",
];

/// The two types whose unsuccessful events count as failed authentication (seed 000).
pub const FAILED_AUTH_TYPES: [&str; 2] = ["AUTH_LOGIN", "AUTH_FAILURE"];

pub const MAX_LEN: usize = 64;

impl EventType {
    pub const REQUEST: &'static str = "REQUEST";
    pub const AUTH_LOGIN: &'static str = "AUTH_LOGIN";
    pub const AUTH_FAILURE: &'static str = "AUTH_FAILURE";
    pub const RATE_LIMIT: &'static str = "RATE_LIMIT";

    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() || value.len() > MAX_LEN {
            return Err(format!(
                "must be 1–{MAX_LEN} characters, got {}",
                value.len()
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(format!("may hold only A-Z, 0-9 and _, found {bad:?}"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventType {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<EventType> for String {
    fn from(value: EventType) -> Self {
        value.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_and_custom_types() {
        for t in KNOWN {
            assert!(EventType::parse(t).is_ok(), "{t}");
        }
        assert!(EventType::parse("PAYMENT_2FA").is_ok());
        assert!(EventType::parse(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_bad_types_with_a_reason() {
        assert!(EventType::parse("").unwrap_err().contains("1–64"));
        assert!(
            EventType::parse(&"A".repeat(65))
                .unwrap_err()
                .contains("1–64")
        );
        assert!(EventType::parse("request").unwrap_err().contains("'r'"));
        assert!(EventType::parse("AUTH-LOGIN").unwrap_err().contains("'-'"));
    }
}
