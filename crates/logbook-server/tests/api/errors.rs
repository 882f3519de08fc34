//! Error groups over HTTP: reports grouped and counted exactly, the workflow recorded in
//! the audit trail, a resolved group reopened by a new occurrence.

use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

/// 15 "user N not found" from one place (5 users), 10 "bad amount" from another (2 users
/// and 4 without one), 5 with the client's own fingerprint and varying messages.
fn thirty_reports() -> Vec<Value> {
    let mut reports = Vec::new();
    for i in 0..15 {
        reports.push(json!({
            "error_type": "KeyError", "message": format!("user {} not found", 1000 + i),
            "frames": ["app.users:load", "app.views:profile"], "user_id": format!("u{}", i % 5),
            "environment": if i % 2 == 0 { "production" } else { "staging" },
            "endpoint": "/profile", "method": "GET", "status_code": 500,
            "stack_trace": "Traceback ...", "breadcrumbs": [{"message": "clicked"}],
            "context": {"password": "hunter2", "plan": "pro"}
        }));
    }
    for i in 0..10 {
        let mut report = json!({
            "error_type": "ValueError", "message": format!("bad amount '{i}.50'"),
            "frames": ["app.billing:charge"], "severity": "fatal", "environment": "production"
        });
        if i < 6 {
            report["user_id"] = json!(if i % 2 == 0 { "alice" } else { "bob" });
        }
        reports.push(report);
    }
    for i in 0..5 {
        reports.push(json!({
            "error_type": format!("Timeout{i}"), "message": format!("upstream {i} slow"),
            "fingerprint": ["checkout", "upstream-timeout"]
        }));
    }
    reports
}

pub async fn errors_are_grouped_counted_and_reopened(backend: Backend) {
    let app = TestApp::start(backend).await;
    let posted = app
        .post_to(
            "/api/v1/errors",
            &app.admin,
            json!(thirty_reports()).to_string(),
        )
        .await;
    assert_eq!(
        posted.body,
        json!({"accepted": 30, "rejected": []}),
        "{}",
        posted.body
    );

    let top = app.get("/api/v1/errors?sort=occurrences", &app.admin).await;
    assert_eq!(top.status, 200, "{}", top.body);
    let items = top.body["items"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value, Value, Value)> = items
        .iter()
        .map(|g| {
            (
                g["error_type"].clone(),
                g["occurrence_count"].clone(),
                g["affected_users"].clone(),
                g["status"].clone(),
                g["environments"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!("KeyError"),
                json!(15),
                json!(5),
                json!("new"),
                json!(["production", "staging"])
            ),
            (
                json!("ValueError"),
                json!(10),
                json!(2),
                json!("new"),
                json!(["production"])
            ),
            // The newest report names the group; the client's fingerprint held them together.
            (
                json!("Timeout4"),
                json!(5),
                json!(0),
                json!("new"),
                json!([])
            ),
        ]
    );
    assert_eq!(items[0]["culprit"], "app.users:load");
    assert_eq!(items[1]["severity"], "fatal");
    assert!(top.body["next_cursor"].is_null());

    // Newest first pages by cursor.
    let first = app.get("/api/v1/errors?limit=2", &app.admin).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = app
        .get(
            &format!("/api/v1/errors?limit=2&cursor={cursor}"),
            &app.admin,
        )
        .await;
    let seen: Vec<Value> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["items"].as_array().unwrap())
        .map(|g| g["id"].clone())
        .collect();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|id| seen.iter().filter(|x| *x == id).count() == 1)
    );

    let key_error = items[0]["id"].as_str().unwrap().to_owned();
    let detail = app
        .get(&format!("/api/v1/errors/{key_error}"), &app.admin)
        .await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let recent = detail.body["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 15);
    assert_eq!(recent[0]["event_type"], "ERROR");
    assert_eq!(recent[0]["request_path"], "/profile");
    assert_eq!(recent[0]["metadata"]["error"]["type"], "KeyError");
    assert_eq!(
        recent[0]["metadata"]["error"]["stack_trace"],
        "Traceback ..."
    );
    assert_eq!(
        recent[0]["metadata"]["error"]["context"]["password"], "[REDACTED]",
        "reports are redacted like events"
    );

    // Resolve the ValueError group; a new occurrence reopens it as a regression.
    let value_error = items[1]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/errors/{value_error}");
    let resolved = app
        .patch_to(&path, &app.admin, json!({"status": "resolved", "resolution_note": "fixed rounding", "assigned_to": "dana"}).to_string())
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    assert_eq!(
        (
            resolved.body["status"].clone(),
            resolved.body["assigned_to"].clone(),
            resolved.body["resolution_note"].clone()
        ),
        (json!("resolved"), json!("dana"), json!("fixed rounding"))
    );
    assert!(resolved.body["resolved_at"].is_string());
    let listed = app.get("/api/v1/errors?status=resolved", &app.admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let audit = app
        .get(
            &format!("/api/v1/audit/search?resource_type=error_group&resource_id={value_error}"),
            &app.admin,
        )
        .await;
    let trail = audit.body.to_string();
    assert!(
        trail.contains(&value_error) && trail.contains("fixed rounding"),
        "{trail}"
    );

    let again = json!({"error_type": "ValueError", "message": "bad amount '9.99'",
                       "frames": ["app.billing:charge"], "user_id": "carol"});
    assert_eq!(
        app.post_to("/api/v1/errors", &app.admin, again.to_string())
            .await
            .body["accepted"],
        1
    );
    let reopened = app.get(&path, &app.admin).await.body;
    assert_eq!(
        (
            reopened["status"].clone(),
            reopened["occurrence_count"].clone(),
            reopened["affected_users"].clone(),
            reopened["times_regressed"].clone(),
            reopened["resolved_at"].clone(),
        ),
        (json!("new"), json!(11), json!(3), json!(1), Value::Null)
    );
    assert!(reopened["regressed_at"].is_string());
    assert_eq!(
        reopened["resolution_note"], "fixed rounding",
        "the note stays"
    );
    let listed = app.get("/api/v1/errors?status=resolved", &app.admin).await;
    assert_eq!(listed.body["items"], json!([]));
    let open = app
        .get("/api/v1/errors?status=new,acknowledged", &app.admin)
        .await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 3);
}

pub async fn bad_error_reports_and_changes_are_named(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reports = json!([
        {"error_type": "E", "message": "fine"},
        {"error_type": "E"},
        {"error_type": "E", "message": "m", "colour": "red"},
        {"error_type": "E", "message": "m", "severity": "loud"},
        {"error_type": "E", "message": "m", "endpoint": "/x\u{0}"},
        {"error_type": "", "message": "m"},
        {"error_type": "E", "message": "m", "frames": vec!["f"; 51]},
    ]);
    let posted = app
        .post_to("/api/v1/errors", &app.admin, reports.to_string())
        .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert_eq!(posted.body["accepted"], 1);
    let rejected: Vec<(Value, Value)> = posted.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].clone(), r["field"].clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (json!(1), Value::Null),
            (json!(2), Value::Null),
            (json!(3), json!("severity")),
            (json!(4), json!("endpoint")),
            (json!(5), json!("error_type")),
            (json!(6), json!("frames")),
        ],
        "{}",
        posted.body
    );
    assert!(posted.body.to_string().contains("missing field `message`"));
    assert!(posted.body.to_string().contains("unknown field `colour`"));

    let nothing = app
        .post_to(
            "/api/v1/errors",
            &app.admin,
            json!([{"message": "m"}]).to_string(),
        )
        .await;
    assert_eq!(nothing.status, 400, "{}", nothing.body);

    let id = app.get("/api/v1/errors", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/errors/{id}");
    assert_problem(
        &app.patch_to(&path, &app.admin, json!({"status": "done"}).to_string())
            .await,
        400,
        "not an error status",
    );
    assert_problem(
        &app.patch_to(&path, &app.admin, json!({"owner": "x"}).to_string())
            .await,
        400,
        "owner",
    );
    let unknown = "/api/v1/errors/00000000-0000-4000-8000-000000000000";
    assert_problem(
        &app.patch_to(
            unknown,
            &app.admin,
            json!({"status": "ignored"}).to_string(),
        )
        .await,
        404,
        "no error group",
    );
    assert_problem(&app.get(unknown, &app.admin).await, 404, "no error group");
    assert_problem(
        &app.get("/api/v1/errors/nope", &app.admin).await,
        400,
        "not a UUID",
    );
    assert_problem(
        &app.get("/api/v1/errors?sort=loud", &app.admin).await,
        400,
        "sort",
    );
    assert_problem(
        &app.get("/api/v1/errors?status=open", &app.admin).await,
        400,
        "status",
    );

    // Reading takes a read key; changing takes an admin key.
    let ingest = app.tenant_key("default", "ingest").await;
    assert_eq!(app.get("/api/v1/errors", &ingest).await.status, 403);
    let read = app.tenant_key("default", "read").await;
    assert_eq!(
        app.patch_to(&path, &read, json!({"status": "ignored"}).to_string())
            .await
            .status,
        403
    );
    let ignored = app
        .patch_to(
            &path,
            &app.admin,
            json!({"status": "ignored", "assigned_to": null}).to_string(),
        )
        .await;
    assert_eq!(ignored.body["status"], "ignored", "{}", ignored.body);
}

fn envelope(
    path: &str,
    auth: &str,
    body: impl Into<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("x-sentry-auth", auth)
        .header("content-type", "application/x-sentry-envelope")
        .body(body.into())
        .unwrap()
}

/// What a Sentry SDK sends, framed by hand: the real SDK's run is scripts/sentry_interop.py.
pub async fn sentry_envelopes_become_error_groups(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.tenant_key("default", "ingest").await;
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=test/1.0");
    let event = json!({
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "level": "error", "environment": "staging",
        "user": {"id": "u-1"},
        "exception": {"values": [{"type": "RuntimeError", "value": "boom 17",
            "stacktrace": {"frames": [{"module": "app.jobs", "function": "run", "lineno": 3, "in_app": true}]}}]}
    })
    .to_string();
    let body = format!(
        "{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}}\n\
         {{\"type\":\"client_report\"}}\n{{\"discarded_events\":[]}}\n\
         {{\"type\":\"event\",\"length\":{}}}\n{event}\n\
         {{\"type\":\"attachment\",\"length\":3}}\nabc\n",
        event.len()
    );
    let reply = app
        .send(envelope("/api/7/envelope/", &auth, body.clone()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"id": "9ec79c33ec9942ab8353589fcb2e04dc"})
    );
    // The same envelope again (an SDK retrying after a lost answer): stored once.
    let retried = app
        .send(envelope("/api/7/envelope/", &auth, body.clone()))
        .await;
    assert_eq!(retried.body, reply.body);
    let another = |n: &str| {
        event.replace("17", n).replace(
            "9ec79c33ec9942ab8353589fcb2e04dc",
            &format!("9ec79c33ec9942ab8353589fcb2e04{n}"),
        )
    };
    let stored = app
        .send(envelope("/api/7/store/", &auth, another("18")))
        .await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    // The browser SDK's key in the query string, on Sentry's routes only.
    let in_query =
        axum::http::Request::post(format!("/api/7/store/?sentry_key={key}&sentry_version=7"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(another("19")))
            .unwrap();
    let stored = app.send(in_query).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let elsewhere = app
        .send(
            axum::http::Request::get(format!("/api/v1/errors?sentry_key={key}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        elsewhere.status, 401,
        "a key in the URL is read by Sentry's routes only"
    );
    let sessions_only = "{}\n{\"type\":\"session\"}\n{\"sid\":\"x\"}\n";
    assert_eq!(
        app.send(envelope("/api/7/envelope/", &auth, sessions_only))
            .await
            .body,
        json!({})
    );

    let groups = app.get("/api/v1/errors", &app.admin).await.body["items"].clone();
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(
        (
            groups[0]["error_type"].clone(),
            groups[0]["occurrence_count"].clone(),
            groups[0]["affected_users"].clone(),
            groups[0]["service"].clone(),
            groups[0]["culprit"].clone(),
            groups[0]["environments"].clone(),
        ),
        (
            json!("RuntimeError"),
            json!(3),
            json!(1),
            json!("7"),
            json!("app.jobs:run"),
            json!(["staging"])
        )
    );

    assert_problem(
        &app.send(envelope("/api/7/envelope/", &auth, "not json\n"))
            .await,
        400,
        "header",
    );
    assert_problem(
        &app.send(envelope(
            "/api/7/envelope/",
            &auth,
            "{}\n{\"type\":\"event\",\"length\":999}\n{}",
        ))
        .await,
        400,
        "runs past",
    );
    assert_problem(
        &app.send(envelope(
            "/api/7/envelope/",
            &auth,
            "{}\n{\"type\":\"event\"}\n[1,2]",
        ))
        .await,
        400,
        "event 0",
    );
    assert_problem(
        &app.send(envelope("/api/v2/envelope/", &auth, "{}")).await,
        404,
        "number",
    );
    let read = app.tenant_key("default", "read").await;
    let reader = format!("Sentry sentry_key={read}, sentry_version=7");
    assert_eq!(
        app.send(envelope("/api/7/envelope/", &reader, "{}"))
            .await
            .status,
        403
    );
    assert_eq!(
        app.send(envelope(
            "/api/7/envelope/",
            "Sentry sentry_version=7",
            "{}"
        ))
        .await
        .status,
        401
    );
}

/// Retention removes old ERROR events; their groups keep their counts and forget the
/// occurrences, so nothing points at an event that is gone.
pub async fn old_occurrences_go_with_their_events(backend: Backend) {
    let app = TestApp::with_config(backend, |config| {
        config.ingest.backfill = chrono::Duration::days(60);
    })
    .await;
    let old = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
    let reports = json!([
        {"error_type": "E", "message": "m 1", "user_id": "old", "created_at": old},
        {"error_type": "E", "message": "m 2", "user_id": "new"},
    ]);
    let posted = app
        .post_to("/api/v1/errors", &app.admin, reports.to_string())
        .await;
    assert_eq!(posted.body["accepted"], 2, "{}", posted.body);
    assert_eq!(trend_counts(&app).await, vec![json!(1), json!(1)]);
    let kept = json!({"events": {"by_type": {"ERROR": 30}}});
    assert_eq!(
        app.put_to("/api/v1/retention", &app.admin, kept.to_string())
            .await
            .status,
        200
    );
    app.app.run_jobs_once().await.unwrap();
    assert_eq!(
        trend_counts(&app).await,
        vec![json!(1)],
        "the old day's occurrence is forgotten"
    );
    let group = app.get("/api/v1/errors", &app.admin).await.body["items"][0].clone();
    assert_eq!(
        (
            group["occurrence_count"].clone(),
            group["affected_users"].clone()
        ),
        (json!(2), json!(2))
    );
    let detail = app
        .get(
            &format!("/api/v1/errors/{}", group["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(detail.body["recent"].as_array().unwrap().len(), 1);
}

/// The occurrence count of each day of the error trend, newest first.
async fn trend_counts(app: &TestApp) -> Vec<Value> {
    let trend = app
        .get("/api/v1/errors/trend?days=60", &app.admin)
        .await
        .body;
    trend
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error_count"].clone())
        .collect()
}

/// Log records of exceptions (OpenTelemetry's `exception.*` attributes), through OTLP or
/// the event API, count into error groups; other log records do not.
pub async fn exception_logs_count_into_error_groups(backend: Backend) {
    let app = TestApp::start(backend).await;
    let attribute = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    let trace = "Traceback (most recent call last):\n  File \"shop/pay.py\", line 9, in pay\nValueError: bad 7";
    let record = |n: u32| {
        json!({"severityNumber": 17, "body": {"stringValue": format!("payment {n} failed")},
               "attributes": [attribute("exception.type", "ValueError"),
                              attribute("exception.message", &format!("bad amount {n}")),
                              attribute("exception.stacktrace", trace),
                              attribute("enduser.id", &format!("u{}", n % 2))]})
    };
    let plain = json!({"severityNumber": 9, "body": {"stringValue": "all fine"}});
    let otlp = json!({"resourceLogs": [{
        "resource": {"attributes": [attribute("service.name", "shop"), attribute("deployment.environment", "prod")]},
        "scopeLogs": [{"logRecords": [record(1), record(2), record(3), plain]}]
    }]});
    let request = axum::http::Request::post("/v1/logs")
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(otlp.to_string()))
        .unwrap();
    assert_eq!(app.send(request).await.status, 200);
    let event = json!({"event_type": "LOG", "message": "payment 4 failed", "service": "shop", "severity": "error",
                       "metadata": {"exception.type": "ValueError", "exception.message": "bad amount 4",
                                    "exception.stacktrace": trace}});
    let other = json!({"event_type": "LOG", "message": "no exception", "metadata": {"k": 1}});
    let posted = app
        .post_events(&app.admin, json!([event, other]).to_string())
        .await;
    assert_eq!(posted.body["accepted"], 2, "{}", posted.body);

    let groups = app.get("/api/v1/errors", &app.admin).await.body["items"].clone();
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    let g = &groups[0];
    assert_eq!(
        (
            g["error_type"].clone(),
            g["occurrence_count"].clone(),
            g["affected_users"].clone(),
            g["service"].clone(),
            g["culprit"].clone(),
            g["severity"].clone(),
        ),
        (
            json!("ValueError"),
            json!(4),
            json!(2),
            json!("shop"),
            json!("shop/pay.py:pay"),
            json!("error")
        )
    );
    let detail = app
        .get(
            &format!("/api/v1/errors/{}", g["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    let recent = detail.body["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 4);
    assert!(
        recent.iter().all(|e| e["event_type"] == "LOG"),
        "the records stay log events"
    );
    assert_eq!(g["environments"], json!(["prod"]));
}

/// Many requests at once, through every ingest writer, into the same groups and the same
/// users: the counts and distinct users come out exact (group rows are upserted under
/// their lock, users inserted once).
pub async fn concurrent_reports_count_exactly(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::start(backend).await);
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let app = app.clone();
            tokio::spawn(async move {
                for round in 0..5 {
                    let reports: Vec<Value> = (0..10)
                        .map(|i| {
                            json!({"error_type": if i % 2 == 0 { "A" } else { "B" },
                                   "message": format!("failure {t}-{round}-{i}"),
                                   "user_id": format!("user-{}", (t + i) % 6)})
                        })
                        .collect();
                    let reply = app
                        .post_to("/api/v1/errors", &app.admin, json!(reports).to_string())
                        .await;
                    assert_eq!(reply.body["accepted"], 10, "{}", reply.body);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let groups = app
        .get("/api/v1/errors?sort=occurrences", &app.admin)
        .await
        .body["items"]
        .clone();
    let mut counts: Vec<(Value, Value, Value)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["error_type"].clone(),
                g["occurrence_count"].clone(),
                g["affected_users"].clone(),
            )
        })
        .collect();
    counts.sort_by_key(|c| c.0.to_string());
    // A: i even, users (t + i) % 6 over t in 0..8 and i in {0,2,4,6,8}: all six; B too.
    assert_eq!(
        counts,
        vec![
            (json!("A"), json!(200), json!(6)),
            (json!("B"), json!(200), json!(6))
        ]
    );
    let trend = app.get("/api/v1/errors/trend", &app.admin).await.body;
    let total: i64 = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error_count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 400, "one occurrence per report");
}

/// Seed 001 5.3 "unresolved errors by severity" with open groups of two severities, and
/// a resolved one left out: sums read back as integers on both backends.
pub async fn unresolved_errors_are_summed_by_severity(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reports = json!([
        {"error_type": "A", "message": "a", "user_id": "u1"},
        {"error_type": "A", "message": "a", "user_id": "u2"},
        {"error_type": "B", "message": "b", "severity": "fatal", "user_id": "u1"},
        {"error_type": "C", "message": "c"},
    ]);
    let posted = app
        .post_to("/api/v1/errors", &app.admin, reports.to_string())
        .await;
    assert_eq!(posted.body["accepted"], 4, "{}", posted.body);
    let groups = app.get("/api/v1/errors", &app.admin).await;
    let c = groups.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["error_type"] == "C")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolved = app
        .patch_to(
            &format!("/api/v1/errors/{c}"),
            &app.admin,
            json!({"status": "resolved"}).to_string(),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    let unresolved = app.get("/api/v1/errors/unresolved", &app.admin).await;
    assert_eq!(unresolved.status, 200, "{}", unresolved.body);
    assert_eq!(
        unresolved.body,
        json!([
            {"severity": "fatal", "unresolved_count": 1, "total_occurrences": 1, "total_users_affected": 1},
            {"severity": "error", "unresolved_count": 1, "total_occurrences": 2, "total_users_affected": 2},
        ])
    );
}

/// A back-filled occurrence counts, but a resolved group stays resolved when the error
/// happened before it was resolved, and the group keeps showing its newest message.
pub async fn a_late_occurrence_neither_reopens_nor_renames_a_group(backend: Backend) {
    let app = TestApp::start(backend).await;
    let now = post_one(
        &app,
        json!({"error_type": "E", "message": "newest wording", "fingerprint": ["e"]}),
    )
    .await;
    let id = app.get("/api/v1/errors", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolved = app
        .patch_to(
            &format!("/api/v1/errors/{id}"),
            &app.admin,
            json!({"status": "resolved"}).to_string(),
        )
        .await;
    assert_eq!(resolved.body["status"], "resolved", "{}", resolved.body);
    let an_hour_before = (now - chrono::Duration::hours(1)).to_rfc3339();
    post_one(
        &app,
        json!({"error_type": "E", "message": "older wording", "fingerprint": ["e"],
                          "created_at": an_hour_before}),
    )
    .await;
    let group = app
        .get(&format!("/api/v1/errors/{id}"), &app.admin)
        .await
        .body;
    assert_eq!(
        (
            group["status"].clone(),
            group["occurrence_count"].clone(),
            group["message"].clone()
        ),
        (json!("resolved"), json!(2), json!("newest wording")),
        "{group}"
    );
    post_one(
        &app,
        json!({"error_type": "E", "message": "again", "fingerprint": ["e"]}),
    )
    .await;
    let group = app
        .get(&format!("/api/v1/errors/{id}"), &app.admin)
        .await
        .body;
    assert_eq!(
        (group["status"].clone(), group["message"].clone()),
        (json!("new"), json!("again"))
    );
}

async fn post_one(app: &TestApp, report: serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    let posted = app
        .post_to("/api/v1/errors", &app.admin, report.to_string())
        .await;
    assert_eq!(posted.body["accepted"], 1, "{}", posted.body);
    chrono::Utc::now()
}
