//! Runs the example against a local Logbook:
//!
//! ```sh
//! KEY=$(cargo run -q -p logbook-cli -- keys create --scopes ingest)
//! LOGBOOK_KEY=$KEY cargo run -p logbook-example-actix     # then: curl localhost:3001/items/7
//! ```

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
    let listener = std::net::TcpListener::bind("127.0.0.1:3001").expect("listen on 127.0.0.1:3001");
    eprintln!("example: listening on http://127.0.0.1:3001, logging to {url}");
    let server = logbook_example_actix::server(listener, client.clone()).expect("serve");
    let handle = server.handle();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        handle.stop(true).await;
    });
    server.await.expect("serve");
    client.shutdown().await;
}
