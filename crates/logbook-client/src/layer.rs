//! A tower layer for axum that records every request as a REQUEST event: method, matched
//! route and path, status, latency, client address, user agent, referrer, origin, the
//! `x-device-id`, `x-fingerprint` and `x-request-id` headers, and the user and session
//! from [`RequestUser`] in the request's or the response's extensions.
//!
//! ```no_run
//! # fn demo(client: logbook_client::Client) {
//! use axum::{Router, routing::get};
//! use logbook_client::layer::LogbookLayer;
//!
//! let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(LogbookLayer::new(client));
//! # }
//! ```
//!
//! Serve with `into_make_service_with_connect_info::<SocketAddr>()` for client addresses.
//! `X-Forwarded-For` is believed only from the proxies named with
//! [`LogbookLayer::trusted_proxies`]; anyone else could write anything there.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, MatchedPath},
};
use http::{HeaderMap, Request, Response};
use logbook_model::Redactor;
use tower_layer::Layer;
use tower_service::Service;

pub use crate::RequestUser;
use crate::{
    Client, Event,
    request_info::{RequestHead, RequestRecorder},
};

/// The request's event so far, in the request's extensions, for handlers that record
/// more about the same request (`client.record_auth_failure(&context.0, …)`). Shared,
/// not copied: the layer takes it back once the handler is done with the request.
#[derive(Clone, Debug)]
pub struct RequestEvent(pub Arc<Event>);

#[derive(Clone)]
pub struct LogbookLayer {
    recorder: RequestRecorder,
    body_summary: Option<(usize, Arc<Redactor>)>,
}

impl LogbookLayer {
    pub fn new(client: Client) -> Self {
        Self {
            recorder: RequestRecorder::new(client),
            body_summary: None,
        }
    }

    /// Records JSON request bodies of up to `max_bytes` as `request_body_summary`, with
    /// secrets (password, token, cookie, card number…) redacted here, before they leave
    /// the application. The body is buffered to read it, so keep `max_bytes` small.
    pub fn body_summary(mut self, max_bytes: usize) -> Self {
        self.body_summary = Some((max_bytes, Arc::new(Redactor::default())));
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.recorder.trusted_proxies = Arc::new(proxies.into_iter().collect());
        self
    }

    /// The `service` of every event.
    pub fn service(mut self, name: &str) -> Self {
        self.recorder.service = Some(name.into());
        self
    }
}

impl<S> Layer<S> for LogbookLayer {
    type Service = LogbookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LogbookService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct LogbookService<S> {
    inner: S,
    layer: LogbookLayer,
}

impl<S, R> Service<Request<Body>> for LogbookService<S>
where
    S: Service<Request<Body>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let mut context = self.context(&request);
        let user = request.extensions().get::<RequestUser>().cloned();
        let recorder = self.layer.recorder.clone();
        let summary = self
            .layer
            .body_summary
            .clone()
            .filter(|(max, _)| is_small_json(request.headers(), *max));
        // The service that was polled ready serves this request; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some((max, redactor)) = summary {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, max).await.unwrap_or_default();
                if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    redactor.redact(&mut value);
                    context = context.request_body_summary(value);
                }
                request = Request::from_parts(parts, Body::from(bytes));
            }
            let shared = Arc::new(context);
            request
                .extensions_mut()
                .insert(RequestEvent(shared.clone()));
            let response = inner.call(request).await?;
            let context =
                Arc::try_unwrap(shared).unwrap_or_else(|still_held| (*still_held).clone());
            let user = response.extensions().get::<RequestUser>().cloned().or(user);
            recorder.finish(context, started, response.status().as_u16(), user);
            Ok(response)
        })
    }
}

impl<S> LogbookService<S> {
    /// The REQUEST event as far as the request alone tells it.
    fn context<B>(&self, request: &Request<B>) -> Event {
        let extensions = request.extensions();
        self.layer.recorder.start(RequestHead {
            method: request.method().as_str(),
            path: request.uri().path(),
            route: extensions.get::<MatchedPath>().map(MatchedPath::as_str),
            peer: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            header: |name| request.headers().get(name).and_then(|v| v.to_str().ok()),
        })
    }
}

fn is_small_json(headers: &HeaderMap, max: usize) -> bool {
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    json && length.is_some_and(|n| n <= max)
}
