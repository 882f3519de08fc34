//! The actix-web example, driven by many requests, logging into a real Logbook server.

use std::{
    collections::HashSet,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use logbook_client::Client;
use logbook_server::{App, Config};
use logbook_store::{StoreLocation, testing};
use tokio_util::sync::CancellationToken;

/// GET `{prefix}{n}` for every n in `range` over one keep-alive connection, expecting
/// `status`; blocking sockets, so the client shares nothing with either server's runtime.
fn drive(app: SocketAddr, prefix: &str, range: std::ops::Range<u64>, status: u16) {
    let stream = TcpStream::connect(app).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for n in range {
        // One write per request: write! on a bare socket would send each piece alone
        // and wait out Nagle's delay.
        let request = format!(
            "GET {prefix}{n} HTTP/1.1\r\nhost: example\r\nuser-agent: load-test/1.0\r\n\
             x-request-id: req-{n}\r\nx-device-id: device-9\r\n\r\n"
        );
        writer.write_all(request.as_bytes()).unwrap();
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        assert!(
            status_line.starts_with(&format!("HTTP/1.1 {status}")),
            "{status_line}"
        );
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_becomes_one_event() {
    let db = testing::temp_sqlite_path();
    let logbook = App::build(Config::new(StoreLocation::Sqlite(db.clone())))
        .await
        .unwrap();
    let key = logbook.bootstrap().await.unwrap().unwrap();
    let store = logbook.store().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let logbook_address = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let logbook_task = tokio::spawn(logbook.serve(listener, stop.clone()));

    let client = Client::builder(&format!("http://{logbook_address}"), &key)
        .max_age(Duration::from_millis(20))
        .build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = listener.local_addr().unwrap();
    let server = logbook_example_actix::server(listener, client.clone()).unwrap();
    let handle = server.handle();
    let app_task = tokio::spawn(server);

    let drivers: Vec<_> = (0..4u64)
        .map(|i| {
            tokio::task::spawn_blocking(move || drive(app, "/items/", i * 500..(i + 1) * 500, 200))
        })
        .collect();
    for driver in drivers {
        driver.await.unwrap();
    }
    tokio::task::spawn_blocking(move || drive(app, "/nowhere/", 2_000..2_001, 404))
        .await
        .unwrap();
    handle.stop(true).await;
    app_task.await.unwrap().unwrap();
    client.flush().await;
    assert_eq!(client.counters().snapshot(), (2_001, 0, 0, 0));

    let events = testing::operator_events(store.as_ref(), "REQUEST").await;
    let ids: HashSet<_> = events.iter().filter_map(|e| e.request_id.clone()).collect();
    assert_eq!(
        (events.len(), ids.len()),
        (2_001, 2_001),
        "every request once"
    );
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
    assert_eq!(seven.service.as_deref(), Some("example-actix"));
    assert_eq!(
        seven.metadata,
        Some(serde_json::json!({"route": "/items/{id}"}))
    );
    let unrouted = events
        .iter()
        .find(|e| e.request_id.as_deref() == Some("req-2000"))
        .unwrap();
    assert_eq!(unrouted.request_path.as_deref(), Some("/nowhere/2000"));
    assert_eq!(unrouted.response_status_code, Some(404));
    assert!(!unrouted.success);
    assert_eq!(unrouted.metadata, None, "no route matched");
    stop.cancel();
    logbook_task.await.unwrap().unwrap();
}
