//! The one HTTP error type. Every error leaves as RFC 9457 `application/problem+json`
//! with a detail that says what to fix; storage internals are logged, never returned.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use logbook_store::StoreError;
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request as a whole is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 400: one query or path parameter is wrong.
    #[error("parameter {name}: {detail}")]
    BadParameter { name: String, detail: String },
    /// 400: no event of an ingest request could be accepted; `rejected` says why, per index.
    #[error("no event was accepted")]
    NothingAccepted { rejected: Value },
    /// 401: no key, or a key that is unknown, revoked or expired.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: the key lacks what the route needs.
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 408: the request took longer than the request timeout (a slow client, usually).
    #[error("the request took longer than {0} s")]
    Timeout(u64),
    /// 405: the route exists but not with this method (events are never changed or deleted).
    #[error("{0} is not allowed on this route")]
    MethodNotAllowed(String),
    /// 409: a name or key already exists.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body or the number of events is over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 429: the ingest queue is full; retry after the given seconds.
    #[error("the ingest queue is full; retry in {0} s")]
    QueueFull(u64),
    /// 429: this key is over its rate limit; retry after the given seconds.
    #[error("this API key is over its rate limit; retry in {0} s")]
    RateLimited(u64),
    /// 408: the body arrived slower than the minimum rate (bytes per second).
    #[error("the body arrived slower than {0} bytes per second")]
    SlowBody(u64),
    /// 503: storage cannot be reached.
    #[error("storage is unavailable; retry later")]
    Unavailable,
    /// 503: the server holds as many request bodies as it may; retry after the seconds.
    #[error("the server is reading as many request bodies as it may hold; retry in {0} s")]
    Busy(u64),
    /// 500: a bug or an unexpected storage error, logged with its detail.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn parameter(name: &str, detail: impl Into<String>) -> Self {
        Self::BadParameter {
            name: name.to_owned(),
            detail: detail.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::BadParameter { .. } | Self::NothingAccepted { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Timeout(_) | Self::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::QueueFull(_) | Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last part of the problem type URI.
    fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::BadParameter { .. } => "bad-parameter",
            Self::NothingAccepted { .. } => "nothing-accepted",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::Timeout(_) => "timeout",
            Self::SlowBody(_) => "slow-body",
            Self::Busy(_) => "busy",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::TooLarge(_) => "too-large",
            Self::QueueFull(_) => "queue-full",
            Self::RateLimited(_) => "rate-limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                Self::Unavailable
            }
            StoreError::Conflict(detail) => Self::Conflict(detail),
            other => {
                tracing::error!(error = %other, "storage error");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = Map::new();
        body.insert(
            "type".into(),
            json!(format!("urn:logbook:problem:{}", self.slug())),
        );
        body.insert(
            "title".into(),
            json!(status.canonical_reason().unwrap_or("Error")),
        );
        body.insert("status".into(), json!(status.as_u16()));
        body.insert("detail".into(), json!(self.to_string()));
        match &self {
            Self::BadParameter { name, .. } => {
                body.insert("parameter".into(), json!(name));
            }
            Self::NothingAccepted { rejected } => {
                body.insert("accepted".into(), json!(0));
                body.insert("rejected".into(), rejected.clone());
            }
            _ => {}
        }
        let mut response = (status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::QueueFull(seconds) | Self::RateLimited(seconds) | Self::Busy(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// Makes any error response that is not already problem+json into one: axum's
/// extractors (a path segment that is not UTF-8, a query that does not parse) answer
/// plain text of their own.
pub async fn as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let detail = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound(detail),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(detail),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(detail),
        status if status.is_client_error() => ApiError::BadRequest(detail),
        _ => ApiError::Internal,
    };
    let mut problem = error.into_response();
    *problem.status_mut() = status;
    problem
}
