//! Bodies sent slowly or oddly cost the server what they carry, no more: 20 connections
//! each trickling a body one byte per packet leave the process's memory where it was,
//! a body slower than the minimum rate is cut off with 408, and bodies past the budget of
//! bytes held at once are refused with 503. Its own test binary, so the memory it
//! measures is this server's alone.
//!
//! `LOGBOOK_TRICKLE_SECS` sets how long the connections trickle (default 8).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use logbook_server::{App, Config, request_body::BodyLimits};
use logbook_store::{StoreLocation, testing};
use tokio_util::sync::CancellationToken;

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

async fn serve(limits: BodyLimits) -> (SocketAddr, String, CancellationToken) {
    let mut config = Config::new(StoreLocation::Sqlite(testing::temp_sqlite_path()));
    config.bodies = limits;
    let app = App::build(config).await.unwrap();
    let admin = app.bootstrap().await.unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(app.serve(listener, stop.clone()));
    (address, admin, stop)
}

fn open(address: SocketAddr, key: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    write!(
        stream,
        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    stream
}

fn status_of(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = vec![0u8; 512];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_bodies_cost_what_they_carry() {
    let seconds: u64 = std::env::var("LOGBOOK_TRICKLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let (address, admin, stop) = serve(BodyLimits::default()).await;
    let before = rss();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let watcher = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                peak.fetch_max(rss(), std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Two bytes a millisecond, each its own packet: above the minimum rate, so only
    // memory can stop them.
    let senders: Vec<_> = (0..20)
        .map(|_| {
            let admin = admin.clone();
            std::thread::spawn(move || {
                let mut stream = open(address, &admin, 1_000_000);
                let end = Instant::now() + Duration::from_secs(seconds);
                let mut sent = 0usize;
                while Instant::now() < end {
                    for _ in 0..2 {
                        if stream.write_all(b" ").is_err() {
                            return sent;
                        }
                        sent += 1;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                sent
            })
        })
        .collect();
    let sent: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
    watcher.join().unwrap();
    let grown = peak
        .load(std::sync::atomic::Ordering::SeqCst)
        .saturating_sub(before);
    println!(
        "20 connections trickled {sent} bytes one at a time over {seconds} s: RSS grew {:.1} MB",
        grown as f64 / 1e6
    );
    assert!(sent > 20 * 1000, "the bytes were sent: {sent}");
    assert!(
        grown < 100_000_000,
        "RSS grew {grown} bytes for {sent} bytes sent"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_below_the_minimum_rate_is_cut_off_with_408() {
    let limits = BodyLimits {
        min_bytes_per_second: 1024,
        rate_window: Duration::from_secs(2),
        ..Default::default()
    };
    let (address, admin, stop) = serve(limits).await;
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = open(address, &admin, 100_000);
        // 100 bytes a second: a tenth of the minimum.
        for _ in 0..40 {
            if stream.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        status_of(&mut stream)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut off at the end of its window"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_budget_held_at_once_are_refused_with_503() {
    let limits = BodyLimits {
        in_flight_bytes: 150_000,
        ..Default::default()
    };
    let (address, admin, stop) = serve(limits).await;
    let key = admin.clone();
    let answer = tokio::task::spawn_blocking(move || {
        // The first body holds 100,000 bytes of the budget while it arrives...
        let mut first = open(address, &key, 100_000);
        first.write_all(b"[").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // ...so the second cannot be held beside it.
        let mut second = open(address, &key, 100_000);
        let refused = status_of(&mut second);
        drop(first);
        refused
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // Once the first is gone, its share comes back.
    let ok = tokio::task::spawn_blocking(move || {
        let body = r#"{"event_type":"REQUEST"}"#;
        let mut stream = open(address, &admin, body.len());
        stream.write_all(body.as_bytes()).unwrap();
        status_of(&mut stream)
    })
    .await
    .unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    stop.cancel();
}
