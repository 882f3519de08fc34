//! Splits an ingest body into one JSON text per event: a JSON array, a single object,
//! or NDJSON (one object per line).

use serde_json::value::RawValue;
use thiserror::Error;

use crate::Limits;

/// Why a body as a whole could not be read; no event in it is stored.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("the body is empty: send a JSON object, a JSON array of objects, or NDJSON")]
    Empty,
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body holds {0} events; at most {max} are accepted per request", max = Limits::EVENTS_PER_REQUEST)]
    TooManyEvents(usize),
}

/// How the client framed its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `application/json`: an array or one object (several lines of objects are read as NDJSON).
    Json,
    /// `application/x-ndjson`: one object per line, blank lines ignored.
    Ndjson,
}

/// The JSON text of each event, in order. Each is parsed on its own, so one bad line
/// of NDJSON rejects only that event.
pub fn split(body: &[u8], framing: Framing) -> Result<Vec<&str>, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    let trimmed = text.trim_start();
    if trimmed.trim_end().is_empty() {
        return Err(BodyError::Empty);
    }
    let events = if framing == Framing::Ndjson {
        lines(text)
    } else if trimmed.starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| BodyError::InvalidJson(e.to_string()))?;
        items.into_iter().map(RawValue::get).collect()
    } else {
        match serde_json::from_str::<&RawValue>(text) {
            Ok(single) => vec![single.get()],
            Err(e) if e.is_syntax() && e.to_string().starts_with("trailing characters") => {
                lines(text)
            }
            Err(e) => return Err(BodyError::InvalidJson(e.to_string())),
        }
    };
    if events.len() > Limits::EVENTS_PER_REQUEST {
        return Err(BodyError::TooManyEvents(events.len()));
    }
    Ok(events)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_framing() {
        assert_eq!(
            split(br#"{"a":1}"#, Framing::Json).unwrap(),
            vec![r#"{"a":1}"#]
        );
        assert_eq!(
            split(br#" [{"a":1}, {"b":2}] "#, Framing::Json).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(
            split(b"{\"a\":1}\n\n{\"b\":2}\n", Framing::Ndjson).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(
            split(b"{\"a\":1}\n{\"b\":2}", Framing::Json).unwrap().len(),
            2
        );
        // A broken NDJSON line is one bad event, not a bad body.
        assert_eq!(
            split(b"{\"a\":1}\n{oops\n", Framing::Ndjson).unwrap(),
            vec![r#"{"a":1}"#, "{oops"]
        );
    }

    #[test]
    fn rejects_unreadable_bodies() {
        assert_eq!(split(b"  ", Framing::Json), Err(BodyError::Empty));
        assert_eq!(
            split(b"[{\"a\":\xff}]", Framing::Json),
            Err(BodyError::NotUtf8)
        );
        assert!(matches!(
            split(b"[{", Framing::Json),
            Err(BodyError::InvalidJson(_))
        ));
        let many = format!("[{}]", vec!["{}"; Limits::EVENTS_PER_REQUEST + 1].join(","));
        assert_eq!(
            split(many.as_bytes(), Framing::Json),
            Err(BodyError::TooManyEvents(10_001))
        );
    }
}
