use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

/// Reads and admin calls leave access records in the caller's tenant — key, route, path,
/// the filters as parsed, rows, status — apart from the tenant's events: they are in no
/// event list, summary or export.
pub async fn reads_leave_access_records(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.tenant_key("acme", "ingest,read").await;
    let admin = app.tenant_key("acme", "admin").await;
    let events =
        json!([{"event_type": "REQUEST"}, {"event_type": "REQUEST"}, {"event_type": "AUTH_LOGIN"}]);
    assert_eq!(
        app.post_events(&reader, events.to_string()).await.body["accepted"],
        3
    );
    let listed = app.get("/api/v1/logs?event_type=REQUEST", &reader).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    app.get("/api/v1/logs/summary?hours=2", &reader).await;
    let missing = app
        .get("/api/v1/logs/018f0000-0000-7000-8000-000000000000", &reader)
        .await;
    assert_eq!(missing.status, 404);
    app.get("/api/v1/keys", &admin).await;

    let records = app.get("/api/v1/access?order=asc", &admin).await;
    assert_eq!(records.status, 200, "{}", records.body);
    let seen: Vec<Value> = records.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!([
                r["method"],
                r["route"],
                r["path"],
                r["filters"],
                r["rows"],
                r["status"],
                r["key_id"],
                r["outcome"]
            ])
        })
        .collect();
    let (reader_id, admin_id) = (app.key_id(&reader).await, app.key_id(&admin).await);
    assert_eq!(
        seen,
        vec![
            json!(["GET", "/api/v1/logs", "/api/v1/logs", {"event_type": "REQUEST"}, 2, 200, reader_id, "answered"]),
            json!(["GET", "/api/v1/logs/summary", "/api/v1/logs/summary", {"hours": "2"}, 1, 200, reader_id, "answered"]),
            json!([
                "GET",
                "/api/v1/logs/{id}",
                "/api/v1/logs/018f0000-0000-7000-8000-000000000000",
                null,
                0,
                404,
                reader_id,
                "answered"
            ]),
            json!([
                "GET",
                "/api/v1/keys",
                "/api/v1/keys",
                null,
                2,
                200,
                admin_id,
                "answered"
            ]),
        ]
    );
    let by_key = app
        .get(&format!("/api/v1/access?key_id={admin_id}"), &admin)
        .await;
    assert_eq!(
        by_key.body["items"].as_array().unwrap().len(),
        2,
        "the keys read and the first listing"
    );

    // None of it is among the tenant's events, counts or exports.
    let all = app.get("/api/v1/logs?limit=1000", &reader).await.body["items"].clone();
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let summary = app.get("/api/v1/logs/summary", &reader).await.body;
    assert_eq!(summary["total_requests"], 2);
    let hourly = app.get("/api/v1/logs/hourly", &reader).await.body;
    let counted: i64 = hourly
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["total_count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 3);
    // Access records stay in the caller's tenant.
    let operator = app.get("/api/v1/access", &app.admin).await.body["items"].clone();
    assert!(
        operator
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["key_id"] != reader_id.as_str() && r["key_id"] != admin_id.as_str()),
        "{operator}"
    );
    // Read keys may not list them.
    assert_eq!(app.get("/api/v1/access", &reader).await.status, 403);
}

/// What a read key puts in the record is what the route understood, bounded: unknown
/// parameters are refused (with NUL or without), and long values are cut.
pub async fn access_records_keep_only_parsed_bounded_filters(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.tenant_key("default", "read").await;
    for path in [
        "/api/v1/logs/audits/resource/user/u1?x=%00",
        "/api/v1/logs/audits/resource/user/u1?x=1",
        "/api/v1/audit/actors/a1?filler=1",
        "/api/v1/logs/018f0000-0000-7000-8000-000000000000?x=1",
        "/api/v1/logs/actions/018f0000-0000-7000-8000-000000000000?x=1",
        "/api/v1/logs/stats?x=1",
        "/api/v1/logs?q=%00",
        "/api/v1/logs?user_id=a%00b",
    ] {
        let reply = app.get(path, &reader).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
    }
    let long = "x".repeat(60_000);
    let reply = app
        .get(&format!("/api/v1/audit/search?actor_id={long}"), &reader)
        .await;
    assert_eq!(reply.status, 200);
    let trail = app.get("/api/v1/audit?limit=1000", &app.admin).await.body["items"].clone();
    let reads: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "audit_trail_read")
        .collect();
    assert_eq!(reads.len(), 1, "the refused reads left nothing: {trail}");
    let kept = reads[0]["metadata"]["filters"]["actor_id"]
        .as_str()
        .unwrap();
    assert_eq!(kept.chars().count(), 256, "a long value is cut");
    // A long query string is no way to write many kilobytes into the permanent trail.
    assert!(reads[0].to_string().len() < 2_000);
}

/// An audit product must not serve unrecorded reads: when the access record cannot be
/// stored, the read is refused and nothing of the answer leaves.
pub async fn a_read_that_cannot_be_recorded_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.post_events(
        &app.admin,
        r#"{"event_type": "REQUEST", "message": "secret-ish"}"#,
    )
    .await;
    assert_eq!(app.get("/api/v1/logs", &app.admin).await.status, 200);
    app.raw("DROP TABLE access_log;").await;
    let refused = app.get("/api/v1/logs", &app.admin).await;
    assert!(refused.status.is_server_error(), "{}", refused.body);
    assert_eq!(refused.headers["content-type"], "application/problem+json");
    assert!(!refused.body.to_string().contains("secret-ish"));
    let export = app.get("/api/v1/logs/export", &app.admin).await;
    assert!(
        export.status.is_server_error(),
        "an export is refused before its first byte"
    );
    let verify = app.get("/api/v1/audit/verify", &app.admin).await;
    assert!(verify.status.is_server_error(), "{}", verify.body);
    assert_eq!(verify.headers["content-type"], "application/problem+json");
}

/// Access records past their time (seven years by default) are archived, a file per
/// tenant and day, and only then removed; today's stay.
pub async fn old_access_records_are_archived_then_removed(backend: Backend) {
    use chrono::{Duration, Utc};

    let archive = logbook_store::testing::temp_sqlite_path().with_file_name("access-archive");
    let app = TestApp::with_config(backend, |config| {
        config.retention.archive = logbook_store::archive::ArchiveDir::new(&archive);
        config.retention.access_days = 30;
    })
    .await;
    let store = app.app.store().clone();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap().id;
    app.get("/api/v1/logs", &app.admin).await;
    let today = app.get("/api/v1/access", &app.admin).await.body["items"][0].clone();
    let old = |days: i64, i: u32| logbook_model::access::AccessRecord {
        id: uuid::Uuid::now_v7(),
        tenant_id: tenant,
        at: Utc::now() - Duration::days(days) + Duration::seconds(i64::from(i)),
        key_id: uuid::Uuid::nil(),
        method: "GET".into(),
        route: "/api/v1/logs".into(),
        path: format!("/api/v1/logs?n={i}"),
        filters: None,
        rows: Some(1),
        status: 200,
        outcome: "completed".into(),
        client_ip: None,
    };
    let records: Vec<_> = (0..3).map(|i| old(40, i)).chain([old(35, 9)]).collect();
    // Another tenant keeps its access records fifty days: its forty-day-old one stays.
    let acme = store.create_tenant("acme").await.unwrap().id;
    let rules = logbook_model::retention::RetentionRules {
        access_days: Some(50),
        ..Default::default()
    };
    store.set_retention_rules(acme, &rules).await.unwrap();
    let acmes = logbook_model::access::AccessRecord {
        tenant_id: acme,
        ..old(40, 1)
    };
    store
        .append(
            vec![
                logbook_store::WriteItem::access(tenant, records),
                logbook_store::WriteItem::access(acme, vec![acmes]),
            ]
            .into(),
            Utc::now(),
        )
        .await
        .unwrap();

    let job = logbook_server::jobs::RetentionJob {
        store: store.clone(),
        retention: logbook_server::Retention {
            events: Default::default(),
            audit_days: logbook_model::retention::AUDIT_DAYS,
            access_days: 30,
            archive: logbook_store::archive::ArchiveDir::new(&archive),
        },
        signer: None,
    };
    let removed = job.run_once().await.unwrap().access;
    assert_eq!((removed.records, removed.archive_files), (4, 2));
    let files = logbook_store::archive::ArchiveDir::new(&archive)
        .list()
        .unwrap();
    let rows: Vec<(String, u64)> = files
        .iter()
        .map(|(_, m)| (m.stream.clone(), m.rows))
        .collect();
    assert_eq!(rows, [("access".into(), 3), ("access".into(), 1)]);
    let (path, manifest) = &files[0];
    let text = zstd::decode_all(std::fs::File::open(path.with_file_name(&manifest.file)).unwrap())
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["path"], "/api/v1/logs?n=0");

    let left = app.get("/api/v1/access?limit=1000", &app.admin).await.body["items"].clone();
    let ids: Vec<&Value> = left.as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert!(ids.contains(&&today["id"]), "today's record stays");
    assert!(
        left.as_array()
            .unwrap()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().contains("n=")),
        "{left}"
    );
    assert_eq!(job.run_once().await.unwrap().access.records, 0);
}
