//! Errors: groups with their week as a sparkline, one group with its stack trace and
//! newest occurrences, and its workflow (status, assignee, note).

use std::collections::BTreeMap;

use axum::{
    Router,
    extract::{Path, RawQuery},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use logbook_model::error_groups::ErrorStatus;
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::query_of;
use crate::console::{
    Console, charts,
    layout::{self, Section, count, text},
    session::{Posted, Session},
};

pub fn router() -> Router<Console> {
    Router::new()
        .route("/errors", get(list))
        .route("/errors/{id}", get(show).post(change))
}

/// Days in each group's sparkline.
const TREND_DAYS: usize = 14;

async fn list(session: Session, RawQuery(raw): RawQuery) -> Response {
    let pairs = super::pairs_of(raw.as_deref());
    let pick = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let (status, sort, cursor) = (pick("status"), pick("sort"), pick("cursor"));
    let query = query_of([("status", status), ("sort", sort), ("cursor", cursor)]);
    let groups_path = format!("/errors{query}");
    let trend_path = format!("/errors/trend?days={TREND_DAYS}");
    let (groups, trend) = tokio::join!(session.api.get(&groups_path), session.api.get(&trend_path));
    let groups = match groups {
        Ok(groups) => groups,
        Err(refusal) => return layout::refused(refusal),
    };
    let days = trend_by_type(trend.ok().as_ref());
    let next = groups["next_cursor"].as_str().map(|c| {
        format!(
            "/console/errors{}",
            query_of([("status", status), ("sort", sort), ("cursor", c)])
        )
    });
    let items: Vec<&Value> = groups["items"].as_array().into_iter().flatten().collect();
    let body = html! {
        form.filters method="get" action="/console/errors" {
            div.field {
                label for="e-status" { "Status" }
                select #e-status name="status" {
                    option value="" { "any status" }
                    @for s in ErrorStatus::ALL {
                        option value=(s.as_str()) selected[status == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            div.field {
                label for="e-sort" { "Order" }
                select #e-sort name="sort" {
                    @for (value, shown) in [("", "last seen"), ("occurrences", "most occurrences")] {
                        option value=(value) selected[sort == value] { (shown) }
                    }
                }
            }
            div.actions { button type="submit" { "Show" } }
        }
        @if items.is_empty() {
            p.empty { "No error group here." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Error" } th scope="col" { "Status" } th.figure scope="col" { "Events" }
                    th.figure scope="col" { "Users" } th scope="col" { "Last seen" } th scope="col" { (TREND_DAYS) " days" }
                } }
                tbody {
                    @for group in &items {
                        tr {
                            td {
                                a href=(format!("/console/errors/{}", text(&group["id"]))) { strong { (text(&group["error_type"])) } }
                                br; span.muted { (text(&group["message"])) }
                            }
                            td { span class=(format!("badge status-{}", text(&group["status"]))) { (text(&group["status"])) } }
                            td.figure { (count(&group["occurrence_count"])) }
                            td.figure { (count(&group["affected_users"])) }
                            td { (layout::time(&group["last_seen"])) }
                            td { (charts::sparkline(&format!("{} per day", text(&group["error_type"])), days.get(group["error_type"].as_str().unwrap_or("")).map_or(&[][..], Vec::as_slice))) }
                        }
                    }
                }
            } }
        }
        @if let Some(next) = next { p.pager { a rel="next" href=(next) { "More →" } } }
    };
    layout::page(&session, Section::Errors, "Errors", body)
}

/// Occurrences per error type per day, oldest day first, over the trend's days.
fn trend_by_type(trend: Option<&Value>) -> BTreeMap<String, Vec<f64>> {
    let today = chrono::Utc::now().date_naive();
    let mut by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in trend.and_then(Value::as_array).into_iter().flatten() {
        let (Some(kind), Some(day)) = (
            row["error_type"].as_str(),
            row["day"]
                .as_str()
                .and_then(|d| d.get(..10))
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok()),
        ) else {
            continue;
        };
        let back = (today - day).num_days();
        if !(0..TREND_DAYS as i64).contains(&back) {
            continue;
        }
        let days = by_type
            .entry(kind.to_owned())
            .or_insert_with(|| vec![0.0; TREND_DAYS]);
        days[TREND_DAYS - 1 - back as usize] += row["error_count"].as_f64().unwrap_or(0.0);
    }
    by_type
}

async fn show(session: Session, Path(id): Path<String>) -> Response {
    let Some(id) = super::uuid_of(&id) else {
        return layout::refusal(StatusCode::NOT_FOUND, "no such error group");
    };
    let group = match session.api.get(&format!("/errors/{id}")).await {
        Ok(group) => group,
        Err(refusal) => return layout::refused(refusal),
    };
    let recent: Vec<&Value> = group["recent"].as_array().into_iter().flatten().collect();
    let trace = recent
        .first()
        .and_then(|event| stack_trace(&event["metadata"]));
    let title = format!(
        "{}: {}",
        text(&group["error_type"]),
        text(&group["message"])
    );
    let body = html! {
        (layout::cards(&[
            ("occurrences", count(&group["occurrence_count"])),
            ("users affected", count(&group["affected_users"])),
            ("times regressed", count(&group["times_regressed"])),
        ]))
        dl.fields {
            dt { "status" } dd { span class=(format!("badge status-{}", text(&group["status"]))) { (text(&group["status"])) } }
            dt { "first seen" } dd { (layout::time(&group["first_seen"])) }
            dt { "last seen" } dd { (layout::time(&group["last_seen"])) }
            dt { "culprit" } dd { (text(&group["culprit"])) }
            dt { "service" } dd { (text(&group["service"])) }
            dt { "environments" } dd { (group["environments"].as_array().map(|e| e.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
            dt { "assigned to" } dd { (text(&group["assigned_to"])) }
            dt { "note" } dd { (text(&group["resolution_note"])) }
        }
        @if session.is_admin() {
            h2 { "Change" }
            form.grid method="post" action=(format!("/console/errors/{id}")) {
                (layout::csrf(&session))
                div.field {
                    label for="g-status" { "Status" }
                    select #g-status name="status" {
                        @for s in ErrorStatus::ALL {
                            option value=(s.as_str()) selected[group["status"] == s.as_str()] { (s.as_str()) }
                        }
                    }
                }
                div.field {
                    label for="g-assigned" { "Assigned to" }
                    input #g-assigned name="assigned_to" value=(group["assigned_to"].as_str().unwrap_or(""));
                }
                div.field {
                    label for="g-note" { "Note" }
                    input #g-note name="resolution_note" value=(group["resolution_note"].as_str().unwrap_or(""));
                }
                div.actions { button.primary type="submit" { "Save" } }
            }
        }
        @if let Some(trace) = trace {
            h2 { "Stack trace (newest occurrence)" }
            pre { (trace) }
        }
        h2 { "Newest occurrences" }
        @if recent.is_empty() { p.empty { "Retention has removed them." } }
        @for event in &recent { (occurrence(event)) }
    };
    layout::page(&session, Section::Errors, &title, body)
}

/// The trace as the reporter sent it, else its frames one per line.
fn stack_trace(metadata: &Value) -> Option<String> {
    let error = &metadata["error"];
    if let Some(trace) = error["stack_trace"]
        .as_str()
        .or(metadata["exception.stacktrace"].as_str())
    {
        return Some(trace.to_owned());
    }
    let frames = error["frames"].as_array()?;
    Some(
        frames
            .iter()
            .map(|f| match f {
                Value::String(s) => s.clone(),
                other => format!(
                    "{} ({}:{})",
                    text(&other["function"]),
                    text(&other["filename"]),
                    text(&other["lineno"])
                ),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn occurrence(event: &Value) -> Markup {
    html! {
        details {
            summary {
                (layout::time(&event["created_at"])) " · user " (text(&event["user_id"])) " · "
                a href=(format!("/console/events/{}", text(&event["id"]))) { "event" }
            }
            (layout::tree(&event["metadata"]))
        }
    }
}

async fn change(Path(id): Path<String>, posted: Posted) -> Response {
    let Some(id) = super::uuid_of(&id) else {
        return layout::refusal(StatusCode::NOT_FOUND, "no such error group");
    };
    let mut change = Map::new();
    for field in ["status", "assigned_to", "resolution_note"] {
        if let Some(value) = posted.field(field) {
            change.insert(field.to_owned(), Value::from(value.trim()));
        }
    }
    match posted
        .session
        .api
        .send(
            Method::PATCH,
            &format!("/errors/{id}"),
            Some(Value::Object(change)),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/errors/{id}")).into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}
