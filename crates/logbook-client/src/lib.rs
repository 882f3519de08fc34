#![doc = include_str!("../README.md")]

#[cfg(feature = "actix")]
pub mod actix;
mod batch;
mod client;
mod delivery;
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
