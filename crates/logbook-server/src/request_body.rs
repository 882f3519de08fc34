//! Request bodies, read so that no client can make the server hold more than it sent:
//! each body is copied into one growing buffer (a body trickled a byte per packet would
//! otherwise keep a read buffer alive per byte), within the body limit, within a budget
//! of body bytes held by all requests at once, and at a minimum rate. Compressed bodies
//! are undone here too, their decompressed bytes counted against the same budget.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{FromRequest, Request},
    http::{HeaderMap, header},
};
use bytes::Bytes;
use http_body_util::BodyExt;
use logbook_model::Limits;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use crate::{ApiError, AppState, compression};

/// How bodies may arrive.
#[derive(Clone, Debug)]
pub struct BodyLimits {
    /// Body bytes held by all requests at once (compressed and decompressed); a body that
    /// would go past it is answered 503 with `Retry-After`.
    pub in_flight_bytes: usize,
    /// A body must arrive at least this fast, measured over each `rate_window`…
    pub min_bytes_per_second: u64,
    /// …or it is answered 408.
    pub rate_window: Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            in_flight_bytes: 256 * 1024 * 1024,
            min_bytes_per_second: 1024,
            rate_window: Duration::from_secs(10),
        }
    }
}

/// The bytes held by request bodies, shared by every request of the server.
pub struct BodyBudget {
    limits: BodyLimits,
    bytes: Arc<Semaphore>,
}

impl BodyBudget {
    pub fn new(limits: BodyLimits) -> Self {
        let permits = limits.in_flight_bytes.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(permits)),
            limits,
        }
    }

    /// Reserves `n` more bytes, or says the server is busy.
    fn reserve(&self, held: &mut Option<OwnedSemaphorePermit>, n: usize) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        let more = u32::try_from(n)
            .ok()
            .and_then(|n| self.bytes.clone().try_acquire_many_owned(n).ok())
            .ok_or(ApiError::Busy(1))?;
        match held {
            Some(permit) => permit.merge(more),
            None => *held = Some(more),
        }
        Ok(())
    }
}

/// A request's body, decompressed, with its share of the budget held until dropped.
pub struct RequestBody {
    pub bytes: Bytes,
    pub headers: HeaderMap,
    _reserved: Option<OwnedSemaphorePermit>,
}

impl FromRequest<AppState> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let budget = &state.bodies;
        let mut reserved = None;
        let raw = read(body, &parts.headers, budget, &mut reserved).await?;
        let bytes = match compression::encoding(&parts.headers)? {
            compression::Encoding::Identity => raw,
            encoding @ (compression::Encoding::Gzip | compression::Encoding::Brotli) => {
                let decoded = match encoding {
                    compression::Encoding::Gzip => compression::gunzip(&raw)?,
                    _ => compression::unbrotli(&raw)?,
                };
                budget.reserve(&mut reserved, decoded.len())?;
                drop(raw);
                decoded
            }
        };
        Ok(Self {
            bytes,
            headers: parts.headers,
            _reserved: reserved,
        })
    }
}

impl RequestBody {
    /// The body as JSON of type `T`, or a 400 that says what is wrong with it.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.bytes)
            .map_err(|e| ApiError::BadRequest(format!("the body is not the JSON expected: {e}")))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn too_large() -> ApiError {
    ApiError::TooLarge(format!(
        "the body is over the {} byte limit",
        Limits::BODY_BYTES
    ))
}

async fn read(
    body: axum::body::Body,
    headers: &HeaderMap,
    budget: &BodyBudget,
    reserved: &mut Option<OwnedSemaphorePermit>,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > Limits::BODY_BYTES as u64) {
        return Err(too_large());
    }
    // A declared length is reserved at once, so a body that cannot be held is refused
    // before any of it is read.
    let declared = declared.map_or(0, |n| n as usize);
    budget.reserve(reserved, declared)?;
    // The declared length is already reserved in the budget: one allocation holds it.
    let mut buffer: Vec<u8> = Vec::with_capacity(declared);
    let mut body = body;
    let limits = &budget.limits;
    let mut window_start = Instant::now();
    let mut window_bytes: u64 = 0;
    let window_minimum = limits.min_bytes_per_second * limits.rate_window.as_secs().max(1);
    loop {
        let deadline = window_start + limits.rate_window;
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(None) => break,
            Ok(Some(frame)) => {
                let frame = frame.map_err(|e| {
                    ApiError::BadRequest(format!("the body could not be read: {e}"))
                })?;
                if let Ok(chunk) = frame.into_data() {
                    if buffer.len() + chunk.len() > Limits::BODY_BYTES {
                        return Err(too_large());
                    }
                    let held = declared.max(buffer.len());
                    budget.reserve(reserved, (buffer.len() + chunk.len()).saturating_sub(held))?;
                    // Copied, so the read buffer the chunk points into is freed at once.
                    buffer.extend_from_slice(&chunk);
                    window_bytes += chunk.len() as u64;
                }
            }
            // The window is over with no new bytes: judged below.
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            if window_bytes < window_minimum {
                return Err(ApiError::SlowBody(limits.min_bytes_per_second));
            }
            (window_start, window_bytes) = (deadline, 0);
        }
    }
    Ok(Bytes::from(buffer))
}
