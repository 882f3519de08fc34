//! Alerts: the open ones with acknowledge, resolve and silence; their history; the rules,
//! made, edited, enabled and disabled here. Monitors and integrations with uptime bars.

use axum::{
    Router,
    extract::Path,
    http::Method,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::{Duration, Utc};
use logbook_model::Severity;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::console::{
    Console, charts,
    layout::{self, Section, count, text},
    session::{Posted, Session},
};

pub fn router() -> Router<Console> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/rules/new", get(new_rule).post(create_rule))
        .route("/alerts/rules/{id}", get(edit_rule).post(save_rule))
        .route("/alerts/rules/{id}/status", post(set_rule_status))
        .route("/alerts/{id}/{action}", post(act))
        .route("/monitors", get(monitors))
}

async fn list(session: Session) -> Response {
    // Each open status on its own, so no number of resolved alerts hides an open one.
    let api = &session.api;
    let (active, pending, acknowledged, suppressed, resolved, rules, stats) = tokio::join!(
        api.get("/alerts?status=active&limit=1000"),
        api.get("/alerts?status=pending&limit=1000"),
        api.get("/alerts?status=acknowledged&limit=1000"),
        api.get("/alerts?status=suppressed&limit=1000"),
        api.get("/alerts?status=resolved&limit=100"),
        api.get("/alerts/rules"),
        api.get("/alerts/stats"),
    );
    let mut lists = Vec::new();
    for answer in [active, pending, acknowledged, suppressed, resolved, rules] {
        match answer {
            Ok(answer) => lists.push(answer),
            Err(refusal) => return layout::refused(refusal),
        }
    }
    let rules = lists.pop().unwrap_or_default();
    let resolved = lists.pop().unwrap_or_default();
    let open: Vec<&Value> = lists
        .iter()
        .flat_map(|answer| answer["items"].as_array().into_iter().flatten())
        .collect();
    let history: Vec<&Value> = resolved["items"].as_array().into_iter().flatten().collect();
    let stats = stats.unwrap_or(Value::Null);
    let last_triggered = |rule: &Value| {
        stats["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["rule_id"] == rule["id"])
            .map_or(Value::Null, |s| s["last_triggered"].clone())
    };
    let admin = session.is_admin();
    let body = html! {
        section {
            h2 { "Open" }
            @if open.is_empty() { p.empty { "No alert is open." } }
            @else {
                div.table-wrap { table #open-alerts {
                    thead { tr {
                        th scope="col" { "Alert" } th scope="col" { "Status" } th scope="col" { "Since" }
                        th.figure scope="col" { "Value" } th scope="col" { "Actions" }
                    } }
                    tbody { @for alert in &open { (open_row(&session, alert, admin)) } }
                } }
            }
        }
        section {
            h2 { "Rules" }
            @if admin { p { a.button href="/console/alerts/rules/new" { "New rule" } } }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Rule" } th scope="col" { "Condition" } th scope="col" { "Severity" }
                    th scope="col" { "Status" } th scope="col" { "Last fired" } @if admin { th scope="col" { "" } }
                } }
                tbody {
                    @for rule in rules["items"].as_array().into_iter().flatten() {
                        tr {
                            td {
                                @if admin { a href=(format!("/console/alerts/rules/{}", text(&rule["id"]))) { (text(&rule["name"])) } }
                                @else { (text(&rule["name"])) }
                                @if let Some(d) = rule["description"].as_str() { br; span.muted { (d) } }
                            }
                            td { code { (text(&rule["metric_name"])) " " (text(&rule["comparison_operator"])) " " (text(&rule["threshold"])) } " over " (text(&rule["window_minutes"])) " min" }
                            td { (text(&rule["severity"])) }
                            td { (text(&rule["status"])) }
                            td { (layout::time(&last_triggered(rule))) }
                            @if admin {
                                td {
                                    form.inline method="post" action=(format!("/console/alerts/rules/{}/status", text(&rule["id"]))) {
                                        (layout::csrf(&session))
                                        @if rule["status"] == "enabled" {
                                            input type="hidden" name="status" value="disabled";
                                            button type="submit" { "Disable" }
                                        } @else {
                                            input type="hidden" name="status" value="enabled";
                                            button type="submit" { "Enable" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        section {
            h2 { "History" }
            @if history.is_empty() { p.empty { "No alert has been resolved yet." } }
            @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Alert" } th scope="col" { "Fired" } th scope="col" { "Resolved" } th scope="col" { "By" } } }
                    tbody {
                        @for alert in &history {
                            tr {
                                td { (title(alert)) }
                                td { (layout::time(&alert["triggered_at"])) }
                                td { (layout::time(&alert["resolved_at"])) }
                                td { (text(&alert["resolved_by"])) }
                            }
                        }
                    }
                } }
            }
        }
    };
    layout::page(&session, Section::Alerts, "Alerts", body)
}

fn title(alert: &Value) -> Markup {
    html! {
        span class=(format!("badge severity-{}", text(&alert["severity"]))) { (text(&alert["severity"])) }
        " " strong { (text(&alert["rule_name"])) }
        @if let Some(group) = alert["group"].as_str() { " · " code { (group) } }
        br; span.muted { (text(&alert["message"])) }
    }
}

fn open_row(session: &Session, alert: &Value, admin: bool) -> Markup {
    let id = text(&alert["id"]);
    let action = |name: &str| format!("/console/alerts/{id}/{name}");
    html! {
        tr id=(format!("alert-{id}")) {
            td { (title(alert)) }
            td.alert-status { span class=(format!("badge status-{}", text(&alert["status"]))) { (text(&alert["status"])) } }
            td { (layout::time(&alert["triggered_at"])) }
            td.figure { (text(&alert["current_value"])) " / " (text(&alert["threshold"])) }
            td {
                @if admin {
                    div.actions {
                        @if alert["status"] == "active" || alert["status"] == "pending" {
                            form.inline method="post" action=(action("acknowledge")) {
                                (layout::csrf(session))
                                button type="submit" { "Acknowledge" }
                            }
                        }
                        form.inline method="post" action=(action("resolve")) {
                            (layout::csrf(session))
                            button type="submit" { "Resolve" }
                        }
                        form.inline method="post" action=(action("silence")) {
                            (layout::csrf(session))
                            label.visually-hidden for=(format!("silence-{id}")) { "Silence for" }
                            select id=(format!("silence-{id}")) name="hours" {
                                @for (hours, shown) in [(1, "1 h"), (4, "4 h"), (24, "1 day"), (168, "1 week")] {
                                    option value=(hours) { (shown) }
                                }
                            }
                            button type="submit" { "Silence" }
                        }
                    }
                } @else {
                    span.muted { "An admin key acts on alerts." }
                }
            }
        }
    }
}

async fn act(Path((id, action)): Path<(String, String)>, posted: Posted) -> Response {
    let body = match action.as_str() {
        "acknowledge" | "resolve" => json!({}),
        "silence" => {
            let hours = posted
                .field("hours")
                .and_then(|h| h.parse::<i64>().ok())
                .filter(|h| (1..=24 * 365).contains(h))
                .unwrap_or(1);
            json!({ "until": Utc::now() + Duration::hours(hours) })
        }
        _ => return layout::refusal(axum::http::StatusCode::NOT_FOUND, "no such alert action"),
    };
    let path = format!("/alerts/{}/{}", super::id_segment(&id), action);
    match posted.session.api.post(&path, body).await {
        Ok(_) => Redirect::to("/console/alerts").into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}

/// Metrics a rule can watch, as the API names them.
const METRICS: [&str; 11] = [
    "event_count",
    "error_rate",
    "p95_latency",
    "throughput",
    "action_failure_rate",
    "action_avg_latency",
    "audit_changes",
    "new_error_groups",
    "regressed_error_groups",
    "anomaly",
    "monitor_down",
];
const COMPARISONS: [(&str, &str); 6] = [
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
    ("eq", "="),
    ("ne", "≠"),
];

async fn new_rule(session: Session) -> Response {
    let blank = json!({
        "status": "enabled", "severity": "warning", "metric_name": "event_count",
        "comparison_operator": "gt", "window_minutes": 5, "suppress_duration": 300,
        "auto_resolve": true, "channels": [],
    });
    let body = rule_form(&session, "/console/alerts/rules/new", &blank, None);
    layout::page(&session, Section::Alerts, "New alert rule", body)
}

async fn edit_rule(session: Session, Path(id): Path<String>) -> Response {
    let rule = match session
        .api
        .get(&format!("/alerts/rules/{}", super::id_segment(&id)))
        .await
    {
        Ok(rule) => rule,
        Err(refusal) => return layout::refused(refusal),
    };
    let action = format!("/console/alerts/rules/{}", super::id_segment(&id));
    let body = rule_form(&session, &action, &rule, None);
    layout::page(
        &session,
        Section::Alerts,
        &format!("Rule: {}", text(&rule["name"])),
        body,
    )
}

fn rule_form(session: &Session, action: &str, rule: &Value, error: Option<&str>) -> Markup {
    let value = |field: &str| match &rule[field] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let pairs = |field: &str| {
        if let Some(typed) = rule[field].as_str() {
            return typed.to_owned();
        }
        rule[field]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    let channels = match &rule["channels"] {
        Value::String(typed) => typed.clone(),
        Value::Null => "[]".into(),
        channels => serde_json::to_string_pretty(channels).unwrap_or_else(|_| "[]".into()),
    };
    html! {
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form.grid method="post" action=(action) {
            (layout::csrf(session))
            div.field { label for="r-name" { "Name" } input #r-name name="name" value=(value("name")) required maxlength="200"; }
            div.field { label for="r-description" { "Description" } input #r-description name="description" value=(value("description")); }
            div.field {
                label for="r-status" { "Status" }
                select #r-status name="status" {
                    @for s in ["enabled", "disabled", "testing"] { option value=(s) selected[value("status") == s] { (s) } }
                }
            }
            div.field {
                label for="r-severity" { "Severity" }
                select #r-severity name="severity" {
                    @for s in Severity::ALL { option value=(s.as_str()) selected[value("severity") == s.as_str()] { (s.as_str()) } }
                }
            }
            div.field {
                label for="r-metric" { "Metric" }
                select #r-metric name="metric_name" {
                    @for m in METRICS { option value=(m) selected[value("metric_name") == m] { (m) } }
                }
            }
            div.field {
                label for="r-comparison" { "Comparison" }
                select #r-comparison name="comparison_operator" {
                    @for (c, shown) in COMPARISONS { option value=(c) selected[value("comparison_operator") == c] { (shown) } }
                }
            }
            div.field { label for="r-threshold" { "Threshold" } input #r-threshold name="threshold" type="number" step="any" value=(value("threshold")) required; }
            div.field { label for="r-window" { "Window (minutes)" } input #r-window name="window_minutes" type="number" min="1" value=(value("window_minutes")); }
            div.field { label for="r-duration" { "Holds for (minutes)" } input #r-duration name="duration_minutes" type="number" min="0" value=(value("duration_minutes")); }
            div.field { label for="r-group" { "Group by (event field)" } input #r-group name="group_by" value=(value("group_by")) placeholder="ip_address"; }
            div.field { label for="r-suppress" { "Repeat every (seconds)" } input #r-suppress name="suppress_duration" type="number" min="0" value=(value("suppress_duration")); }
            div.field {
                label for="r-auto" { "Resolve by itself" }
                select #r-auto name="auto_resolve" {
                    option value="true" selected[rule["auto_resolve"] != false] { "yes" }
                    option value="false" selected[rule["auto_resolve"] == false] { "no" }
                }
            }
            div.field { label for="r-filter" { "Filter (one field=value a line)" } textarea #r-filter name="filter" { (pairs("filter")) } }
            div.field { label for="r-channels" { "Channels (JSON, as the API takes them)" } textarea #r-channels name="channels" { (channels) } }
            div.actions { button.primary type="submit" { "Save" } " " a href="/console/alerts" { "Cancel" } }
        }
    }
}

/// The rule's fields from the form, as the API takes them.
fn rule_of(posted: &Posted) -> Result<Map<String, Value>, String> {
    let mut rule = Map::new();
    for field in [
        "name",
        "status",
        "severity",
        "metric_name",
        "comparison_operator",
    ] {
        rule.insert(
            field.into(),
            Value::from(posted.field(field).unwrap_or("").trim()),
        );
    }
    let optional_text = |field: &str| {
        posted
            .field(field)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or(Value::Null, Value::from)
    };
    rule.insert("description".into(), optional_text("description"));
    rule.insert("group_by".into(), optional_text("group_by"));
    let threshold: f64 = posted
        .field("threshold")
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| "The threshold must be a number.".to_owned())?;
    rule.insert("threshold".into(), json!(threshold));
    for field in ["window_minutes", "duration_minutes", "suppress_duration"] {
        if let Some(v) = posted.field(field).map(str::trim).filter(|v| !v.is_empty()) {
            let n: u32 = v
                .parse()
                .map_err(|_| format!("{field} must be a whole number."))?;
            rule.insert(field.into(), json!(n));
        }
    }
    rule.insert(
        "auto_resolve".into(),
        json!(posted.field("auto_resolve") != Some("false")),
    );
    let mut filter = Map::new();
    for line in posted.field("filter").unwrap_or("").lines() {
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("The filter line {line:?} is not field=value."))?;
        filter.insert(k.trim().to_owned(), Value::from(v.trim()));
    }
    rule.insert("filter".into(), Value::Object(filter));
    let channels = posted.field("channels").unwrap_or("").trim();
    let channels: Value = if channels.is_empty() {
        json!([])
    } else {
        serde_json::from_str(channels).map_err(|e| format!("The channels are not JSON: {e}"))?
    };
    rule.insert("channels".into(), channels);
    Ok(rule)
}

async fn create_rule(posted: Posted) -> Response {
    save(
        posted,
        Method::POST,
        "/alerts/rules".into(),
        "/console/alerts/rules/new",
    )
    .await
}

async fn save_rule(Path(id): Path<String>, posted: Posted) -> Response {
    let id = super::id_segment(&id);
    save(
        posted,
        Method::PATCH,
        format!("/alerts/rules/{id}"),
        &format!("/console/alerts/rules/{id}"),
    )
    .await
}

/// Sends the rule; a refusal the person can mend shows the form again with its words.
async fn save(posted: Posted, method: Method, path: String, form_action: &str) -> Response {
    let fields = match rule_of(&posted) {
        Ok(fields) => fields,
        Err(message) => return again(&posted, form_action, &as_typed(&posted), &message),
    };
    match posted
        .session
        .api
        .send(method, &path, Some(Value::Object(fields.clone())))
        .await
    {
        Ok(_) => Redirect::to("/console/alerts").into_response(),
        Err(refusal)
            if refusal.status.is_client_error()
                && refusal.status != axum::http::StatusCode::UNAUTHORIZED
                && refusal.status != axum::http::StatusCode::FORBIDDEN =>
        {
            again(
                &posted,
                form_action,
                &Value::Object(fields),
                &refusal.detail,
            )
        }
        Err(refusal) => layout::refused(refusal),
    }
}

/// The form's fields as they were typed, to show them again.
fn as_typed(posted: &Posted) -> Value {
    let typed: Map<String, Value> = posted
        .fields
        .iter()
        .filter(|(name, _)| name != "csrf")
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    Value::Object(typed)
}

fn again(posted: &Posted, action: &str, rule: &Value, message: &str) -> Response {
    let body = rule_form(&posted.session, action, rule, Some(message));
    let mut response = layout::page(&posted.session, Section::Alerts, "Alert rule", body);
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

async fn set_rule_status(Path(id): Path<String>, posted: Posted) -> Response {
    let status = match posted.field("status") {
        Some(s @ ("enabled" | "disabled" | "testing")) => s.to_owned(),
        _ => {
            return layout::refusal(
                axum::http::StatusCode::BAD_REQUEST,
                "status must be enabled, disabled or testing",
            );
        }
    };
    let path = format!("/alerts/rules/{}", super::id_segment(&id));
    match posted
        .session
        .api
        .send(Method::PATCH, &path, Some(json!({ "status": status })))
        .await
    {
        Ok(_) => Redirect::to("/console/alerts").into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}

async fn monitors(session: Session) -> Response {
    let (monitors, summary, integrations) = tokio::join!(
        session.api.get("/monitors"),
        session.api.get("/monitors/summary"),
        session.api.get("/integrations?hours=24"),
    );
    let (monitors, summary) = match (monitors, summary) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(refusal), _) | (_, Err(refusal)) => return layout::refused(refusal),
    };
    let integrations = integrations.unwrap_or(Value::Null);
    let body = html! {
        (layout::cards(&[
            ("services", count(&summary["total_services"])),
            ("healthy", count(&summary["healthy_count"])),
            ("degraded", count(&summary["degraded_count"])),
            ("down", count(&summary["down_count"])),
            ("uptime, 24 h", summary["avg_uptime_24h"].as_f64().map_or("—".into(), |u| format!("{u:.2} %"))),
        ]))
        h2 { "Monitors" }
        @if monitors["items"].as_array().is_none_or(Vec::is_empty) {
            p.empty { "No monitor yet: add one with POST /api/v1/monitors." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Service" } th scope="col" { "Status" } th.figure scope="col" { "24 h" }
                    th.figure scope="col" { "7 days" } th.figure scope="col" { "p95 ms" } th scope="col" { "Newest checks" }
                } }
                tbody {
                    @for m in monitors["items"].as_array().into_iter().flatten() {
                        @let statuses: Vec<String> = m["recent_checks"].as_array().into_iter().flatten().rev().map(|c| text(&c["status"])).collect();
                        tr {
                            td { strong { (text(&m["name"])) } br; span.muted { (text(&m["url"])) } }
                            td { span class=(format!("badge status-{}", text(&m["status"]))) { (text(&m["status"])) } }
                            td.figure { (m["uptime_24h"].as_f64().map_or("—".into(), |u| format!("{u:.2} %"))) }
                            td.figure { (m["uptime_7d"].as_f64().map_or("—".into(), |u| format!("{u:.2} %"))) }
                            td.figure { (text(&m["p95"])) }
                            td { (charts::uptime(&format!("Newest checks of {}, oldest first", text(&m["name"])), &statuses)) }
                        }
                    }
                }
            } }
        }
        h2 { "Integrations, last 24 hours" }
        @if integrations.as_array().is_none_or(Vec::is_empty) {
            p.empty { "No provider action events (ACTION with a provider) in the last 24 hours." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Provider" } th scope="col" { "Status" } th.figure scope="col" { "Events" }
                    th.figure scope="col" { "Success" } th.figure scope="col" { "Mean ms" } th scope="col" { "Last success" }
                } }
                tbody {
                    @for i in integrations.as_array().into_iter().flatten() {
                        tr {
                            td { (text(&i["provider"])) }
                            td { span class=(format!("badge status-{}", text(&i["status"]))) { (text(&i["status"])) } }
                            td.figure { (count(&i["total_events"])) }
                            td.figure { (i["success_rate"].as_f64().map_or("—".into(), |r| format!("{r:.1} %"))) }
                            td.figure { (text(&i["avg_response_time_ms"])) }
                            td { (layout::time(&i["last_success"])) }
                        }
                    }
                }
            } }
        }
    };
    layout::page(
        &session,
        Section::Monitors,
        "Monitors and integrations",
        body,
    )
}
