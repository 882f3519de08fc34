//! Logbook's HTTP server.
//!
//! [`App::build`] opens storage and starts the ingest writers; [`App::router`] is the
//! whole HTTP API, which tests drive directly; [`App::serve`] runs it on a listener until
//! a [`CancellationToken`](tokio_util::sync::CancellationToken) fires, then drains the
//! ingest queue so every accepted event is stored before it returns.

pub mod access;
pub mod alerts;
mod app;
pub mod auth;
pub mod checkpoints;
pub mod compression;
pub mod config;
mod console;
pub mod encryption;
mod error;
mod ingest;
pub mod jobs;
pub mod otlp;
mod params;
pub mod request_body;
mod routes;
mod sentry;
mod serve;
pub mod storage;
mod tail;

pub use app::{App, AppState, DEFAULT_TENANT};
pub use config::{Anonymization, Config, IngestConfig, Retention, Timeouts};
pub use error::ApiError;
