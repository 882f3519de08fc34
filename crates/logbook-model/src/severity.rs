//! Severity levels (seed 001 severity_level, seed 002 log levels).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Fatal,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Fatal,
        Self::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Fatal => "fatal",
            Self::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    /// Case-insensitive; `warn` is accepted for `warning` because most loggers spell it so.
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        if lower == "warn" {
            return Ok(Self::Warning);
        }
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == lower)
            .ok_or_else(|| {
                format!("must be one of debug, info, warning, error, fatal, critical; got {s:?}")
            })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
