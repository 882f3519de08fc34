//! Making API keys. A key is `lbk_` and 64 hex digits (32 random bytes): the prefix lets
//! secret scanners recognise a leaked one. Only its SHA-256 is stored — a fast hash is
//! enough for 256 random bits, which no one can guess or brute-force.

use logbook_model::{Scopes, TenantId};
use logbook_store::{ApiKey, NewApiKey, Store};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "lbk_";
/// Characters of the key kept in clear to tell keys apart in listings.
const SHOWN: usize = PREFIX.len() + 8;

/// A key as shown once at creation, with what was stored for it.
pub struct CreatedKey {
    pub secret: String,
    pub key: ApiKey,
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 bytes from the operating system's random source.
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

pub fn generate() -> String {
    format!("{PREFIX}{}", logbook_model::hex::encode(&random_bytes()))
}

/// Creates and stores a new key for `tenant`.
pub async fn create(
    store: &dyn Store,
    tenant: TenantId,
    name: &str,
    scopes: Scopes,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> logbook_store::Result<CreatedKey> {
    let secret = generate();
    let key = store
        .create_api_key(NewApiKey {
            tenant_id: tenant,
            name: name.to_owned(),
            prefix: secret[..SHOWN].to_owned(),
            hash: hash(&secret),
            scopes,
            expires_at,
        })
        .await?;
    Ok(CreatedKey { secret, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == 68, "{a}");
        assert_ne!(hash(&a), hash(&b));
        // Stored only as SHA-256: a known vector (sha256sum of the text), so a key hashed
        // any other way (or not at all) fails here.
        let known = format!("{PREFIX}{}", "00".repeat(32));
        assert_eq!(
            logbook_model::hex::encode(&hash(&known)),
            "860373928fd924c76f09797e6c64280c960eede9c57ad1478433c7bf875b2340"
        );
    }
}
