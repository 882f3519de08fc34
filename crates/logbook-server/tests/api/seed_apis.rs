use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// Seed 004's documented requests, replayed as its client sends them (X-API-Key, its
/// paths and parameters); the answers carry its field names and shapes.
pub async fn seed_004_clients_work_unchanged(backend: Backend) {
    let app = TestApp::start(backend).await;
    let actions = json!([
        {"event_type": "ACTION", "event_subtype": "crm_create", "provider": "hubspot", "status": "success", "response_time_ms": 245,
         "request_body_summary": {"email": "john.doe@example.com", "firstname": "John", "lastname": "Doe"},
         "metadata": {"response_data": {"id": "12345"}, "attempt": 1}},
        {"event_type": "ACTION", "event_subtype": "crm_create", "provider": "hubspot", "status": "success", "response_time_ms": 255},
        {"event_type": "ACTION", "event_subtype": "helpdesk_create_ticket", "provider": "zendesk", "status": "failure",
         "message": "rate limited", "response_time_ms": 1000},
        {"event_type": "REQUEST", "status": "failure"},
    ]);
    assert_eq!(
        app.post_events(&app.admin, actions.to_string()).await.body["accepted"],
        4
    );
    let audits = json!([
        {"action": "update", "resource_type": "tenant", "resource_id": "123e4567-e89b-12d3-a456-426614174000", "user_id": "admin@example.com",
         "before": {"name": "Old Name"}, "after": {"name": "New Name"}, "ip_address": "192.168.1.100"},
        {"action": "create", "resource_type": "api_key", "resource_id": "key-12345", "user_id": "admin@example.com", "after": {"name": "ci"}},
    ]);
    assert_eq!(
        app.post_to("/api/v1/audit", &app.admin, audits.to_string())
            .await
            .body["accepted"],
        2
    );

    let get = |path: &str| {
        let path = path.to_owned();
        let app = &app;
        async move {
            let request = axum::http::Request::get(&path)
                .header("X-API-Key", &app.admin)
                .body(axum::body::Body::empty())
                .unwrap();
            let reply = app.send(request).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            reply.body
        }
    };

    let listed = get("/api/v1/logs/actions?action_type=crm_create&status=success&limit=50").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(
        keys(&listed[0]),
        [
            "action_type",
            "created_at",
            "error_message",
            "execution_time_ms",
            "id",
            "provider_name",
            "status",
            "tenant_id"
        ]
    );
    assert_eq!(
        (
            listed[0]["action_type"].clone(),
            listed[0]["provider_name"].clone()
        ),
        (json!("crm_create"), json!("hubspot"))
    );
    let first = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["execution_time_ms"] == 245)
        .unwrap();
    let detail = get(&format!(
        "/api/v1/logs/actions/{}",
        first["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        detail["request_payload"],
        json!({"email": "john.doe@example.com", "firstname": "John", "lastname": "Doe"})
    );
    assert_eq!(detail["response_data"], json!({"id": "12345"}));
    assert_eq!(detail["metadata"], json!({"attempt": 1}));
    assert!(detail["updated_at"].is_string());
    assert_eq!(
        get("/api/v1/logs/actions?provider_name=zendesk&skip=0&limit=100")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let failed = get("/api/v1/logs/actions/failed/recent?minutes=120&limit=20").await;
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["error_message"], "rate limited");

    let stats = get("/api/v1/logs/stats").await;
    assert_eq!(
        stats,
        json!({
            "total_actions": 3, "successful_actions": 2, "failed_actions": 1, "timed_out_actions": 0,
            "average_execution_time_ms": 500.0,
            "actions_by_type": {"crm_create": 2, "helpdesk_create_ticket": 1},
            "actions_by_provider": {"hubspot": 2, "zendesk": 1},
        })
    );

    let audits = get("/api/v1/logs/audits?action=update&resource_type=tenant").await;
    assert_eq!(audits.as_array().unwrap().len(), 1);
    assert_eq!(
        audits[0]["changes"],
        json!({"before": {"name": "Old Name"}, "after": {"name": "New Name"}})
    );
    assert_eq!(audits[0]["user_id"], "admin@example.com");
    assert_eq!(audits[0]["ip_address"], "192.168.1.100");
    for field in [
        "id",
        "tenant_id",
        "action",
        "resource_type",
        "resource_id",
        "created_at",
    ] {
        assert!(audits[0].get(field).is_some(), "{field}");
    }
    let trail =
        get("/api/v1/logs/audits/resource/tenant/123e4567-e89b-12d3-a456-426614174000").await;
    assert_eq!(trail.as_array().unwrap().len(), 1);
    assert_eq!(
        get("/api/v1/logs/audits?skip=1&limit=1")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Seed 001's audit queries: by actor, action set, resource, time; and an actor's summary.
pub async fn seed_001_audit_queries(backend: Backend) {
    let app = TestApp::start(backend).await;
    let audits = json!([
        {"action": "login", "resource_type": "session", "resource_id": "s1", "actor_id": "u1", "occurred_at": "2026-01-05T09:00:00Z"},
        {"action": "update", "resource_type": "patient", "resource_id": "p1", "actor_id": "u1", "occurred_at": "2026-01-05T10:00:00Z"},
        {"action": "read", "resource_type": "patient", "resource_id": "p1", "actor_id": "u1", "outcome": "failure", "occurred_at": "2026-01-07T10:00:00Z"},
        {"action": "read", "resource_type": "patient", "resource_id": "p2", "actor_id": "u2", "occurred_at": "2026-01-07T11:00:00Z"},
    ]);
    assert_eq!(
        app.post_to("/api/v1/audit", &app.admin, audits.to_string())
            .await
            .body["accepted"],
        4
    );
    let search = |query: &str| {
        let path = format!("/api/v1/audit/search?{query}");
        let app = &app;
        async move {
            let items = app.get(&path, &app.admin).await.body["items"].clone();
            items
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("actor_id=u1").await, [3, 2, 1]);
    assert_eq!(search("action=update,read").await, [4, 3, 2]);
    assert_eq!(search("resource_type=patient&resource_id=p1").await, [3, 2]);
    assert_eq!(
        search("from=2026-01-06T00:00:00Z&to=2026-01-07T10:30:00Z").await,
        [3]
    );
    let summary = app.get("/api/v1/audit/actors/u1", &app.admin).await.body;
    assert_eq!(
        summary,
        json!({"actor_id": "u1", "total": 3, "active_days": 2, "first_seen": "2026-01-05T09:00:00Z",
               "last_seen": "2026-01-07T10:00:00Z", "failures": 1})
    );
}
