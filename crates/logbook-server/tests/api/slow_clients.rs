use std::time::Duration;

use logbook_server::{App, Config, Timeouts};
use logbook_store::{StoreLocation, testing};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

use crate::support::Backend;

/// Reads until the server closes the connection; what it sent, if anything.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    assert!(closed.is_ok(), "the server should close a slow connection");
    String::from_utf8_lossy(&received).into_owned()
}

/// Headers sent too slowly close the connection; a body sent too slowly gets 408; and
/// shutdown waits for none of them.
pub async fn slow_clients_are_cut_off(backend: Backend) {
    let location = match backend {
        Backend::Sqlite => StoreLocation::Sqlite(testing::temp_sqlite_path()),
        Backend::Postgres => StoreLocation::Postgres(testing::fresh_postgres_url().await),
    };
    let mut config = Config::new(location);
    config.timeouts = Timeouts {
        header: Duration::from_millis(300),
        request: Duration::from_millis(300),
    };
    let app = App::build(config).await.unwrap();
    let key = app.bootstrap().await.unwrap().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));

    let mut headers_only = TcpStream::connect(address).await.unwrap();
    headers_only
        .write_all(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut headers_only).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );

    let mut slow_body = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: 1000\r\n\r\n[{{\"event"
    );
    slow_body.write_all(request.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut slow_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer:?}");

    // A well-behaved request still works.
    let mut fine = TcpStream::connect(address).await.unwrap();
    fine.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut fine).await.starts_with("HTTP/1.1 200"));

    // A client still trickling its headers when shutdown comes is not waited for: it is
    // cut off at the header timeout, and serve returns, though the client never hangs up.
    let mut lingering = TcpStream::connect(address).await.unwrap();
    lingering
        .write_all(b"POST /api/v1/events HTTP/1.1\r\nHo")
        .await
        .unwrap();
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "serve returns after shutdown with a slow client still connected"
    );
    drop(lingering);
}
