//! Send events to Logbook without slowing the application down.
//!
//! ```no_run
//! # async fn demo() {
//! use logbook_client::{Client, Event};
//!
//! let client = Client::builder("http://127.0.0.1:8080", "lbk_…").spool_dir("./logbook-spool").build();
//! client.record(Event::new("AUTH_LOGIN").user_id("u-1").ip("203.0.113.9").success(true));
//! client.flush().await;
//! # }
//! ```
//!
//! [`Client::record`] never blocks on the network: events go to a bounded queue, and a
//! background task sends them in batches (by count and age), gzip-compressed, each batch
//! with an `Idempotency-Key` so that a retry is stored once. Network errors, 429 and 5xx
//! are retried with exponential backoff and jitter, honouring `Retry-After`. While the
//! server stays away, batches go to a bounded on-disk spool and are sent, in order, once
//! it is back — also after the application restarts. An event is dropped (and counted)
//! only when both the queue and the spool are full.

#[cfg(feature = "actix")]
pub mod actix;
mod client;
mod event;
mod helpers;
#[cfg(feature = "axum")]
pub mod layer;
#[cfg(any(feature = "axum", feature = "actix"))]
mod request_info;
mod spool;
#[cfg(feature = "tracing")]
pub mod tracing_layer;
mod transport;
mod worker;

pub use client::{Client, ClientBuilder, Counters};
pub use event::Event;
pub use helpers::{AuditEvent, FailedAuthQuery};
#[cfg(any(feature = "axum", feature = "actix"))]
pub use request_info::RequestUser;
