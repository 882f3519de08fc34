//! Exports, streamed page by page so memory stays flat however long the trail:
//! `GET /api/v1/audit/export?format=ndjson|csv&from_seq=` and
//! `GET /api/v1/logs/export?format=ndjson|csv&<filters of /logs>`.
//!
//! The audit NDJSON export is self-contained for offline verification: a header line
//! (tenant, public key, first seq and the hash it follows, or, once retention has cut the
//! chain, the signed cut it starts after), one line per event with its chain fields, then
//! every checkpoint. `logbook verify FILE` checks it without a server.

use axum::{
    Router,
    body::Body,
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use logbook_model::{EventQuery, audit::chain::GENESIS};
use serde_json::Value;
use serde_json::json;

use crate::{
    ApiError, AppState,
    access::{Access, Answer},
    auth::{Principal, ReadKey},
    params::Params,
};

const PAGE: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/export", get(export_audit))
        .route("/logs/export", get(export_events))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

fn format(params: &mut Params) -> Result<Format, ApiError> {
    match params.text("format").as_deref() {
        None | Some("ndjson") => Ok(Format::Ndjson),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(ApiError::parameter(
            "format",
            format!("must be ndjson or csv, got {other:?}"),
        )),
    }
}

/// The export as a download: `head` first, then each page as it is read.
fn streamed(
    format: Format,
    name: &str,
    head: String,
    pages: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let (content_type, extension) = match format {
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let body = Body::from_stream(stream::once(async move { Ok(Bytes::from(head)) }).chain(pages));
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// One CSV field: quoted when it must be, quotes doubled. Text a spreadsheet would run
/// as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
/// prefixed with `'`, as OWASP recommends, so opening an export runs nothing.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
        Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv_line(columns: &[&str], row: &Value) -> String {
    let mut line = columns
        .iter()
        .map(|c| csv_field(&row[*c]))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

const AUDIT_CSV: &[&str] = &[
    "seq",
    "id",
    "occurred_at",
    "received_at",
    "actor_id",
    "actor_email",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "resource_name",
    "description",
    "before",
    "after",
    "changes",
    "outcome",
    "failure_reason",
    "ip_address",
    "user_agent",
    "session_id",
    "request_id",
    "module",
    "severity",
    "data_classification",
    "metadata",
    "prev_hash",
    "hash",
];

async fn export_audit(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut params = Params::new(pairs)?;
    let format = format(&mut params)?;
    let asked_from = params.int("from_seq", 1, 1, i64::MAX)?;
    let filters = params.finish()?;
    // The export ends at the head it starts with: appends made meanwhile belong to the
    // next export, and the file says where it ends.
    let (to, _) = state.store.audit_head(principal.tenant).await?;
    // What retention cut is gone: the export starts after the cut, which it carries.
    let cut = state
        .store
        .audit_cut(principal.tenant)
        .await?
        .filter(|cut| asked_from <= cut.seq.saturating_add(1));
    let from = cut
        .as_ref()
        .map_or(asked_from, |cut| cut.seq.saturating_add(1));
    let follows = match (&cut, from) {
        (Some(cut), _) => cut.hash.clone(),
        (None, 1) => GENESIS.to_owned(),
        (None, _) => state
            .store
            .audit_range(principal.tenant, from - 1, from - 1, 1)
            .await?
            .pop()
            .map(|e| e.hash)
            .unwrap_or_default(),
    };
    let head = match format {
        Format::Ndjson => {
            let keyring = state.store.keyring().await?;
            let header = crate::checkpoints::export_header(
                principal.tenant,
                state.checkpointer.as_ref().map(|c| c.public_key()),
                &keyring,
                from,
                &follows,
                Some(to),
                cut.as_ref(),
            );
            format!("{header}\n")
        }
        Format::Csv => format!("{}\n", AUDIT_CSV.join(",")),
    };
    let trace = Trace::start(state.clone(), principal, access, filters, true).await?;
    // State of the stream: the next seq to read, and the trace of the download.
    let pages = stream::unfold(
        (state, Some(trace), from),
        move |(state, trace, next)| async move {
            let mut trace = trace?;
            let tenant = trace.principal.tenant;
            if next > to {
                let mut tail = String::new();
                if format == Format::Ndjson {
                    // Only checkpoints of what the file holds: a checkpoint past its last
                    // event would read as a truncated chain.
                    let checkpoints = match state.store.checkpoints(tenant).await {
                        Ok(checkpoints) => checkpoints,
                        Err(error) => {
                            return Some((
                                Err(std::io::Error::other(error.to_string())),
                                (state, None, next),
                            ));
                        }
                    };
                    for checkpoint in checkpoints
                        .into_iter()
                        .filter(|c| c.seq >= from && c.seq <= to)
                    {
                        let mut line = json!(checkpoint);
                        line["type"] = json!("checkpoint");
                        tail.push_str(&format!("{line}\n"));
                    }
                }
                trace.finish().await;
                return Some((Ok(Bytes::from(tail)), (state, None, next)));
            }
            let page = match state.store.audit_range(tenant, next, to, PAGE).await {
                Ok(page) if page.first().is_some_and(|e| e.seq == next) => page,
                Ok(_) => {
                    // Retention cut the chain while it was exported (or rows are gone):
                    // the file would read as a gap.
                    let error = format!(
                        "the chain has no seq {next} though its head was at {to}: export again"
                    );
                    return Some((Err(std::io::Error::other(error)), (state, None, next)));
                }
                Err(error) => {
                    return Some((
                        Err(std::io::Error::other(error.to_string())),
                        (state, None, next),
                    ));
                }
            };
            let mut chunk = String::with_capacity(page.len() * 600);
            let next = page.last().map_or(next, |e| e.seq + 1);
            for event in &page {
                let mut row = json!(event);
                match format {
                    Format::Ndjson => {
                        row["type"] = json!("event");
                        chunk.push_str(&row.to_string());
                        chunk.push('\n');
                    }
                    Format::Csv => chunk.push_str(&csv_line(AUDIT_CSV, &row)),
                }
            }
            trace.rows += page.len();
            Some((Ok(Bytes::from(chunk)), (state, Some(trace), next)))
        },
    );
    Ok(streamed(format, "audit", head, pages))
}

/// The access record of a download: written before its first byte leaves (a download
/// that cannot be recorded is refused), then again when it completes, or, if the client
/// goes away first, when the stream is dropped: an aborted bulk download leaves its trace.
struct Trace {
    state: AppState,
    principal: Principal,
    access: Access,
    filters: Option<Value>,
    /// Reads of the audit trail are recorded in the trail as well.
    in_chain: bool,
    rows: usize,
    done: bool,
}

impl Trace {
    async fn start(
        state: AppState,
        principal: Principal,
        access: Access,
        filters: Option<Value>,
        in_chain: bool,
    ) -> Result<Self, ApiError> {
        let trace = Self {
            state,
            principal,
            access,
            filters,
            in_chain,
            rows: 0,
            done: false,
        };
        trace.record("started").await?;
        Ok(trace)
    }

    fn answer(&self, outcome: &'static str) -> Answer {
        Answer {
            outcome,
            ..Answer::rows(self.rows, self.filters.clone())
        }
    }

    async fn record(&self, outcome: &'static str) -> Result<(), ApiError> {
        let answer = self.answer(outcome);
        if self.in_chain {
            self.access
                .record_in_chain(&self.state, &self.principal, answer)
                .await
        } else {
            self.access
                .record(&self.state, &self.principal, answer)
                .await
        }
    }

    async fn finish(&mut self) {
        self.done = true;
        if let Err(error) = self.record("completed").await {
            tracing::warn!(%error, "the end of a download was not recorded");
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let trace = Self {
            state: self.state.clone(),
            principal: self.principal.clone(),
            access: self.access.clone(),
            filters: self.filters.take(),
            in_chain: self.in_chain,
            rows: self.rows,
            done: true,
        };
        tokio::spawn(async move {
            if let Err(error) = trace.record("aborted").await {
                tracing::warn!(%error, "an aborted download was not recorded");
            }
        });
    }
}

const EVENT_CSV: &[&str] = logbook_model::event::FIELD_NAMES;

async fn export_events(
    State(state): State<AppState>,
    ReadKey(principal): ReadKey,
    access: Access,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut params = Params::new(pairs)?;
    let format = format(&mut params)?;
    let mut query: EventQuery = super::events::event_query(&mut params, None)?;
    let filters = params.finish()?;
    query.limit = PAGE as u32;
    query.skip = 0;
    let head = if format == Format::Csv {
        format!("{}\n", EVENT_CSV.join(","))
    } else {
        String::new()
    };
    let trace = Trace::start(state.clone(), principal, access, filters, false).await?;
    let pages = stream::unfold(
        (state, Some(trace), query),
        move |(state, trace, mut query): (AppState, Option<Trace>, EventQuery)| async move {
            let mut trace = trace?;
            let page = match state
                .store
                .list_events(trace.principal.tenant, &query)
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    return Some((
                        Err(std::io::Error::other(error.to_string())),
                        (state, None, query),
                    ));
                }
            };
            let mut chunk = String::with_capacity(page.items.len() * 600);
            for mut event in page.items.iter().cloned() {
                if let Some(cipher) = &state.cipher {
                    cipher.open_event(&mut event);
                }
                let row = json!(event);
                match format {
                    Format::Ndjson => {
                        chunk.push_str(&row.to_string());
                        chunk.push('\n');
                    }
                    Format::Csv => chunk.push_str(&csv_line(EVENT_CSV, &row)),
                }
            }
            trace.rows += page.items.len();
            let trace = match page.next_cursor.and_then(|c| c.parse().ok()) {
                Some(cursor) => {
                    query.cursor = Some(cursor);
                    Some(trace)
                }
                None => {
                    trace.finish().await;
                    None
                }
            };
            Some((Ok(Bytes::from(chunk)), (state, trace, query)))
        },
    );
    Ok(streamed(format, "events", head, pages))
}
