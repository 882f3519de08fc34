use std::sync::Arc;

use logbook_model::audit::checkpoint::Checkpoint;
use logbook_server::checkpoints::Checkpointer;
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
    let ndjson = "{\"action\":\"create\",\"resource_type\":\"user\",\"resource_id\":\"u-2\"}\n{\"action\":\"login\",\"resource_type\":\"session\",\"resource_id\":\"s-1\"}\n";
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
        // The four events, and the two reads of the trail above, recorded in it.
        (json!(true), json!(6), Value::Null)
    );
    let reads = app
        .get("/api/v1/audit/search?action=audit_trail_read", &app.admin)
        .await
        .body["items"]
        .clone();
    let reads = reads.as_array().unwrap();
    // Newest first: the verification, then the two pages read above.
    assert_eq!(reads.len(), 3);
    assert_eq!(reads[0]["description"], "GET /api/v1/audit/verify");
    assert_eq!(reads[2]["description"], "GET /api/v1/audit");
    assert_eq!(
        reads[2]["metadata"],
        json!({"path": "/api/v1/audit", "filters": {"limit": "3"}, "rows": 3, "outcome": "answered"})
    );
    assert!(reads[2]["actor_id"].as_str().unwrap().starts_with("key:"));
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
    // Its chain holds only the record of its own read just above.
    assert_eq!(
        app.get("/api/v1/audit/verify", &other).await.body["checked"],
        1
    );
}

/// Raw SQL into the test's database, as an attacker with database access would.
async fn app_with_checkpoints(backend: Backend) -> TestApp {
    let checkpointer = checkpointer();
    TestApp::with_config(backend, |config| config.checkpoints = Some(checkpointer)).await
}

fn checkpointer() -> Arc<Checkpointer> {
    let witness = logbook_store::testing::temp_sqlite_path().with_file_name("checkpoints.ndjson");
    let mut checkpointer = Checkpointer::new([9; 32], witness);
    checkpointer.every_events = 2;
    Arc::new(checkpointer)
}

async fn append_three(app: &TestApp) {
    let body = (0..3).map(|i| {
        json!({"action": "update", "resource_type": "doc", "resource_id": i.to_string()})
            .to_string()
    });
    let reply = app
        .post_to(
            "/api/v1/audit",
            &app.admin,
            body.collect::<Vec<_>>().join("\n"),
        )
        .await;
    assert_eq!(reply.body["accepted"], 3, "{}", reply.body);
}

/// The links and hashes alone, without checkpoints, as someone with only the chain sees it.
async fn chain_alone_verifies(
    store: &dyn logbook_store::Store,
    tenant: logbook_model::TenantId,
) -> bool {
    let events = store.audit_range(tenant, 1, i64::MAX, 1000).await.unwrap();
    logbook_model::audit::chain::verify(&events, (0, logbook_model::audit::chain::GENESIS)).ok
}

fn bad(verified: &Value) -> (i64, String) {
    assert_eq!(verified["ok"], false, "{verified}");
    (
        verified["first_bad"]["seq"].as_i64().unwrap(),
        verified["first_bad"]["reason"].as_str().unwrap().to_owned(),
    )
}

/// With signed checkpoints, the attacks a hash chain alone cannot see are caught: the
/// whole chain recomputed with fresh hashes, the newest events cut with the head moved
/// back, and a checkpoint forged in the database.
pub async fn signed_checkpoints_catch_rewrites_and_truncation(backend: Backend) {
    let app = app_with_checkpoints(backend).await;
    append_three(&app).await;
    let checkpoints = app.get("/api/v1/audit/checkpoints", &app.admin).await.body;
    assert_eq!(checkpoints.as_array().unwrap().len(), 1, "{checkpoints}");
    assert_eq!(checkpoints[0]["seq"], 3);
    let key = app.get("/api/v1/audit/public-key", &app.admin).await.body;
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(checkpoints[0]["key_id"], key["public_key"]);
    assert_eq!(
        app.get("/api/v1/audit/verify", &app.admin).await.body["ok"],
        true
    );

    // Rewrite every event and recompute the chain and its head, as someone with the
    // database (but not the signing key) can; the chain alone then looks intact.
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    let t = app.tenant_literal(tenant);
    let mut events = store.audit_range(tenant, 1, 10, 10).await.unwrap();
    let (mut seq, mut hash) = (0, logbook_model::audit::chain::GENESIS.to_owned());
    let mut sql = String::new();
    for e in &mut events {
        e.description = Some("nothing happened".into());
        logbook_model::audit::chain::link(e, seq, &hash);
        (seq, hash) = (e.seq, e.hash.clone());
        sql.push_str(&format!(
            "UPDATE audit_events SET description = 'nothing happened', prev_hash = '{}', hash = '{}' WHERE tenant_id = {t} AND seq = {};",
            e.prev_hash, e.hash, e.seq
        ));
    }
    sql.push_str(&format!(
        "UPDATE audit_chain_heads SET hash = '{hash}' WHERE tenant_id = {t};"
    ));
    app.raw(&sql).await;
    assert!(
        chain_alone_verifies(store.as_ref(), tenant).await,
        "the chain alone is fooled"
    );
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert_eq!(at, 3);
    assert!(reason.contains("rewritten"), "{reason}");

    // Even with the database's checkpoints deleted, the witness file remembers.
    app.raw("DELETE FROM audit_checkpoints;").await;
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert!(at == 3 && reason.contains("rewritten"), "{reason}");
}

pub async fn truncation_and_forged_checkpoints_are_caught(backend: Backend) {
    let app = app_with_checkpoints(backend).await;
    append_three(&app).await;
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    let t = app.tenant_literal(tenant);
    let second = store.audit_range(tenant, 2, 2, 1).await.unwrap().remove(0);

    // A forged checkpoint in the database does not verify.
    let forged = format!(
        "INSERT INTO audit_checkpoints (tenant_id, seq, hash, count, time, key_id, signature) SELECT tenant_id, 2, hash, 2, time, key_id, '00' FROM audit_checkpoints WHERE tenant_id = {t} AND seq = 3;"
    );
    app.raw(&forged).await;
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert!(at == 2 && reason.contains("forged"), "{reason}");
    app.raw(&format!(
        "DELETE FROM audit_checkpoints WHERE tenant_id = {t} AND seq = 2;"
    ))
    .await;

    // Cut the newest events and move the head back: the chain agrees with its head, the
    // signed checkpoint does not.
    app.raw(
        &format!(
            "DELETE FROM audit_events WHERE tenant_id = {t} AND seq >= 3; UPDATE audit_chain_heads SET seq = 2, hash = '{}' WHERE tenant_id = {t};",
            second.hash
        ),
    )
    .await;
    assert!(
        chain_alone_verifies(store.as_ref(), tenant).await,
        "the chain alone is fooled"
    );
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert!(at == 3 && reason.contains("truncated"), "{reason}");
}

/// `logbook verify` on an export held in memory.
pub fn offline(export: &str, keys: &[String]) -> logbook_model::audit::chain::Verification {
    let bytes = export.as_bytes();
    logbook_server::checkpoints::verify_export(&[&|| Ok(bytes)], keys).unwrap()
}

async fn body_text(app: &TestApp, path: &str) -> (String, String) {
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (content_type, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The audit export carries the chain and its checkpoints and verifies offline under the
/// public key; an edited export does not. Events export as NDJSON and CSV.
pub async fn exports_stream_and_verify_offline(backend: Backend) {
    let app = app_with_checkpoints(backend).await;
    append_three(&app).await;
    append_three(&app).await;
    let key = app.get("/api/v1/audit/public-key", &app.admin).await.body["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (content_type, export) = body_text(&app, "/api/v1/audit/export").await;
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<&str> = export.lines().collect();
    assert!(lines[0].contains("logbook-audit-export"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("\"type\":\"event\""))
            .count(),
        6
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("\"type\":\"checkpoint\""))
            .count()
            >= 2
    );

    let verified = offline(&export, std::slice::from_ref(&key));
    assert!(verified.ok && verified.checked == 6, "{verified:?}");
    let edited = export.replacen("\"resource_id\":\"1\"", "\"resource_id\":\"9\"", 1);
    assert_ne!(edited, export);
    let failed = offline(&edited, std::slice::from_ref(&key));
    assert_eq!(failed.first_bad.map(|b| b.seq), Some(2));
    let is_last_event = |l: &str| l.contains("\"type\":\"event\"") && l.contains("\"seq\":6,");
    let cut: String = export
        .lines()
        .filter(|l| !is_last_event(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let truncated = offline(&cut, std::slice::from_ref(&key));
    assert!(truncated.first_bad.unwrap().reason.contains("truncated"));
    let wrong_key = offline(&export, &["ab".repeat(32)]);
    assert!(wrong_key.first_bad.unwrap().reason.contains("signature"));

    let (_, csv) = body_text(&app, "/api/v1/audit/export?format=csv").await;
    assert!(csv.starts_with("seq,id,occurred_at"));
    // The header, the six events, and the records of the NDJSON export above (started,
    // completed); this export's own record comes after the head it exports to.
    assert_eq!(csv.lines().count(), 9);

    let events = json!([{"event_type": "REQUEST", "message": "a, \"quoted\" one"}, {"event_type": "AUTH_LOGIN"}]);
    app.post_events(&app.admin, events.to_string()).await;
    let (_, ndjson) = body_text(&app, "/api/v1/logs/export?event_type=REQUEST").await;
    assert_eq!(ndjson.lines().count(), 1);
    let (content_type, csv) =
        body_text(&app, "/api/v1/logs/export?format=csv&event_type=REQUEST").await;
    assert!(content_type.starts_with("text/csv"));
    assert!(csv.contains("\"a, \"\"quoted\"\" one\""), "{csv}");
}

/// Verification reads one snapshot: with appends going on beside it (through the API,
/// as a live system has them), every verify says ok, an export taken meanwhile verifies
/// offline, and a real edit is still caught afterwards.
pub async fn verify_is_a_snapshot_while_appends_go_on(backend: Backend) {
    let app = app_with_checkpoints(backend).await;
    let writer = app.tenant_key("default", "ingest").await;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let appends = async {
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let body: Vec<String> = (0..5)
                .map(|i| json!({"action": "update", "resource_type": "doc", "resource_id": format!("{n}-{i}")}).to_string())
                .collect();
            let reply = app.post_to("/api/v1/audit", &writer, body.join("\n")).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            n += 1;
        }
        n
    };
    let checks = async {
        let mut verdicts = Vec::new();
        for _ in 0..20 {
            verdicts.push(app.get("/api/v1/audit/verify", &app.admin).await.body);
        }
        let (_, export) = body_text(&app, "/api/v1/audit/export").await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (verdicts, export)
    };
    let (requests, (verdicts, export)) = tokio::join!(appends, checks);
    assert!(requests > 0);
    let alarms: Vec<&Value> = verdicts.iter().filter(|v| v["ok"] != true).collect();
    assert!(
        alarms.is_empty(),
        "false alarms while appending: {alarms:?}"
    );
    let key = app.get("/api/v1/audit/public-key", &app.admin).await.body["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let offline_verdict = offline(&export, &[key]);
    assert!(offline_verdict.ok, "{offline_verdict:?}");

    let tenant = app
        .app
        .store()
        .tenant_by_name("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let t = app.tenant_literal(tenant);
    app.raw(&format!(
        "UPDATE audit_events SET actor_id = 'someone else' WHERE tenant_id = {t} AND seq = 2;"
    ))
    .await;
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert!(at == 2 && reason.contains("altered"), "{reason}");
}

/// Audit appends honour `Idempotency-Key` (a retry appends nothing and gets the first
/// answer, seqs included), go through the bounded ingest queue (429 when it is full), and
/// cut over-long text the way events do.
pub async fn audit_appends_are_idempotent_and_queued(backend: Backend) {
    let app = TestApp::with_ingest(
        backend,
        logbook_server::IngestConfig {
            queue_events: 10,
            ..Default::default()
        },
    )
    .await;
    let body = json!([
        {"action": "update", "resource_type": "doc", "resource_id": "d1", "description": "x".repeat(40_000)},
        {"action": "delete", "resource_type": "doc", "resource_id": "d2"},
    ])
    .to_string();
    let post = |key: &'static str| {
        let request = axum::http::Request::post("/api/v1/audit")
            .header("authorization", format!("Bearer {}", app.admin))
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        app.send(request)
    };
    let first = post("retry-1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (
            first.body["first_seq"].clone(),
            first.body["last_seq"].clone()
        ),
        (json!(1), json!(2))
    );
    let again = post("retry-1").await;
    assert_eq!(again.body, first.body, "the first answer, seqs included");
    let (head, _) = app
        .app
        .store()
        .audit_head(
            app.app
                .store()
                .tenant_by_name("default")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert_eq!(head, 2, "the retry appended nothing");
    let stored = app.get("/api/v1/audit?limit=1", &app.admin).await.body["items"][0].clone();
    assert_eq!(
        stored["description"].as_str().unwrap().chars().count(),
        32 * 1024
    );
    assert_eq!(stored["metadata"], json!({"_truncated": ["description"]}));

    // Eleven events never fit a queue of ten: 413. With the writer held up, a request
    // that does not fit now gets 429.
    let eleven: Vec<String> = (0..11)
        .map(|i| {
            json!({"action": "a", "resource_type": "r", "resource_id": i.to_string()}).to_string()
        })
        .collect();
    assert_problem(
        &app.post_to("/api/v1/audit", &app.admin, eleven.join("\n"))
            .await,
        413,
        "ingest queue",
    );
    let lock = app.hold_write_lock().await;
    let ten = eleven[..10].join("\n");
    let one = eleven[10].clone();
    let (a, b, ()) = tokio::join!(
        app.post_to("/api/v1/audit", &app.admin, ten),
        app.post_to("/api/v1/audit", &app.admin, one),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            lock.release().await;
        }
    );
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert!(
        statuses.contains(&429) && statuses.contains(&200),
        "{statuses:?}"
    );
}

/// A download is recorded before its first byte leaves, and again when it completes, or
/// when the client goes away first; key and tenant administration joins the trail of
/// the tenant it concerns.
pub async fn downloads_and_administration_leave_their_trace(backend: Backend) {
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = app_with_checkpoints(backend).await;
    for _ in 0..400 {
        append_three(&app).await;
    }
    let (_, export) = body_text(&app, "/api/v1/audit/export").await;
    assert!(export.lines().count() > 1200);
    assert_eq!(
        export_outcomes(&app).await,
        [("started".to_owned(), 0), ("completed".to_owned(), 1200)]
    );

    // A client that reads one chunk and hangs up.
    let request = Request::get("/api/v1/audit/export")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());
    drop(body);
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = export_outcomes(&app).await;
        if seen.len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen[2].0, "started");
    assert_eq!(seen[3].0, "aborted", "{seen:?}");
    assert!(seen[3].1 < 1200, "{seen:?}");

    // Administration: a key made and revoked, a tenant made.
    let made = app
        .post_to(
            "/api/v1/keys",
            &app.admin,
            json!({"name": "ci", "scopes": ["read"]}).to_string(),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let revoke = Request::delete(format!("/api/v1/keys/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(revoke).await.status, 200);
    let changes = app
        .get("/api/v1/audit/search?resource_type=api_key", &app.admin)
        .await
        .body["items"]
        .clone();
    let actions: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
    assert_eq!(changes[1]["resource_id"], id.as_str());
    assert_eq!(changes[1]["after"]["scopes"], json!(["read"]));
    let secret = made.body["key"].as_str().unwrap();
    assert!(
        !changes.to_string().contains(secret),
        "no secret in the trail"
    );
    let tenant = app
        .post_to(
            "/api/v1/tenants",
            &app.admin,
            json!({"name": "globex"}).to_string(),
        )
        .await;
    assert_eq!(tenant.status, 201);
    let globex = app.tenant_key("globex", "read").await;
    let first = app.get("/api/v1/audit?limit=1", &globex).await.body["items"][0].clone();
    assert_eq!(
        first["action"], "tenant.create",
        "the new tenant's trail starts with its making"
    );
    assert_eq!(first["seq"], 1);
}

/// The access records of audit exports, oldest first: (outcome, rows).
async fn export_outcomes(app: &TestApp) -> Vec<(String, i64)> {
    let items = app
        .get(
            "/api/v1/access?route=/api/v1/audit/export&order=asc",
            &app.admin,
        )
        .await
        .body["items"]
        .clone();
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap().to_owned(),
                r["rows"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Signing keys rotate: a server restarted with a new key adds it to the keyring, and
/// checkpoints of the old and the new key both verify. A retired key still vouches for
/// what it signed before its retirement, nothing after.
pub async fn signing_keys_rotate_and_retire(backend: Backend) {
    use std::sync::Arc;

    use logbook_server::checkpoints::Checkpointer;
    let old = app_with_checkpoints(backend).await;
    append_three(&old).await;
    let witness = logbook_store::testing::temp_sqlite_path().with_file_name("checkpoints.ndjson");
    let mut rotated = Checkpointer::new([7; 32], witness);
    rotated.every_events = 2;
    let rotated = Arc::new(rotated);
    let new_key = rotated.public_key().to_owned();
    let mut config = logbook_server::Config::new(old.location.clone());
    config.checkpoints = Some(rotated);
    let new = logbook_server::App::build(config).await.unwrap();
    let new_router = new.router();
    let request = |path: &str| {
        axum::http::Request::get(path)
            .header("authorization", format!("Bearer {}", old.admin))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let body = (0..3)
        .map(|i| {
            json!({"action": "update", "resource_type": "doc", "resource_id": format!("n{i}")})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let post = axum::http::Request::post("/api/v1/audit")
        .header("authorization", format!("Bearer {}", old.admin))
        .body(axum::body::Body::from(body))
        .unwrap();
    use tower::ServiceExt;
    assert_eq!(
        new_router.clone().oneshot(post).await.unwrap().status(),
        200
    );
    let keys = old.get("/api/v1/audit/public-key", &old.admin).await.body;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2, "{keys}");
    let signers: Vec<String> = old
        .get("/api/v1/audit/checkpoints", &old.admin)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        signers.contains(&new_key) && signers.iter().any(|k| *k != new_key),
        "{signers:?}"
    );
    let response = new_router
        .clone()
        .oneshot(request("/api/v1/audit/verify"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        old.get("/api/v1/audit/verify", &old.admin).await.body["ok"],
        true
    );

    // Retired now: what it signed stands.
    let old_key = signers.iter().find(|k| **k != new_key).unwrap().clone();
    let store = old.app.store();
    assert!(
        store
            .retire_signing_key(&old_key, chrono::Utc::now())
            .await
            .unwrap()
    );
    assert_eq!(
        old.get("/api/v1/audit/verify", &old.admin).await.body["ok"],
        true
    );
    // Retired before it signed (it leaked): its checkpoints no longer vouch.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(1);
    store.retire_signing_key(&old_key, long_ago).await.unwrap();
    let (_, reason) = bad(&old.get("/api/v1/audit/verify", &old.admin).await.body);
    assert!(reason.contains("trusted key"), "{reason}");
}

/// An app that signs checkpoints and archives into its own directory, and a retention
/// job that keeps its audit trail one day.
struct Cutting {
    app: TestApp,
    signer: Arc<Checkpointer>,
    archive: std::path::PathBuf,
    job: logbook_server::jobs::RetentionJob,
}

impl Cutting {
    async fn start(backend: Backend) -> Self {
        let signer = checkpointer();
        let archive = logbook_store::testing::temp_sqlite_path().with_file_name("audit-archive");
        let app = TestApp::with_config(backend, |config| {
            config.checkpoints = Some(signer.clone());
            config.retention.archive = logbook_store::archive::ArchiveDir::new(&archive);
        })
        .await;
        let job = logbook_server::jobs::RetentionJob {
            store: app.app.store().clone(),
            retention: logbook_server::Retention {
                events: Default::default(),
                audit_days: 1,
                access_days: logbook_model::retention::AUDIT_DAYS,
                archive: logbook_store::archive::ArchiveDir::new(&archive),
            },
            signer: Some(signer.clone()),
        };
        Self {
            app,
            signer,
            archive,
            job,
        }
    }
}

/// A tenant's own audit period replaces the server's for its trail: the events the
/// server's one day would cut stay while the tenant keeps ten days, and go when it
/// returns to the default.
pub async fn a_tenants_audit_period_replaces_the_servers(backend: Backend) {
    use chrono::{Duration, Utc};

    let Cutting {
        app, signer, job, ..
    } = Cutting::start(backend).await;
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    let parser = logbook_model::audit::AuditParser::default();
    let received = Utc::now() - Duration::days(5);
    let raw = json!({"action": "update", "resource_type": "doc", "resource_id": "old"});
    let events = vec![
        parser
            .parse_json(tenant, &raw.to_string(), received)
            .unwrap(),
    ];
    store.append_audit(tenant, events).await.unwrap();
    signer.checkpoint(store.as_ref(), tenant, 1).await.unwrap();
    append_three(&app).await;
    let ten_days = json!({"audit": {"days": 10}});
    let set = app
        .put_to("/api/v1/retention", &app.admin, ten_days.to_string())
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["audit"]["days"], 10);
    assert_eq!(job.run_once().await.unwrap().audit.cuts, 0, "kept ten days");
    let back = app
        .put_to("/api/v1/retention", &app.admin, json!({}).to_string())
        .await;
    assert_eq!(back.body["audit"]["days"], back.body["audit"]["default"]);
    assert_eq!(
        job.run_once().await.unwrap().audit.cuts,
        1,
        "the server's day"
    );
}

/// Retention cuts the chain at a signed checkpoint: the events up to it are archived first,
/// one file per day received, in files that verify offline alone, and all together with
/// the export that follows them as one chain from the first event; then verification,
/// online and offline, holds from the cut, and appends go on. A later cut starts where
/// the last one ended. An archive of the trail is never put back.
pub async fn retention_cuts_the_chain_at_a_signed_checkpoint(backend: Backend) {
    use chrono::{Duration, Utc};

    let Cutting {
        app,
        signer,
        archive,
        job,
    } = Cutting::start(backend).await;
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    // Four events received five and four days ago, signed then.
    let parser = logbook_model::audit::AuditParser::default();
    for days_ago in [5, 4] {
        let received = Utc::now() - Duration::days(days_ago);
        let events = (0..2)
            .map(|i| {
                let raw = json!({"action": "update", "resource_type": "doc", "resource_id": format!("old-{days_ago}-{i}")});
                parser.parse_json(tenant, &raw.to_string(), received).unwrap()
            })
            .collect();
        store.append_audit(tenant, events).await.unwrap();
    }
    let early = signer.checkpoint(store.as_ref(), tenant, 1).await.unwrap();
    assert_eq!(early.map(|c| c.seq), Some(4));
    append_three(&app).await;
    append_three(&app).await;
    app.app.run_jobs_once().await.unwrap();
    let checkpoints = app.get("/api/v1/audit/checkpoints", &app.admin).await.body;
    let signed = checkpoints.as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();
    assert!(signed >= 10, "{checkpoints}");
    let key = signer.public_key().to_owned();

    let today = job.run_once().await.unwrap();
    assert_eq!(
        (
            today.audit.cuts,
            today.audit.events,
            today.audit.archive_files
        ),
        (1, 4, 2),
        "the events of two days before yesterday, to the checkpoint signed then"
    );
    let later = Utc::now() + Duration::days(3);
    let removed = job.run_at(later).await.unwrap();
    assert_eq!(
        (removed.audit.cuts, removed.audit.events),
        (1, signed as u64 - 4),
        "cut again at the newest checkpoint"
    );
    assert_eq!(
        job.run_at(later).await.unwrap().audit.cuts,
        0,
        "nothing signed past the cut"
    );

    append_three(&app).await;
    let verified = app.get("/api/v1/audit/verify", &app.admin).await.body;
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["cut"]["seq"], signed);
    assert_eq!(verified["first_seq"], signed + 1);
    let (_, export) = body_text(&app, "/api/v1/audit/export").await;
    let header: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(
        (header["from_seq"].clone(), header["cut"]["seq"].clone()),
        (json!(signed + 1), json!(signed))
    );
    let exported = offline(&export, std::slice::from_ref(&key));
    assert!(exported.ok, "{exported:?}");
    assert_eq!(exported.cut.map(|c| c.seq), Some(signed));

    // The archive: exports of the cut runs, a file per day received.
    let files: Vec<_> = logbook_store::archive::ArchiveDir::new(&archive)
        .list()
        .unwrap()
        .into_iter()
        .filter(|(_, m)| m.stream == "audit")
        .collect();
    let runs: Vec<_> = files
        .iter()
        .map(|(_, m)| (m.day, m.from_seq.unwrap(), m.to_seq.unwrap(), m.rows))
        .collect();
    let day = |ago: i64| (Utc::now() - Duration::days(ago)).date_naive();
    assert_eq!(
        runs,
        [
            (day(5), 1, 2, 2),
            (day(4), 3, 4, 2),
            (day(0), 5, signed, signed as u64 - 4)
        ]
    );
    let mut texts = Vec::new();
    for (path, manifest) in &files {
        let data = path.with_file_name(&manifest.file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&data).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = zstd::decode_all(std::fs::File::open(&data).unwrap()).unwrap();
        texts.push(String::from_utf8(text).unwrap());
    }
    let last_run = offline(&texts[2], std::slice::from_ref(&key));
    assert!(last_run.ok, "{last_run:?}");
    assert_eq!(
        last_run.cut.map(|c| c.seq),
        Some(4),
        "a later cut's run starts at the cut before it"
    );
    let (first, second, third, export) = (
        texts[0].as_bytes(),
        texts[1].as_bytes(),
        texts[2].as_bytes(),
        export.as_bytes(),
    );
    let whole = logbook_server::checkpoints::verify_export(
        &[&|| Ok(export), &|| Ok(third), &|| Ok(first), &|| Ok(second)],
        std::slice::from_ref(&key),
    )
    .unwrap();
    assert!(whole.ok, "{whole:?}");
    assert_eq!(
        (whole.first_seq, whole.last_seq, whole.cut),
        (Some(1), header["to_seq"].as_i64(), None),
        "archives then export, in any order given: one chain from the first event"
    );
    let gap = logbook_server::checkpoints::verify_export(
        &[&|| Ok(first), &|| Ok(third)],
        std::slice::from_ref(&key),
    )
    .unwrap();
    assert_eq!(
        gap.first_bad.map(|b| b.seq),
        Some(3),
        "a day's file missing"
    );
    let twice = logbook_server::checkpoints::verify_export(
        &[&|| Ok(first), &|| Ok(second), &|| Ok(first)],
        std::slice::from_ref(&key),
    )
    .unwrap();
    assert!(
        twice.ok && twice.checked == 4,
        "one run archived twice: {twice:?}"
    );
    let other = texts[0].replace(
        &tenant.to_string(),
        &logbook_model::TenantId::new().to_string(),
    );
    let mixed = logbook_server::checkpoints::verify_export(
        &[&|| Ok(other.as_bytes()), &|| Ok(second)],
        std::slice::from_ref(&key),
    );
    assert!(mixed.unwrap_err().contains("different tenants"));
    let edited = texts[1].replacen("old-4-1", "old-4-9", 1);
    assert_eq!(
        offline(&edited, std::slice::from_ref(&key))
            .first_bad
            .map(|b| b.seq),
        Some(4)
    );

    let refused = logbook_store::archive::open(&files[0].0)
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("logbook verify"), "{refused}");
}

/// Retention never cuts a chain that does not verify (it would launder the break into a
/// signed cut), and leaves no archive file of the run it refused; and a cut signed with a
/// key an attacker added to the database's keyring cannot hide what the witness file
/// holds.
pub async fn cuts_never_launder_a_break_or_hide_the_witness(backend: Backend) {
    let Cutting {
        app,
        signer: _,
        archive,
        job,
    } = Cutting::start(backend).await;
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    let t = app.tenant_literal(tenant);
    append_three(&app).await;
    append_three(&app).await;
    app.app.run_jobs_once().await.unwrap();
    let (head, _) = store.audit_head(tenant).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(3);

    // An event edited in place: the run breaks at it, nothing is archived or cut.
    app.raw(&format!(
        "UPDATE audit_events SET description = 'edited' WHERE tenant_id = {t} AND seq = 2;"
    ))
    .await;
    let refused = job.run_at(later).await.unwrap().audit;
    assert_eq!((refused.cuts, refused.events), (0, 0));
    let left = logbook_store::archive::ArchiveDir::new(&archive)
        .list()
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(store.audit_range(tenant, 1, 2, 10).await.unwrap().len(), 2);

    // A key added to the keyring signs a cut at the head: the witnessed checkpoints it
    // would hide say no.
    let at_head = Checkpoint {
        seq: head,
        hash: store.audit_range(tenant, head, head, 1).await.unwrap()[0]
            .hash
            .clone(),
        ..store.checkpoints(tenant).await.unwrap().pop().unwrap()
    };
    let witness = logbook_store::testing::temp_sqlite_path().with_file_name("mallory.ndjson");
    let mallory = Checkpointer::new([13; 32], witness);
    store.trust_signing_key(mallory.public_key()).await.unwrap();
    mallory.cut(store.as_ref(), &at_head).await.unwrap();
    let (at, reason) = bad(&app.get("/api/v1/audit/verify", &app.admin).await.body);
    assert_eq!(at, head, "{reason}");
    assert!(reason.contains("witness"), "{reason}");
}
