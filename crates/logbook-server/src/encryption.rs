//! Field-level encryption at rest: chosen fields of an event are sealed with AES-256-GCM
//! before they are queued for storage, and opened again when a read-scoped key reads
//! them. A database dump shows only `enc:v1:<key id>:<hex>`.
//!
//! Each value carries the id of the key that sealed it, so keys can be rotated: the
//! first key of the ring seals, every key of the ring opens. The tenant, the event id
//! and the field's path are bound to the ciphertext (associated data), so a sealed value
//! moved to another field, event or tenant no longer opens.

use std::{collections::HashMap, fmt, str::FromStr};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use logbook_model::{Event, hex};
use serde_json::Value;

const PREFIX: &str = "enc:v1:";

/// The event field a path names: `message`, or a key path inside one of the JSON columns
/// (`metadata.patient.ssn`, `request_body_summary.email`, `request_params.q`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    column: Column,
    keys: Vec<String>,
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Message,
    RequestParams,
    RequestBodySummary,
    Metadata,
}

impl FromStr for FieldPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split('.');
        let column = match parts.next() {
            Some("message") => Column::Message,
            Some("request_params") => Column::RequestParams,
            Some("request_body_summary") => Column::RequestBodySummary,
            Some("metadata") => Column::Metadata,
            _ => {
                return Err(format!(
                    "{s:?}: a field to encrypt is message, or a path inside metadata, request_params or request_body_summary"
                ));
            }
        };
        let keys: Vec<String> = parts.map(str::to_owned).collect();
        if keys.iter().any(String::is_empty) || (column == Column::Message) != keys.is_empty() {
            return Err(format!("{s:?}: expected message or COLUMN.key[.key…]"));
        }
        Ok(Self {
            column,
            keys,
            text: s.to_owned(),
        })
    }
}

/// The keys: the first seals, all open.
pub struct Keyring {
    current: String,
    ciphers: HashMap<String, Aes256Gcm>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.ciphers.keys().collect();
        ids.sort();
        write!(
            f,
            "Keyring {{ current: {:?}, ids: {ids:?}, keys: [hidden] }}",
            self.current
        )
    }
}

impl FromStr for Keyring {
    type Err = String;
    /// `ID:HEX[,ID:HEX…]`: key ids of letters, digits, `-` and `_`; 64 hex digits each.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut current = None;
        let mut ciphers = HashMap::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or("each key is ID:64-HEX-DIGITS")?;
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "key id {id:?} may hold letters, digits, - and _ only"
                ));
            }
            let key = hex::decode_key(key)
                .ok_or_else(|| format!("key {id:?} is not 64 hex digits (32 bytes)"))?;
            let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| "bad key length")?;
            if ciphers.insert(id.to_owned(), cipher).is_some() {
                return Err(format!("key id {id:?} is given twice"));
            }
            current.get_or_insert_with(|| id.to_owned());
        }
        let current = current.ok_or("no encryption key given")?;
        Ok(Self { current, ciphers })
    }
}

/// What an error group's sealed message is bound to: a group's message cannot be moved
/// into an event's field, nor the other way round.
const GROUP_MESSAGE: &[u8] = b"logbook error group message";

/// Seals and opens the configured fields of events.
#[derive(Debug)]
pub struct FieldCipher {
    keyring: Keyring,
    fields: Vec<FieldPath>,
}

impl FieldCipher {
    pub fn new(keyring: Keyring, fields: Vec<FieldPath>) -> Self {
        Self { keyring, fields }
    }

    /// Seals every configured field present in the event.
    pub fn seal_event(&self, event: &mut Event) {
        for field in &self.fields {
            let aad = associated_data(event, field);
            match field.column {
                Column::Message => {
                    if let Some(message) = &mut event.message {
                        *message = self.seal(message.as_bytes(), &aad);
                    }
                }
                _ => {
                    if let Some(value) = json_at(event, field) {
                        let plain = serde_json::to_vec(value).expect("a JSON value serializes");
                        *value = Value::String(self.seal(&plain, &aad));
                    }
                }
            }
        }
    }

    /// Seals an item's events and, when messages are sealed, the messages its error
    /// occurrences carry into their groups (a group shows its newest occurrence's
    /// message): nothing sealed in an event is kept in the clear beside it.
    pub fn seal_item(&self, item: &mut logbook_store::WriteItem) {
        item.events.iter_mut().for_each(|e| self.seal_event(e));
        if self.seals_messages() {
            for occurrence in &mut item.errors {
                occurrence.message = self.seal(occurrence.message.as_bytes(), GROUP_MESSAGE);
            }
        }
    }

    /// Opens a group's message sealed by [`Self::seal_item`].
    pub fn open_group(&self, group: &mut logbook_model::error_groups::ErrorGroup) {
        if self.seals_messages()
            && let Some(plain) = self.open(&group.message, GROUP_MESSAGE, "message")
            && let Ok(text) = String::from_utf8(plain)
        {
            group.message = text;
        }
    }

    fn seals_messages(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(f.column, Column::Message))
    }

    /// Opens every sealed configured field; a value that does not open (unknown key id,
    /// altered bytes, moved elsewhere) is left sealed and logged.
    pub fn open_event(&self, event: &mut Event) {
        for field in &self.fields {
            let aad = associated_data(event, field);
            match field.column {
                Column::Message => {
                    if let Some(message) = &mut event.message
                        && let Some(plain) = self.open(message, &aad, &field.text)
                        && let Ok(text) = String::from_utf8(plain)
                    {
                        *message = text;
                    }
                }
                _ => {
                    if let Some(value) = json_at(event, field)
                        && let Value::String(sealed) = value
                        && let Some(plain) = self.open(sealed, &aad, &field.text)
                        && let Ok(opened) = serde_json::from_slice::<Value>(&plain)
                    {
                        *value = opened;
                    }
                }
            }
        }
    }

    fn seal(&self, plain: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let cipher = &self.keyring.ciphers[&self.keyring.current];
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plain, aad })
            .expect("AES-GCM seals any field-sized message");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}:{}", self.keyring.current, hex::encode(&bytes))
    }

    fn open(&self, text: &str, aad: &[u8], field: &str) -> Option<Vec<u8>> {
        let (id, body) = text.strip_prefix(PREFIX)?.split_once(':')?;
        let opened = self.keyring.ciphers.get(id).and_then(|cipher| {
            let bytes = hex::decode(body)?;
            let (nonce, sealed) = bytes.split_at_checked(12)?;
            let nonce: [u8; 12] = nonce.try_into().ok()?;
            cipher
                .decrypt(&nonce.into(), Payload { msg: sealed, aad })
                .ok()
        });
        if opened.is_none() {
            tracing::warn!(
                field,
                key_id = id,
                "an encrypted field does not open: unknown key or altered value"
            );
        }
        opened
    }
}

/// Tenant, event id and path: what a sealed value is bound to.
fn associated_data(event: &Event, field: &FieldPath) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + field.text.len());
    aad.extend_from_slice(event.tenant_id.0.as_bytes());
    aad.extend_from_slice(event.id.as_bytes());
    aad.extend_from_slice(field.text.as_bytes());
    aad
}

/// The value at a JSON path of the event, if present.
fn json_at<'e>(event: &'e mut Event, field: &FieldPath) -> Option<&'e mut Value> {
    let mut value = match field.column {
        Column::RequestParams => event.request_params.as_mut()?,
        Column::RequestBodySummary => event.request_body_summary.as_mut()?,
        Column::Metadata => event.metadata.as_mut()?,
        Column::Message => return None,
    };
    for key in &field.keys {
        value = value.as_object_mut()?.get_mut(key)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use logbook_model::{EventType, TenantId};
    use serde_json::json;

    use super::*;

    fn cipher(keys: &str) -> FieldCipher {
        let fields = [
            "message",
            "metadata.patient.ssn",
            "request_body_summary.email",
        ];
        FieldCipher::new(
            keys.parse().unwrap(),
            fields.iter().map(|f| f.parse().unwrap()).collect(),
        )
    }

    fn event() -> Event {
        let mut e = Event::new(
            TenantId::new(),
            EventType::parse("REQUEST").unwrap(),
            Utc::now(),
        );
        e.message = Some("diagnosis: flu".into());
        e.metadata = Some(json!({"patient": {"ssn": "123-45-6789", "age": 40}}));
        e.request_body_summary = Some(json!({"email": "a@b.c"}));
        e
    }

    #[test]
    fn sealed_fields_hide_their_text_and_open_again() {
        let c = cipher(&format!("k1:{}", "11".repeat(32)));
        let original = event();
        let mut sealed = original.clone();
        c.seal_event(&mut sealed);
        let text = serde_json::to_string(&sealed).unwrap();
        for secret in ["flu", "123-45-6789", "a@b.c"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(sealed.message.as_deref().unwrap().starts_with("enc:v1:k1:"));
        assert_eq!(
            sealed.metadata.as_ref().unwrap()["patient"]["age"],
            40,
            "other keys stay readable"
        );
        let mut opened = sealed.clone();
        c.open_event(&mut opened);
        assert_eq!(opened, original);
    }

    #[test]
    fn rotation_and_tampering() {
        let old = cipher(&format!("k1:{}", "11".repeat(32)));
        let rotated = cipher(&format!("k2:{},k1:{}", "22".repeat(32), "11".repeat(32)));
        let mut e = event();
        old.seal_event(&mut e);
        let mut opened = e.clone();
        rotated.open_event(&mut opened);
        assert_eq!(
            opened.message.as_deref(),
            Some("diagnosis: flu"),
            "old values open after rotation"
        );

        // Moved to another event, a sealed value no longer opens.
        let mut other = event();
        other.message = e.message.clone();
        rotated.open_event(&mut other);
        assert!(other.message.as_deref().unwrap().starts_with("enc:v1:"));
        // Without its key, neither.
        let stranger = cipher(&format!("k1:{}", "33".repeat(32)));
        let mut kept = e.clone();
        stranger.open_event(&mut kept);
        assert_eq!(kept.message, e.message);
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!("metadata".parse::<FieldPath>().is_err());
        assert!("message.x".parse::<FieldPath>().is_err());
        assert!("user_id".parse::<FieldPath>().is_err());
        assert!("k1:abc".parse::<Keyring>().is_err());
        assert!(
            format!("k1:{0},k1:{0}", "11".repeat(32))
                .parse::<Keyring>()
                .is_err()
        );
        let ring: Keyring = format!("k1:{}", "11".repeat(32)).parse().unwrap();
        assert!(!format!("{ring:?}").contains("1111"));
    }
}
