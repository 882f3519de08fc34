//! One POST of a gzip-compressed NDJSON batch, and what to do about its answer.

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
    Delivered,
    /// Worth trying again (network error, timeout, 429, 5xx), after the server's
    /// `Retry-After` if it gave one.
    Retry(Option<Duration>),
    /// The server refused the batch for good (a 4xx other than 429).
    Refused(String),
}

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Transport {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: String,
}

impl Transport {
    pub fn new(base: &str, key: &str) -> Self {
        Self {
            http: Client::builder(TokioExecutor::new()).build_http(),
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        }
    }

    pub async fn post(&self, path: &str, gzipped: Bytes, idempotency_key: &str) -> Outcome {
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
        let response = match tokio::time::timeout(ATTEMPT_TIMEOUT, self.http.request(request)).await
        {
            Ok(Ok(response)) => response,
            Ok(Err(_)) | Err(_) => return Outcome::Retry(None),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        match status {
            s if s.is_success() => Outcome::Delivered,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
                Outcome::Retry(retry_after)
            }
            s if s.is_server_error() => Outcome::Retry(retry_after),
            s => Outcome::Refused(format!("{s}: {}", String::from_utf8_lossy(&body))),
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
        let response = tokio::time::timeout(ATTEMPT_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
}
