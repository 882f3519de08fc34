//! actix-web middleware recording every request as a REQUEST event, as the tower layer
//! does for axum: method, matched pattern and path, status, latency, client address
//! (`X-Forwarded-For` only from trusted proxies), user agent, referrer, origin, the
//! `x-device-id`, `x-fingerprint` and `x-request-id` headers, and [`RequestUser`] from
//! the request's extensions.
//!
//! ```no_run
//! # fn demo(client: logbook_client::Client) {
//! use actix_web::{App, web};
//! let app = App::new().wrap(logbook_client::actix::LogbookMiddleware::new(client)).route("/", web::get().to(|| async { "hi" }));
//! # }
//! ```

use std::{net::IpAddr, rc::Rc, sync::Arc, time::Instant};

use actix_web::{
    Error, HttpMessage,
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use futures_util::future::{LocalBoxFuture, Ready, ready};

use crate::{
    Client, RequestUser,
    request_info::{RequestHead, RequestRecorder},
};

#[derive(Clone)]
pub struct LogbookMiddleware {
    recorder: RequestRecorder,
}

impl LogbookMiddleware {
    pub fn new(client: Client) -> Self {
        Self {
            recorder: RequestRecorder::new(client),
        }
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

impl<S, B> Transform<S, ServiceRequest> for LogbookMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = LogbookActixService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(LogbookActixService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

pub struct LogbookActixService<S> {
    service: Rc<S>,
    middleware: LogbookMiddleware,
}

impl<S, B> Service<ServiceRequest> for LogbookActixService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let recorder = self.middleware.recorder.clone();
        let event = recorder.start(RequestHead {
            method: request.method().as_str(),
            path: request.path(),
            route: request.match_pattern().as_deref(),
            peer: request.peer_addr().map(|a| a.ip()),
            header: |name| request.headers().get(name).and_then(|v| v.to_str().ok()),
        });
        let future = self.service.call(request);
        Box::pin(async move {
            let outcome = future.await;
            // An error from an inner middleware still answers the caller, with its status.
            let (status, user) = match &outcome {
                Ok(response) => (
                    response.status().as_u16(),
                    response
                        .request()
                        .extensions()
                        .get::<RequestUser>()
                        .cloned(),
                ),
                Err(error) => (error.as_response_error().status_code().as_u16(), None),
            };
            recorder.finish(event, started, status, user);
            outcome
        })
    }
}
