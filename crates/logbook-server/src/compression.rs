//! Compressed request bodies (`Content-Encoding: gzip`), as OpenTelemetry Collectors and
//! Logbook's client send them. Every gzip member is read (`cat a.gz b.gz` is one valid
//! body, as shippers send after a flush), and the decompressed size is held to the body
//! limit, so a small compressed body cannot expand without bound.

use std::io::Read;

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use logbook_model::Limits;

use crate::ApiError;

pub enum Encoding {
    Identity,
    Gzip,
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
        other => Err(ApiError::BadRequest(format!(
            "Content-Encoding {other:?} is not supported: send gzip or none"
        ))),
    }
}

/// Every member of a gzip body, at most the body limit in all.
pub fn gunzip(body: &[u8]) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity((body.len() * 4).min(Limits::BODY_BYTES));
    let limit = Limits::BODY_BYTES as u64 + 1;
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("the gzip body does not decompress: {e}")))?;
    if out.len() as u64 >= limit {
        return Err(ApiError::TooLarge(format!(
            "the body decompresses to more than the {} byte limit",
            Limits::BODY_BYTES
        )));
    }
    Ok(Bytes::from(out))
}
