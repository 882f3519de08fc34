use logbook_model::Limits;
use logbook_server::IngestConfig;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

fn request_event(i: usize) -> Value {
    json!({
        "event_type": "REQUEST",
        "user_id": format!("user-{}", i % 7),
        "ip_address": format!("10.0.{}.{}", i / 250, i % 250),
        "request_path": "/api/items",
        "http_method": "GET",
        "response_status_code": 200,
        "response_time_ms": i % 100,
    })
}

/// The events the test sent: every event but the access records its own reads leave.
async fn stored(app: &TestApp, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = "/api/v1/logs?limit=1000".to_owned();
    loop {
        let page = app.get(&path, key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        items.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/logs?limit=1000&cursor={cursor}"),
            None => {
                return items
                    .into_iter()
                    .filter(|e| e["event_type"] != "LOG_ACCESS")
                    .collect();
            }
        }
    }
}

pub async fn a_bad_event_in_a_thousand_is_named_and_the_rest_stored(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut events: Vec<Value> = (0..1000).map(request_event).collect();
    events[537]["ip_address"] = json!("300.1.2.3");
    let reply = app
        .post_events(&app.admin, Value::Array(events).to_string())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({
            "accepted": 999,
            "rejected": [{
                "index": 537,
                "field": "ip_address",
                "error": "ip_address: \"300.1.2.3\" is not an IPv4 or IPv6 address"
            }]
        })
    );
    let items = stored(&app, &app.admin).await;
    assert_eq!(items.len(), 999);
    assert!(items.iter().all(|e| e["ip_address"] != "300.1.2.3"));
}

pub async fn nothing_accepted_is_a_400(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reply = app
        .post_events(&app.admin, r#"[{"event_type": "x"}, {"user_id": "u"}]"#)
        .await;
    assert_problem(&reply, 400, "no event");
    assert_eq!(reply.body["accepted"], 0);
    assert_eq!(reply.body["rejected"][0]["index"], 0);
    assert_eq!(reply.body["rejected"][0]["field"], "event_type");
    assert_eq!(
        reply.body["rejected"][1]["error"],
        "event_type: is required"
    );
    assert!(stored(&app, &app.admin).await.is_empty());
}

pub async fn limits_are_enforced(backend: Backend) {
    let app = TestApp::start(backend).await;
    let huge = format!(
        r#"{{"event_type":"REQUEST","message":"{}"}}"#,
        "x".repeat(Limits::BODY_BYTES)
    );
    assert_problem(&app.post_events(&app.admin, huge).await, 413, "limit");
    let many = Value::Array(vec![
        json!({"event_type": "REQUEST"});
        Limits::EVENTS_PER_REQUEST + 1
    ]);
    assert_problem(
        &app.post_events(&app.admin, many.to_string()).await,
        413,
        "at most 10000",
    );
    assert_problem(
        &app.post_events(&app.admin, "[{").await,
        400,
        "not valid JSON",
    );
    assert_problem(&app.post_events(&app.admin, "").await, 400, "empty");

    // One event over 256 KiB is rejected alone; its neighbour is stored.
    let big = json!({"event_type": "REQUEST", "message": "y".repeat(Limits::EVENT_BYTES)});
    let reply = app
        .post_events(
            &app.admin,
            json!([big, {"event_type": "REQUEST"}]).to_string(),
        )
        .await;
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    assert_eq!(reply.body["rejected"][0]["index"], 0);

    // Text over its column limit is cut, and the cut is recorded.
    let long = json!({"event_type": "REQUEST", "user_agent": "u".repeat(5000)});
    assert_eq!(
        app.post_events(&app.admin, long.to_string()).await.body["accepted"],
        1
    );
    let items = stored(&app, &app.admin).await;
    let cut = items.iter().find(|e| e["user_agent"].is_string()).unwrap();
    assert_eq!(
        cut["user_agent"].as_str().unwrap().len(),
        Limits::USER_AGENT
    );
    assert_eq!(cut["metadata"], json!({"_truncated": ["user_agent"]}));
}

pub async fn every_framing_and_naming_is_accepted(backend: Backend) {
    let app = TestApp::start(backend).await;
    let single = app
        .post_events(
            &app.admin,
            r#"{"eventType":"AUTH_LOGIN","userId":"u1","ipAddress":"192.0.2.1"}"#,
        )
        .await;
    assert_eq!(single.body, json!({"accepted": 1, "rejected": []}));
    let ndjson = "{\"event_type\":\"REQUEST\"}\n\n{\"event_type\":\"REQUEST\",\"success\":\"no\"}\n{\"event_type\":\"RATE_LIMIT\"}\n";
    let reply = app
        .post_with(
            &app.admin,
            ndjson,
            &[("content-type", "application/x-ndjson")],
        )
        .await;
    assert_eq!(reply.body["accepted"], 2);
    assert_eq!(reply.body["rejected"][0]["index"], 1);
    assert_eq!(reply.body["rejected"][0]["field"], "success");
    let redacted = json!({"event_type": "AUTH_LOGIN", "request_body_summary": {"email": "a@b.c", "password": "hunter2"}});
    assert_eq!(
        app.post_events(&app.admin, redacted.to_string())
            .await
            .status,
        200
    );

    let items = stored(&app, &app.admin).await;
    assert_eq!(items.len(), 4);
    let login = items.iter().find(|e| e["user_id"] == "u1").unwrap();
    assert_eq!(login["ip_address"], "192.0.2.1");
    let body = items
        .iter()
        .find(|e| e["request_body_summary"].is_object())
        .unwrap();
    assert_eq!(
        body["request_body_summary"],
        json!({"email": "a@b.c", "password": "[REDACTED]"})
    );
}

pub async fn a_retried_request_is_stored_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let body = json!([{"event_type": "REQUEST"}, {"event_type": "REQUEST"}, {"event_type": "x"}])
        .to_string();
    let first = app
        .post_with(&app.admin, body.clone(), &[("idempotency-key", "batch-42")])
        .await;
    let second = app
        .post_with(&app.admin, body.clone(), &[("idempotency-key", "batch-42")])
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, second.body);
    assert_eq!(first.body["accepted"], 2);
    assert_eq!(stored(&app, &app.admin).await.len(), 2);
    let other = app
        .post_with(&app.admin, body, &[("idempotency-key", "batch-43")])
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(stored(&app, &app.admin).await.len(), 4);
    let bad = app
        .post_with(&app.admin, "{}", &[("idempotency-key", "has space")])
        .await;
    assert_problem(&bad, 400, "Idempotency-Key");
}

/// An `Idempotency-Key` is remembered for a day: a retry 23 hours later still gets the
/// first answer and stores nothing; 25 hours later the key is new again.
pub async fn idempotency_keys_are_remembered_for_a_day(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres);
    let app = TestApp::start(backend).await;
    let body = json!([{"event_type": "REQUEST"}]).to_string();
    let post = || app.post_with(&app.admin, body.clone(), &[("idempotency-key", "day-1")]);
    let age_keys_by = |hours: i64| match postgres {
        false => format!(
            "UPDATE idempotency_keys SET created_at = created_at - {}",
            hours * 3_600_000_000
        ),
        true => format!(
            "UPDATE idempotency_keys SET created_at = created_at - interval '{hours} hours'"
        ),
    };
    let first = post().await;
    assert_eq!(first.status, 200);
    app.raw(&age_keys_by(23)).await;
    assert_eq!(post().await.body, first.body);
    assert_eq!(
        stored(&app, &app.admin).await.len(),
        1,
        "23 hours on: a retry"
    );
    app.raw(&age_keys_by(2)).await;
    assert_eq!(post().await.status, 200);
    assert_eq!(
        stored(&app, &app.admin).await.len(),
        2,
        "25 hours on: a new request"
    );
}

/// Retries racing each other under one key (a client that timed out and sent again while
/// the first was still queued) are stored once, and all get the first answer.
pub async fn racing_retries_with_one_key_are_stored_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let body = json!([{"event_type": "REQUEST"}, {"event_type": "REQUEST"}]).to_string();
    let answers = futures_util::future::join_all(
        (0..8).map(|_| app.post_with(&app.admin, body.clone(), &[("idempotency-key", "race-1")])),
    )
    .await;
    for answer in &answers {
        assert_eq!(
            (answer.status.as_u16(), &answer.body),
            (200, &answers[0].body)
        );
    }
    assert_eq!(stored(&app, &app.admin).await.len(), 2);
}

/// The queue is bounded in events: while the writer is held up (here by a lock another
/// client holds on the database), a request that does not fit is answered 429 at once;
/// one that could never fit, 413.
pub async fn a_full_queue_answers_429(backend: Backend) {
    let app = TestApp::with_ingest(
        backend,
        IngestConfig {
            queue_events: 10,
            ..Default::default()
        },
    )
    .await;
    let eleven = Value::Array(vec![json!({"event_type": "REQUEST"}); 11]).to_string();
    assert_problem(
        &app.post_events(&app.admin, eleven).await,
        413,
        "more than the ingest queue holds",
    );

    let lock = app.hold_write_lock().await;
    let ten = Value::Array(vec![json!({"event_type": "REQUEST"}); 10]).to_string();
    let one = json!({"event_type": "REQUEST"}).to_string();
    let (a, b) = tokio::join!(
        async { app.post_events(&app.admin, ten).await },
        async {
            // After the ten, most likely; either way the two cannot both fit.
            tokio::task::yield_now().await;
            app.post_events(&app.admin, one).await
        },
        async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            lock.release().await;
        }
    )
    .into_first_two();
    let (refused, stored) = if a.status == 429 { (a, b) } else { (b, a) };
    assert_problem(&refused, 429, "queue is full");
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(stored.status, 200, "{}", stored.body);
    let five = Value::Array(vec![json!({"event_type": "REQUEST"}); 5]).to_string();
    assert_eq!(
        app.post_events(&app.admin, five).await.status,
        200,
        "permits come back after a write"
    );
}

trait FirstTwo<A, B> {
    fn into_first_two(self) -> (A, B);
}

impl<A, B, C> FirstTwo<A, B> for (A, B, C) {
    fn into_first_two(self) -> (A, B) {
        (self.0, self.1)
    }
}

pub async fn a_key_over_its_rate_limit_gets_429(backend: Backend) {
    use logbook_server::auth::rate_limit::{Rate, RateLimits};
    let limits = RateLimits {
        ingest: None,
        read: Some(Rate { per_second: 1.0 }),
        admin: None,
    };
    let app = TestApp::with_config(backend, |config| config.rate_limits = limits).await;
    let other = app.tenant_key("default", "read").await;
    // A burst of two, then refused until a token comes back.
    assert_eq!(app.get("/api/v1/logs", &app.admin).await.status, 200);
    assert_eq!(app.get("/api/v1/logs", &app.admin).await.status, 200);
    let refused = app.get("/api/v1/logs", &app.admin).await;
    assert_problem(&refused, 429, "rate limit");
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(
        app.get("/api/v1/logs", &other).await.status,
        200,
        "other keys are not affected"
    );
    let ingest = app
        .post_events(&app.admin, json!({"event_type": "REQUEST"}).to_string())
        .await;
    assert_eq!(ingest.status, 200, "ingest has its own, unlimited, bucket");
}

/// Hostile bodies: each bad event is refused with its reason, the rest are stored, and
/// text that looks like SQL or script comes back exactly as sent.
pub async fn hostile_input_is_refused_alone(backend: Backend) {
    let app = TestApp::start(backend).await;
    let payload = "'); DROP TABLE events; -- <script>alert(1)</script> \u{202e} ☃";
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let body = format!(
        "[{{\"event_type\":\"REQUEST\",\"message\":{payload}}},\
          {{\"event_type\":\"REQUEST\",\"metadata\":{{\"a\":{deep}}}}},\
          {{\"event_type\":\"REQUEST\",\"response_status_code\":1e300}},\
          {{\"event_type\":\"REQUEST\",\"response_time_ms\":18446744073709551616}},\
          {{\"event_type\":\"REQUEST\",\"user_id\":\"a\",\"user_id\":\"b\"}},\
          {{\"event_type\":\"REQUEST\",\"message\":\"nul\\u0000here\"}},\
          {{\"event_type\":\"REQUEST\",\"metadata\":{{\"k\\u0000\":1}}}},\
          {{\"event_type\":\"REQUEST\",\"message\":\"lone \\ud800 surrogate\"}}]",
        payload = serde_json::to_string(payload).unwrap(),
    );
    let reply = app.post_events(&app.admin, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    let rejected: Vec<(u64, Value)> = reply.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, json!("metadata")),
            (2, json!("response_status_code")),
            (3, json!("response_time_ms")),
            (4, json!("user_id")),
            (5, json!("message")),
            (6, json!("metadata")),
            (7, Value::Null),
        ]
    );
    let stored = stored(&app, &app.admin).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["message"], payload);

    assert_problem(
        &app.post_events(&app.admin, b"[{\"event_type\":\"\xff\"}]".to_vec())
            .await,
        400,
        "UTF-8",
    );
    // One 10 MiB string: under the body limit, over the per-event limit.
    let huge = format!(
        r#"[{{"event_type":"REQUEST","message":"{}"}}]"#,
        "x".repeat(Limits::BODY_BYTES - 100)
    );
    let reply = app.post_events(&app.admin, huge).await;
    assert_problem(&reply, 400, "no event");
    assert!(
        reply.body["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("262144"),
        "{}",
        reply.body
    );
    assert_eq!(stored_count(&app).await, 1);
}

async fn stored_count(app: &TestApp) -> usize {
    stored(app, &app.admin).await.len()
}

/// If the ingest writers die (a bug in a writer, here a panic injected into storage),
/// `/ready` goes red and ingest answers 503 at once instead of waiting out the request
/// timeout.
pub async fn dead_writers_fail_ready_and_ingest_at_once(backend: Backend) {
    use std::sync::atomic::Ordering;
    let (app, faults) = TestApp::faulty(backend).await;
    assert_eq!(app.get("/ready", "").await.status, 200);
    faults.panic_appends.store(true, Ordering::SeqCst);
    let first = app
        .post_events(&app.admin, r#"{"event_type":"REQUEST"}"#)
        .await;
    assert_eq!(first.status, 503, "{}", first.body);
    let started = std::time::Instant::now();
    let next = app
        .post_events(&app.admin, r#"{"event_type":"REQUEST"}"#)
        .await;
    assert_problem(&next, 503, "unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered at once, not after the request timeout"
    );
    // A writer counts itself out as its task ends, just after its requests are answered.
    let mut ready = app.get("/ready", "").await;
    for _ in 0..100 {
        if ready.status == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        ready = app.get("/ready", "").await;
    }
    assert_problem(&ready, 503, "unavailable");
}

/// Requests share a batch only to share a commit: when the database refuses a batch,
/// the writer stores its requests one by one, so each gets its own answer.
pub async fn a_refused_batch_is_stored_request_by_request(backend: Backend) {
    use std::sync::atomic::Ordering;
    let (app, faults) = TestApp::faulty(backend).await;
    faults.refuse_batches.store(true, Ordering::SeqCst);
    let lock = app.hold_write_lock().await;
    let posts = (0..4).map(|i| {
        let body = json!({"event_type": "REQUEST", "message": format!("m{i}")}).to_string();
        let app = &app;
        async move { app.post_events(&app.admin, body).await.status }
    });
    let (statuses, ()) = tokio::join!(futures_util::future::join_all(posts), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        lock.release().await;
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let appends = faults.appends.lock().unwrap().clone();
    assert!(
        appends.iter().any(|n| *n > 1),
        "the requests did share a batch: {appends:?}"
    );
    faults.refuse_batches.store(false, Ordering::SeqCst);
    assert_eq!(stored(&app, &app.admin).await.len(), 4);
}

/// A body of several gzip members (`cat a.gz b.gz`, as shippers send after a flush) is
/// read whole: every member's events are stored.
pub async fn every_gzip_member_is_read(backend: Backend) {
    use std::io::Write;
    let app = TestApp::start(backend).await;
    let gzip = |text: &str| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    let mut body = gzip("{\"event_type\":\"REQUEST\",\"message\":\"one\"}\n");
    body.extend(gzip("{\"event_type\":\"REQUEST\",\"message\":\"two\"}\n{\"event_type\":\"REQUEST\",\"message\":\"three\"}\n"));
    let reply = app
        .post_with(
            &app.admin,
            body.clone(),
            &[
                ("content-encoding", "gzip"),
                ("content-type", "application/x-ndjson"),
            ],
        )
        .await;
    assert_eq!(reply.body["accepted"], 3, "{}", reply.body);
    assert_eq!(stored(&app, &app.admin).await.len(), 3);
    // Trailing garbage after the last member is an error, not a silent stop.
    body.extend_from_slice(b"garbage");
    let reply = app
        .post_with(
            &app.admin,
            body,
            &[
                ("content-encoding", "gzip"),
                ("content-type", "application/x-ndjson"),
            ],
        )
        .await;
    assert_problem(&reply, 400, "gzip");
    assert_eq!(stored(&app, &app.admin).await.len(), 3);
}

/// Events older than the back-fill window (7 days by default) are refused by name, so
/// one request cannot make thousands of day partitions; events before 1970 too (their
/// ids could not carry their time).
pub async fn old_events_are_refused_beyond_the_backfill_window(backend: Backend) {
    let app = TestApp::start(backend).await;
    let day = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let events = json!([
        {"event_type": "REQUEST", "created_at": day(6)},
        {"event_type": "REQUEST", "created_at": day(8)},
        {"event_type": "REQUEST", "created_at": "1969-07-20T20:17:40Z"},
    ]);
    let reply = app.post_events(&app.admin, events.to_string()).await;
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    let rejected = reply.body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert!(rejected.iter().all(|r| r["field"] == "created_at"));
    assert!(
        rejected[0]["error"]
            .as_str()
            .unwrap()
            .contains("back-fill window of 7 days")
    );

    let wide =
        TestApp::with_config(backend, |c| c.ingest.backfill = chrono::Duration::days(30)).await;
    let reply = wide
        .post_events(
            &wide.admin,
            json!({"event_type": "REQUEST", "created_at": day(20)}).to_string(),
        )
        .await;
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
}

/// Numbers come back bit for bit, on both backends: the largest double (which once made
/// PostgreSQL reads panic), doubles that parsing without round-trip precision moved by
/// one unit, and the extremes.
pub async fn numbers_read_back_exactly(backend: Backend) {
    let app = TestApp::start(backend).await;
    let numbers: [f64; 11] = [
        1.7976931348623157e308,
        -1.7976931348623157e308,
        5e-324,
        2.2250738585072014e-308,
        7.370437700706684e208,
        959330.2421089433,
        1.2345678901234567e200,
        0.1,
        -0.0,
        1e21,
        123456789012345680000.0,
    ];
    let metadata: serde_json::Map<String, Value> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("n{i}"), json!(n)))
        .collect();
    let reply = app
        .post_events(
            &app.admin,
            json!({"event_type": "REQUEST", "metadata": metadata}).to_string(),
        )
        .await;
    assert_eq!(reply.body["accepted"], 1, "{}", reply.body);
    let page = app.get("/api/v1/logs", &app.admin).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let stored = &page.body["items"][0]["metadata"];
    for (i, n) in numbers.iter().enumerate() {
        let back = stored[format!("n{i}")].as_f64().unwrap();
        // -0.0 may come back as 0.0 (PostgreSQL's numeric has no negative zero); both
        // hash alike, as RFC 8785 writes both as 0.
        if *n == 0.0 {
            assert_eq!(back, 0.0, "n{i}");
        } else {
            assert_eq!(back.to_bits(), n.to_bits(), "n{i}: {n} came back as {back}");
        }
    }
    let id = page.body["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/logs/{id}"), &app.admin)
            .await
            .status,
        200
    );
    assert_eq!(app.get("/api/v1/logs/export", &app.admin).await.status, 200);
}
