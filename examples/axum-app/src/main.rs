//! Runs the example against a local Logbook:
//!
//! ```sh
//! KEY=$(cargo run -q -p logbook-cli -- keys create --scopes ingest)
//! LOGBOOK_KEY=$KEY cargo run -p logbook-example-axum     # then: curl localhost:3000/items/7
//! ```

use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    let url = std::env::var("LOGBOOK_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let Ok(key) = std::env::var("LOGBOOK_KEY") else {
        eprintln!("example: set LOGBOOK_KEY to a key with the ingest scope");
        std::process::exit(2);
    };
    let client = logbook_client::Client::builder(&url, &key)
        .spool_dir("./logbook-spool")
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await
        .expect("listen on 127.0.0.1:3000");
    eprintln!("example: listening on http://127.0.0.1:3000, logging to {url}");
    let app = logbook_example_axum::app(client.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .expect("serve");
    client.shutdown().await;
}
