//! Events: every `/logs` filter as a form, pages by cursor, one event whole, and the live
//! tail of what matches.

use axum::{
    Router,
    extract::{Path, RawQuery},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use logbook_model::Severity;
use maud::{Markup, html};
use serde_json::Value;

use super::query_of;
use crate::console::{
    Console,
    layout::{self, Section, text},
    session::Session,
};

pub fn router() -> Router<Console> {
    Router::new()
        .route("/events", get(list))
        .route("/events/stream", get(stream))
        .route("/events/{id}", get(show))
}

/// The `/logs` filters, as (parameter, label, hint).
pub(super) const FILTERS: [(&str, &str, &str); 17] = [
    ("event_type", "Event type", "AUTH_FAILURE"),
    ("event_subtype", "Subtype", ""),
    ("user_id", "User", ""),
    ("ip", "IP address or CIDR", "203.0.113.0/24"),
    ("fingerprint", "Fingerprint", ""),
    ("session_id", "Session", ""),
    ("request_id", "Request", ""),
    ("service", "Service", ""),
    ("provider", "Provider", ""),
    ("status", "Status (comma-separated)", ""),
    ("success", "Outcome", ""),
    ("severity", "Severity at least", ""),
    ("status_code", "HTTP status", "500"),
    ("path", "Path starts with", "/api/"),
    ("q", "Message contains", ""),
    ("from", "From (UTC)", "2026-12-01T00:00:00Z"),
    ("to", "To (UTC)", ""),
];

/// The filter fields of a query string, in the form's order, and a page cursor.
fn filters(raw: Option<&str>) -> Vec<(String, String)> {
    super::pairs_of(raw)
        .into_iter()
        .filter(|(name, value)| {
            (FILTERS.iter().any(|(f, _, _)| f == name) || name == "cursor")
                && !value.trim().is_empty()
        })
        .collect()
}

fn value_of<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn list(session: Session, RawQuery(raw): RawQuery) -> Response {
    let chosen = filters(raw.as_deref());
    let query = query_of(chosen.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let (answer, error) = match session.api.get(&format!("/logs{query}")).await {
        Ok(answer) => (answer, None),
        Err(refusal) if refusal.status == StatusCode::BAD_REQUEST => {
            (Value::Null, Some(refusal.detail))
        }
        Err(refusal) => return layout::refused(refusal),
    };
    let without_cursor: Vec<(&str, &str)> = chosen
        .iter()
        .filter(|(n, _)| n != "cursor")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let next = answer["next_cursor"].as_str().map(|cursor| {
        let mut pairs = without_cursor.clone();
        pairs.push(("cursor", cursor));
        format!("/console/events{}", query_of(pairs))
    });
    // The tail follows what commits from now on: a time window is not its to take.
    let tail = format!(
        "/console/events/stream{}",
        query_of(
            without_cursor
                .iter()
                .filter(|(n, _)| !matches!(*n, "from" | "to"))
                .copied()
        )
    );
    let items: Vec<&Value> = answer["items"].as_array().into_iter().flatten().collect();
    let body = html! {
        (filter_form(&chosen))
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        p.live {
            button #follow type="button" data-tail=(tail) hidden { "Follow live" }
            span #live-state role="status" {}
        }
        table.events #events {
            caption.visually-hidden { "Events, newest first" }
            thead { tr {
                th scope="col" { "Time" } th scope="col" { "Type" } th scope="col" { "Severity" }
                th scope="col" { "User" } th scope="col" { "IP address" } th scope="col" { "Request" }
                th scope="col" { "Status" } th scope="col" { "ms" } th scope="col" { "Message" }
            } }
            tbody {
                @for event in &items { (row(event)) }
            }
        }
        @if items.is_empty() {
            p.empty { "No event matches." }
        }
        @if let Some(next) = next {
            p.pager { a rel="next" href=(next) { "Older events →" } }
        }
    };
    layout::page(&session, Section::Events, "Events", body)
}

fn filter_form(chosen: &[(String, String)]) -> Markup {
    html! {
        form.filters method="get" action="/console/events" role="search" {
            datalist #event-types {
                @for kind in logbook_model::event_type::KNOWN { option value=(kind) {} }
            }
            @for (name, label, hint) in FILTERS {
                div.field {
                    label for=(format!("f-{name}")) { (label) }
                    @match name {
                        "success" => select id="f-success" name="success" {
                            @for (value, shown) in [("", "any"), ("true", "succeeded"), ("false", "failed")] {
                                option value=(value) selected[value_of(chosen, name) == value] { (shown) }
                            }
                        },
                        "severity" => select id="f-severity" name="severity" {
                            option value="" { "any" }
                            @for severity in Severity::ALL {
                                option value=(severity.as_str()) selected[value_of(chosen, name) == severity.as_str()] { (severity.as_str()) }
                            }
                        },
                        "event_type" => input id="f-event_type" name="event_type" list="event-types"
                            value=(value_of(chosen, name)) placeholder=(hint);,
                        _ => input id=(format!("f-{name}")) name=(name)
                            value=(value_of(chosen, name)) placeholder=(hint);,
                    }
                }
            }
            div.actions {
                button type="submit" { "Filter" }
                " "
                a href="/console/events" { "Clear" }
            }
        }
    }
}

fn row(event: &Value) -> Markup {
    let id = text(&event["id"]);
    let request = match (
        event["http_method"].as_str(),
        event["request_path"].as_str(),
    ) {
        (Some(method), Some(path)) => format!("{method} {path}"),
        (None, Some(path)) => path.to_owned(),
        _ => String::new(),
    };
    html! {
        tr class=(if event["success"] == Value::Bool(false) { "failed" } else { "" }) {
            td { a href=(format!("/console/events/{id}")) { (layout::time(&event["created_at"])) } }
            td { (text(&event["event_type"])) }
            td { (text(&event["severity"])) }
            td { (text(&event["user_id"])) }
            td { (text(&event["ip_address"])) }
            td { (request) }
            td { (text(&event["response_status_code"])) }
            td { (text(&event["response_time_ms"])) }
            td.message { (text(&event["message"])) }
        }
    }
}

async fn show(session: Session, Path(id): Path<String>) -> Response {
    let Some(id) = super::uuid_of(&id) else {
        return layout::refusal(StatusCode::NOT_FOUND, "no such event");
    };
    let event = match session.api.get(&format!("/logs/{id}")).await {
        Ok(event) => event,
        Err(refusal) => return layout::refused(refusal),
    };
    let same = |field: &str, filter: &str, label: &str| {
        event[field].as_str().map(|value| {
            (
                format!("/console/events{}", query_of([(filter, value)])),
                label.to_owned(),
            )
        })
    };
    let links: Vec<(String, String)> = [
        same("user_id", "user_id", "Same user"),
        same("ip_address", "ip", "Same IP address"),
        same("request_id", "request_id", "Same request"),
        same("session_id", "session_id", "Same session"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let body = html! {
        @if !links.is_empty() {
            nav.related aria-label="Related events" {
                ul { @for (href, label) in &links { li { a href=(href) { (label) } } } }
            }
        }
        dl.fields {
            @for field in logbook_model::event::FIELD_NAMES {
                dt { (field) }
                dd {
                    @match *field {
                        "created_at" => (layout::time(&event[*field])),
                        "metadata" | "request_params" | "request_body_summary" if event[*field].is_object() || event[*field].is_array() => (layout::tree(&event[*field])),
                        _ => (text(&event[*field])),
                    }
                }
            }
        }
    };
    layout::page(&session, Section::Events, "Event", body)
}

/// The live tail of the filters, passed through from the API as it streams.
async fn stream(session: Session, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let chosen = filters(raw.as_deref());
    let query = query_of(
        chosen
            .iter()
            .filter(|(n, _)| !matches!(n.as_str(), "cursor" | "from" | "to"))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    match session
        .api
        .stream(&format!("/logs/tail{query}"), headers.get("last-event-id"))
        .await
    {
        Ok(response) => response.into_response(),
        Err(refusal) => (refusal.status, refusal.detail).into_response(),
    }
}
