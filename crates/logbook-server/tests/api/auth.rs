use axum::{
    body::Body,
    http::{Method, Request, header},
};
use serde_json::json;

use crate::support::{Backend, TestApp, assert_problem};

/// What a route needs from the key.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    Ingest,
    Read,
    Admin,
    /// The admin scope of the operator tenant (`default`).
    Operator,
}

/// Every route of the API, with a request that is valid once authorised.
fn routes() -> Vec<(Method, String, Option<String>, Needs)> {
    let id = "018f0000-0000-7000-8000-000000000000";
    let get = |path: &str, needs| (Method::GET, path.to_owned(), None, needs);
    vec![
        (
            Method::POST,
            "/api/v1/events".into(),
            Some(json!({"event_type": "REQUEST"}).to_string()),
            Needs::Ingest,
        ),
        (
            Method::POST,
            "/v1/logs".into(),
            Some("{}".into()),
            Needs::Ingest,
        ),
        get("/api/v1/logs", Needs::Read),
        get(&format!("/api/v1/logs/{id}"), Needs::Read),
        get("/api/v1/logs/users/u1", Needs::Read),
        get("/api/v1/logs/summary", Needs::Read),
        get("/api/v1/logs/hourly", Needs::Read),
        get("/api/v1/logs/daily", Needs::Read),
        get("/api/v1/logs/by-country", Needs::Read),
        get("/api/v1/logs/failed-auth?ip=1.2.3.4", Needs::Read),
        (
            Method::POST,
            "/api/v1/audit".into(),
            Some(
                json!({"action": "update", "resource_type": "doc", "resource_id": "d1"})
                    .to_string(),
            ),
            Needs::Ingest,
        ),
        get("/api/v1/audit", Needs::Read),
        get("/api/v1/audit/verify", Needs::Read),
        get("/api/v1/audit/export", Needs::Read),
        get("/api/v1/audit/checkpoints", Needs::Read),
        get("/api/v1/audit/search?actor_id=u1", Needs::Read),
        get("/api/v1/audit/actors/u1", Needs::Read),
        get("/api/v1/logs/actions", Needs::Read),
        get("/api/v1/logs/actions/failed/recent", Needs::Read),
        get(&format!("/api/v1/logs/actions/{id}"), Needs::Read),
        get("/api/v1/logs/stats", Needs::Read),
        get("/api/v1/logs/audits", Needs::Read),
        get("/api/v1/logs/audits/resource/tenant/t1", Needs::Read),
        get("/api/v1/logs/export?format=csv", Needs::Read),
        get("/api/v1/keys", Needs::Admin),
        (
            Method::POST,
            "/api/v1/keys".into(),
            Some(json!({"name": "made", "scopes": ["read"]}).to_string()),
            Needs::Admin,
        ),
        (
            Method::DELETE,
            format!("/api/v1/keys/{id}"),
            None,
            Needs::Admin,
        ),
        get("/api/v1/keys?tenant=default", Needs::Operator),
        get("/api/v1/tenants", Needs::Operator),
        (
            Method::POST,
            "/api/v1/tenants".into(),
            Some(json!({"name": "tenant-{n}"}).to_string()),
            Needs::Operator,
        ),
    ]
}

/// Every route × every kind of key: allowed exactly when the key has what the route needs.
pub async fn routes_need_a_key_with_the_right_scope(backend: Backend) {
    let app = TestApp::start(backend).await;
    let keys = [
        ("no key", String::new(), vec![]),
        ("unknown key", "lbk_0000".to_owned(), vec![]),
        (
            "ingest",
            app.tenant_key("acme", "ingest").await,
            vec![Needs::Ingest],
        ),
        (
            "read",
            app.tenant_key("acme", "read").await,
            vec![Needs::Read],
        ),
        (
            "ingest,read",
            app.tenant_key("acme", "ingest,read").await,
            vec![Needs::Ingest, Needs::Read],
        ),
        (
            "admin of acme",
            app.tenant_key("acme", "admin").await,
            vec![Needs::Admin],
        ),
        (
            "all of acme",
            app.tenant_key("acme", "ingest,read,admin").await,
            vec![Needs::Ingest, Needs::Read, Needs::Admin],
        ),
        (
            "admin of default",
            app.tenant_key("default", "admin").await,
            vec![Needs::Admin, Needs::Operator],
        ),
        (
            "operator",
            app.admin.clone(),
            vec![Needs::Ingest, Needs::Read, Needs::Admin, Needs::Operator],
        ),
    ];
    let mut n = 0;
    for (method, path, body, needs) in routes() {
        for (who, key, has) in &keys {
            n += 1;
            let mut request = Request::builder().method(method.clone()).uri(&path);
            if !key.is_empty() {
                request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
            }
            let body = body.as_ref().map_or(Body::empty(), |b| {
                Body::from(b.replace("{n}", &n.to_string()))
            });
            let reply = app
                .send(
                    request
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(body)
                        .unwrap(),
                )
                .await;
            let status = reply.status.as_u16();
            let case = format!("{method} {path} with {who}: {status} {}", reply.body);
            if has.contains(&needs) {
                assert!(status < 400 || status == 404, "{case}");
            } else if key.is_empty() || who.starts_with("unknown") {
                assert_eq!(status, 401, "{case}");
            } else {
                assert_eq!(status, 403, "{case}");
            }
        }
    }
}

pub async fn keys_are_managed_with_an_admin_key(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.tenant_key("acme", "admin").await;
    let made = app
        .send(
            Request::post("/api/v1/keys")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"name": "web", "scopes": ["ingest", "read"]}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = made.body["key"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["scopes"], json!(["ingest", "read"]));
    // Listings show `lbk_` and 8 hex digits to tell keys apart: never more of the secret.
    assert_eq!(made.body["prefix"], json!(&secret[..12]));

    assert_eq!(app.get("/api/v1/logs", &secret).await.status, 200);
    app.app.run_jobs_once().await.unwrap();
    let listed = app.get("/api/v1/keys", &admin).await.body;
    let web = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(web["last_used_at"].is_string(), "{web}");
    let text = listed.to_string();
    assert!(
        !text.contains(&secret) && !text.contains("hash"),
        "listings never show secrets"
    );

    let revoked = app.send(
        Request::delete(format!("/api/v1/keys/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap(),
    );
    let revoked = revoked.await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    assert_problem(&app.get("/api/v1/logs", &secret).await, 401, "revoked");

    // Another tenant's admin cannot see or revoke these keys.
    let other = app.tenant_key("globex", "admin").await;
    let theirs = app.get("/api/v1/keys", &other).await.body;
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["id"] != id.as_str())
    );
    let missing = app
        .send(
            Request::delete(format!("/api/v1/keys/{id}"))
                .header(header::AUTHORIZATION, format!("Bearer {other}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&missing, 404, "no key");

    let expired = app
        .send(
            Request::post("/api/v1/keys")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"name": "old", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_problem(&expired, 400, "future");

    // A key past its expiry is refused, like a revoked one.
    let store = app.app.store();
    let acme = store.tenant_by_name("acme").await.unwrap().unwrap();
    let secret = logbook_server::auth::keys::generate();
    store
        .create_api_key(logbook_store::NewApiKey {
            tenant_id: acme.id,
            name: "lapsed".into(),
            prefix: secret[..12].to_owned(),
            hash: logbook_server::auth::keys::hash(&secret),
            scopes: "read".parse().unwrap(),
            expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        })
        .await
        .unwrap();
    assert_problem(&app.get("/api/v1/logs", &secret).await, 401, "expired");
}

/// No route changes or deletes a stored event, whatever the key.
pub async fn events_cannot_be_changed_or_deleted(backend: Backend) {
    let app = TestApp::start(backend).await;
    let stored = app
        .post_events(&app.admin, json!({"event_type": "REQUEST"}).to_string())
        .await;
    assert_eq!(stored.status, 200);
    let id = app.get("/api/v1/logs", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for method in [Method::DELETE, Method::PUT, Method::PATCH] {
        for path in [
            format!("/api/v1/logs/{id}"),
            "/api/v1/logs".to_owned(),
            "/api/v1/events".to_owned(),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let reply = app.send(request).await;
            assert_problem(&reply, 405, "not allowed");
        }
    }
    assert_eq!(
        app.get(&format!("/api/v1/logs/{id}"), &app.admin)
            .await
            .status,
        200
    );
}

pub async fn health_and_ready(backend: Backend) {
    let app = TestApp::start(backend).await;
    let health = app.get("/health", "").await;
    assert_eq!(
        (health.status.as_u16(), health.body),
        (200, json!({"status": "ok"}))
    );
    let ready = app.get("/ready", "").await;
    let storage = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        (ready.status.as_u16(), ready.body),
        (200, json!({"status": "ready", "storage": storage}))
    );
    assert_problem(&app.get("/nowhere", "").await, 404, "/nowhere");
}

/// The operator's admin key names a tenant with `?tenant=` on every key route (the key
/// is made in that tenant, not the operator's); unknown parameters are refused there as
/// on read routes.
pub async fn key_routes_honour_the_tenant_they_name(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.tenant_key("acme", "read").await;
    let made = app
        .post_to(
            "/api/v1/keys?tenant=acme",
            &app.admin,
            json!({"name": "for acme", "scopes": ["read"]}).to_string(),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["key"].as_str().unwrap().to_owned();
    let acme_keys = app.get("/api/v1/keys?tenant=acme", &app.admin).await.body;
    assert!(
        acme_keys
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == made.body["id"])
    );
    let own_keys = app.get("/api/v1/keys", &app.admin).await.body;
    assert!(
        own_keys
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["id"] != made.body["id"])
    );
    // The key reads acme's events, not the operator's.
    app.post_events(
        &app.admin,
        r#"{"event_type":"REQUEST","message":"operator's"}"#,
    )
    .await;
    assert_eq!(app.get("/api/v1/logs", &key).await.body["items"], json!([]));

    let twice = app
        .post_to(
            "/api/v1/keys?tenant=acme",
            &app.admin,
            json!({"name": "x", "scopes": ["read"], "tenant": "default"}).to_string(),
        )
        .await;
    assert_problem(&twice, 400, "named twice");
    let agreeing = app
        .post_to(
            "/api/v1/keys?tenant=acme",
            &app.admin,
            json!({"name": "x", "scopes": ["read"], "tenant": "acme"}).to_string(),
        )
        .await;
    assert_eq!(agreeing.status, 201, "named twice alike is fine");
    for (name, status) in [
        ("", 400),
        ("   ", 400),
        (&"n".repeat(100)[..], 201),
        (&"n".repeat(101)[..], 400),
    ] {
        let made = app
            .post_to(
                "/api/v1/keys",
                &app.admin,
                json!({"name": name, "scopes": ["read"]}).to_string(),
            )
            .await;
        assert_eq!(made.status, status, "a name of {} characters", name.len());
        if status == 400 {
            assert_problem(&made, 400, "name must be 1–100 characters");
        }
    }
    let unknown = app
        .post_to(
            "/api/v1/keys?tennant=acme",
            &app.admin,
            json!({"name": "x", "scopes": ["read"]}).to_string(),
        )
        .await;
    assert_problem(&unknown, 400, "not a parameter");
    assert_eq!(unknown.body["parameter"], "tennant");
    let tenants = app
        .post_to(
            "/api/v1/tenants?x=1",
            &app.admin,
            json!({"name": "y"}).to_string(),
        )
        .await;
    assert_problem(&tenants, 400, "not a parameter");
    // Another tenant's admin may not name a tenant at all.
    let acme_admin = app.tenant_key("acme", "admin").await;
    let named = app.get("/api/v1/keys?tenant=default", &acme_admin).await;
    assert_eq!(named.status, 403);
}

/// A key revoked on one server (or with the CLI, straight in the store) stops working on
/// every other server sharing the store within a second, though their caches held it.
pub async fn revocation_reaches_every_server_within_a_second(backend: Backend) {
    let app = TestApp::start(backend).await;
    let other = logbook_server::App::build(logbook_server::Config::new(app.location.clone()))
        .await
        .unwrap();
    let other = other.router();
    let reader = app.tenant_key("default", "read").await;
    let get = |router: &axum::Router, key: &str| {
        let request = Request::get("/api/v1/logs")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            router.oneshot(request).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(
        get(&other, &reader).await,
        200,
        "the other server caches the key now"
    );
    let hash = logbook_server::auth::keys::hash(&reader);
    let store = app.app.store();
    let key = store.api_key_by_hash(&hash).await.unwrap().unwrap();
    store.revoke_api_key(key.tenant_id, key.id).await.unwrap();
    // Each server looks every 500 ms; a busy test machine may be late by a little.
    let started = std::time::Instant::now();
    while get(&other, &reader).await != 401 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the other server still takes the revoked key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "revocation seen by the other server after {:?}",
        started.elapsed()
    );
    assert_eq!(get(&app.router, &reader).await, 401);
}

/// Signing out forgets the session on the server: its cookie, kept by someone, opens
/// nothing afterwards; and a post without the form's token changes nothing.
pub async fn a_console_session_ends_at_sign_out_on_the_server(backend: Backend) {
    let app = TestApp::start(backend).await;
    let cookie = app.console_session(&app.admin).await;
    let page = app.console_get("/console", &cookie).await;
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap().to_owned();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let sign_out = |csrf: String| {
        axum::http::Request::post("/console/sign-out")
            .header("cookie", cookie.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("csrf={csrf}")))
            .unwrap()
    };
    let forged = app.send(sign_out("0".repeat(64))).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.console_get("/console", &cookie).await.status, 200);
    let signed_out = app.send(sign_out(csrf)).await;
    assert_eq!(signed_out.status, 303);
    let after = app.console_get("/console", &cookie).await;
    assert_eq!(after.status, 303, "the old cookie no longer opens a page");
    assert!(
        after.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/console/sign-in"),
    );
}

/// A page asked for without a session leads to the sign-in form and, after it, back to
/// that page; only the console's own pages are places to go back to.
pub async fn the_console_sends_a_stranger_to_sign_in_and_back(backend: Backend) {
    let app = TestApp::start(backend).await;
    let bounced = app.console_get("/console/events?ip=203.0.113.9", "").await;
    assert_eq!(bounced.status, 303);
    let location = bounced.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        "/console/sign-in?next=%2Fconsole%2Fevents%3Fip%3D203.0.113.9"
    );
    let form = app.console_get(&location, "").await;
    let page = form.body.as_str().unwrap();
    assert!(
        page.contains(r#"name="next" value="/console/events?ip=203.0.113.9""#),
        "{page}"
    );
    for elsewhere in [
        "https://evil.example/",
        "//evil.example/console",
        "/console/\nevil",
        "/api/v1/keys",
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", elsewhere)
            .finish();
        let form = app
            .console_get(&format!("/console/sign-in?{query}"), "")
            .await;
        assert!(
            form.body
                .as_str()
                .unwrap()
                .contains(r#"name="next" value="/console""#),
            "{elsewhere} is not a place to go back to"
        );
    }
    // Pages that do not exist are pages too, with the console's protections.
    let missing = app.console_get("/console/nowhere", "").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(missing.headers["x-frame-options"], "DENY");
}
