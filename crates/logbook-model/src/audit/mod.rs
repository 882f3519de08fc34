//! The audit trail: who did what to which resource, before and after, in a per-tenant
//! hash chain. `hash = SHA-256(prev_hash ‖ canonical JSON of every stored field but
//! hash)`, the first `prev_hash` being 32 zero bytes, so changing, removing, reordering
//! or inserting any event breaks the chain at that event.

pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod diff;
mod event;
mod parse;
mod query;
pub mod verifier;

pub use event::{AuditEvent, Outcome};
pub use parse::{AuditParser, restore_doubles};
pub use query::{ActorSummary, AuditQuery};
