//! Logbook's own record of who read what (seed 002: an immutable record of every access).
//! Access records live apart from the tenant's events: they never show up in event lists,
//! summaries, rollups or exports, and nothing updates or deletes them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{Cursor, Order, TenantId};

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

/// One page of access records; `next_cursor` is absent on the last page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessPage {
    pub items: Vec<AccessRecord>,
    pub next_cursor: Option<String>,
}

impl AccessPage {
    /// Builds a page from up to `limit + 1` rows: the extra row only proves there is more.
    pub fn from_rows(mut rows: Vec<AccessRecord>, limit: u32) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = more.then(|| rows.last()).flatten().map(|r| {
            Cursor {
                created_at: r.at,
                id: r.id,
            }
            .to_string()
        });
        Self {
            items: rows,
            next_cursor,
        }
    }
}
