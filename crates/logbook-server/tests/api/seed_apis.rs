use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

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

/// A JSON value's shape: field names and types, nested objects by their own shapes
/// (payloads, whose fields are the application's, by type alone).
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let payload = matches!(
                        k.as_str(),
                        "request_payload"
                            | "response_data"
                            | "metadata"
                            | "before"
                            | "after"
                            | "actions_by_type"
                            | "actions_by_provider"
                    );
                    (k.clone(), if payload { json!("object") } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("boolean"),
        Value::Null => json!("null"),
    }
}

/// Every example of seed 004 replayed as it is written, each answer compared field for
/// field, type for type, with the response the seed documents; and the seed's own
/// spellings accepted: `changes: {before, after}` on input, `FAILURE` as a status.
pub async fn seed_004_examples_replayed_field_for_field(backend: Backend) {
    let app = TestApp::start(backend).await;
    let empty = app.get("/api/v1/logs/stats", &app.admin).await.body;
    assert_eq!(
        empty,
        json!({"total_actions": 0, "successful_actions": 0, "failed_actions": 0, "timed_out_actions": 0,
               "average_execution_time_ms": 0.0, "actions_by_type": {}, "actions_by_provider": {}}),
        "an empty tenant's statistics are zeros, not nulls"
    );
    let actions = json!([
        {"event_type": "ACTION", "event_subtype": "crm_create", "provider": "hubspot", "status": "success", "response_time_ms": 245,
         "request_body_summary": {"email": "john.doe@example.com", "firstname": "John", "lastname": "Doe"},
         "metadata": {"response_data": {"id": "12345", "properties": {}}}},
        {"event_type": "ACTION", "event_subtype": "crm_update", "provider": "hubspot", "status": "FAILURE", "message": "conflict", "response_time_ms": 100},
        {"event_type": "ACTION", "event_subtype": "email_send", "provider": "google", "status": "timeout", "response_time_ms": 30000},
    ]);
    let posted = app.post_events(&app.admin, actions.to_string()).await;
    assert_eq!(posted.body["accepted"], 3, "{}", posted.body);
    let incomplete = app
        .post_events(&app.admin, json!([{"event_type": "ACTION", "provider": "hubspot", "status": "success"},
            {"event_type": "ACTION", "event_subtype": "crm_get", "status": "success"},
            {"event_type": "ACTION", "event_subtype": "crm_get", "provider": "hubspot", "status": "done"}]).to_string())
        .await;
    let fields: Vec<&Value> = incomplete.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["field"])
        .collect();
    assert_eq!(
        fields,
        [
            &json!("event_subtype"),
            &json!("provider"),
            &json!("status")
        ],
        "{}",
        incomplete.body
    );
    // Seed 004's AuditService writes before/after under `changes`.
    let audit = json!({"action": "update", "resource_type": "tenant", "resource_id": "123e4567-e89b-12d3-a456-426614174000",
        "user_id": "admin@example.com", "changes": {"before": {"name": "Old Name"}, "after": {"name": "New Name"}},
        "ip_address": "192.168.1.100", "user_agent": "curl/8"});
    assert_eq!(
        app.post_to("/api/v1/audit", &app.admin, audit.to_string())
            .await
            .status,
        200
    );
    for i in 0..3 {
        let more = json!({"action": "update", "resource_type": "tenant", "resource_id": "123e4567-e89b-12d3-a456-426614174000",
            "user_id": "admin@example.com", "before": {"n": i}, "after": {"n": i + 1}});
        app.post_to("/api/v1/audit", &app.admin, more.to_string())
            .await;
    }

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
    // 1. Get Action Logs.
    let listed = get("/api/v1/logs/actions?action_type=crm_create&status=success&limit=50").await;
    let documented = json!([{"id": "550e8400-e29b-41d4-a716-446655440000", "tenant_id": "123e4567-e89b-12d3-a456-426614174000",
        "action_type": "crm_create", "provider_name": "hubspot", "status": "success", "error_message": null,
        "execution_time_ms": 245, "created_at": "2024-01-15T10:30:00Z"}]);
    assert_eq!(shape(&listed), shape(&documented));
    // 2. Get Action Log Details.
    let id = listed[0]["id"].as_str().unwrap();
    let detail = get(&format!("/api/v1/logs/actions/{id}")).await;
    let documented = json!({"id": "550e8400-e29b-41d4-a716-446655440000", "tenant_id": "123e4567-e89b-12d3-a456-426614174000",
        "action_type": "crm_create", "provider_name": "hubspot",
        "request_payload": {"email": "john.doe@example.com", "firstname": "John", "lastname": "Doe"},
        "response_data": {"id": "12345", "properties": {}}, "status": "success", "error_message": null,
        "execution_time_ms": 245, "metadata": {}, "created_at": "2024-01-15T10:30:00Z", "updated_at": "2024-01-15T10:30:00Z"});
    assert_eq!(shape(&detail), shape(&documented));
    assert_eq!(detail["response_data"], documented["response_data"]);
    // 3. Get Recent Failed Actions: failure and timeout, newest first.
    let failed = get("/api/v1/logs/actions/failed/recent?minutes=120&limit=20").await;
    assert_eq!(failed.as_array().unwrap().len(), 2);
    // The seed's own spelling of a status.
    let upper = get("/api/v1/logs/actions?status=FAILURE").await;
    assert_eq!(upper.as_array().unwrap().len(), 1);
    assert_eq!(upper[0]["status"], "failure");
    // 4. Get Audit Logs.
    let audits = get("/api/v1/logs/audits?action=update&resource_type=tenant").await;
    let documented = json!([{"id": "660e8400-e29b-41d4-a716-446655440001", "tenant_id": "123e4567-e89b-12d3-a456-426614174000",
        "action": "update", "resource_type": "tenant", "resource_id": "123e4567-e89b-12d3-a456-426614174000",
        "user_id": "admin@example.com", "changes": {"before": {"name": "Old Name"}, "after": {"name": "New Name"}},
        "ip_address": "192.168.1.100", "created_at": "2024-01-15T10:35:00Z"}]);
    // The oldest is the seed's own example.
    let oldest = audits.as_array().unwrap().last().unwrap();
    let mut ours = shape(oldest);
    for extra in ["user_agent", "metadata", "updated_at"] {
        ours.as_object_mut().unwrap().remove(extra);
    }
    assert_eq!(ours, shape(&documented[0]));
    assert_eq!(
        oldest["changes"],
        json!({"before": {"name": "Old Name"}, "after": {"name": "New Name"}})
    );
    // 5. Get Resource Audit Trail, with paging.
    let trail =
        get("/api/v1/logs/audits/resource/tenant/123e4567-e89b-12d3-a456-426614174000").await;
    assert_eq!(
        trail.as_array().unwrap().len(),
        4,
        "the reads of the trail are not listed: {trail}"
    );
    let page = get(
        "/api/v1/logs/audits/resource/tenant/123e4567-e89b-12d3-a456-426614174000?skip=1&limit=2",
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["id"], trail[1]["id"]);
    let reads = get("/api/v1/logs/audits?action=audit_trail_read").await;
    assert!(
        reads.as_array().unwrap().len() >= 3,
        "asked for, the reads are there"
    );
    // 6. Get Action Statistics: failed as the seed's SQL counts them, timeouts apart.
    let stats = get("/api/v1/logs/stats").await;
    let documented = json!({"total_actions": 1523, "successful_actions": 1498, "failed_actions": 25,
        "average_execution_time_ms": 234.56, "actions_by_type": {"crm_create": 450}, "actions_by_provider": {"hubspot": 770}});
    let mut ours = shape(&stats);
    ours.as_object_mut().unwrap().remove("timed_out_actions");
    assert_eq!(ours, shape(&documented));
    assert_eq!(
        (
            stats["total_actions"].clone(),
            stats["successful_actions"].clone(),
            stats["failed_actions"].clone(),
            stats["timed_out_actions"].clone()
        ),
        (json!(3), json!(1), json!(1), json!(1))
    );
}

/// List views open encrypted fields as a single read does.
pub async fn action_lists_open_encrypted_fields(backend: Backend) {
    let keyring = "k1:".to_owned() + &"ab".repeat(32);
    let cipher = logbook_server::encryption::FieldCipher::new(
        keyring.parse().unwrap(),
        vec!["message".parse().unwrap()],
    );
    let app = TestApp::with_config(backend, |c| {
        c.encryption = Some(std::sync::Arc::new(cipher))
    })
    .await;
    let action = json!({"event_type": "ACTION", "event_subtype": "crm_create", "provider": "hubspot", "status": "failure", "message": "card declined"});
    app.post_events(&app.admin, action.to_string()).await;
    for path in ["/api/v1/logs/actions", "/api/v1/logs/actions/failed/recent"] {
        let listed = app.get(path, &app.admin).await.body;
        assert_eq!(
            listed[0]["error_message"], "card declined",
            "{path}: {listed}"
        );
    }
}

/// Seed 001's integration health (5.6) over ACTION events, with hand-computed answers.
pub async fn seed_001_integration_health(backend: Backend) {
    let app = TestApp::start(backend).await;
    let two_hours_ago = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let action = |provider: &str, subtype: &str, status: &str, millis: Option<i64>| {
        let mut event = json!({"event_type": "ACTION", "provider": provider, "event_subtype": subtype,
                               "status": status, "success": status == "success" || status == "timeout"});
        if let Some(millis) = millis {
            event["response_time_ms"] = json!(millis);
        }
        event
    };
    let mut events: Vec<Value> = [100, 200, 300, 400]
        .into_iter()
        .map(|ms| action("hubspot", "crm_create", "success", Some(ms)))
        .collect();
    // A timeout counts as failed whatever `success` says.
    events.push(action("hubspot", "crm_create", "timeout", Some(5000)));
    let mut old = action("hubspot", "crm_create", "failure", Some(300));
    old["created_at"] = json!(two_hours_ago);
    events.push(old);
    events.push(action("hubspot", "crm_update", "success", None));
    events.push(action("hubspot", "crm_update", "success", None));
    events.push(action("hubspot", "crm_update", "failure", Some(1000)));
    events.push(action("stripe", "charge", "failure", None));
    events.push(action("stripe", "charge", "failure", None));
    events
        .push(json!({"event_type": "ACTION", "event_subtype": "no_provider", "status": "failure"}));
    events.push(json!({"event_type": "REQUEST", "provider": "hubspot", "success": false}));
    let posted = app.post_events(&app.admin, json!(events).to_string()).await;
    assert_eq!(posted.body["accepted"], 12, "{}", posted.body);

    let health = app.get("/api/v1/integrations", &app.admin).await;
    assert_eq!(health.status, 200, "{}", health.body);
    let mut body = health.body.clone();
    for provider in body.as_array_mut().unwrap() {
        let object = provider.as_object_mut().unwrap();
        assert!(object.remove("last_seen").unwrap().is_string());
        let last_success = object.remove("last_success").unwrap();
        assert_eq!(last_success.is_string(), object["provider"] == "hubspot");
    }
    assert_eq!(
        body,
        json!([
            {"provider": "hubspot", "status": "down", "total_events": 9, "success_rate": 66.67,
             "avg_response_time_ms": 1042.86, "error_count": 3, "errors_last_hour": 2,
             "events": [
                {"event_type": "crm_create", "total_events": 6, "successful_events": 4,
                 "success_rate": 66.67, "avg_response_time_ms": 1050.0},
                {"event_type": "crm_update", "total_events": 3, "successful_events": 2,
                 "success_rate": 66.67, "avg_response_time_ms": 1000.0}]},
            {"provider": "stripe", "status": "down", "total_events": 2, "success_rate": 0.0,
             "avg_response_time_ms": null, "error_count": 2, "errors_last_hour": 2,
             "events": [{"event_type": "charge", "total_events": 2, "successful_events": 0,
                         "success_rate": 0.0, "avg_response_time_ms": null}]}
        ])
    );
    let recent = app
        .get("/api/v1/integrations?hours=1", &app.admin)
        .await
        .body;
    assert_eq!(
        recent[0]["total_events"], 8,
        "the older failure is outside the hour"
    );
    assert_problem(
        &app.get("/api/v1/integrations?hours=721", &app.admin).await,
        400,
        "hours",
    );
}
