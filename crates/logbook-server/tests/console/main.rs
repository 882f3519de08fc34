//! The console in a real headless Chromium, on real SQLite and PostgreSQL storage: sign
//! in, every page without a console error or failed request, filters, detail, the live
//! tail, an alert acknowledged, and the refusals (a wrong key, a read key on admin pages,
//! a form without its CSRF token). Screenshots of every page land in target/screenshots/.

mod browser;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use browser::{Browser, script};
use fantoccini::Locator;
use serde_json::json;
use support::{Backend, TestApp};

macro_rules! console_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

console_tests!(
    every_page_loads_without_an_error,
    a_filter_narrows_the_events_table_and_an_event_opens,
    a_live_tailed_event_appears_without_a_reload,
    acknowledging_an_alert_changes_its_state,
    a_wrong_key_is_refused,
    a_read_key_cannot_open_admin_pages,
    a_form_without_its_csrf_token_is_refused,
    a_dashboard_draws_every_widget_type,
    an_admin_revokes_a_key_and_sets_retention,
);

/// Waits for the events table to hold `rows` rows (the filtered page replacing the last).
async fn wait_for_rows(browser: &Browser, rows: usize) {
    let mut seen = 0;
    for _ in 0..50 {
        seen = browser.count("#events tbody tr").await;
        if seen == rows {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the events table has {seen} rows, not {rows}");
}

/// Markup an attacker might put in an event, to be shown as text.
const HOSTILE: &str = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=1</script>";

fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Requests from two addresses, failed logins, an error, an audit change: something on
/// every page.
async fn some_events(app: &TestApp) {
    let events = json!([
        {"event_type": "REQUEST", "http_method": "GET", "request_path": "/api/items",
         "response_status_code": 200, "response_time_ms": 42, "ip_address": "203.0.113.9",
         "user_id": "u-1", "request_id": "req-1", "metadata": {"plan": {"tier": "pro", "seats": [1, 2]}}},
        {"event_type": "REQUEST", "http_method": "POST", "request_path": "/api/orders",
         "response_status_code": 500, "response_time_ms": 950, "ip_address": "198.51.100.7",
         "user_id": "u-2", "success": false, "message": "order failed"},
        {"event_type": "AUTH_FAILURE", "ip_address": "198.51.100.7", "success": false,
         "message": "bad password"},
    ]);
    let reply = app.post_events(&app.admin, events.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let error = json!({"message": "amount is negative", "error_type": "ValueError",
                       "stack_trace": "Traceback:\n  File \"shop.py\", line 3, in pay\nValueError: amount is negative"});
    let reply = app
        .post_to("/api/v1/errors", &app.admin, error.to_string())
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let change = json!({"action": "update", "resource_type": "user", "resource_id": "u-1",
                        "actor_id": "admin", "before": {"role": "user"}, "after": {"role": "admin"}});
    let reply = app
        .post_to("/api/v1/audit", &app.admin, change.to_string())
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
}

async fn every_page_loads_without_an_error(backend: Backend) {
    let app = TestApp::start(backend).await;
    some_events(&app).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.expect_title("Overview").await;
    let error_group = app.get("/api/v1/errors", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .expect("the reported error made a group")
        .to_owned();
    let event = app.get("/api/v1/logs?limit=1", &app.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pages = [
        ("overview", "/console".to_owned(), "Overview"),
        ("events", "/console/events".to_owned(), "Events"),
        ("event", format!("/console/events/{event}"), "Event"),
        ("audit", "/console/audit".to_owned(), "Audit trail"),
        (
            "audit-verify",
            "/console/audit/verify".to_owned(),
            "Audit trail: verification",
        ),
        ("errors", "/console/errors".to_owned(), "Errors"),
        (
            "error",
            format!("/console/errors/{error_group}"),
            "ValueError: amount is negative",
        ),
        (
            "performance",
            "/console/performance".to_owned(),
            "Performance",
        ),
        ("alerts", "/console/alerts".to_owned(), "Alerts"),
        (
            "new-rule",
            "/console/alerts/rules/new".to_owned(),
            "New alert rule",
        ),
        (
            "monitors",
            "/console/monitors".to_owned(),
            "Monitors and integrations",
        ),
        ("dashboards", "/console/dashboards".to_owned(), "Dashboards"),
        ("admin", "/console/admin".to_owned(), "Admin"),
        ("storage", "/console/admin/storage".to_owned(), "Storage"),
    ];
    browser.severe_log().await;
    for (name, path, title) in &pages {
        browser.goto(path).await;
        browser.expect_title(title).await;
        let logged = browser.severe_log().await;
        assert!(logged.is_empty(), "{path} logged errors: {logged:?}");
        browser
            .screenshot(&format!("{}-{name}", label(backend)))
            .await;
    }
    // Every chart and table came with something in it.
    browser.goto("/console").await;
    assert!(
        browser.count("svg.chart rect").await > 0,
        "the hourly chart has bars"
    );
    assert!(browser.text("ul.cards").await.contains("failed logins"));
    // Times are shown in the viewer's zone by the script, with UTC kept on hover.
    browser.goto("/console/events").await;
    let time = script(&browser, "return document.querySelector('time').title").await;
    assert!(time.as_str().unwrap().ends_with("UTC"), "{time}");
    // A phone's width: the page still reads, nothing wider than the screen.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.goto("/console").await;
    let overflow = script(
        &browser,
        "return document.documentElement.scrollWidth > window.innerWidth + 1",
    )
    .await;
    assert_eq!(overflow, json!(false), "the overview fits a phone's width");
    browser
        .screenshot(&format!("{}-overview-phone", label(backend)))
        .await;
    browser.close().await;
}

async fn a_filter_narrows_the_events_table_and_an_event_opens(backend: Backend) {
    let app = TestApp::start(backend).await;
    some_events(&app).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/events").await;
    assert_eq!(
        browser.count("#events tbody tr").await,
        4,
        "three events and the reported error"
    );
    let form = browser
        .client
        .form(Locator::Css("form.filters"))
        .await
        .unwrap();
    form.set_by_name("ip", "203.0.113.9").await.unwrap();
    form.submit().await.unwrap();
    wait_for_rows(&browser, 1).await;
    assert!(browser.text("#events tbody").await.contains("/api/items"));
    browser
        .client
        .find(Locator::Css("#events tbody tr a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_title("Event").await;
    let fields = browser.text("dl.fields").await;
    assert!(
        fields.contains("request_id") && fields.contains("req-1"),
        "{fields}"
    );
    assert!(
        browser.text("dl.tree").await.contains("tier"),
        "metadata is shown as a tree"
    );
    // "Same IP address" leads back to the filtered table.
    browser
        .client
        .find(Locator::LinkText("Same IP address"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_title("Events").await;
    wait_for_rows(&browser, 1).await;
    browser.close().await;
}

async fn a_live_tailed_event_appears_without_a_reload(backend: Backend) {
    let app = TestApp::start(backend).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/events").await;
    script(&browser, "window.notReloaded = true; return null").await;
    browser
        .client
        .find(Locator::Id("follow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The stream is open once the browser says so.
    let state = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//span[@id='live-state' and contains(., 'Following')]",
        ))
        .await;
    assert!(state.is_ok(), "the live tail opened");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let event = json!({"event_type": "SECURITY_ALERT", "message": "seen live in the browser",
                       "user_id": HOSTILE});
    let reply = app.post_events(&app.admin, event.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let row = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//table[@id='events']//td[contains(., 'seen live in the browser')]",
        ))
        .await;
    assert!(row.is_ok(), "the event appeared in the table");
    assert_eq!(
        script(&browser, "return window.notReloaded === true").await,
        json!(true)
    );
    // Event text is shown as text, live and on the page as served: never run.
    assert!(browser.text("#events tbody").await.contains(HOSTILE));
    browser.goto("/console/events").await;
    assert!(browser.text("#events tbody").await.contains(HOSTILE));
    assert_eq!(
        script(&browser, "return window.pwned === undefined").await,
        json!(true)
    );
    assert!(browser.severe_log().await.is_empty());
    browser.close().await;
}

async fn acknowledging_an_alert_changes_its_state(backend: Backend) {
    let app = TestApp::start(backend).await;
    let rule = json!({"name": "any failed login", "severity": "warning", "metric_name": "event_count",
                      "comparison_operator": "gte", "threshold": 1, "window_minutes": 5,
                      "filter": {"event_type": "AUTH_FAILURE"}, "evaluation_interval": 1});
    let created = app
        .post_to("/api/v1/alerts/rules", &app.admin, rule.to_string())
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    some_events(&app).await;
    app.app.run_alerts_once(chrono::Utc::now()).await.unwrap();
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/alerts").await;
    assert_eq!(browser.text("#open-alerts .alert-status").await, "active");
    browser
        .client
        .find(Locator::XPath(
            "//table[@id='open-alerts']//button[.='Acknowledge']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_title("Alerts").await;
    let mut status = String::new();
    for _ in 0..50 {
        status = browser.text("#open-alerts .alert-status").await;
        if status == "acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "acknowledged");
    let stored = app.get("/api/v1/alerts", &app.admin).await;
    assert_eq!(
        stored.body["items"][0]["status"], "acknowledged",
        "{}",
        stored.body
    );
    browser.close().await;
}

async fn a_wrong_key_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser
        .sign_in("lbk_0000000000000000000000000000000000000000000000000000000000000000")
        .await;
    browser.expect_title("Sign in to Logbook").await;
    assert_eq!(
        browser.text("p.error").await,
        "That key is unknown, revoked or expired."
    );
    browser.goto("/console/events").await;
    browser.expect_title("Sign in to Logbook").await;
    // A key revoked after sign-in ends the session at the next page.
    let key = app.tenant_key("default", "read").await;
    browser.sign_in(&key).await;
    browser.expect_title("Overview").await;
    let id = app.key_id(&key).await;
    let revoked = app
        .send(
            axum::http::Request::delete(format!("/api/v1/keys/{id}"))
                .header("authorization", format!("Bearer {}", app.admin))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    browser.goto("/console/events").await;
    browser.expect_title("Sign in to Logbook").await;
    browser.close().await;
}

async fn a_read_key_cannot_open_admin_pages(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = app.tenant_key("default", "read").await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&key).await;
    browser.expect_title("Overview").await;
    assert_eq!(
        browser.count("nav a[href='/console/admin']").await,
        0,
        "no Admin link"
    );
    browser.goto("/console/admin").await;
    browser.expect_title("Forbidden").await;
    assert!(browser.text("p.error").await.contains("admin scope"));
    // Nor may it act on alerts or errors: the API refuses it, not a second check here.
    browser.goto("/console/alerts").await;
    assert_eq!(
        browser
            .count("form[action='/console/alerts/rules/new']")
            .await,
        0
    );
    // Signing out leads back to the sign-in page, and no page opens after it.
    browser
        .client
        .find(Locator::Css("form.sign-out button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.expect_title("Sign in to Logbook").await;
    browser.goto("/console/events").await;
    browser.expect_title("Sign in to Logbook").await;
    browser.close().await;
}

async fn a_form_without_its_csrf_token_is_refused(backend: Backend) {
    let app = TestApp::start(backend).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/admin").await;
    let keys_before = browser.count("#keys tbody tr").await;
    script(
        &browser,
        "const form = document.querySelector(\"form[action='/console/admin/keys']\");
         form.querySelector('input[name=csrf]').remove();
         form.querySelector('input[name=name]').value = 'forged';
         form.submit(); return null",
    )
    .await;
    browser.expect_title("Forbidden").await;
    assert!(browser.text("p.error").await.contains("CSRF"));
    let keys = app.get("/api/v1/keys", &app.admin).await;
    assert_eq!(
        keys.body.as_array().unwrap().len(),
        keys_before,
        "no key was made"
    );
    // With its token the same form works, and shows the secret once.
    browser.goto("/console/admin").await;
    let form = browser
        .client
        .form(Locator::Css("form[action='/console/admin/keys']"))
        .await
        .unwrap();
    form.set_by_name("name", "made in the browser")
        .await
        .unwrap();
    form.submit().await.unwrap();
    assert!(browser.text("#new-key").await.starts_with("lbk_"));
    browser
        .screenshot(&format!("{}-admin-new-key", label(backend)))
        .await;
    browser.close().await;
}

async fn a_dashboard_draws_every_widget_type(backend: Backend) {
    let app = TestApp::start(backend).await;
    some_events(&app).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/dashboards").await;
    let form = browser
        .client
        .form(Locator::Css("form[action='/console/dashboards']"))
        .await
        .unwrap();
    form.set_by_name("name", "Operations").await.unwrap();
    form.submit().await.unwrap();
    browser.expect_title("Operations").await;
    // One widget through the page's own form…
    script(
        &browser,
        "document.querySelector('details.add').open = true; return null",
    )
    .await;
    let form = browser
        .client
        .form(Locator::Css("form[action$='/widgets']"))
        .await
        .unwrap();
    form.set_by_name("title", "Failed logins per hour")
        .await
        .unwrap();
    form.set_by_name("metric_name", "failure_count")
        .await
        .unwrap();
    form.set_by_name("filter", "event_type=AUTH_FAILURE")
        .await
        .unwrap();
    form.submit().await.unwrap();
    browser.expect_title("Operations").await;
    let mut seen = 0;
    for _ in 0..50 {
        seen = browser.count("section.widget").await;
        if seen == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 1, "the widget was added");
    // …and one of every other type through the API.
    let id = browser
        .client
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let current = app
        .get(&format!("/api/v1/dashboards/{id}"), &app.admin)
        .await
        .body;
    let mut widgets = current["widgets"].as_array().unwrap().clone();
    for (title, kind, source, metric) in [
        ("Requests", "counter", "summary", Some("total_requests")),
        ("Uptime", "gauge", "monitors", Some("avg_uptime_24h")),
        ("Busiest addresses", "table", "top_ips", Some("count")),
        ("Countries", "pie-chart", "countries", Some("count")),
        ("Slowest endpoints", "bar-chart", "endpoints", Some("p95")),
        (
            "Events by hour of the week",
            "heatmap",
            "events_hourly",
            Some("total_count"),
        ),
        ("Open alerts", "alert-list", "alerts", None),
    ] {
        widgets.push(json!({"title": title, "widget_type": kind, "data_source": source, "metric_name": metric}));
    }
    widgets.push(
        json!({"title": "Failed orders", "widget_type": "custom-query", "data_source": "events",
                        "query": "path=/api/orders&success=false"}),
    );
    let saved = app
        .patch_to(
            &format!("/api/v1/dashboards/{id}"),
            &app.admin,
            json!({"widgets": widgets}).to_string(),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    browser
        .goto(&format!("/console/dashboards/{id}?range=7d"))
        .await;
    browser.expect_title("Operations").await;
    assert_eq!(browser.count("section.widget").await, 9);
    assert_eq!(
        browser.count("section.widget p.error").await,
        0,
        "every widget drew its data"
    );
    assert_eq!(
        browser.text("section.widget p.counter").await,
        "2",
        "two requests"
    );
    assert!(
        browser
            .text("section[aria-label='Failed orders']")
            .await
            .contains("order failed")
    );
    assert!(
        browser
            .count("section[aria-label='Countries'] circle.slice")
            .await
            > 0
    );
    assert!(
        browser
            .count("section[aria-label='Events by hour of the week'] rect")
            .await
            == 7 * 24
    );
    assert!(browser.severe_log().await.is_empty());
    browser
        .screenshot(&format!("{}-dashboard", label(backend)))
        .await;
    browser.close().await;
}

async fn an_admin_revokes_a_key_and_sets_retention(backend: Backend) {
    let app = TestApp::start(backend).await;
    let doomed = app.tenant_key("default", "ingest").await;
    let doomed_id = app.key_id(&doomed).await;
    let Some(browser) = Browser::open(&app).await else {
        return;
    };
    browser.sign_in(&app.admin).await;
    browser.goto("/console/admin").await;
    browser
        .client
        .find(Locator::Css(&format!(
            "form[action='/console/admin/keys/{doomed_id}/revoke'] button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page asks first; yes.
    browser.client.accept_alert().await.unwrap();
    browser.expect_title("Admin").await;
    let mut revoked = false;
    for _ in 0..50 {
        let keys = app.get("/api/v1/keys", &app.admin).await.body;
        revoked = keys
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == doomed_id.as_str() && !k["revoked_at"].is_null());
        if revoked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked, "the key was revoked");
    assert_eq!(app.post_events(&doomed, "{}").await.status, 401);

    let form = browser.client.form(Locator::Id("retention")).await.unwrap();
    form.set_by_name("events", "45").await.unwrap();
    form.set_by_name("by_type", "AUTH_FAILURE=365")
        .await
        .unwrap();
    form.submit().await.unwrap();
    browser.expect_title("Admin").await;
    let mut kept = json!(null);
    for _ in 0..50 {
        kept = app.get("/api/v1/retention", &app.admin).await.body;
        if kept["events"]["days"] == 45 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kept["events"]["days"], 45, "{kept}");
    assert_eq!(kept["events"]["by_type"]["AUTH_FAILURE"], 365, "{kept}");
    let logged = browser.severe_log().await;
    assert!(logged.is_empty(), "{logged:?}");
    // A line that is not TYPE=DAYS is refused (422, which the browser logs) with the
    // reason, and nothing changes.
    let form = browser.client.form(Locator::Id("retention")).await.unwrap();
    form.set_by_name("by_type", "AUTH_FAILURE for a year")
        .await
        .unwrap();
    form.submit().await.unwrap();
    assert!(browser.text("p.error").await.contains("is not TYPE=DAYS"));
    let after = app.get("/api/v1/retention", &app.admin).await.body;
    assert_eq!(after["events"]["by_type"]["AUTH_FAILURE"], 365);
    browser.close().await;
}
