//! The console's pages at scale: each page, signed in and rendered through the router,
//! beside the API requests it makes answered on their own (as a client of the API would
//! ask them, concurrently, with the key) — the same data, in the same run.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use logbook_server::{App, Config, auth::rate_limit::RateLimits};
use logbook_store::StoreLocation;
use tower::ServiceExt;

use super::scale::p50;

/// Each page, and the API requests it makes to draw itself.
/// Made before the pages are timed: six widgets over the last day.
const DASHBOARD: &str = "/console/dashboards/{dashboard}";

const PAGES: [(&str, &str, &[&str]); 12] = [
    (
        "overview",
        "/console",
        &[
            "/logs/summary?hours=24",
            "/logs/hourly?hours=24",
            "/logs/top-ips?hours=1&limit=8",
            "/logs/top-ips?hours=1&limit=8&success=false",
            "/logs/by-country",
            "/metrics/endpoints?hours=24",
            "/alerts?status=active",
            "/logs/daily?days=14",
        ],
    ),
    ("events", "/console/events", &["/logs"]),
    (
        "events of one IP",
        "/console/events?ip=10.0.0.42",
        &["/logs?ip=10.0.0.42"],
    ),
    (
        "audit trail",
        "/console/audit",
        &[
            "/audit/search?limit=50&skip=0",
            "/audit/checkpoints",
            "/audit/public-key",
        ],
    ),
    (
        "errors",
        "/console/errors",
        &["/errors", "/errors/trend?days=14"],
    ),
    (
        "performance",
        "/console/performance",
        &[
            "/metrics/endpoints?hours=24&limit=1000",
            "/metrics/endpoints?hours=24&step=1h&limit=1000",
        ],
    ),
    (
        "alerts",
        "/console/alerts",
        &[
            "/alerts?status=active&limit=1000",
            "/alerts?status=pending&limit=1000",
            "/alerts?status=acknowledged&limit=1000",
            "/alerts?status=suppressed&limit=1000",
            "/alerts?status=resolved&limit=100",
            "/alerts/rules",
            "/alerts/stats",
        ],
    ),
    (
        "monitors",
        "/console/monitors",
        &["/monitors", "/monitors/summary", "/integrations?hours=24"],
    ),
    ("dashboards", "/console/dashboards", &["/dashboards"]),
    (
        "admin",
        "/console/admin",
        &["/keys", "/tenants", "/retention", "/access?limit=50"],
    ),
    (
        "dashboard, 6 widgets",
        DASHBOARD,
        &[
            "/logs/hourly?hours=24",
            "/logs/summary?hours=24",
            "/logs/by-country?hours=24",
            "/metrics/endpoints?hours=24&step=1h",
            "/logs/hourly?hours=24",
            "/alerts?status=active",
        ],
    ),
    ("storage report", "/console/admin/storage", &["/storage"]),
];

/// Prints each page's p50 beside its API requests' p50, on the store at `location` with
/// `key` (an admin key of the tenant holding the events).
pub async fn table(location: StoreLocation, key: &str, runs: usize) -> anyhow::Result<()> {
    let mut config = Config::new(location);
    // The pages are timed back to back; a person's browser never asks this fast.
    config.rate_limits = RateLimits {
        ingest: None,
        read: None,
        admin: None,
    };
    let app = App::build(config).await?;
    let router = app.router();
    let cookie = sign_in(&router, key).await?;
    let dashboard = make_dashboard(&router, key).await?;
    println!(
        "  {:<20} {:>10} {:>14} {:>10}",
        "console page", "page p50", "its API p50", "page/API"
    );
    for (name, page, calls) in PAGES {
        let page = page.replace("{dashboard}", &dashboard);
        // The storage report reads the whole store: seconds a run at scale; three will do.
        let runs = if name == "storage report" {
            runs.min(3)
        } else {
            runs
        };
        let page_time = p50(runs, || fetch(&router, &page, Auth::Cookie(&cookie))).await?;
        let api_time = p50(runs, || async {
            let paths: Vec<String> = calls.iter().map(|path| format!("/api/v1{path}")).collect();
            let asked = paths
                .iter()
                .map(|path| fetch(&router, path, Auth::Key(key)));
            for answer in futures_util::future::join_all(asked).await {
                answer?;
            }
            Ok(())
        })
        .await?;
        println!(
            "  {name:<20} {:>7.1} ms {:>11.1} ms {:>9.2}",
            page_time.as_secs_f64() * 1e3,
            api_time.as_secs_f64() * 1e3,
            page_time.as_secs_f64() / api_time.as_secs_f64()
        );
    }
    // The router holds the server's state; the writers end only once it is gone.
    drop(router);
    app.shutdown().await;
    Ok(())
}

/// A dashboard of six widgets over the last day; its id.
async fn make_dashboard(router: &Router, key: &str) -> anyhow::Result<String> {
    let widgets = serde_json::json!([
        {"title": "Failures", "widget_type": "time-series", "data_source": "events_hourly", "metric_name": "failure_count"},
        {"title": "Requests", "widget_type": "counter", "data_source": "summary", "metric_name": "total_requests"},
        {"title": "Countries", "widget_type": "pie-chart", "data_source": "countries", "metric_name": "count"},
        {"title": "p95", "widget_type": "time-series", "data_source": "endpoints", "metric_name": "p95"},
        {"title": "Week", "widget_type": "heatmap", "data_source": "events_hourly", "metric_name": "total_count"},
        {"title": "Alerts", "widget_type": "alert-list", "data_source": "alerts"},
    ]);
    let body =
        serde_json::json!({"name": "bench", "default_time_range": "24h", "widgets": widgets});
    let response = router
        .clone()
        .oneshot(
            Request::post("/api/v1/dashboards")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))?,
        )
        .await?;
    let made: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    made["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the dashboard was not made: {made}"))
}

enum Auth<'a> {
    Cookie(&'a str),
    Key(&'a str),
}

async fn fetch(router: &Router, path: &str, auth: Auth<'_>) -> anyhow::Result<()> {
    let request = Request::get(path);
    let request = match auth {
        Auth::Cookie(cookie) => request.header(header::COOKIE, cookie),
        Auth::Key(key) => request.header(header::AUTHORIZATION, format!("Bearer {key}")),
    };
    let response = router.clone().oneshot(request.body(Body::empty())?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status == StatusCode::OK,
        "{path} answered {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    Ok(())
}

/// Signs in through the sign-in form, as a browser does; the session's cookie.
async fn sign_in(router: &Router, key: &str) -> anyhow::Result<String> {
    let form = router
        .clone()
        .oneshot(Request::get("/console/sign-in").body(Body::empty())?)
        .await?;
    let form_cookie = first_cookie(form.headers())?;
    let page = String::from_utf8(form.into_body().collect().await?.to_bytes().to_vec())?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("the sign-in form has no CSRF token"))?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", key)
        .append_pair("csrf", csrf)
        .finish();
    let signed_in = router
        .clone()
        .oneshot(
            Request::post("/console/sign-in")
                .header(header::COOKIE, form_cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))?,
        )
        .await?;
    anyhow::ensure!(
        signed_in.status() == StatusCode::SEE_OTHER,
        "sign-in refused"
    );
    first_cookie(signed_in.headers())
}

fn first_cookie(headers: &axum::http::HeaderMap) -> anyhow::Result<String> {
    let set = headers
        .get(header::SET_COOKIE)
        .ok_or_else(|| anyhow::anyhow!("no cookie set"))?
        .to_str()?;
    Ok(set.split(';').next().unwrap_or_default().to_owned())
}
