//! Dashboards (seed 001): the ones the key may see, one drawn with its widgets over a
//! time range, and making, filling and deleting them.

use axum::{
    Router,
    extract::{Path, Query},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use logbook_model::dashboards::{Dashboard, SOURCES, TIME_RANGES, WidgetType, hours_of};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::console::{
    Console,
    layout::{self, Section, text},
    session::{Posted, Session},
    widgets,
};

pub fn router() -> Router<Console> {
    Router::new()
        .route("/dashboards", get(list).post(create))
        .route("/dashboards/{id}", get(show))
        .route("/dashboards/{id}/delete", post(delete))
        .route("/dashboards/{id}/widgets", post(add_widget))
        .route(
            "/dashboards/{id}/widgets/{widget}/delete",
            post(remove_widget),
        )
}

async fn list(session: Session) -> Response {
    let answer = match session.api.get("/dashboards").await {
        Ok(answer) => answer,
        Err(refusal) => return layout::refused(refusal),
    };
    let body = html! {
        @if answer["items"].as_array().is_none_or(Vec::is_empty) {
            p.empty { "No dashboard yet." }
        } @else {
            ul.plain #dashboards {
                @for d in answer["items"].as_array().into_iter().flatten() {
                    li {
                        a href=(format!("/console/dashboards/{}", text(&d["id"]))) { strong { (text(&d["name"])) } }
                        " · " (text(&d["visibility"])) " · "
                        (d["widgets"].as_array().map_or(0, Vec::len)) " widgets"
                        @if let Some(description) = d["description"].as_str() { br; span.muted { (description) } }
                    }
                }
            }
        }
        h2 { "New dashboard" }
        form.grid method="post" action="/console/dashboards" {
            (layout::csrf(&session))
            div.field { label for="d-name" { "Name" } input #d-name name="name" required maxlength="200"; }
            div.field { label for="d-description" { "Description" } input #d-description name="description"; }
            div.field {
                label for="d-visibility" { "Who sees it" }
                select #d-visibility name="visibility" {
                    option value="private" { "only this key" }
                    option value="organization" { "every key of the tenant" }
                }
            }
            div.field {
                label for="d-range" { "Time range" }
                select #d-range name="default_time_range" {
                    @for (range, _) in TIME_RANGES { option value=(range) selected[range == "24h"] { (range) } }
                }
            }
            div.actions { button.primary type="submit" { "Make dashboard" } }
        }
    };
    layout::page(&session, Section::Dashboards, "Dashboards", body)
}

async fn create(posted: Posted) -> Response {
    let field = |name| posted.field(name).unwrap_or("").trim().to_owned();
    let mut dashboard = json!({
        "name": field("name"),
        "visibility": field("visibility"),
        "default_time_range": field("default_time_range"),
    });
    let description = field("description");
    if !description.is_empty() {
        dashboard["description"] = Value::from(description);
    }
    match posted.session.api.post("/dashboards", dashboard).await {
        Ok(made) => {
            Redirect::to(&format!("/console/dashboards/{}", text(&made["id"]))).into_response()
        }
        Err(refusal) => layout::refused(refusal),
    }
}

#[derive(serde::Deserialize)]
struct Range {
    range: Option<String>,
}

async fn show(session: Session, Path(id): Path<String>, Query(range): Query<Range>) -> Response {
    let answer = match session
        .api
        .get(&format!("/dashboards/{}", super::id_segment(&id)))
        .await
    {
        Ok(answer) => answer,
        Err(refusal) => return layout::refused(refusal),
    };
    let dashboard: Dashboard = match serde_json::from_value(answer) {
        Ok(d) => d,
        Err(_) => {
            return layout::refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the dashboard could not be read",
            );
        }
    };
    let range = range
        .range
        .filter(|r| hours_of(r).is_some())
        .unwrap_or_else(|| dashboard.default_time_range.clone());
    let drawn = futures_util::future::join_all(dashboard.widgets.iter().map(|w| {
        let hours = w
            .time_range
            .as_deref()
            .and_then(hours_of)
            .or(hours_of(&range))
            .unwrap_or(24);
        widgets::render(&session.api, w, hours)
    }))
    .await;
    let mine = dashboard.owner_id == session.principal.key_id || session.is_admin();
    let base = format!("/console/dashboards/{}", dashboard.id);
    let body = html! {
        @if dashboard.auto_refresh { div data-refresh=(dashboard.refresh_interval) {} }
        @if let Some(description) = &dashboard.description { p.muted { (description) } }
        nav.related aria-label="Time range" {
            ul {
                @for (r, _) in TIME_RANGES {
                    li {
                        @if r == range { strong aria-current="true" { (r) } }
                        @else { a href=(format!("{base}?range={r}")) { (r) } }
                    }
                }
            }
        }
        @if dashboard.widgets.is_empty() { p.empty { "No widget yet." } }
        div.grid12 {
            @for (widget, markup) in dashboard.widgets.iter().zip(drawn) {
                section class=(format!("widget w-{}", widget.position.w)) aria-label=(widget.title) {
                    h2 {
                        span { (widget.title) }
                        @if mine {
                            form.inline method="post" action=(format!("{base}/widgets/{}/delete", widget.id)) {
                                (layout::csrf(&session))
                                button type="submit" aria-label=(format!("Remove {}", widget.title)) { "×" }
                            }
                        }
                    }
                    (markup)
                }
            }
        }
        @if mine {
            (widget_form(&session, &base))
            form.inline method="post" action=(format!("{base}/delete"))
                data-confirm=(format!("Delete the dashboard {} and its widgets?", dashboard.name)) {
                (layout::csrf(&session))
                p { button.danger type="submit" { "Delete this dashboard" } }
            }
        }
    };
    layout::page(&session, Section::Dashboards, &dashboard.name, body)
}

fn widget_form(session: &Session, base: &str) -> Markup {
    html! {
        details.add {
            summary { "Add a widget" }
            form.grid method="post" action=(format!("{base}/widgets")) {
                (layout::csrf(session))
                div.field { label for="w-title" { "Title" } input #w-title name="title" required maxlength="200"; }
                div.field {
                    label for="w-type" { "Type" }
                    select #w-type name="widget_type" {
                        @for t in WidgetType::ALL { option value=(t.as_str()) { (t.as_str()) } }
                    }
                }
                div.field {
                    label for="w-source" { "Data" }
                    select #w-source name="data_source" {
                        @for s in &SOURCES { option value=(s.name) { (s.name) } }
                    }
                }
                div.field {
                    label for="w-metric" { "Metric" }
                    input #w-metric name="metric_name" list="w-metrics" placeholder="failure_count";
                    datalist #w-metrics {
                        @for s in &SOURCES { @for m in s.metrics { option value=(m) { (s.name) } } }
                    }
                }
                div.field {
                    label for="w-range" { "Time range" }
                    select #w-range name="time_range" {
                        option value="" { "the dashboard's" }
                        @for (r, _) in TIME_RANGES { option value=(r) { (r) } }
                    }
                }
                div.field {
                    label for="w-width" { "Width (of 12)" }
                    select #w-width name="width" {
                        @for w in [3, 4, 6, 8, 12] { option value=(w) selected[w == 6] { (w) } }
                    }
                }
                div.field { label for="w-filter" { "Filter (name=value)" } input #w-filter name="filter" placeholder="event_type=AUTH_FAILURE"; }
                div.field { label for="w-query" { "Query (custom-query: /logs filters)" } input #w-query name="query" placeholder="event_type=ERROR&service=api"; }
                div.field { label for="w-aggregation" { "Counter sums by" }
                    select #w-aggregation name="aggregation" {
                        @for a in ["", "sum", "avg", "min", "max", "count"] { option value=(a) { (if a.is_empty() { "default" } else { a }) } }
                    }
                }
                div.actions { button.primary type="submit" { "Add" } }
            }
        }
    }
}

async fn dashboard_of(posted: &Posted, id: &str) -> Result<Value, Response> {
    posted
        .session
        .api
        .get(&format!("/dashboards/{}", super::id_segment(id)))
        .await
        .map_err(layout::refused)
}

/// Saves the dashboard's widgets; a refusal the person can mend is shown with its words.
async fn save_widgets(posted: &Posted, id: &str, widgets: Vec<Value>) -> Response {
    let path = format!("/dashboards/{}", super::id_segment(id));
    match posted
        .session
        .api
        .send(Method::PATCH, &path, Some(json!({ "widgets": widgets })))
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/console/dashboards/{}", super::id_segment(id))).into_response()
        }
        Err(refusal) if refusal.status == StatusCode::BAD_REQUEST => {
            layout::refusal(StatusCode::UNPROCESSABLE_ENTITY, &refusal.detail)
        }
        Err(refusal) => layout::refused(refusal),
    }
}

async fn add_widget(Path(id): Path<String>, posted: Posted) -> Response {
    let dashboard = match dashboard_of(&posted, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let field = |name| posted.field(name).map(str::trim).filter(|v| !v.is_empty());
    let mut widget = json!({
        "title": field("title").unwrap_or(""),
        "widget_type": field("widget_type").unwrap_or(""),
        "data_source": field("data_source").unwrap_or(""),
        "position": {
            "x": 0,
            "y": dashboard["widgets"].as_array().map_or(0, Vec::len).min(100),
            "w": field("width").and_then(|w| w.parse::<u8>().ok()).unwrap_or(6),
            "h": 4,
        },
    });
    for name in ["metric_name", "time_range", "query", "aggregation"] {
        if let Some(value) = field(name) {
            widget[name] = Value::from(value);
        }
    }
    if let Some(filter) = field("filter") {
        let Some((name, value)) = filter.split_once('=') else {
            return layout::refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the filter must be name=value",
            );
        };
        widget["filters"] = json!({ name.trim(): value.trim() });
    }
    let mut widgets = dashboard["widgets"].as_array().cloned().unwrap_or_default();
    widgets.push(widget);
    save_widgets(&posted, &id, widgets).await
}

async fn remove_widget(Path((id, widget)): Path<(String, String)>, posted: Posted) -> Response {
    let dashboard = match dashboard_of(&posted, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let widgets: Vec<Value> = dashboard["widgets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["id"] != widget.as_str())
        .cloned()
        .collect();
    save_widgets(&posted, &id, widgets).await
}

async fn delete(Path(id): Path<String>, posted: Posted) -> Response {
    let path = format!("/dashboards/{}", super::id_segment(&id));
    match posted.session.api.send(Method::DELETE, &path, None).await {
        Ok(_) => Redirect::to("/console/dashboards").into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}
