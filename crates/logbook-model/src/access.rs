//! Logbook's own record of who read what (seed 002: an immutable record of every access).
//! Access records live apart from the tenant's events: they never show up in event lists,
//! summaries, rollups or exports, and nothing updates or deletes them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{Cursor, Order, Page, TenantId, filter::Keyed};

/// One read or administrative call, as answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessRecord {
    pub id: Uuid,
    #[serde(skip_serializing)]
    pub tenant_id: TenantId,
    pub at: DateTime<Utc>,
    /// The API key that called.
    pub key_id: Uuid,
    pub method: String,
    /// The matched route, e.g. `/api/v1/logs/{id}`.
    pub route: String,
    /// The path as requested (cut to 512 characters).
    pub path: String,
    /// The filters as parsed and bounded, never the raw query string.
    pub filters: Option<Value>,
    /// Rows answered (or sent, for an export).
    pub rows: Option<i64>,
    pub status: i16,
    /// `answered`; for exports `started`, then `completed` or `aborted`.
    pub outcome: String,
    pub client_ip: Option<IpAddr>,
}

impl AccessRecord {
    pub const PATH_LIMIT: usize = 512;
    pub const ROUTE_LIMIT: usize = 200;
}

/// A page of access records, newest first unless asked otherwise.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessQuery {
    pub key_id: Option<Uuid>,
    pub route: Option<String>,
    pub method: Option<String>,
    pub status: Option<i16>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub order: Order,
    pub limit: u32,
    /// The position after the last record of the previous page: `(at, id)`.
    pub cursor: Option<Cursor>,
}

/// One page of access records.
pub type AccessPage = Page<AccessRecord>;

impl Keyed for AccessRecord {
    fn position(&self) -> Cursor {
        Cursor {
            created_at: self.at,
            id: self.id,
        }
    }
}
