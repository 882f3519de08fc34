//! `logbook bench layer`: what the tower layer adds to a request. The same trivial
//! service is called bare and wrapped, request by request, and the per-request times
//! compared at the median and the 99th percentile — once with a live Logbook receiving
//! the events, once with none there.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{body::Body, extract::ConnectInfo};
use http::{Request, Response};
use logbook_client::{Client, layer::LogbookLayer};
use logbook_server::{App, Config};
use logbook_store::StoreLocation;
use tokio_util::sync::CancellationToken;
use tower::{Layer, Service, ServiceExt, service_fn};

async fn measure<S>(mut service: S, requests: usize) -> Vec<Duration>
where
    S: Service<Request<Body>, Response = Response<()>>,
    S::Error: std::fmt::Debug,
{
    let peer: SocketAddr = "198.51.100.7:40000".parse().expect("an address");
    let mut samples = Vec::with_capacity(requests);
    for i in 0..requests {
        let mut request = Request::get(format!("/items/{}", i % 1000))
            .header("user-agent", "Mozilla/5.0 (bench)")
            .header("x-request-id", "r-1")
            .body(Body::empty())
            .expect("a request");
        request.extensions_mut().insert(ConnectInfo(peer));
        let service = service.ready().await.expect("ready");
        let started = Instant::now();
        service.call(request).await.expect("a response");
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub async fn run(requests: usize) -> anyhow::Result<()> {
    let inner = || {
        service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Response::new(()))
        })
    };

    let dir = std::env::temp_dir().join(format!("logbook-layer-bench-{}", std::process::id()));
    let app = App::build(Config::new(StoreLocation::Sqlite(dir.join("bench.db")))).await?;
    let key = app.bootstrap().await?.unwrap_or_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, stop.clone()));
    let reachable = Client::builder(&url, &key).build();
    // Port 1 on loopback: connections are refused at once, as when Logbook is down.
    let unreachable = Client::builder("http://127.0.0.1:1", &key).build();

    // Warm up allocators and caches on every path first.
    measure(inner(), requests / 10).await;
    measure(
        LogbookLayer::new(reachable.clone()).layer(inner()),
        requests / 10,
    )
    .await;
    let bare = measure(inner(), requests).await;
    let live = measure(
        LogbookLayer::new(reachable.clone()).layer(inner()),
        requests,
    )
    .await;
    let down = measure(
        LogbookLayer::new(unreachable.clone()).layer(inner()),
        requests,
    )
    .await;

    println!("tower layer, {requests} requests each, per-request time (µs):");
    println!("    {:<34} {:>8} {:>8}", "", "p50", "p99");
    for (label, samples) in [
        ("bare service", &bare),
        ("with the layer, Logbook reachable", &live),
        ("with the layer, Logbook unreachable", &down),
    ] {
        println!(
            "    {label:<34} {:>8.2} {:>8.2}",
            micros(percentile(samples, 0.5)),
            micros(percentile(samples, 0.99))
        );
    }
    for (label, samples) in [("added, reachable", &live), ("added, unreachable", &down)] {
        println!(
            "    {label:<34} {:>8.2} {:>8.2}",
            micros(percentile(samples, 0.5)) - micros(percentile(&bare, 0.5)),
            micros(percentile(samples, 0.99)) - micros(percentile(&bare, 0.99)),
        );
    }
    reachable.flush().await;
    let (sent, retried, spooled, dropped) = reachable.counters().snapshot();
    println!(
        "    reachable client: {sent} sent, {retried} retried, {spooled} spooled, {dropped} dropped"
    );
    let (sent, retried, spooled, dropped) = unreachable.counters().snapshot();
    println!(
        "    unreachable client: {sent} sent, {retried} retried, {spooled} spooled, {dropped} dropped (no spool configured)"
    );
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
