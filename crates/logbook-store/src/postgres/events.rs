//! Reading events back: filtered, keyset-paged lists and lookups by id.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use logbook_model::{
    Event, EventQuery, EventType, Page, TenantId,
    access::{AccessPage, AccessQuery},
    event::created_at_window,
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{
    PgStore, column, db,
    dialect::{Postgres, Value, refs},
};
use crate::{
    EventStore, ItemOutcome, Result, StoreError, WriteItem, columns::EVENT_COLUMNS, statements,
};

pub async fn list(client: &Client, tenant: TenantId, query: &EventQuery) -> Result<Page> {
    let (sql, params) = list_statement(tenant, query);
    let rows = client
        .query(&sql, &refs(&params))
        .await
        .map_err(db("querying events"))?;
    let events = rows.iter().map(read_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(events, query.limit))
}

/// How PostgreSQL will answer `sql` with these parameters: the lines of `EXPLAIN`.
pub async fn plan(client: &Client, sql: &str, params: &[Value]) -> Result<Vec<String>> {
    let rows = client
        .query(&format!("EXPLAIN {sql}"), &refs(params))
        .await
        .map_err(db("explaining a query"))?;
    rows.iter().map(|row| column(row, 0)).collect()
}

/// The statement a `/logs` query runs, with its parameters.
pub fn list_statement(tenant: TenantId, query: &EventQuery) -> (String, Vec<Value>) {
    let (sql, clause) = statements::list_events::<Postgres>(tenant, query, None);
    (sql, clause.params)
}

pub async fn get(client: &Client, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
    // The id's timestamp bounds created_at, so one partition and the primary key answer.
    let Some((start, end)) = created_at_window(id) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events \
         WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND id = $4"
    );
    let row = client
        .query_opt(&sql, &[&tenant.0, &start, &end, &id])
        .await
        .map_err(db("reading an event"))?;
    row.as_ref().map(read_row).transpose()
}

fn read_row(row: &Row) -> Result<Event> {
    let event_type: &str = row.try_get(3).map_err(db("reading event_type"))?;
    let severity: &str = row.try_get(28).map_err(db("reading severity"))?;
    let mut e = Event::new(
        TenantId(column(row, 1)?),
        EventType::parse(event_type)
            .map_err(|e| StoreError::Invalid(format!("stored event_type: {e}")))?,
        column(row, 2)?,
    );
    e.id = column(row, 0)?;
    e.event_subtype = column(row, 4)?;
    e.user_id = column(row, 5)?;
    e.fingerprint = column(row, 6)?;
    e.device_id = column(row, 7)?;
    e.ip_address = column(row, 8)?;
    e.user_agent = column(row, 9)?;
    e.http_method = column(row, 10)?;
    e.request_path = column(row, 11)?;
    e.request_params = column(row, 12)?;
    e.request_body_summary = column(row, 13)?;
    e.response_status_code = column(row, 14)?;
    e.response_time_ms = column(row, 15)?;
    e.geo_country = column(row, 16)?;
    e.geo_region = column(row, 17)?;
    e.geo_city = column(row, 18)?;
    e.geo_timezone = column(row, 19)?;
    e.session_id = column(row, 20)?;
    e.referrer = column(row, 21)?;
    e.origin = column(row, 22)?;
    e.success = column(row, 23)?;
    e.message = column(row, 24)?;
    e.error_code = column(row, 25)?;
    e.metadata = column(row, 26)?;
    e.service = column(row, 27)?;
    e.severity = severity
        .parse()
        .map_err(|e| StoreError::Invalid(format!("stored severity: {e}")))?;
    e.request_id = column(row, 29)?;
    e.provider = column(row, 30)?;
    e.status = column(row, 31)?;
    Ok(e)
}

#[async_trait]
impl EventStore for PgStore {
    async fn append(
        &self,
        items: Arc<Vec<WriteItem>>,
        idempotency_since: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        let mut client = self.client().await?;
        super::ingest::append(
            &mut client,
            self.instance,
            self.writes,
            &items,
            idempotency_since,
        )
        .await
    }

    fn commit_notes(&self) -> Option<tokio::sync::mpsc::Receiver<crate::CommitNote>> {
        Some(super::commits::listen(self.config.clone(), self.instance))
    }

    async fn idempotent_response(
        &self,
        tenant: TenantId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let client = self.client().await?;
        super::ingest::idempotent_response(&client, tenant, key, since).await
    }

    async fn list_events(&self, tenant: TenantId, query: &EventQuery) -> Result<Page> {
        super::events::list(&self.tenant_client(tenant).await?, tenant, query).await
    }

    async fn get_event(&self, tenant: TenantId, id: Uuid) -> Result<Option<Event>> {
        super::events::get(&self.tenant_client(tenant).await?, tenant, id).await
    }

    async fn list_access(&self, tenant: TenantId, query: &AccessQuery) -> Result<AccessPage> {
        super::access::list(&self.tenant_client(tenant).await?, tenant, query).await
    }
}
