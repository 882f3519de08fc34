//! Reading events back: filtered, keyset-paged lists and lookups by id.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use logbook_model::{
    Event, EventQuery, EventType, Page, TenantId,
    access::{AccessPage, AccessQuery},
    event::created_at_window,
};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter, types::Value};
use uuid::Uuid;

use super::{SqliteStore, db, dialect::Sqlite, from_micros, micros};
use crate::{
    EventStore, ItemOutcome, Result, StoreError, WriteItem, columns::EVENT_COLUMNS, statements,
};

pub fn list(conn: &Connection, tenant: TenantId, query: &EventQuery) -> Result<Page> {
    // The hours a lookup names and its page are read from one snapshot, so an event
    // committed between the two is in both or in neither.
    let tx = conn
        .unchecked_transaction()
        .map_err(db("starting an event read"))?;
    let (sql, params) = list_statement(&tx, tenant, query)?;
    let rows = select_events(&tx, &sql, params)?;
    Ok(Page::from_rows(rows, query.limit))
}

/// How SQLite will answer `sql`: the lines of `EXPLAIN QUERY PLAN`.
pub fn plan(conn: &Connection, sql: &str, params: Vec<Value>) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(db("preparing a query plan"))?;
    let lines = stmt
        .query_map(params_from_iter(params), |row| row.get::<_, String>(3))
        .map_err(db("explaining a query"))?;
    lines
        .collect::<rusqlite::Result<_>>()
        .map_err(db("reading a query plan"))
}

/// The statement a `/logs` query runs, with its parameters.
pub fn list_statement(
    conn: &Connection,
    tenant: TenantId,
    query: &EventQuery,
) -> Result<(String, Vec<Value>)> {
    let hours = super::hours::of_list(conn, tenant, query)?;
    let (sql, clause) = statements::list_events::<Sqlite>(tenant, query, hours);
    Ok((sql, clause.params))
}

pub fn get(conn: &Connection, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
    // The id's timestamp bounds created_at, so the primary key finds the row.
    let Some((start, end)) = created_at_window(id) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events \
         WHERE tenant_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND id = ?4"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(
                rusqlite::params![tenant.0, micros(start), micros(end), id],
                read_row,
            )
            .optional()
        })
        .map_err(db("reading an event"))?
        .transpose()
}

fn select_events(conn: &Connection, sql: &str, params: Vec<Value>) -> Result<Vec<Event>> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(db("preparing an event query"))?;
    let rows = stmt
        .query_map(params_from_iter(params), read_row)
        .map_err(db("querying events"))?;
    let mut events = Vec::new();
    for row in rows {
        events.push(row.map_err(db("reading an event row"))??);
    }
    Ok(events)
}

/// Maps one row of [`EVENT_COLUMNS`]; the inner result carries values that fail to parse.
fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<Event>> {
    let event_type: String = row.get(3)?;
    let ip: Option<String> = row.get(8)?;
    let severity: String = row.get(28)?;
    let created_at: i64 = row.get(2)?;
    let tenant: Uuid = row.get(1)?;
    let build = || -> Result<Event> {
        let mut e = Event::new(
            TenantId(tenant),
            EventType::parse(&event_type).map_err(|e| invalid("event_type", e))?,
            from_micros(created_at)?,
        );
        e.ip_address = ip
            .map(|ip| ip.parse())
            .transpose()
            .map_err(|e| invalid("ip_address", e))?;
        e.severity = severity.parse().map_err(|e| invalid("severity", e))?;
        Ok(e)
    };
    let mut e = match build() {
        Ok(e) => e,
        Err(err) => return Ok(Err(err)),
    };
    e.id = row.get(0)?;
    e.event_subtype = row.get(4)?;
    e.user_id = row.get(5)?;
    e.fingerprint = row.get(6)?;
    e.device_id = row.get(7)?;
    e.user_agent = row.get(9)?;
    e.http_method = row.get(10)?;
    e.request_path = row.get(11)?;
    e.request_params = row.get(12)?;
    e.request_body_summary = row.get(13)?;
    e.response_status_code = row.get(14)?;
    e.response_time_ms = row.get(15)?;
    e.geo_country = row.get(16)?;
    e.geo_region = row.get(17)?;
    e.geo_city = row.get(18)?;
    e.geo_timezone = row.get(19)?;
    e.session_id = row.get(20)?;
    e.referrer = row.get(21)?;
    e.origin = row.get(22)?;
    e.success = row.get(23)?;
    e.message = row.get(24)?;
    e.error_code = row.get(25)?;
    e.metadata = row.get(26)?;
    e.service = row.get(27)?;
    e.request_id = row.get(29)?;
    e.provider = row.get(30)?;
    e.status = row.get(31)?;
    Ok(Ok(e))
}

fn invalid(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored {column} is not valid: {error}"))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        items: Arc<Vec<WriteItem>>,
        idempotency_since: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        self.write(move |conn| super::ingest::append(conn, &items, idempotency_since))
            .await
    }

    async fn idempotent_response(
        &self,
        tenant: TenantId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let key = key.to_owned();
        self.read(move |conn| super::ingest::idempotent_response(conn, tenant, &key, since))
            .await
    }

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page> {
        let query = query.clone();
        self.read(move |conn| super::events::list(conn, tenant, &query))
            .await
    }

    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
        self.read(move |conn| super::events::get(conn, tenant, id))
            .await
    }

    async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage> {
        let query = query.clone();
        self.read(move |conn| super::access::list(conn, tenant, &query))
            .await
    }
}
