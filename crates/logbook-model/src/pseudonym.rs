//! Anonymization of old events (seed 001, 6.3): who-data removed, user ids replaced by a
//! keyed pseudonym. The same user always gets the same pseudonym, so counts of unique
//! users still hold; without the key, a pseudonym cannot be turned back into the id or
//! tested against a guess.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Every pseudonym is this prefix and 32 lower-case hex digits.
pub const PREFIX: &str = "anon_";

/// Whether `user_id` is a pseudonym already: its exact form, not merely its prefix, so
/// `anon_jane.doe@example.com` is still a person's id.
pub fn is_pseudonym(user_id: &str) -> bool {
    user_id.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == 32 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// HMAC-SHA-256 under a secret key, kept out of Debug output.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: [u8; 32],
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: [hidden] }")
    }
}

impl Pseudonymizer {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// `anon_` and 32 hex digits (128 bits of the MAC).
    pub fn pseudonym(&self, user_id: &str) -> String {
        if is_pseudonym(user_id) {
            return user_id.to_owned();
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(user_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("{PREFIX}{}", crate::hex::encode(&digest[..16]))
    }
}

/// Anonymize events of a type once they are this many days old (`EVENT_TYPE=DAYS`).
pub type AnonymizeRule = crate::retention::TypeDays;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_distinct_and_keyed() {
        let p = Pseudonymizer::new([1; 32]);
        let a = p.pseudonym("alice@example.com");
        assert_eq!(a, p.pseudonym("alice@example.com"));
        assert_ne!(a, p.pseudonym("bob@example.com"));
        assert_ne!(
            a,
            Pseudonymizer::new([2; 32]).pseudonym("alice@example.com")
        );
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 32, "{a}");
        assert_eq!(p.pseudonym(&a), a, "a pseudonym is not pseudonymized again");
        let lookalike = "anon_jane.doe@example.com";
        assert!(is_pseudonym(&p.pseudonym(lookalike)) && p.pseudonym(lookalike) != lookalike);
        assert_ne!(p.pseudonym(&a.to_uppercase()), a.to_uppercase());
        assert!(!format!("{p:?}").contains('1'));
    }

    #[test]
    fn rules_parse() {
        let rule: AnonymizeRule = "ACTIVITY=30".parse().unwrap();
        assert_eq!((rule.event_type.as_str(), rule.days), ("ACTIVITY", 30));
        assert!("ACTIVITY".parse::<AnonymizeRule>().is_err());
        assert!("activity=30".parse::<AnonymizeRule>().is_err());
        assert!("ACTIVITY=0".parse::<AnonymizeRule>().is_err());
    }
}
