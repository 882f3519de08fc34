//! Exports, streamed page by page so memory stays flat however long the trail:
//! `GET /api/v1/audit/export?format=ndjson|csv&from_seq=` and
//! `GET /api/v1/logs/export?format=ndjson|csv&<filters of /logs>`.
//!
//! The audit NDJSON export is self-contained for offline verification: a header line
//! (tenant, public key, first seq and the hash it follows), one line per event with its
//! chain fields, then every checkpoint. `logbook verify FILE` checks it without a server.

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
use serde_json::{Value, json};

use crate::{
    ApiError, AppState,
    access::Access,
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

/// One CSV field: quoted when it must be, quotes doubled.
fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
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
    let from = params.int("from_seq", 1, 1, i64::MAX)?;
    params.finish()?;
    let follows = if from == 1 {
        GENESIS.to_owned()
    } else {
        state
            .store
            .audit_range(principal.tenant, from - 1, from - 1, 1)
            .await?
            .pop()
            .map(|e| e.hash)
            .unwrap_or_default()
    };
    let head = match format {
        Format::Ndjson => {
            let public_key = state
                .checkpointer
                .as_ref()
                .map(|c| c.public_key().to_owned());
            let header = json!({
                "type": "logbook-audit-export", "version": 1, "tenant_id": principal.tenant,
                "public_key": public_key, "from_seq": from, "follows_hash": follows,
            });
            format!("{header}\n")
        }
        Format::Csv => format!("{}\n", AUDIT_CSV.join(",")),
    };
    // State of the stream: the next seq to read, rows sent, and whether it is done.
    let pages = stream::unfold(
        (state, principal, Some(access), from, 0usize, false),
        move |(state, principal, access, next, sent, done)| async move {
            if done {
                return None;
            }
            let page = match state
                .store
                .audit_range(principal.tenant, next, i64::MAX, PAGE)
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    return Some((
                        Err(std::io::Error::other(error.to_string())),
                        (state, principal, None, next, sent, true),
                    ));
                }
            };
            if page.is_empty() {
                let mut tail = String::new();
                if format == Format::Ndjson {
                    let checkpoints = state
                        .store
                        .checkpoints(principal.tenant)
                        .await
                        .unwrap_or_default();
                    for checkpoint in checkpoints {
                        let mut line = json!(checkpoint);
                        line["type"] = json!("checkpoint");
                        tail.push_str(&format!("{line}\n"));
                    }
                }
                if let Some(access) = access {
                    access.record_in_chain(&state, &principal, sent).await;
                }
                return Some((
                    Ok(Bytes::from(tail)),
                    (state, principal, None, next, sent, true),
                ));
            }
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
            let sent = sent + page.len();
            Some((
                Ok(Bytes::from(chunk)),
                (state, principal, access, next, sent, false),
            ))
        },
    );
    Ok(streamed(format, "audit", head, pages))
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
    params.finish()?;
    query.limit = PAGE as u32;
    query.skip = 0;
    let head = if format == Format::Csv {
        format!("{}\n", EVENT_CSV.join(","))
    } else {
        String::new()
    };
    let pages = stream::unfold(
        (state, principal, Some(access), query, 0usize, false),
        move |(state, principal, access, mut query, sent, done): (
            AppState,
            Principal,
            Option<Access>,
            EventQuery,
            usize,
            bool,
        )| async move {
            if done {
                return None;
            }
            let page = match state.store.list_events(principal.tenant, &query).await {
                Ok(page) => page,
                Err(error) => {
                    return Some((
                        Err(std::io::Error::other(error.to_string())),
                        (state, principal, None, query, sent, true),
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
            let sent = sent + page.items.len();
            let done = match page.next_cursor.and_then(|c| c.parse().ok()) {
                Some(cursor) => {
                    query.cursor = Some(cursor);
                    false
                }
                None => true,
            };
            let access = match (done, access) {
                (true, Some(access)) => {
                    access.record(&state, &principal, sent).await;
                    None
                }
                (_, access) => access,
            };
            Some((
                Ok(Bytes::from(chunk)),
                (state, principal, access, query, sent, done),
            ))
        },
    );
    Ok(streamed(format, "events", head, pages))
}
