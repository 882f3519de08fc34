use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_problem};

pub async fn bad_parameters_name_the_parameter(backend: Backend) {
    let app = TestApp::start(backend).await;
    let cases = [
        ("/api/v1/logs?limit=0", "limit"),
        ("/api/v1/logs?limit=1001", "limit"),
        ("/api/v1/logs?ip=10.0.0", "ip"),
        ("/api/v1/logs?ip=10.0.0.0/40", "ip"),
        ("/api/v1/logs?cursor=abc", "cursor"),
        ("/api/v1/logs?from=yesterday", "from"),
        ("/api/v1/logs?success=maybe", "success"),
        ("/api/v1/logs?severity=loud", "severity"),
        ("/api/v1/logs?event_type=lower", "event_type"),
        ("/api/v1/logs?order=up", "order"),
        ("/api/v1/logs?status_code=abc", "status_code"),
        ("/api/v1/logs?colour=red", "colour"),
        ("/api/v1/logs?limit=1&limit=2", "limit"),
        ("/api/v1/logs/not-a-uuid", "id"),
        ("/api/v1/logs/summary?hours=0", "hours"),
        ("/api/v1/logs/hourly?hours=x", "hours"),
        ("/api/v1/logs/daily?days=1000", "days"),
        ("/api/v1/logs/by-country?days=3", "days"),
        ("/api/v1/logs/failed-auth?ip=1.2.3.4&minutes=0", "minutes"),
        (
            "/api/v1/logs/failed-auth?ip=1.2.3.4&minutes=10081",
            "minutes",
        ),
        ("/api/v1/logs/failed-auth?ip=nope", "ip"),
        ("/api/v1/metrics/endpoints?step=1d", "step"),
        ("/api/v1/metrics/endpoints?step=5m&hours=169", "hours"),
        ("/api/v1/metrics/endpoints?hours=8761", "hours"),
        ("/api/v1/metrics/endpoints?min_p95_ms=-1", "min_p95_ms"),
    ];
    for (path, parameter) in cases {
        let reply = app.get(path, &app.admin).await;
        assert_problem(&reply, 400, parameter);
        assert_eq!(reply.body["parameter"], parameter, "{path}");
    }
    assert_problem(
        &app.get("/api/v1/logs/failed-auth", &app.admin).await,
        400,
        "at least one of ip",
    );
}

pub async fn lookups_by_id_and_user(backend: Backend) {
    let app = TestApp::start(backend).await;
    let events = json!([
        {"event_type": "AUTH_LOGIN", "user_id": "alice@example.com", "message": "first"},
        {"event_type": "REQUEST", "user_id": "alice@example.com", "message": "second"},
        {"event_type": "REQUEST", "user_id": "bob", "message": "third"},
    ]);
    assert_eq!(
        app.post_events(&app.admin, events.to_string()).await.body["accepted"],
        3
    );
    let alice = app
        .get("/api/v1/logs/users/alice@example.com?order=asc", &app.admin)
        .await;
    let messages: Vec<&str> = alice.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["first", "second"]);
    let filtered = app
        .get(
            "/api/v1/logs/users/alice@example.com?event_type=REQUEST",
            &app.admin,
        )
        .await;
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 1);

    let first = alice.body["items"][0].clone();
    let by_id = app
        .get(
            &format!("/api/v1/logs/{}", first["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.body, first);
    assert_eq!(
        by_id.body.as_object().unwrap().keys().len(),
        32 - 1,
        "every column but tenant_id is returned"
    );
    let missing = app
        .get(
            "/api/v1/logs/018f0000-0000-7000-8000-000000000000",
            &app.admin,
        )
        .await;
    assert_problem(&missing, 404, "no event");
}

pub async fn summaries_answer_with_seed_fields(backend: Backend) {
    // An event years old stands for data older than every window.
    let app = TestApp::with_config(backend, |config| {
        config.ingest.backfill = chrono::Duration::days(3650);
        config.retention.events.days = logbook_model::retention::MAX_DAYS;
    })
    .await;
    let events = json!([
        {"event_type": "REQUEST", "user_id": "u1", "ip_address": "10.0.0.1", "response_time_ms": 10, "geo_country": "US"},
        {"event_type": "REQUEST", "user_id": "u2", "ip_address": "10.0.0.2", "response_time_ms": 30, "geo_country": "US", "success": false},
        {"event_type": "AUTH_LOGIN", "user_id": "u1", "ip_address": "10.0.0.1", "geo_country": "DE"},
        {"event_type": "AUTH_FAILURE", "ip_address": "10.0.0.9", "success": false, "fingerprint": "fp9"},
        {"event_type": "AUTH_LOGIN", "user_id": "u3", "ip_address": "10.0.0.9", "success": false},
        {"event_type": "RATE_LIMIT", "ip_address": "10.0.0.9", "success": false},
        {"event_type": "REQUEST", "created_at": "2020-01-01T00:00:00Z"},
    ]);
    assert_eq!(
        app.post_events(&app.admin, events.to_string()).await.body["accepted"],
        7
    );

    let summary = app.get("/api/v1/logs/summary", &app.admin).await;
    assert_eq!(
        summary.body,
        json!({"total_requests": 2, "successful_logins": 1, "auth_failures": 2, "rate_limit_hits": 1, "unique_users": 3, "unique_ips": 3})
    );
    let hourly = app.get("/api/v1/logs/hourly?hours=2", &app.admin).await;
    let request_rows: Vec<&Value> = hourly
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["event_type"] == "REQUEST")
        .collect();
    assert_eq!(request_rows.len(), 1, "{}", hourly.body);
    let mut request = request_rows[0].clone();
    assert!(
        request["bucket"].as_str().unwrap().ends_with(":00:00Z"),
        "{request}"
    );
    request.as_object_mut().unwrap().remove("bucket");
    assert_eq!(
        request,
        json!({"event_type": "REQUEST", "total_count": 2, "success_count": 1, "failure_count": 1, "unique_users": 2, "unique_ips": 2, "avg_response_time_ms": 20.0, "max_response_time_ms": 30})
    );
    let daily = app.get("/api/v1/logs/daily?days=1", &app.admin).await;
    let us = daily
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["geo_country"] == "US")
        .unwrap()
        .clone();
    assert_eq!(us["p95_response_time_ms"], 29.0);
    assert_eq!(us["unique_fingerprints"], 0);
    let countries = app.get("/api/v1/logs/by-country", &app.admin).await;
    assert_eq!(
        countries.body,
        // Access records of the reads above are kept apart and counted nowhere.
        json!([{"geo_country": null, "count": 3, "failures": 3}, {"geo_country": "US", "count": 2, "failures": 1}, {"geo_country": "DE", "count": 1, "failures": 0}])
    );
    let failed = |query: &str| {
        let path = format!("/api/v1/logs/failed-auth?{query}");
        let app = &app;
        async move { app.get(&path, &app.admin).await.body }
    };
    assert_eq!(failed("ip=10.0.0.9").await, json!({"count": 2}));
    assert_eq!(failed("ip=10.0.0.9&user_id=u3").await, json!({"count": 1}));
    assert_eq!(
        failed("fingerprint=fp9&minutes=1").await,
        json!({"count": 1})
    );
    assert_eq!(failed("ip=10.0.0.1").await, json!({"count": 0}));
}

pub async fn cursor_paging_over_http(backend: Backend) {
    let app = TestApp::start(backend).await;
    let events: Vec<Value> = (0..25)
        .map(|i| json!({"event_type": "REQUEST", "message": format!("m{i}")}))
        .collect();
    assert_eq!(
        app.post_events(&app.admin, Value::Array(events).to_string())
            .await
            .body["accepted"],
        25
    );
    let mut seen = Vec::new();
    let mut path = "/api/v1/logs?limit=10&event_type=REQUEST".to_owned();
    loop {
        let page = app.get(&path, &app.admin).await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/logs?limit=10&event_type=REQUEST&cursor={cursor}")
            }
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (25, 25));
    let skipped = app
        .get(
            "/api/v1/logs?limit=5&skip=20&event_type=REQUEST",
            &app.admin,
        )
        .await;
    assert_eq!(skipped.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(skipped.body["next_cursor"], Value::Null);
}

/// Filters as a stranger types them: `q` folds case over all of Unicode on both backends
/// and is bounded; NUL in any filter is a 400 naming it; an IPv4-mapped CIDR block finds
/// what the plain block finds; a path segment that is not UTF-8 is a problem, like every
/// other error.
pub async fn filters_fold_unicode_refuse_nul_and_stay_bounded(backend: Backend) {
    let app = TestApp::start(backend).await;
    let events = json!([
        {"event_type": "REQUEST", "message": "Ärger im Büro", "ip_address": "203.0.113.7"},
        {"event_type": "REQUEST", "message": "ΣΊΣΥΦΟΣ", "ip_address": "198.51.100.1"},
        {"event_type": "REQUEST", "message": "100% done_ok"},
    ]);
    app.post_events(&app.admin, events.to_string()).await;
    let count = |query: &str| {
        let path = format!("/api/v1/logs?{query}");
        let app = &app;
        async move {
            let reply = app.get(&path, &app.admin).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            reply.body["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("q=%C3%A4rger").await, 1, "ärger finds Ärger");
    assert_eq!(count("q=b%C3%9CRO").await, 1, "bÜRO finds Büro");
    assert_eq!(count("q=%CF%83%CE%AF%CF%83").await, 1, "σίσ finds ΣΊΣ");
    assert_eq!(count("q=100%25").await, 1, "% is a plain character");
    assert_eq!(
        count("q=d_ne").await,
        0,
        "_ is a plain character (not done)"
    );
    assert_eq!(count("ip=::ffff:203.0.113.0/120").await, 1);
    assert_eq!(count("ip=203.0.113.0/24").await, 1);

    // A search reads the messages of a bounded window: the last day unless told.
    let old = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let backfilled =
        json!([{"event_type": "REQUEST", "message": "Ärger von gestern", "created_at": old}]);
    app.post_events(&app.admin, backfilled.to_string()).await;
    assert_eq!(count("q=%C3%A4rger").await, 1, "the last day only");
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(6))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(count(&format!("q=%C3%A4rger&from={week_ago}")).await, 2);
    assert_problem(
        &app.get(
            "/api/v1/logs?q=x&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            &app.admin,
        )
        .await,
        400,
        "at most 7 days",
    );
    let long = "a".repeat(50_000);
    assert_problem(
        &app.get(&format!("/api/v1/logs?q={long}"), &app.admin).await,
        400,
        "at most 1000",
    );
    for query in ["q=%00", "user_id=a%00", "session_id=%00x", "path=/%00"] {
        let reply = app.get(&format!("/api/v1/logs?{query}"), &app.admin).await;
        assert_problem(&reply, 400, "NUL");
    }
    let bad_utf8 = app.get("/api/v1/logs/users/%FF", &app.admin).await;
    assert_eq!(bad_utf8.status, 400);
    assert_eq!(bad_utf8.headers["content-type"], "application/problem+json");
    assert_eq!(bad_utf8.body["status"], 400);
}

/// A CSV export opened in a spreadsheet runs no formula that an event carried.
pub async fn csv_exports_defuse_formulas(backend: Backend) {
    let app = TestApp::start(backend).await;
    let events = json!([
        {"event_type": "REQUEST", "message": "=HYPERLINK(\"http://evil\",\"x\")"},
        {"event_type": "REQUEST", "message": "@SUM(A1)", "user_id": "+1", "request_path": "-2+3"},
        {"event_type": "REQUEST", "message": "plain", "response_status_code": 200},
    ]);
    app.post_events(&app.admin, events.to_string()).await;
    let reply = app
        .get("/api/v1/logs/export?format=csv&order=asc", &app.admin)
        .await;
    let csv = reply.body.as_str().unwrap().to_owned();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{csv}"
    );
    assert!(csv.contains(",'@SUM(A1),"), "{csv}");
    assert!(csv.contains(",'+1,") && csv.contains(",'-2+3,"), "{csv}");
    assert!(csv.contains(",200,"), "numbers stay numbers: {csv}");
    for line in csv.lines().skip(1) {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {line}");
        }
    }
}

/// The route's own windows: `minutes` of failed logins and recent failed actions, `hours`
/// of the summary, counted from now at the route (not only at the store).
pub async fn route_windows_count_from_now(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ago = |minutes: i64| (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339();
    let events = json!([
        {"event_type": "AUTH_FAILURE", "ip_address": "10.1.1.1", "success": false, "created_at": ago(20)},
        {"event_type": "AUTH_FAILURE", "ip_address": "10.1.1.1", "success": false, "created_at": ago(5)},
        {"event_type": "ACTION", "event_subtype": "crm_get", "provider": "hubspot", "status": "failure", "created_at": ago(90)},
        {"event_type": "REQUEST", "created_at": ago(150)},
    ]);
    assert_eq!(
        app.post_events(&app.admin, events.to_string()).await.body["accepted"],
        4
    );
    let count = |query: &str| {
        let path = format!("/api/v1/logs/failed-auth?ip=10.1.1.1&{query}");
        let app = &app;
        async move { app.get(&path, &app.admin).await.body["count"].clone() }
    };
    assert_eq!(count("minutes=10").await, 1);
    assert_eq!(count("minutes=30").await, 2);
    assert_eq!(count("").await, 1, "15 minutes by default");
    assert_eq!(count("minutes=10080").await, 2, "a week at most");
    let recent = |minutes: i64| {
        let path = format!("/api/v1/logs/actions/failed/recent?minutes={minutes}");
        let app = &app;
        async move {
            app.get(&path, &app.admin)
                .await
                .body
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(recent(60).await, 0);
    assert_eq!(recent(120).await, 1);
    let summary = |hours: i64| {
        let path = format!("/api/v1/logs/summary?hours={hours}");
        let app = &app;
        async move { app.get(&path, &app.admin).await.body["total_requests"].clone() }
    };
    assert_eq!(summary(2).await, 0);
    assert_eq!(summary(3).await, 1);
}

/// Seed 001's API performance over HTTP: the application's requests grouped by service,
/// method and endpoint (ids collapsed, the matched route when sent), with percentiles;
/// the slowest endpoints and one endpoint's trend are filters of the same route.
pub async fn endpoint_performance_over_http(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut events: Vec<Value> = (1..=20)
        .map(|i| json!({"event_type": "REQUEST", "service": "shop", "http_method": "GET",
                        "request_path": format!("/items/{i}"), "response_status_code": if i == 20 { 503 } else { 200 },
                        "response_time_ms": i * 100}))
        .collect();
    events.push(json!({"event_type": "REQUEST", "service": "shop", "http_method": "POST",
                       "request_path": "/carts/77/checkout", "metadata": {"route": "/carts/{cart}/checkout"},
                       "response_status_code": 200, "response_time_ms": 5}));
    assert_eq!(
        app.post_events(&app.admin, json!(events).to_string())
            .await
            .body["accepted"],
        21
    );
    let window = app.get("/api/v1/metrics/endpoints", &app.admin).await;
    assert_eq!(window.status, 200, "{}", window.body);
    let mut items = window.body[0].clone();
    assert_eq!(
        (
            items["endpoint"].clone(),
            items["request_count"].clone(),
            items["error_count"].clone(),
            items["error_rate"].clone()
        ),
        (json!("/items/{id}"), json!(20), json!(1), json!(5.0))
    );
    assert_eq!(
        (
            items["p50"].clone(),
            items["min"].clone(),
            items["max"].clone()
        ),
        (json!(1050.0), json!(100), json!(2000))
    );
    // percentile_cont: 1,900 and 0.81 of the way to 2,000.
    assert!(
        (items["p99"].as_f64().unwrap() - 1981.0).abs() < 1e-9,
        "{items}"
    );
    assert!(items["throughput"].as_f64().unwrap() > 0.0);
    items
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "service" || k == "method");
    assert_eq!(items, json!({"service": "shop", "method": "GET"}));
    assert_eq!(window.body[1]["endpoint"], "/carts/{cart}/checkout");

    let slow = app
        .get("/api/v1/metrics/endpoints?min_p95_ms=1000", &app.admin)
        .await;
    assert_eq!(slow.body.as_array().unwrap().len(), 1, "{}", slow.body);
    let trend = app
        .get(
            "/api/v1/metrics/endpoints?step=5m&hours=1&endpoint=/carts/{cart}/checkout",
            &app.admin,
        )
        .await;
    let buckets = trend.body.as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{}", trend.body);
    assert!(buckets[0]["bucket"].as_str().unwrap().ends_with(":00Z"));
    assert_eq!(buckets[0]["request_count"], 1);
}

/// Seed 000's anomaly detection over two days of steady traffic and one burst of failed
/// logins: the burst's hour is found, in the failed-login series and its event type's,
/// and nothing else is.
pub async fn a_burst_of_failed_logins_is_an_anomaly(backend: Backend) {
    use chrono::{Duration, DurationRound, Utc};
    let app = TestApp::start(backend).await;
    let current = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let mut events = Vec::new();
    for hours_ago in 1..=48 {
        let at = (current - Duration::hours(hours_ago) + Duration::minutes(10)).to_rfc3339();
        let failures = if hours_ago == 3 { 30 } else { 2 };
        for _ in 0..failures {
            events.push(json!({"event_type": "AUTH_FAILURE", "success": false, "created_at": at, "ip_address": "10.0.0.1"}));
        }
        for _ in 0..5 {
            events.push(json!({"event_type": "REQUEST", "created_at": at}));
        }
        // An address seen in one hour only, forty times.
        if hours_ago == 5 {
            for _ in 0..40 {
                events.push(
                    json!({"event_type": "REQUEST", "created_at": at, "ip_address": "10.0.0.9"}),
                );
            }
        }
    }
    let posted = app.post_events(&app.admin, json!(events).to_string()).await;
    assert_eq!(posted.body["accepted"], 404, "{}", posted.body);
    let reply = app.get("/api/v1/anomalies?days=7", &app.admin).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let hour =
        |ago| (current - Duration::hours(ago)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let (burst, seldom) = (hour(3), hour(5));
    let found: Vec<(Value, Value, Value)> = reply.body["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["series"].clone(), a["hour"].clone(), a["count"].clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (json!("events:AUTH_FAILURE"), json!(burst), json!(30)),
            (json!("failed_logins"), json!(burst), json!(30)),
            (json!("ip:10.0.0.1"), json!(burst), json!(30)),
            (json!("events:REQUEST"), json!(seldom), json!(45)),
            (json!("ip:10.0.0.9"), json!(seldom), json!(40)),
        ],
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["anomalies"][0]["mean"],
        json!(0.73),
        "124 failures over 169 hours"
    );
    assert_problem(
        &app.get("/api/v1/anomalies?days=31", &app.admin).await,
        400,
        "days",
    );
}
