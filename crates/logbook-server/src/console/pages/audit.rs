//! The audit trail: a timeline per resource and per actor with each change's before and
//! after side by side, the chain's status and signer, verification on request, export.

use axum::{
    Router,
    extract::RawQuery,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
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
        .route("/audit", get(timeline))
        .route("/audit/verify", get(verify))
        .route("/audit/export", get(export))
}

const FILTERS: [(&str, &str); 6] = [
    ("actor_id", "Actor"),
    ("resource_type", "Resource type"),
    ("resource_id", "Resource id"),
    ("action", "Action (comma-separated)"),
    ("from", "From (UTC)"),
    ("to", "To (UTC)"),
];
const PAGE: u64 = 50;

fn chosen(raw: Option<&str>) -> Vec<(String, String)> {
    super::pairs_of(raw)
        .into_iter()
        .filter(|(n, v)| FILTERS.iter().any(|(f, _)| f == n) && !v.trim().is_empty())
        .collect()
}

fn skip_of(raw: Option<&str>) -> u64 {
    super::pairs_of(raw)
        .into_iter()
        .find(|(n, _)| n == "skip")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

async fn timeline(session: Session, RawQuery(raw): RawQuery) -> Response {
    let filters = chosen(raw.as_deref());
    let skip = skip_of(raw.as_deref());
    let mut pairs: Vec<(&str, String)> = filters
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    pairs.push(("limit", PAGE.to_string()));
    pairs.push(("skip", skip.to_string()));
    let query = query_of(pairs.iter().map(|(n, v)| (*n, v.as_str())));
    let search = format!("/audit/search{query}");
    let (found, checkpoints, signer) = tokio::join!(
        session.api.get(&search),
        session.api.get("/audit/checkpoints"),
        session.api.get("/audit/public-key"),
    );
    let (found, error) = match found {
        Ok(found) => (found, None),
        Err(refusal) if refusal.status == StatusCode::BAD_REQUEST => {
            (Value::Null, Some(refusal.detail))
        }
        Err(refusal) => return layout::refused(refusal),
    };
    let items: Vec<&Value> = found["items"].as_array().into_iter().flatten().collect();
    let page_of = |skip: u64| {
        let mut pairs: Vec<(&str, String)> = filters
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        pairs.push(("skip", skip.to_string()));
        format!(
            "/console/audit{}",
            query_of(pairs.iter().map(|(n, v)| (*n, v.as_str())))
        )
    };
    let body = html! {
        (chain_status(checkpoints.ok().as_ref(), signer.ok().as_ref(), None))
        form.filters method="get" action="/console/audit" role="search" {
            @for (name, label) in FILTERS {
                div.field {
                    label for=(format!("a-{name}")) { (label) }
                    input id=(format!("a-{name}")) name=(name)
                        value=(filters.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str()));
                }
            }
            div.actions { button type="submit" { "Show" } " " a href="/console/audit" { "Clear" } }
        }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        @if items.is_empty() {
            p.empty { "No audit event matches." }
        } @else {
            ol.timeline {
                @for event in &items { (entry(event)) }
            }
        }
        p.pager {
            @if skip > 0 { a rel="prev" href=(page_of(skip.saturating_sub(PAGE))) { "← Newer" } }
            @if items.len() as u64 == PAGE { a rel="next" href=(page_of(skip + PAGE)) { "Older →" } }
        }
    };
    layout::page(&session, Section::Audit, "Audit trail", body)
}

fn chain_status(
    checkpoints: Option<&Value>,
    signer: Option<&Value>,
    verified: Option<&Value>,
) -> Markup {
    let last = checkpoints
        .and_then(Value::as_array)
        .and_then(|all| all.iter().max_by_key(|c| c["seq"].as_i64().unwrap_or(0)));
    html! {
        section.chain aria-labelledby="chain" {
            h2 #chain { "Chain" }
            dl.fields {
                dt { "Last checkpoint" }
                dd {
                    @if let Some(c) = last {
                        "seq " (text(&c["seq"])) ", signed " (layout::time(&c["time"])) " by key " code { (short(&c["key_id"])) }
                    } @else { "none yet" }
                }
                dt { "Signing key" }
                dd { code { (signer.map(|s| text(&s["public_key"])).unwrap_or_else(|| "—".into())) } " (Ed25519)" }
                @if let Some(v) = verified {
                    dt { "Verified" }
                    dd {
                        @if v["ok"] == Value::Bool(true) {
                            span.badge.status-ok { "intact" } " " (text(&v["checked"])) " events, seq " (text(&v["first_seq"])) "–" (text(&v["last_seq"]))
                        } @else {
                            span.badge.status-broken { "broken" } " at seq " (text(&v["first_bad"]["seq"])) ": " (text(&v["first_bad"]["reason"]))
                        }
                    }
                }
            }
            div.actions {
                form.inline method="get" action="/console/audit/verify" { button type="submit" { "Verify the chain" } }
                a.button href="/console/audit/export" download { "Export (NDJSON, signed)" }
            }
        }
    }
}

fn short(value: &Value) -> String {
    let full = text(value);
    full.get(..16).map_or(full.clone(), |s| format!("{s}…"))
}

fn entry(event: &Value) -> Markup {
    let resource = format!(
        "{} {}",
        text(&event["resource_type"]),
        event["resource_id"].as_str().unwrap_or("")
    );
    let resource_link = format!(
        "/console/audit{}",
        query_of([
            (
                "resource_type",
                event["resource_type"].as_str().unwrap_or("")
            ),
            ("resource_id", event["resource_id"].as_str().unwrap_or("")),
        ])
    );
    let actor_link = format!(
        "/console/audit{}",
        query_of([("actor_id", event["actor_id"].as_str().unwrap_or(""))])
    );
    html! {
        li {
            div {
                (layout::time(&event["occurred_at"])) " · seq " (text(&event["seq"])) " · "
                a href=(actor_link) { (text(&event["actor_id"])) }
                " " strong { (text(&event["action"])) } " "
                a href=(resource_link) { (resource) }
                " " span class=(format!("badge status-{}", if event["outcome"] == "success" { "ok" } else { "broken" })) { (text(&event["outcome"])) }
            }
            @if let Some(description) = event["description"].as_str() { p.muted { (description) } }
            (changes(event))
        }
    }
}

/// Each changed field with its value before (struck, red) and after (green).
fn changes(event: &Value) -> Markup {
    let Some(fields) = event["changes"].as_object().filter(|c| !c.is_empty()) else {
        return html! {};
    };
    html! {
        table.diff {
            thead { tr { th scope="col" { "Field" } th scope="col" { "Before" } th scope="col" { "After" } } }
            tbody {
                @for (field, change) in fields {
                    tr {
                        th scope="row" { code { (field) } }
                        td.diff-removed { del { (compact(&change["from"])) } }
                        td.diff-added { ins { (compact(&change["to"])) } }
                    }
                }
            }
        }
    }
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

async fn verify(session: Session) -> Response {
    let (verification, checkpoints, signer) = tokio::join!(
        session.api.get("/audit/verify"),
        session.api.get("/audit/checkpoints"),
        session.api.get("/audit/public-key"),
    );
    let verification = match verification {
        Ok(v) => v,
        Err(refusal) => return layout::refused(refusal),
    };
    let body = html! {
        (chain_status(checkpoints.ok().as_ref(), signer.ok().as_ref(), Some(&verification)))
        p { a href="/console/audit" { "Back to the timeline" } }
    };
    layout::page(&session, Section::Audit, "Audit trail: verification", body)
}

async fn export(session: Session) -> Response {
    match session.api.raw(Method::GET, "/audit/export", None).await {
        Ok(response) => response.into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}
