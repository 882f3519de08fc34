use chrono::{Duration, Utc};
use logbook_model::pseudonym::Pseudonymizer;
use logbook_server::Anonymization;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// The anonymization job, configured for ACTIVITY after 30 days, through the real app.
pub async fn the_job_anonymizes_old_activity(backend: Backend) {
    let pseudonymizer = Pseudonymizer::new([3; 32]);
    let anonymization = Anonymization {
        rules: vec!["ACTIVITY=30".parse().unwrap()],
        pseudonymizer: pseudonymizer.clone(),
    };
    let app = TestApp::with_config(backend, |config| {
        config.anonymization = Some(anonymization);
        config.ingest.backfill = Duration::days(60);
    })
    .await;
    let old = (Utc::now() - Duration::days(40)).to_rfc3339();
    let events = json!([
        {"event_type": "ACTIVITY", "created_at": old, "user_id": "alice", "ip_address": "198.51.100.7", "user_agent": "UA", "message": "old"},
        {"event_type": "ACTIVITY", "user_id": "alice", "ip_address": "198.51.100.7", "message": "new"},
        {"event_type": "REQUEST", "created_at": old, "user_id": "alice", "ip_address": "198.51.100.7", "message": "request"},
    ]);
    assert_eq!(
        app.post_events(&app.admin, events.to_string()).await.body["accepted"],
        3
    );
    app.app.run_jobs_once().await.unwrap();
    let items = app.get("/api/v1/logs", &app.admin).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let by_message = |m: &str| items.iter().find(|e| e["message"] == m).unwrap().clone();
    let anonymized = by_message("old");
    assert_eq!(
        (
            &anonymized["user_id"],
            &anonymized["ip_address"],
            &anonymized["user_agent"]
        ),
        (
            &json!(pseudonymizer.pseudonym("alice")),
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(by_message("new")["user_id"], "alice");
    assert_eq!(by_message("request")["ip_address"], "198.51.100.7");
}

/// Encrypted fields are ciphertext in the database — in a pg_dump, in the SQLite file
/// and its WAL — and plaintext through the API.
pub async fn encrypted_fields_are_ciphertext_at_rest(backend: Backend) {
    use std::sync::Arc;

    use logbook_server::encryption::FieldCipher;
    use logbook_store::StoreLocation;

    let keyring = format!("k1:{}", "5a".repeat(32)).parse().unwrap();
    let fields = [
        "message",
        "metadata.patient.mrn",
        "request_body_summary.email",
    ]
    .iter()
    .map(|f| f.parse().unwrap())
    .collect();
    let cipher = Arc::new(FieldCipher::new(keyring, fields));
    let app = TestApp::with_config(backend, |config| config.encryption = Some(cipher)).await;
    let secrets = [
        "diagnosis-influenza-A",
        "987-65-4321",
        "patient@example.org",
        "card holder Jane Roe declined",
    ];
    let event = json!({
        "event_type": "ACTIVITY",
        "message": secrets[0],
        "metadata": {"patient": {"mrn": secrets[1], "ward": "7B"}},
        "request_body_summary": {"email": secrets[2]},
    });
    assert_eq!(
        app.post_events(&app.admin, event.to_string()).await.body["accepted"],
        1
    );

    let read = app.get("/api/v1/logs", &app.admin).await.body["items"][0].clone();
    assert_eq!(read["message"], secrets[0]);
    assert_eq!(
        read["metadata"],
        json!({"patient": {"mrn": secrets[1], "ward": "7B"}})
    );
    assert_eq!(read["request_body_summary"], json!({"email": secrets[2]}));
    let id = read["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/logs/{id}"), &app.admin)
            .await
            .body,
        read
    );

    // An error's message is sealed in its group too, and opened for read keys.
    let report = json!({"error_type": "PaymentError", "message": secrets[3]});
    let reported = app
        .post_to("/api/v1/errors", &app.admin, report.to_string())
        .await;
    assert_eq!(reported.body["accepted"], 1, "{}", reported.body);
    let groups = app.get("/api/v1/errors", &app.admin).await;
    assert_eq!(
        groups.body["items"][0]["message"], secrets[3],
        "{}",
        groups.body
    );
    let group_id = groups.body["items"][0]["id"].as_str().unwrap().to_owned();
    let shown = app
        .get(&format!("/api/v1/errors/{group_id}"), &app.admin)
        .await;
    assert_eq!(shown.body["message"], secrets[3], "{}", shown.body);

    let at_rest: Vec<u8> = match &app.location {
        StoreLocation::Sqlite(path) => {
            let mut bytes = std::fs::read(path).unwrap();
            bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
            bytes
        }
        StoreLocation::Postgres(url) => {
            let dump = std::process::Command::new("pg_dump")
                .arg(url)
                .output()
                .expect("pg_dump runs (it comes with the PostgreSQL client)");
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            dump.stdout
        }
    };
    let text = String::from_utf8_lossy(&at_rest);
    assert!(
        text.contains("enc:v1:k1:"),
        "the stored event is in what was read"
    );
    assert!(
        text.contains("7B"),
        "fields not chosen for encryption stay plain"
    );
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} is readable at rest");
    }
}

/// A tenant's own retention replaces the server's defaults for it alone: its old events
/// go at the next upkeep, another tenant's stay; bad periods are refused by name; the
/// change is in the tenant's audit trail.
pub async fn a_tenant_sets_how_long_its_events_are_kept(backend: Backend) {
    let app = TestApp::with_config(backend, |config| {
        config.ingest.backfill = Duration::days(60);
    })
    .await;
    let shown = app.get("/api/v1/retention", &app.admin).await;
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.body,
        json!({"events": {"days": 90, "by_type": {}}, "rules": {"by_type": {}},
               "defaults": {"days": 90, "by_type": {}}, "audit": {"days": 2555, "default": 2555},
               "access": {"days": 2555, "default": 2555}})
    );
    let acme = app.tenant_key("acme", "ingest,read,admin").await;
    let reader = app.tenant_key("acme", "read").await;
    let set = json!({"events": {"days": 30, "by_type": {"AUTH_FAILURE": 365}}});
    assert_eq!(
        app.put_to("/api/v1/retention", &reader, set.to_string())
            .await
            .status,
        403
    );
    let put = app
        .put_to("/api/v1/retention", &acme, set.to_string())
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.body["events"],
        json!({"days": 30, "by_type": {"AUTH_FAILURE": 365}})
    );
    assert_eq!(app.get("/api/v1/retention", &acme).await.body, put.body);
    for (body, needle) in [
        (json!({"events": {"days": 0}}), "events.days"),
        (json!({"events": {"days": 36501}}), "events.days"),
        (
            json!({"events": {"by_type": {"request": 5}}}),
            "events.by_type",
        ),
        (
            json!({"events": {"by_type": {"REQUEST": 0}}}),
            "events.by_type.REQUEST",
        ),
        (json!({"audit": {"days": 0}}), "audit.days"),
        (json!({"access": {"days": 36501}}), "access.days"),
        (json!({"access": {"hours": 5}}), "hours"),
        (json!({"logs": {"days": 5}}), "logs"),
    ] {
        let refused = app
            .put_to("/api/v1/retention", &acme, body.to_string())
            .await;
        assert_problem(&refused, 400, needle);
    }

    let old = (Utc::now() - Duration::days(40)).to_rfc3339();
    let events = json!([
        {"event_type": "REQUEST", "created_at": old, "message": "old request"},
        {"event_type": "AUTH_FAILURE", "created_at": old, "message": "old failure"},
        {"event_type": "REQUEST", "message": "new request"},
    ]);
    for key in [&acme, &app.admin] {
        let stored = app.post_events(key, events.to_string()).await;
        assert_eq!(stored.body["accepted"], 3);
    }
    let before = app.get("/api/v1/storage", &app.admin).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.body["past_retention"], 1, "acme's old request");
    assert_eq!(before.body["tables"][0]["rows"], 6);
    assert_eq!(before.body["archive"]["events"], 0);
    assert_problem(
        &app.get("/api/v1/storage", &acme).await,
        403,
        "operator tenant",
    );
    app.app.run_jobs_once().await.unwrap();
    let after = app.get("/api/v1/storage", &app.admin).await.body;
    assert_eq!(after["past_retention"], 0);
    assert_eq!(after["tables"][0]["rows"], 5);
    assert_eq!(after["archive"]["files"], 1);
    assert_eq!(after["archive"]["events"], 1);
    assert!(after["archive"]["compression_ratio"].as_f64().unwrap() > 0.0);
    let messages = |key: String| {
        let app = &app;
        async move {
            let items = app.get("/api/v1/logs", &key).await.body["items"].clone();
            let mut messages: Vec<String> = items
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned())
                .collect();
            messages.sort();
            messages
        }
    };
    assert_eq!(
        messages(acme.clone()).await,
        ["new request", "old failure"],
        "acme keeps requests 30 days, failures a year"
    );
    assert_eq!(
        messages(app.admin.clone()).await,
        ["new request", "old failure", "old request"],
        "the operator keeps the defaults: 90 days"
    );
    let trail = app
        .get("/api/v1/audit/search?action=retention.set", &acme)
        .await;
    let change = &trail.body["items"][0];
    assert_eq!(change["after"]["events"]["days"], 30);
    assert_eq!(change["before"], json!({"events": {"by_type": {}}}));
}

/// Mutated retention bodies (bytes flipped, cut, spliced with tokens that break parsers)
/// are answered 200 or a 400 problem, never a 5xx, and what is stored stays within the
/// documented bounds.
pub async fn hostile_retention_bodies_get_a_clear_answer(backend: Backend) {
    const CASES: usize = 300;
    const SEEDS: [&str; 4] = [
        r#"{"events":{"days":30,"by_type":{"AUTH_FAILURE":365,"REQUEST":7}}}"#,
        r#"{"events":{}}"#,
        r#"{"events":{"by_type":{"SECURITY_ALERT":36500}}}"#,
        r#"{"audit":{"days":3650},"access":{"days":400}}"#,
    ];
    const TOKENS: [&str; 12] = [
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "-1",
        "1e999",
        "4294967296",
        "null",
        "\"\\u0000\"",
    ];
    // Admin requests are rate limited; this test is about bodies, not rates.
    let app = TestApp::with_config(backend, |config| config.rate_limits.admin = None).await;
    let admin = app.tenant_key("hostile", "admin").await;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..CASES {
        let mut body = SEEDS[next(SEEDS.len())].as_bytes().to_vec();
        for _ in 0..1 + next(4) {
            let at = next(body.len() + 1);
            match next(3) {
                0 => body.insert(at.min(body.len()), next(256) as u8),
                1 => body.truncate(at),
                _ => {
                    let token = TOKENS[next(TOKENS.len())].as_bytes();
                    body.splice(at..at, token.iter().copied());
                }
            }
        }
        let reply = app.put_to("/api/v1/retention", &admin, body.clone()).await;
        assert!(
            reply.status == 200 || reply.status == 400,
            "{} for {:?}: {}",
            reply.status,
            String::from_utf8_lossy(&body),
            reply.body
        );
        if reply.status == 400 {
            assert_problem(&reply, 400, "");
        }
    }
    let shown = app.get("/api/v1/retention", &admin).await;
    assert_eq!(shown.status, 200);
    let days = shown.body["events"]["days"].as_u64().unwrap();
    assert!((1..=36_500).contains(&days), "{}", shown.body);
    for (_, days) in shown.body["events"]["by_type"].as_object().unwrap() {
        assert!((1..=36_500).contains(&days.as_u64().unwrap()));
    }
    for stream in ["audit", "access"] {
        let days = shown.body[stream]["days"].as_u64().unwrap();
        assert!((1..=36_500).contains(&days), "{}", shown.body);
    }
}
