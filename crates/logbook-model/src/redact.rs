//! Redaction of secrets before anything is stored.
//!
//! An object key is sensitive when, lower-cased with `_` and `-` removed, it contains one
//! of the patterns (so `newPassword`, `X-Api-Key` and `refresh_token` all match). Its value,
//! whatever it is, becomes `"[REDACTED]"`, at any depth, inside arrays too.

use serde_json::Value;

pub const REDACTED: &str = "[REDACTED]";

pub const DEFAULT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "api_key",
    "ssn",
    "card_number",
];

#[derive(Clone, Debug)]
pub struct Redactor {
    patterns: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(DEFAULT_KEYS.iter().copied())
    }
}

impl Redactor {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let patterns = keys
            .into_iter()
            .map(normalize)
            .filter(|p| !p.is_empty())
            .collect();
        Self { patterns }
    }

    pub fn is_sensitive(&self, key: &str) -> bool {
        // Keys are short and checked for every object key of every event: normalize into
        // a stack buffer when it fits, to spare an allocation each.
        let mut buffer = [0u8; 64];
        let mut len = 0;
        for b in key.bytes().filter(|b| *b != b'_' && *b != b'-') {
            if len == buffer.len() || !b.is_ascii() {
                let key = normalize(key);
                return self.patterns.iter().any(|p| key.contains(p.as_str()));
            }
            buffer[len] = b.to_ascii_lowercase();
            len += 1;
        }
        let key = &buffer[..len];
        self.patterns
            .iter()
            .any(|p| key.windows(p.len()).any(|w| w == p.as_bytes()))
    }

    /// Replaces every sensitive value inside `value`, in place.
    pub fn redact(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if self.is_sensitive(key) {
                        *inner = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact(inner);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact(item)),
            _ => {}
        }
    }
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_at_any_depth_and_case() {
        let mut value = json!({
            "email": "a@b.c",
            "Password": "hunter2",
            "nested": {"refreshToken": "x", "list": [{"X-Api-Key": "k", "keep": 1}]},
            "card_number": 4111111111111111u64,
            "session": "kept: no pattern matches",
        });
        Redactor::default().redact(&mut value);
        assert_eq!(
            value,
            json!({
                "email": "a@b.c",
                "Password": REDACTED,
                "nested": {"refreshToken": REDACTED, "list": [{"X-Api-Key": REDACTED, "keep": 1}]},
                "card_number": REDACTED,
                "session": "kept: no pattern matches",
            })
        );
    }

    #[test]
    fn long_and_non_ascii_keys_are_judged_like_short_ones() {
        let redactor = Redactor::default();
        let long = format!("{}Password", "x".repeat(100));
        assert!(redactor.is_sensitive(&long), "past the 64-byte fast path");
        assert!(!redactor.is_sensitive(&"x".repeat(100)));
        // The Kelvin sign lower-cases to an ASCII k: "TOKEN" spelled with it is a token.
        assert!(redactor.is_sensitive("TO\u{212A}EN"));
        assert!(redactor.is_sensitive("Contraseña_Password"));
        assert!(!redactor.is_sensitive("Contraseña"));
    }

    #[test]
    fn custom_list_replaces_the_default() {
        let russian = Redactor::new(["пароль"]);
        assert!(russian.is_sensitive("ПАРОЛЬ") && russian.is_sensitive("новый_пароль"));
        let redactor = Redactor::new(["pin"]);
        assert!(redactor.is_sensitive("PIN"));
        assert!(!redactor.is_sensitive("password"));
    }
}
