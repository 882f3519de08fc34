use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// Audit events go into the tenant's chain with computed changes, read back in seq
/// order, and verify; another tenant sees an empty chain.
pub async fn audit_events_chain_and_verify(backend: Backend) {
    let app = TestApp::start(backend).await;
    let body = json!([
        {"action": "update", "resource_type": "tenant", "resource_id": "t-1", "user_id": "u-1",
         "before": {"name": "Old", "plan": {"tier": "free"}}, "after": {"name": "New", "plan": {"tier": "pro"}}},
        {"resource_type": "tenant"},
        {"action": "delete", "resource_type": "api_key", "resource_id": "k-9", "outcome": "failure", "failure_reason": "in use"},
    ]);
    let reply = app
        .post_to("/api/v1/audit", &app.admin, body.to_string())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"accepted": 2, "rejected": [{"index": 1, "field": "action", "error": "action: is required"}], "first_seq": 1, "last_seq": 2})
    );
    let ndjson = "{\"action\":\"create\",\"resource_type\":\"user\"}\n{\"action\":\"login\",\"resource_type\":\"session\"}\n";
    let more = app.post_to("/api/v1/audit", &app.admin, ndjson).await;
    assert_eq!(
        (
            more.body["first_seq"].clone(),
            more.body["last_seq"].clone()
        ),
        (json!(3), json!(4))
    );

    let page = app.get("/api/v1/audit?limit=3", &app.admin).await.body;
    let items = page["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(page["next_from_seq"], 4);
    assert_eq!(
        items[0]["changes"],
        json!({"name": {"from": "Old", "to": "New"}, "plan.tier": {"from": "free", "to": "pro"}})
    );
    assert_eq!(items[0]["actor_id"], "u-1");
    assert_eq!(items[1]["prev_hash"], items[0]["hash"]);
    assert_eq!(
        app.get("/api/v1/audit?from_seq=4", &app.admin).await.body["items"][0]["action"],
        "login"
    );

    let verified = app.get("/api/v1/audit/verify", &app.admin).await.body;
    assert_eq!(
        (
            verified["ok"].clone(),
            verified["checked"].clone(),
            verified["first_bad"].clone()
        ),
        (json!(true), json!(4), Value::Null)
    );
    let part = app
        .get("/api/v1/audit/verify?from_seq=2&to_seq=3", &app.admin)
        .await
        .body;
    assert_eq!(
        (part["ok"].clone(), part["checked"].clone()),
        (json!(true), json!(2))
    );
    assert_problem(
        &app.get("/api/v1/audit/verify?from_seq=3&to_seq=2", &app.admin)
            .await,
        400,
        "to_seq",
    );

    let other = app.tenant_key("globex", "read").await;
    assert_eq!(
        app.get("/api/v1/audit", &other).await.body["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/audit/verify", &other).await.body["checked"],
        0
    );
}
