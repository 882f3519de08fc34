//! One POST of a gzip-compressed NDJSON batch, and what to do about its answer. The whole
//! exchange — connecting, sending, the status line, the headers and the body — is bounded
//! in time, and at most [`BODY_LIMIT`] bytes of an answer are read: a server (or a proxy)
//! that stalls or talks without end cannot hold the client.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// What became of one attempt.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Stored; `rejected` of the batch's events were refused one by one (the answer's
    /// `rejected` list), the rest stored.
    Delivered { rejected: usize },
    /// Worth trying again (network error, timeout, 429, 408, 5xx), after the server's
    /// `Retry-After` if it gave one.
    Retry(Option<Duration>),
    /// 413: the batch is too large for the server; its halves may not be.
    TooLarge,
    /// 401 or 403: the key is wrong for now (rotated, revoked, a proxy in the way); the
    /// batch is kept until a key works.
    Unauthorized(String),
    /// The server refused the batch's events for good (another 4xx).
    Refused(String),
}

/// The longest one exchange may take, answer included.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an ingest answer's body ever read: its head says how many events were
/// stored, and an error's first line is all a log message needs.
pub const BODY_LIMIT: usize = 4 * 1024;
/// The most of a query's answer read: the application asked for it, but a server (or a
/// proxy) that talks without end must still not take the application's memory.
pub const READ_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Transport {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: String,
    timeout: Duration,
}

impl Transport {
    pub fn new(base: &str, key: &str, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            timeout,
        }
    }

    /// The request's answer: status, `Retry-After`, and the body's first `limit` bytes
    /// (with whether there was more, left unread), all within the exchange timeout.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(StatusCode, Option<Duration>, Head), String> {
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Ok((status, retry_after, head(response.into_body(), limit).await))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no whole answer within {:?}", self.timeout))?
    }

    pub async fn post(
        &self,
        path: &str,
        gzipped: Bytes,
        idempotency_key: &str,
        events: usize,
    ) -> Outcome {
        let Ok(uri) = format!("{}{path}", self.base).parse::<Uri>() else {
            return Outcome::Refused(format!("invalid server URL {}", self.base));
        };
        let request = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .header(header::CONTENT_ENCODING, "gzip")
            .header("idempotency-key", idempotency_key)
            .body(Full::new(gzipped))
            .expect("a valid request");
        let (status, retry_after, Head { bytes: body, .. }) =
            match self.exchange(request, BODY_LIMIT).await {
                Ok(answer) => answer,
                Err(_) => return Outcome::Retry(None),
            };
        match status {
            s if s.is_success() => Outcome::Delivered {
                rejected: events.saturating_sub(accepted(&body).unwrap_or(events)),
            },
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                Outcome::Retry(retry_after)
            }
            StatusCode::PAYLOAD_TOO_LARGE => Outcome::TooLarge,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Outcome::Unauthorized(format!("{status}: {}", excerpt(&body)))
            }
            s if s.is_server_error() => Outcome::Retry(retry_after),
            s => Outcome::Refused(format!("{s}: {}", excerpt(&body))),
        }
    }

    /// A GET of a read route, for the query helpers.
    pub async fn get_json(&self, path_and_query: &str) -> Result<serde_json::Value, String> {
        let uri: Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| format!("{e}"))?;
        let request = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .body(Full::new(Bytes::new()))
            .expect("a valid request");
        let (status, _, head) = self.exchange(request, READ_LIMIT).await?;
        if head.cut {
            return Err(format!("the answer is longer than {READ_LIMIT} bytes"));
        }
        let body = head.bytes;
        if !status.is_success() {
            return Err(format!("{status}: {}", excerpt(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
}

/// The start of an answer's body.
struct Head {
    bytes: Bytes,
    /// More followed, and was not read.
    cut: bool,
}

/// Reads `body` up to `limit` bytes and no further. A body that breaks off is taken as
/// far as it came.
async fn head(mut body: hyper::body::Incoming, limit: usize) -> Head {
    let mut bytes = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = limit - bytes.len();
        if data.len() > room {
            bytes.extend_from_slice(&data[..room]);
            return Head {
                bytes: bytes.into(),
                cut: true,
            };
        }
        bytes.extend_from_slice(&data);
    }
    Head {
        bytes: bytes.into(),
        cut: false,
    }
}

/// The `accepted` count at the head of an ingest answer (`{"accepted":N,…`), which is
/// all of it a client needs; the rest (the rejected events' reasons) may be long.
fn accepted(body: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(&body[..body.len().min(256)]).ok()?;
    let rest = &text[text.find("\"accepted\"")? + 10..];
    let digits: String = rest
        .trim_start_matches([':', ' '])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The start of an error body, one line, for a log message.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accepted_count_is_read_from_the_head_of_the_answer() {
        assert_eq!(
            accepted(br#"{"accepted":998,"rejected":[{"index":3}]}"#),
            Some(998)
        );
        assert_eq!(accepted(br#"{"accepted": 0}"#), Some(0));
        assert_eq!(accepted(b"ok"), None);
    }
}
