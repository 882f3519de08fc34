//! The API, asked in process as a signed-in person's key.

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower_service::Service;

use crate::{access::ClientAddr, auth::SessionKey};

/// Answers are read whole before a page is drawn; none a page asks for is near this.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;

/// The API as one person sees it.
#[derive(Clone)]
pub struct Api {
    router: Router,
    key: SessionKey,
    client: Option<ClientAddr>,
}

/// The API refused or failed: its status and the problem's detail.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub detail: String,
}

impl Api {
    pub fn new(router: Router, key: SessionKey, client: Option<ClientAddr>) -> Self {
        Self {
            router,
            key,
            client,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, Refusal> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, Refusal> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Sends a request under `/api/v1` and reads its JSON answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Refusal> {
        let response = self.raw(method, path, body).await?;
        let bytes = read(response.into_body()).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| Refusal::internal())
    }

    /// The API's answer as it is, when it succeeded: for streams and downloads.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Response, Refusal> {
        self.forward(method, path, body, None).await
    }

    /// A stream resumed where the browser's `Last-Event-ID` says it stopped.
    pub async fn stream(
        &self,
        path: &str,
        last_event_id: Option<&header::HeaderValue>,
    ) -> Result<Response, Refusal> {
        self.forward(Method::GET, path, None, last_event_id).await
    }

    async fn forward(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        last_event_id: Option<&header::HeaderValue>,
    ) -> Result<Response, Refusal> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let mut request = request.body(body).map_err(|_| Refusal::internal())?;
        request.extensions_mut().insert(self.key);
        if let Some(client) = self.client {
            request.extensions_mut().insert(client);
        }
        let response = self
            .router
            .clone()
            .call(request)
            .await
            .map_err(|never| match never {})?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let bytes = read(response.into_body()).await.unwrap_or_default();
        let detail = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        Err(Refusal { status, detail })
    }
}

async fn read(body: Body) -> Result<bytes::Bytes, Refusal> {
    let limited = http_body_util::Limited::new(body, ANSWER_LIMIT);
    limited
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|_| Refusal::internal())
}

impl Refusal {
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: "the console could not read the API's answer".into(),
        }
    }
}
