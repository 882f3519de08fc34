//! The example app, driven by many requests, logging into a real Logbook server.

use std::{collections::HashSet, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client as Http, rt::TokioExecutor};
use logbook_client::Client;
use logbook_model::{EventFilter, EventQuery, EventType};
use logbook_server::{App, Config};
use logbook_store::{Store, StoreLocation, testing};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

struct Server {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    store: Arc<dyn Store>,
}

/// A Logbook server on `address` (port 0 for any) over the SQLite file `db`.
async fn logbook(db: &Path, address: SocketAddr) -> (Server, SocketAddr, Option<String>) {
    let app = App::build(Config::new(StoreLocation::Sqlite(db.to_owned())))
        .await
        .unwrap();
    let key = app.bootstrap().await.unwrap();
    let store = app.store().clone();
    let mut listener = TcpListener::bind(address).await;
    for _ in 0..50 {
        if listener.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listener = TcpListener::bind(address).await;
    }
    let listener = listener.unwrap();
    let bound = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.serve(listener, stop.clone()));
    (Server { stop, task, store }, bound, key)
}

impl Server {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// The example app on any port, its events going to `logbook`.
async fn example(client: Client) -> (SocketAddr, Example) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = logbook_example_axum::app(client).into_make_service_with_connect_info::<SocketAddr>();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped.cancelled_owned())
            .await
            .unwrap()
    });
    (address, Example { stop, task })
}

struct Example {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Example {
    /// Returns once every connection is closed: nothing holds the app's client any more.
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

/// GET /items/{n} for every n in `range`, eight at a time, each with its own request id.
async fn drive(app: SocketAddr, range: std::ops::Range<u64>) {
    let http: Http<_, Empty<Bytes>> = Http::builder(TokioExecutor::new()).build_http();
    let next = Arc::new(std::sync::Mutex::new(range));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (http, next) = (http.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let Some(n) = next.lock().unwrap().next() else {
                        return;
                    };
                    let request = hyper::Request::get(format!("http://{app}/items/{n}"))
                        .header("user-agent", "load-test/1.0")
                        .header("x-request-id", format!("req-{n}"))
                        .header("x-device-id", "device-9")
                        .body(Empty::new())
                        .unwrap();
                    let response = http.request(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

fn client(logbook: SocketAddr, key: &str, spool: &Path) -> Client {
    Client::builder(&format!("http://{logbook}"), key)
        .max_age(Duration::from_millis(20))
        .spool_dir(spool)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_become_ten_thousand_events() {
    let db = testing::temp_sqlite_path();
    let (server, address, key) = logbook(&db, "127.0.0.1:0".parse().unwrap()).await;
    let client = client(address, &key.unwrap(), &db.with_file_name("spool"));
    let (app, _task) = example(client.clone()).await;
    drive(app, 0..10_000).await;
    client.flush().await;
    // Batches that waited behind a slower one may have gone by the spool (the crash
    // window); none was retried or lost.
    let (sent, retried, _, dropped) = client.counters().snapshot();
    assert_eq!((sent, retried, dropped), (10_000, 0, 0));

    let events = testing::operator_events(server.store.as_ref(), "REQUEST").await;
    assert_eq!(events.len(), 10_000);
    let ids: HashSet<_> = events.iter().filter_map(|e| e.request_id.clone()).collect();
    assert_eq!(ids.len(), 10_000, "every request once");
    let seven = events
        .iter()
        .find(|e| e.request_id.as_deref() == Some("req-7"))
        .unwrap();
    assert_eq!(seven.http_method.as_deref(), Some("GET"));
    assert_eq!(seven.request_path.as_deref(), Some("/items/7"));
    assert_eq!(seven.response_status_code, Some(200));
    assert!(seven.response_time_ms.is_some());
    assert_eq!(seven.ip_address, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(seven.user_agent.as_deref(), Some("load-test/1.0"));
    assert_eq!(seven.device_id.as_deref(), Some("device-9"));
    assert_eq!(seven.user_id.as_deref(), Some("user-7"));
    assert_eq!(seven.service.as_deref(), Some("example-axum"));
    assert_eq!(
        seven.metadata,
        Some(serde_json::json!({"route": "/items/{id}"}))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_across_an_outage_and_a_restart() {
    let db = testing::temp_sqlite_path();
    let spool = db.with_file_name("spool");
    let (server, address, key) = logbook(&db, "127.0.0.1:0".parse().unwrap()).await;
    let key = key.unwrap();

    let first = client(address, &key, &spool);
    let (app, app_task) = example(first.clone()).await;
    drive(app, 0..3_000).await;
    first.flush().await;
    // Some of these may have waited in the spool behind a slower batch (the crash window).
    let (_, _, spooled_while_up, _) = first.counters().snapshot();

    // Logbook goes away; the application keeps serving, and its events go to the spool.
    server.stop().await;
    drive(app, 3_000..7_000).await;
    first.flush().await;
    let (sent, _, spooled, dropped) = first.counters().snapshot();
    assert_eq!(
        (sent, spooled - spooled_while_up, dropped),
        (3_000, 4_000, 0)
    );

    // The application restarts (its spool stays on disk), and Logbook comes back. Its
    // last handle on the client goes with it, which closes the client and its spool.
    app_task.stop().await;
    first.shutdown().await;
    let (server, _, _) = logbook(&db, address).await;
    let second = client(address, &key, &spool);
    let (app, _task) = example(second.clone()).await;
    drive(app, 7_000..10_000).await;
    second.flush().await;

    let events = testing::operator_events(server.store.as_ref(), "REQUEST").await;
    let ids: HashSet<_> = events.iter().filter_map(|e| e.request_id.clone()).collect();
    assert_eq!(
        (events.len(), ids.len()),
        (10_000, 10_000),
        "every event arrives, none twice"
    );
    let batches = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".ndjson.gz"))
        .count();
    assert_eq!(batches, 0, "the spool is empty again");
    server.stop().await;
}

/// tracing events at or above the layer's level arrive as LOG events with severity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_events_become_log_events() {
    use tracing_subscriber::prelude::*;

    let db = testing::temp_sqlite_path();
    let (server, address, key) = logbook(&db, "127.0.0.1:0".parse().unwrap()).await;
    let client = client(address, &key.unwrap(), &db.with_file_name("spool"));
    let subscriber = tracing_subscriber::registry().with(
        logbook_client::tracing_layer::LogbookTracingLayer::new(
            client.clone(),
            tracing::Level::WARN,
        ),
    );
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(user = "u1", free_mb = 120, "disk almost full");
        tracing::error!("payment failed");
        tracing::info!("not sent: below the level");
    });
    client.flush().await;
    let tenant = server
        .store
        .tenant_by_name("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let filter = EventFilter {
        event_type: Some(EventType::parse("LOG").unwrap()),
        ..Default::default()
    };
    let logs = server
        .store
        .list_events(
            tenant,
            &EventQuery {
                filter,
                order: logbook_model::Order::Asc,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(logs.len(), 2);
    assert_eq!(
        (logs[0].severity.as_str(), logs[0].message.as_deref()),
        ("warning", Some("disk almost full"))
    );
    let metadata = logs[0].metadata.clone().unwrap();
    assert_eq!(
        (metadata["user"].clone(), metadata["free_mb"].clone()),
        (serde_json::json!("u1"), serde_json::json!(120))
    );
    assert_eq!(logs[1].severity.as_str(), "error");
    server.stop().await;
}

/// A login with the wrong password: the layer's REQUEST event carries the body with the
/// password redacted before it left the application, and the handler's AUTH_FAILURE
/// event (seed 000 recordAuthFailure) carries the same context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_is_recorded_without_its_password() {
    let db = testing::temp_sqlite_path();
    let (server, address, key) = logbook(&db, "127.0.0.1:0".parse().unwrap()).await;
    let client = client(address, &key.unwrap(), &db.with_file_name("spool"));
    let (app, _task) = example(client.clone()).await;
    let http: Http<_, http_body_util::Full<Bytes>> =
        Http::builder(TokioExecutor::new()).build_http();
    let body = r#"{"email":"a@example.com","password":"hunter2"}"#;
    let request = hyper::Request::post(format!("http://{app}/login"))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(http_body_util::Full::new(Bytes::from(body)))
        .unwrap();
    assert_eq!(http.request(request).await.unwrap().status(), 401);
    client.flush().await;
    let tenant = server
        .store
        .tenant_by_name("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let events = server
        .store
        .list_events(tenant, &EventQuery::default())
        .await
        .unwrap()
        .items;
    let failure = events
        .iter()
        .find(|e| e.event_type.as_str() == "AUTH_FAILURE")
        .expect("an AUTH_FAILURE event");
    assert_eq!(
        (failure.success, failure.error_code.as_deref()),
        (false, Some("AUTH_BAD_PASSWORD"))
    );
    let request = events
        .iter()
        .find(|e| e.event_type.as_str() == "REQUEST")
        .unwrap();
    assert_eq!(request.response_status_code, Some(401));
    let expected = serde_json::json!({"email": "a@example.com", "password": "[REDACTED]"});
    assert_eq!(request.request_body_summary, Some(expected.clone()));
    assert_eq!(failure.request_body_summary, Some(expected));
    server.stop().await;
}
