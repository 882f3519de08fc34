//! Query-string parameters, parsed into typed values with errors that name the parameter.
//! A parameter the route does not know is an error too: a typo should not silently
//! widen a query. What was asked is kept for the access record, each value bounded.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use logbook_model::filter::{DEFAULT_PAGE, MAX_PAGE};
use serde_json::{Map, Value};

use crate::ApiError;

/// The deepest `skip`: offsets cost a scan of everything skipped.
const MAX_SKIP: i64 = 1_000_000;

/// The longest parameter value kept in an access record.
pub const RECORDED_VALUE: usize = 256;

pub struct Params {
    pairs: Vec<(String, String)>,
    taken: Vec<bool>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        for (i, (name, value)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(ApiError::parameter(name, "is given more than once"));
            }
            if value.contains('\0') || name.contains('\0') {
                return Err(ApiError::parameter(
                    &name.replace('\0', "\\0"),
                    "contains a NUL character",
                ));
            }
        }
        let taken = vec![false; pairs.len()];
        Ok(Self { pairs, taken })
    }

    /// The raw value; an empty value counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(n, _)| n == name)?;
        self.taken[index] = true;
        Some(self.pairs[index].1.clone()).filter(|v| !v.is_empty())
    }

    /// The value parsed with `FromStr`, whose error message becomes the detail.
    pub fn parse<T>(&mut self, name: &str) -> Result<Option<T>, ApiError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.text(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::parameter(name, e.to_string()))
            })
            .transpose()
    }

    /// An integer in `min..=max`, or `default` when absent.
    pub fn int(&mut self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, ApiError> {
        Ok(self.int_opt(name, min, max)?.unwrap_or(default))
    }

    /// `skip`: how many matches to pass over, at most a million (deeper pages use cursors).
    pub fn skip(&mut self) -> Result<u64, ApiError> {
        Ok(self.int("skip", 0, 0, MAX_SKIP)? as u64)
    }

    /// `limit`: a page of 1 to 1000 items, 100 when absent.
    pub fn page_limit(&mut self) -> Result<u32, ApiError> {
        Ok(self.int("limit", DEFAULT_PAGE.into(), 1, MAX_PAGE.into())? as u32)
    }

    /// An integer in `min..=max`, if given.
    pub fn int_opt(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::parameter(
                name,
                format!("must be an integer from {min} to {max}, got {text:?}"),
            )),
        }
    }

    pub fn time(&mut self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.text(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::parameter(
                            name,
                            format!(
                                "must be an RFC 3339 time such as 2026-01-27T10:00:00Z, got {v:?}"
                            ),
                        )
                    })
            })
            .transpose()
    }

    pub fn bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        self.text(name)
            .map(|v| match v.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::parameter(
                    name,
                    format!("must be true or false, got {v:?}"),
                )),
            })
            .transpose()
    }

    /// Fails on the first parameter no one asked for; otherwise returns what was
    /// asked, for the access record: each value cut to [`RECORDED_VALUE`] characters.
    pub fn finish(self) -> Result<Option<Value>, ApiError> {
        if let Some(((name, _), _)) = self
            .pairs
            .iter()
            .zip(&self.taken)
            .find(|(_, taken)| !**taken)
        {
            return Err(ApiError::parameter(
                &name.chars().take(RECORDED_VALUE).collect::<String>(),
                "is not a parameter of this route",
            ));
        }
        let asked: Map<String, Value> = self
            .pairs
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| {
                (
                    name,
                    Value::String(value.chars().take(RECORDED_VALUE).collect()),
                )
            })
            .collect();
        Ok((!asked.is_empty()).then_some(Value::Object(asked)))
    }

    /// For routes that take no parameters: any parameter is refused.
    pub fn none(pairs: Vec<(String, String)>) -> Result<Option<Value>, ApiError> {
        Self::new(pairs)?.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn booleans_are_spelled_as_words_or_digits() {
        for (value, expected) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            let got = params(&[("success", value)]).bool("success").unwrap();
            assert_eq!(got, Some(expected), "success={value}");
        }
        assert_eq!(params(&[("success", "")]).bool("success").unwrap(), None);
        assert!(params(&[("success", "yes")]).bool("success").is_err());
    }
}
