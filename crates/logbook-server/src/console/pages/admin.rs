//! Admin (keys with the admin scope): API keys, made (the secret shown once) and revoked;
//! tenants (the operator's); retention; storage; the access log.

use axum::{
    Router,
    extract::Path,
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::html;
use serde_json::{Value, json};

use crate::console::{
    Console,
    layout::{self, Section, count, text},
    session::{Posted, Session},
};

pub fn router() -> Router<Console> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/keys", post(create_key))
        .route("/admin/keys/{id}/revoke", post(revoke_key))
        .route("/admin/tenants", post(create_tenant))
        .route("/admin/retention", post(set_retention))
        .route("/admin/storage", get(storage))
}

const SCOPES: [&str; 3] = ["ingest", "read", "admin"];

async fn page(session: Session) -> Response {
    render(&session, None, None).await
}

/// The admin page, with a key just made (its secret shown this once) or a message.
async fn render(session: &Session, created: Option<&Value>, message: Option<&str>) -> Response {
    let api = &session.api;
    let (keys, tenants, retention, access) = tokio::join!(
        api.get("/keys"),
        api.get("/tenants"),
        api.get("/retention"),
        api.get("/access?limit=50"),
    );
    // The key list is the admin scope's first page: without it, nothing here is allowed.
    let keys = match keys {
        Ok(keys) => keys,
        Err(refusal) => return layout::refused(refusal),
    };
    let body = html! {
        @if let Some(message) = message { p.error role="alert" { (message) } }
        @if let Some(created) = created {
            div.notice role="status" {
                p { "Key " strong { (text(&created["name"])) } " made. Copy its secret now: it is not shown again." }
                p.secret #new-key { (text(&created["key"])) }
            }
        }
        section {
            h2 { "API keys" }
            div.table-wrap { table #keys {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Begins" } th scope="col" { "Scopes" } th scope="col" { "Made" }
                    th scope="col" { "Last used" } th scope="col" { "State" } th scope="col" { "" }
                } }
                tbody {
                    @for key in keys.as_array().into_iter().flatten() {
                        @let revoked = !key["revoked_at"].is_null();
                        tr {
                            td { (text(&key["name"])) }
                            td { code { (text(&key["prefix"])) "…" } }
                            td { (key["scopes"].as_array().map(|s| s.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            td { (layout::time(&key["created_at"])) }
                            td { (layout::time(&key["last_used_at"])) }
                            td { @if revoked { "revoked " (layout::time(&key["revoked_at"])) } @else { "live" } }
                            td {
                                @if !revoked {
                                    form.inline method="post" action=(format!("/console/admin/keys/{}/revoke", text(&key["id"])))
                                        data-confirm=(format!("Revoke the key {}? Whatever uses it stops working.", text(&key["name"]))) {
                                        (layout::csrf(session))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            form.grid method="post" action="/console/admin/keys" {
                (layout::csrf(session))
                div.field { label for="k-name" { "New key's name" } input #k-name name="name" required maxlength="100"; }
                fieldset.field {
                    legend { "Scopes" }
                    @for scope in SCOPES {
                        label { input type="checkbox" name="scopes" value=(scope) checked[scope == "read"]; " " (scope) }
                    }
                }
                div.actions { button.primary type="submit" { "Make key" } }
            }
        }
        @if let Ok(tenants) = &tenants {
            section {
                h2 { "Tenants" }
                ul.plain {
                    @for t in tenants.as_array().into_iter().flatten() {
                        li { strong { (text(&t["name"])) } " · made " (layout::time(&t["created_at"])) }
                    }
                }
                form.grid method="post" action="/console/admin/tenants" {
                    (layout::csrf(session))
                    div.field { label for="t-name" { "New tenant's name" } input #t-name name="name" required maxlength="100"; }
                    div.actions { button type="submit" { "Make tenant" } }
                }
            }
        }
        @if let Ok(retention) = &retention {
            section {
                h2 { "Retention" }
                form.grid #retention method="post" action="/console/admin/retention" {
                    (layout::csrf(session))
                    div.field { label for="r-events" { "Events (days)" } input #r-events name="events" type="number" min="1" value=(text(&retention["events"]["days"])); }
                    div.field {
                        label for="r-types" { "Per event type (TYPE=DAYS a line)" }
                        textarea #r-types name="by_type" {
                            @for (kind, days) in retention["events"]["by_type"].as_object().into_iter().flatten() {
                                (kind) "=" (text(days)) "\n"
                            }
                        }
                    }
                    div.field { label for="r-audit" { "Audit trail (days)" } input #r-audit name="audit" type="number" min="1" value=(text(&retention["audit"]["days"])); }
                    div.field { label for="r-access" { "Access log (days)" } input #r-access name="access" type="number" min="1" value=(text(&retention["access"]["days"])); }
                    div.actions { button type="submit" { "Save retention" } }
                }
            }
        }
        section {
            h2 { "Storage" }
            p { a href="/console/admin/storage" { "The storage report" } " — rows and bytes by table and day, growth, what retention removes next, the archive. It reads the whole store, so it takes seconds on a large one." }
        }
        @if let Ok(access) = &access {
            section {
                h2 { "Access log (newest 50)" }
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Key" } th scope="col" { "Request" }
                        th.figure scope="col" { "Rows" } th.figure scope="col" { "Status" } th scope="col" { "From" }
                    } }
                    tbody {
                        @for r in access["items"].as_array().into_iter().flatten() {
                            tr {
                                td { (layout::time(&r["at"])) }
                                td { code { (text(&r["key_id"]).get(..8).unwrap_or("")) } }
                                td { (text(&r["method"])) " " (text(&r["path"])) }
                                td.figure { (text(&r["rows"])) }
                                td.figure { (text(&r["status"])) }
                                td { (text(&r["client_ip"])) }
                            }
                        }
                    }
                } }
            }
        }
    };
    layout::page(session, Section::Admin, "Admin", body)
}

/// The admin page again, saying why what was sent was not done (422).
async fn again(session: &Session, message: &str) -> Response {
    let mut response = render(session, None, Some(message)).await;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

async fn create_key(posted: Posted) -> Response {
    let name = posted.field("name").unwrap_or("").trim().to_owned();
    let scopes: Vec<&str> = posted
        .fields
        .iter()
        .filter(|(n, _)| n == "scopes")
        .map(|(_, v)| v.as_str())
        .collect();
    let session = &posted.session;
    match session
        .api
        .post("/keys", json!({ "name": name, "scopes": scopes }))
        .await
    {
        Ok(created) => render(session, Some(&created), None).await,
        Err(refusal)
            if refusal.status == StatusCode::BAD_REQUEST
                || refusal.status == StatusCode::CONFLICT =>
        {
            again(session, &refusal.detail).await
        }
        Err(refusal) => layout::refused(refusal),
    }
}

async fn revoke_key(Path(id): Path<String>, posted: Posted) -> Response {
    let Some(id) = super::uuid_of(&id) else {
        return layout::refusal(StatusCode::NOT_FOUND, "no such key");
    };
    match posted
        .session
        .api
        .send(Method::DELETE, &format!("/keys/{id}"), None)
        .await
    {
        Ok(_) => Redirect::to("/console/admin").into_response(),
        Err(refusal) => layout::refused(refusal),
    }
}

async fn create_tenant(posted: Posted) -> Response {
    let name = posted.field("name").unwrap_or("").trim().to_owned();
    match posted
        .session
        .api
        .post("/tenants", json!({ "name": name }))
        .await
    {
        Ok(_) => Redirect::to("/console/admin").into_response(),
        Err(refusal)
            if refusal.status == StatusCode::BAD_REQUEST
                || refusal.status == StatusCode::CONFLICT =>
        {
            again(&posted.session, &refusal.detail).await
        }
        Err(refusal) => layout::refused(refusal),
    }
}

/// The retention periods from the form, as the tenant's own rules.
async fn set_retention(posted: Posted) -> Response {
    let days = |name: &str| -> Result<Option<u32>, String> {
        match posted.field(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{name} must be a whole number of days")),
        }
    };
    let rules = (|| -> Result<Value, String> {
        let mut by_type = serde_json::Map::new();
        for line in posted.field("by_type").unwrap_or("").lines().map(str::trim) {
            if line.is_empty() {
                continue;
            }
            let (kind, n) = line
                .split_once('=')
                .ok_or_else(|| format!("{line:?} is not TYPE=DAYS"))?;
            let n: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("{line:?}: the days must be a whole number"))?;
            by_type.insert(kind.trim().to_owned(), Value::from(n));
        }
        let mut rules = json!({ "events": { "by_type": by_type } });
        if let Some(n) = days("events")? {
            rules["events"]["days"] = Value::from(n);
        }
        for stream in ["audit", "access"] {
            if let Some(n) = days(stream)? {
                rules[stream] = json!({ "days": n });
            }
        }
        Ok(rules)
    })();
    let session = &posted.session;
    let rules = match rules {
        Ok(rules) => rules,
        Err(message) => return again(session, &message).await,
    };
    match session
        .api
        .send(Method::PUT, "/retention", Some(rules))
        .await
    {
        Ok(_) => Redirect::to("/console/admin").into_response(),
        Err(refusal) if refusal.status == StatusCode::BAD_REQUEST => {
            again(session, &refusal.detail).await
        }
        Err(refusal) => layout::refused(refusal),
    }
}

/// The storage report: a page of its own, as it reads the whole store.
async fn storage(session: Session) -> Response {
    let storage = match session.api.get("/storage").await {
        Ok(storage) => storage,
        Err(refusal) => return layout::refused(refusal),
    };
    let body = html! {
        (layout::cards(&[
            ("events a day, lately", text(&storage["events_per_day"])),
            ("past their retention", count(&storage["past_retention"])),
            ("due within a day", count(&storage["due_within_a_day"])),
            ("archive files", count(&storage["archive"]["files"])),
        ]))
        h2 { "Tables" }
        table {
            thead { tr { th scope="col" { "Table" } th.figure scope="col" { "Rows" } th.figure scope="col" { "Bytes" } } }
            tbody {
                @for t in storage["tables"].as_array().into_iter().flatten() {
                    tr { td { (text(&t["table"])) } td.figure { (count(&t["rows"])) } td.figure { (count(&t["bytes"])) } }
                }
            }
        }
        h2 { "Events by day" }
        table {
            thead { tr { th scope="col" { "Day" } th.figure scope="col" { "Rows" } } }
            tbody {
                @for d in storage["events_by_day"].as_array().into_iter().flatten().rev() {
                    tr { td { (text(&d["day"])) } td.figure { (count(&d["rows"])) } }
                }
            }
        }
        @for advice in storage["advice"].as_array().into_iter().flatten() { p.notice { (text(advice)) } }
    };
    layout::page(&session, Section::Admin, "Storage", body)
}
