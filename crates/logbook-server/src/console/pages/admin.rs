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
}

const SCOPES: [&str; 3] = ["ingest", "read", "admin"];

async fn page(session: Session) -> Response {
    render(&session, None, None).await
}

/// The admin page, with a key just made (its secret shown this once) or a message.
async fn render(session: &Session, created: Option<&Value>, message: Option<&str>) -> Response {
    let api = &session.api;
    let (keys, tenants, retention, storage, access) = tokio::join!(
        api.get("/keys"),
        api.get("/tenants"),
        api.get("/retention"),
        api.get("/storage"),
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
                dl.fields {
                    dt { "events" } dd { (text(&retention["events"]["days"])) " days" }
                    @for (kind, days) in retention["events"]["by_type"].as_object().into_iter().flatten() {
                        dt { (kind) } dd { (text(days)) " days" }
                    }
                    dt { "audit trail" } dd { (text(&retention["audit"]["days"])) " days" }
                    dt { "access log" } dd { (text(&retention["access"]["days"])) " days" }
                }
                p.hint { "Change with PUT /api/v1/retention." }
            }
        }
        @if let Ok(storage) = &storage {
            section {
                h2 { "Storage" }
                table {
                    thead { tr { th scope="col" { "Table" } th.figure scope="col" { "Rows" } th.figure scope="col" { "Bytes" } } }
                    tbody {
                        @for t in storage["tables"].as_array().into_iter().flatten() {
                            tr { td { (text(&t["table"])) } td.figure { (count(&t["rows"])) } td.figure { (count(&t["bytes"])) } }
                        }
                    }
                }
                @for advice in storage["advice"].as_array().into_iter().flatten() { p.notice { (text(advice)) } }
            }
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
            let mut response = render(session, None, Some(&refusal.detail)).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
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
            let mut response = render(&posted.session, None, Some(&refusal.detail)).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(refusal) => layout::refused(refusal),
    }
}
