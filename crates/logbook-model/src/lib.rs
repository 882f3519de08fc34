//! Logbook's event model: the typed values that cross every boundary of the server.
//!
//! Incoming JSON becomes an [`Event`] here, once, at the edge ([`parse`]); the store and
//! the server never re-check strings. Nothing in this crate does I/O.

pub mod access;
pub mod activity;
pub mod alerts;
pub mod anomalies;
pub mod audit;
pub mod body;
pub mod dashboards;
pub mod error_groups;
pub mod event;
pub mod event_type;
pub mod filter;
pub mod hex;
pub mod monitors;
pub mod parse;
pub mod pseudonym;
pub mod redact;
pub mod retention;
pub mod route;
pub mod severity;
pub mod summary;
pub mod tenant;
pub mod timestamp;

pub use event::{Event, Limits};
pub use event_type::EventType;
pub use filter::{Cursor, EventFilter, EventQuery, FailedAuthQuery, Order, Page};
pub use parse::{EventParser, ParseError};
pub use redact::Redactor;
pub use severity::Severity;
pub use tenant::{Scope, Scopes, TenantId};
