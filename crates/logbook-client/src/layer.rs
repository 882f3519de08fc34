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
use serde_json::json;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Client, Event};

/// Who made the request, for the event: put it in the request's extensions (from an
/// outer auth layer) or the response's (from a handler or inner middleware).
#[derive(Clone, Debug, Default)]
pub struct RequestUser {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

/// The request's event so far, in the request's extensions, for handlers that record
/// more about the same request (`client.record_auth_failure(&context.0, …)`). Shared,
/// not copied: the layer takes it back once the handler is done with the request.
#[derive(Clone, Debug)]
pub struct RequestEvent(pub Arc<Event>);

#[derive(Clone)]
pub struct LogbookLayer {
    client: Client,
    trusted_proxies: Arc<Vec<IpAddr>>,
    service: Option<Arc<str>>,
    body_summary: Option<(usize, Arc<Redactor>)>,
}

impl LogbookLayer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            trusted_proxies: Arc::default(),
            service: None,
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
        self.trusted_proxies = Arc::new(proxies.into_iter().collect());
        self
    }

    /// The `service` of every event.
    pub fn service(mut self, name: &str) -> Self {
        self.service = Some(name.into());
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
        let client = self.layer.client.clone();
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
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            let status = response.status().as_u16();
            let mut event = context
                .status_code(status)
                .response_time_ms(millis)
                .success(status < 400);
            if let Some(user) = response.extensions().get::<RequestUser>().cloned().or(user) {
                if let Some(id) = user.user_id {
                    event = event.user_id(id);
                }
                if let Some(session) = user.session_id {
                    event = event.session_id(session);
                }
            }
            client.record(event);
            Ok(response)
        })
    }
}

impl<S> LogbookService<S> {
    /// The REQUEST event as far as the request alone tells it.
    fn context<B>(&self, request: &Request<B>) -> Event {
        let headers = request.headers();
        let mut event = Event::new("REQUEST")
            .http_method(request.method().as_str())
            .request_path(request.uri().path());
        if let Some(route) = request.extensions().get::<MatchedPath>() {
            event = event.metadata(json!({"route": route.as_str()}));
        }
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(ip) = client_ip(peer, headers, &self.layer.trusted_proxies) {
            event = event.ip(ip);
        }
        for (header, field) in [
            ("user-agent", "user_agent"),
            ("referer", "referrer"),
            ("origin", "origin"),
            ("x-device-id", "device_id"),
            ("x-fingerprint", "fingerprint"),
            ("x-request-id", "request_id"),
        ] {
            if let Some(value) = headers.get(header).and_then(|v| v.to_str().ok()) {
                event = event.set(field, json!(value));
            }
        }
        if let Some(service) = &self.layer.service {
            event = event.service(service.as_ref());
        }
        event
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

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case
/// the nearest untrusted address in `X-Forwarded-For`.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    forwarded
        .rsplit(',')
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|hop| !trusted.contains(hop))
        .or(Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.7, 10.0.0.2".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(stranger), &headers, &[proxy]),
            Some(stranger)
        );
        assert_eq!(
            client_ip(Some(proxy), &headers, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }
}
