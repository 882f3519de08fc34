//! Compressed request bodies: `Content-Encoding: gzip`, as OpenTelemetry Collectors and
//! Logbook's client send them, and `br`, as Sentry's Python SDK sends envelopes whenever
//! brotli is installed. Every gzip member is read (`cat a.gz b.gz` is one valid body, as
//! shippers send after a flush), and the decompressed size is held to the body limit
//! either way, so a small compressed body cannot expand without bound.

use std::io::Read;

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use logbook_model::Limits;

use crate::ApiError;

pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// The body's `Content-Encoding`, if Logbook can undo it.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        "br" => Ok(Encoding::Brotli),
        other => Err(ApiError::BadRequest(format!(
            "Content-Encoding {other:?} is not supported: send gzip, br or none"
        ))),
    }
}

/// Every member of a gzip body, at most the body limit in all.
pub fn gunzip(body: &[u8]) -> Result<Bytes, ApiError> {
    bounded(flate2::read::MultiGzDecoder::new(body), body.len(), "gzip")
}

/// A brotli body, at most the body limit.
pub fn unbrotli(body: &[u8]) -> Result<Bytes, ApiError> {
    bounded(
        brotli_decompressor::Decompressor::new(body, 4096),
        body.len(),
        "brotli",
    )
}

/// What `decoder` yields, refused past the body limit without reading further.
fn bounded(decoder: impl Read, compressed: usize, name: &str) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity((compressed * 4).min(Limits::BODY_BYTES));
    let limit = Limits::BODY_BYTES as u64 + 1;
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("the {name} body does not decompress: {e}")))?;
    if out.len() as u64 >= limit {
        return Err(ApiError::TooLarge(format!(
            "the body decompresses to more than the {} byte limit",
            Limits::BODY_BYTES
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod brotli_tests {
    use super::*;

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_brotli_body_is_read() {
        // `{"ok":true}`, compressed by Python's brotli module.
        let body = unbrotli(&bytes("0b05807b226f6b223a747275657d03")).unwrap();
        assert_eq!(&body[..], br#"{"ok":true}"#);
    }

    #[test]
    fn a_brotli_bomb_stops_at_the_body_limit() {
        // 40 bytes that expand to 20 MiB of "a": refused once past the 10 MiB limit.
        let bomb = bytes(
            "cbffff3ff825c2e2b14020f7fe8fffff7ff04b00c4611180eefd5ffeffffe0970088c30200ddfb1f",
        );
        assert!(matches!(unbrotli(&bomb), Err(ApiError::TooLarge(_))));
        assert!(matches!(
            unbrotli(b"not brotli at all"),
            Err(ApiError::BadRequest(_))
        ));
    }

    /// Random and mangled brotli bodies never panic, and what decodes stays in bounds.
    #[test]
    fn hostile_brotli_bodies_are_refused_or_bounded() {
        let valid = bytes("0b05807b226f6b223a747275657d03");
        let mut state = 0x5eed_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for case in 0..20_000 {
            let body: Vec<u8> = if case % 2 == 0 {
                (0..next() % 200).map(|_| next() as u8).collect()
            } else {
                let mut b = valid.clone();
                let at = next() % b.len();
                b[at] ^= 1 << (next() % 8);
                b.truncate(next() % (b.len() + 1));
                b
            };
            if let Ok(decoded) = unbrotli(&body) {
                assert!(decoded.len() <= Limits::BODY_BYTES);
            }
        }
    }
}
