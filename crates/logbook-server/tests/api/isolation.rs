use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// Tenant A's events, fetched every way there is with tenant B's key, are never seen.
pub async fn a_tenant_never_sees_another_tenants_events(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.tenant_key("acme", "ingest,read").await;
    let b = app.tenant_key("globex", "ingest,read").await;
    let events = json!([
        {"event_type": "AUTH_FAILURE", "user_id": "u1", "ip_address": "10.9.9.9", "fingerprint": "fp", "success": false, "geo_country": "US", "response_time_ms": 5},
        {"event_type": "REQUEST", "user_id": "u1", "ip_address": "10.9.9.9", "geo_country": "US"},
    ]);
    assert_eq!(
        app.post_events(&a, events.to_string()).await.body["accepted"],
        2
    );
    assert_eq!(
        app.post_events(&b, json!({"event_type": "OTP_SENT"}).to_string())
            .await
            .body["accepted"],
        1
    );

    let a_items = app.get("/api/v1/logs", &a).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(a_items.len(), 2);
    let a_id = a_items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/logs/{a_id}"), &a).await.status,
        200
    );

    let b_items = app.get("/api/v1/logs?limit=1000", &b).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(b_items.len(), 1);
    assert_eq!(b_items[0]["event_type"], "OTP_SENT");
    assert_problem(
        &app.get(&format!("/api/v1/logs/{a_id}"), &b).await,
        404,
        "no event",
    );
    assert_eq!(
        app.get("/api/v1/logs/users/u1", &b).await.body["items"],
        json!([])
    );
    for filter in [
        "ip=10.9.9.9",
        "ip=10.0.0.0/8",
        "fingerprint=fp",
        "event_type=AUTH_FAILURE",
        "success=false",
    ] {
        assert_eq!(
            app.get(&format!("/api/v1/logs?{filter}"), &b).await.body["items"],
            json!([]),
            "{filter}"
        );
    }
    let summary = app.get("/api/v1/logs/summary", &b).await.body;
    assert_eq!(
        summary,
        json!({"total_requests": 0, "successful_logins": 0, "auth_failures": 0, "rate_limit_hits": 0, "unique_users": 0, "unique_ips": 0})
    );
    let only_own_types = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["event_type"] == "OTP_SENT")
    };
    assert!(only_own_types(
        &app.get("/api/v1/logs/hourly", &b).await.body
    ));
    assert!(only_own_types(
        &app.get("/api/v1/logs/daily", &b).await.body
    ));
    let export = app.get("/api/v1/audit/export", &b).await;
    assert_eq!(export.status, 200);
    let events_export = app.get("/api/v1/logs/export", &b).await.body;
    // One line parses as JSON on its own; several come back as text.
    let exported: Vec<Value> = match &events_export {
        Value::String(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        one => vec![one.clone()],
    };
    assert!(!exported.is_empty());
    assert!(
        exported.iter().all(|e| e["event_type"] == "OTP_SENT"),
        "{exported:?}"
    );
    // Only b's own events, none of them with a country (a's are all US).
    let countries = app.get("/api/v1/logs/by-country", &b).await.body;
    assert!(
        countries
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["geo_country"].is_null() && r["failures"] == 0),
        "{countries}"
    );
    for query in ["ip=10.9.9.9", "user_id=u1", "fingerprint=fp"] {
        assert_eq!(
            app.get(&format!("/api/v1/logs/failed-auth?{query}"), &b)
                .await
                .body,
            json!({"count": 0}),
            "{query}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/logs/failed-auth?{query}"), &a)
                .await
                .body,
            json!({"count": 1}),
            "{query}"
        );
    }
}

/// Every GET route of the API, read from the route modules' source, so a route added
/// later without an isolation check fails this test.
fn get_routes() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("routes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sources.push(dir.join("otlp/mod.rs"));
    let mut routes = Vec::new();
    for source in sources {
        let text = std::fs::read_to_string(&source).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = rest[at + 7..].trim_start();
            let Some(quoted) = rest.strip_prefix('"') else {
                continue;
            };
            rest = quoted;
            let path = &rest[..rest.find('"').unwrap()];
            let span = &rest[..rest.find(".route(").unwrap_or(rest.len())];
            let span = &span[..span.find("\n}").unwrap_or(span.len())];
            if span.contains("get(") {
                routes.push(
                    format!("/api/v1{path}")
                        .replace("/api/v1/health", "/health")
                        .replace("/api/v1/ready", "/ready"),
                );
            }
        }
    }
    routes.sort();
    routes
}

/// Tenant A's data of every kind — events, actions, audit events, keys, access records —
/// asked for on every read route with tenant B's keys, using A's own ids, users,
/// actors and resources: none of it is ever in an answer.
/// The alert stream, which never ends: opened from the start of time with each key.
const STREAMED: &str = "/api/v1/alerts/stream?cursor=00000000-0000-0000-0000-000000000000";

pub async fn every_read_route_keeps_to_its_tenant(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.tenant_key("acme", "ingest,read,admin").await;
    let b = app.tenant_key("globex", "ingest,read,admin").await;
    let marker = "acme-marker";
    let events = json!([
        {"event_type": "AUTH_FAILURE", "user_id": "u-acme", "ip_address": "10.9.9.9", "fingerprint": "fp-acme",
         "success": false, "geo_country": "US", "message": marker, "http_method": "GET", "request_path": "/acme-marker"},
        {"event_type": "ACTION", "event_subtype": "crm_create", "provider": "hubspot", "status": "failure", "message": marker},
        {"event_type": "ACTIVITY", "event_subtype": "feature-use", "user_id": "u-acme", "session_id": "acme-marker",
         "metadata": {"module": marker, "feature": marker, "duration": 3}},
    ]);
    assert_eq!(
        app.post_events(&a, events.to_string()).await.body["accepted"],
        3
    );
    let audit = json!({"action": "update", "resource_type": "doc", "resource_id": "r-acme", "actor_id": "u-acme",
                       "description": marker, "before": {"v": 1}, "after": {"v": 2}});
    assert_eq!(
        app.post_to("/api/v1/audit", &a, audit.to_string())
            .await
            .status,
        200
    );
    app.post_events(
        &b,
        json!({"event_type": "OTP_SENT", "message": "globex"}).to_string(),
    )
    .await;
    let error = json!({"error_type": "AcmeError", "message": marker, "user_id": "u-acme"});
    let reported = app.post_to("/api/v1/errors", &a, error.to_string()).await;
    assert_eq!(reported.body["accepted"], 1, "{}", reported.body);
    let group_id = app.get("/api/v1/errors", &a).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = json!({"events": {"by_type": {"ACME_ONLY": 77}}});
    let put = app.put_to("/api/v1/retention", &a, kept.to_string()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let rule = json!({"name": marker, "metric_name": "event_count", "comparison_operator": "gte",
                      "threshold": 1, "filter": {"event_type": "AUTH_FAILURE"}, "group_by": "ip_address",
                      "evaluation_interval": 1, "channels": [{"type": "sse"}]});
    let rule = app
        .post_to("/api/v1/alerts/rules", &a, rule.to_string())
        .await;
    assert_eq!(rule.status, 201, "{}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap().to_owned();
    let monitor = json!({"name": marker, "url": "http://127.0.0.1:9/acme-marker"});
    let monitor = app
        .post_to("/api/v1/monitors", &a, monitor.to_string())
        .await;
    assert_eq!(monitor.status, 201, "{}", monitor.body);
    let monitor_id = monitor.body["id"].as_str().unwrap().to_owned();
    let dashboard = json!({"name": marker, "visibility": "organization", "widgets": [
        {"title": marker, "widget_type": "alert-list", "data_source": "alerts"}]});
    let dashboard = app
        .post_to("/api/v1/dashboards", &a, dashboard.to_string())
        .await;
    assert_eq!(dashboard.status, 201, "{}", dashboard.body);
    let dashboard_id = dashboard.body["id"].as_str().unwrap().to_owned();
    app.app
        .run_alerts_once(chrono::Utc::now() + chrono::Duration::seconds(2))
        .await
        .unwrap();
    let alerts = app.get("/api/v1/alerts", &a).await;
    assert_eq!(
        alerts.body["items"][0]["group"], "10.9.9.9",
        "{}",
        alerts.body
    );
    let alert_id = alerts.body["items"][0]["id"].as_str().unwrap().to_owned();
    let listed = app.get("/api/v1/logs?order=asc", &a).await.body["items"].clone();
    let id_of = |event_type: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_type"] == event_type)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (event_id, action_id) = (id_of("AUTH_FAILURE"), id_of("ACTION"));
    let a_tenant = app
        .app
        .store()
        .tenant_by_name("acme")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();

    // Each route with A's identifiers filled in, read with B's key.
    let paths: Vec<(&str, String)> = vec![
        ("/api/v1/access", "/api/v1/access".into()),
        (
            "/api/v1/activity/cohorts",
            "/api/v1/activity/cohorts".into(),
        ),
        (
            "/api/v1/activity/features",
            "/api/v1/activity/features".into(),
        ),
        (
            "/api/v1/activity/sessions",
            "/api/v1/activity/sessions".into(),
        ),
        ("/api/v1/activity/users", "/api/v1/activity/users".into()),
        ("/api/v1/alerts", "/api/v1/alerts".into()),
        ("/api/v1/alerts/rules", "/api/v1/alerts/rules".into()),
        (
            "/api/v1/alerts/rules/{id}",
            format!("/api/v1/alerts/rules/{rule_id}"),
        ),
        ("/api/v1/alerts/stats", "/api/v1/alerts/stats".into()),
        ("/api/v1/alerts/stream", STREAMED.into()),
        ("/api/v1/alerts/{id}", format!("/api/v1/alerts/{alert_id}")),
        ("/api/v1/anomalies", "/api/v1/anomalies".into()),
        ("/api/v1/audit", "/api/v1/audit".into()),
        (
            "/api/v1/audit/actors/{actor_id}",
            "/api/v1/audit/actors/u-acme".into(),
        ),
        (
            "/api/v1/audit/checkpoints",
            "/api/v1/audit/checkpoints".into(),
        ),
        ("/api/v1/audit/export", "/api/v1/audit/export".into()),
        (
            "/api/v1/audit/public-key",
            "/api/v1/audit/public-key".into(),
        ),
        (
            "/api/v1/audit/search",
            "/api/v1/audit/search?actor_id=u-acme".into(),
        ),
        ("/api/v1/audit/verify", "/api/v1/audit/verify".into()),
        ("/api/v1/dashboards", "/api/v1/dashboards".into()),
        (
            "/api/v1/dashboards/{id}",
            format!("/api/v1/dashboards/{dashboard_id}"),
        ),
        ("/api/v1/errors", "/api/v1/errors".into()),
        ("/api/v1/errors/trend", "/api/v1/errors/trend".into()),
        (
            "/api/v1/errors/unresolved",
            "/api/v1/errors/unresolved".into(),
        ),
        ("/api/v1/errors/{id}", format!("/api/v1/errors/{group_id}")),
        ("/api/v1/integrations", "/api/v1/integrations".into()),
        ("/api/v1/keys", "/api/v1/keys".into()),
        ("/api/v1/logs", "/api/v1/logs?user_id=u-acme".into()),
        (
            "/api/v1/logs/actions",
            "/api/v1/logs/actions?provider_name=hubspot".into(),
        ),
        (
            "/api/v1/logs/actions/failed/recent",
            "/api/v1/logs/actions/failed/recent".into(),
        ),
        (
            "/api/v1/logs/actions/{id}",
            format!("/api/v1/logs/actions/{action_id}"),
        ),
        (
            "/api/v1/logs/audits",
            "/api/v1/logs/audits?resource_type=doc".into(),
        ),
        (
            "/api/v1/logs/audits/resource/{resource_type}/{resource_id}",
            "/api/v1/logs/audits/resource/doc/r-acme".into(),
        ),
        ("/api/v1/logs/by-country", "/api/v1/logs/by-country".into()),
        ("/api/v1/logs/daily", "/api/v1/logs/daily".into()),
        (
            "/api/v1/logs/export",
            "/api/v1/logs/export?user_id=u-acme".into(),
        ),
        (
            "/api/v1/logs/failed-auth",
            "/api/v1/logs/failed-auth?user_id=u-acme".into(),
        ),
        ("/api/v1/logs/hourly", "/api/v1/logs/hourly".into()),
        ("/api/v1/logs/stats", "/api/v1/logs/stats".into()),
        ("/api/v1/logs/summary", "/api/v1/logs/summary".into()),
        (
            "/api/v1/logs/tail",
            "/api/v1/logs/tail?user_id=u-acme".into(),
        ),
        ("/api/v1/logs/top-ips", "/api/v1/logs/top-ips".into()),
        (
            "/api/v1/logs/users/{user_id}",
            "/api/v1/logs/users/u-acme".into(),
        ),
        ("/api/v1/logs/{id}", format!("/api/v1/logs/{event_id}")),
        (
            "/api/v1/metrics/endpoints",
            "/api/v1/metrics/endpoints".into(),
        ),
        ("/api/v1/monitors", "/api/v1/monitors".into()),
        (
            "/api/v1/monitors/summary",
            "/api/v1/monitors/summary".into(),
        ),
        (
            "/api/v1/monitors/{id}",
            format!("/api/v1/monitors/{monitor_id}"),
        ),
        ("/api/v1/retention", "/api/v1/retention".into()),
        ("/api/v1/storage", "/api/v1/storage".into()),
        ("/api/v1/tenants", "/api/v1/tenants".into()),
        ("/health", "/health".into()),
        ("/ready", "/ready".into()),
    ];
    let covered: Vec<String> = paths.iter().map(|(route, _)| route.to_string()).collect();
    assert_eq!(
        get_routes(),
        covered,
        "every GET route has an isolation check here"
    );
    let a_secrets = [
        marker,
        "u-acme",
        "r-acme",
        "fp-acme",
        "10.9.9.9",
        &event_id,
        &action_id,
        &group_id,
        &rule_id,
        &alert_id,
        &monitor_id,
        &dashboard_id,
        &a_tenant,
        "ACME_ONLY",
    ];
    // Routes that list B's own records (access, trail, exports) run first: afterwards they
    // would rightly hold B's own questions about A's identifiers.
    let mut ordered: Vec<&(&str, String)> = paths.iter().collect();
    ordered.sort_by_key(|(_, path)| a_secrets.iter().any(|secret| path.contains(secret)));
    for (route, path) in ordered {
        if path == STREAMED || path.starts_with("/api/v1/logs/tail") {
            continue; // Streams never end: read below.
        }
        let reply = app.get(path, &b).await;
        // An answer may echo what it was asked (`no event <id>`); nothing else of A's.
        let text = reply.body.to_string();
        for secret in a_secrets.iter().filter(|secret| !path.contains(**secret)) {
            assert!(
                !text.contains(secret),
                "{route} with B's key shows A's {secret}: {text}"
            );
        }
        // Counts that would tell B about A's data are zero.
        if route.ends_with("failed-auth") {
            assert_eq!(reply.body, json!({"count": 0}));
        }
        if route.ends_with("/logs/top-ips") {
            assert_eq!(reply.body["items"], json!([]), "{}", reply.body);
        }
        if route.ends_with("/logs/stats") {
            assert_eq!(reply.body["total_actions"], 0, "{}", reply.body);
        }
        if route.ends_with("/activity/users") {
            assert_eq!(reply.body["active_last_hour"], 0, "{}", reply.body);
        }
        if route.ends_with("/monitors/summary") {
            assert_eq!(reply.body["total_services"], 0, "{}", reply.body);
        }
        if route.ends_with("/actors/{actor_id}") {
            assert_eq!(reply.body["total"], 0, "{}", reply.body);
        }
    }
    // A's alert reached A's stream, and never B's.
    let mut mine = crate::tail::Tail::open_path(&app.router, &a, STREAMED).await;
    assert_eq!(mine.next().await.data["alert"]["id"], alert_id.as_str());
    let mut theirs = crate::tail::Tail::open_path(&app.router, &b, STREAMED).await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(1500), theirs.next())
            .await
            .is_err(),
        "B's alert stream shows A's alert"
    );
    // A's new events reach A's tail, and never B's.
    let mut mine = crate::tail::Tail::open_path(&app.router, &a, "/api/v1/logs/tail").await;
    let mut theirs = crate::tail::Tail::open_path(&app.router, &b, "/api/v1/logs/tail").await;
    let late = json!({"event_type": "REQUEST", "user_id": "u-acme", "message": marker});
    app.post_events(&a, late.to_string()).await;
    assert_eq!(mine.next().await.data["user_id"], "u-acme");
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), theirs.next())
            .await
            .is_err(),
        "B's tail shows A's event"
    );
    // The same reads with A's key do show A's data: the checks above can fail.
    for path in [
        "/api/v1/logs?user_id=u-acme",
        "/api/v1/audit/search?actor_id=u-acme",
        "/api/v1/logs/audits/resource/doc/r-acme",
    ] {
        let text = app.get(path, &a).await.body.to_string();
        assert!(
            text.contains("u-acme") || text.contains("r-acme"),
            "{path}: {text}"
        );
    }
    // The console's pages ask the same API as the session's key: B's pages show none of
    // A's data, A's do. (The admin page lists B's own access records, which by now hold
    // B's questions about A's identifiers; its routes are checked above.)
    let theirs = app.console_session(&b).await;
    let mine = app.console_session(&a).await;
    for page in [
        "/console",
        "/console/events",
        "/console/events?user_id=u-acme",
        "/console/audit",
        "/console/errors",
        "/console/performance",
        "/console/alerts",
        "/console/monitors",
        "/console/dashboards",
    ] {
        let reply = app.console_get(page, &theirs).await;
        assert!(reply.status.is_success(), "{page}: {}", reply.status);
        let text = reply.body.to_string();
        for secret in a_secrets.iter().filter(|secret| !page.contains(**secret)) {
            assert!(
                !text.contains(secret),
                "{page} with B's session shows A's {secret}"
            );
        }
    }
    let own = app.console_get("/console/events", &mine).await;
    assert!(
        own.body.to_string().contains("u-acme"),
        "A's console shows A's events"
    );
}
