//! The live tail's cost and speed. Ingest through the server is measured alone and with
//! 20 tail subscribers reading every event (no filter: the most work a subscriber makes),
//! in alternating rounds on fresh PostgreSQL databases; then, with the subscribers still
//! there, single events are posted one at a time and the time from sending each to its
//! arrival on a tail is taken (an upper bound on commit-to-delivery).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use logbook_store::StoreLocation;

use super::{Measured, http::Running, postgres::Databases, workload::Workload};

pub struct TailBenchArgs {
    pub database_url: String,
    pub events: usize,
    pub batch: usize,
    pub clients: usize,
    pub subscribers: usize,
    pub rounds: usize,
    pub probes: usize,
}

/// What the subscribers of one run received and were told they missed.
#[derive(Default)]
struct Heard {
    events: AtomicU64,
    missed: AtomicU64,
}

pub async fn run(args: TailBenchArgs) -> anyhow::Result<()> {
    let workload = Workload::generate(args.events, args.batch);
    println!(
        "Live tail benchmark on PostgreSQL ({}): {} events per run, {} clients x {} events per \
         request; {} rounds of ingest alone (a) then with {} subscribers reading every event (b)",
        StoreLocation::Postgres(args.database_url.clone()).describe(),
        args.events,
        args.clients,
        args.batch,
        args.rounds,
        args.subscribers
    );
    let databases = Databases::connect(&args.database_url).await?;
    let mut ratios = Vec::new();
    for round in 1..=args.rounds {
        let alone = ingest(&args, &databases, &workload, 0).await?.0;
        let (tailed, heard) = ingest(&args, &databases, &workload, args.subscribers).await?;
        databases.drop_all().await;
        println!("  round {round}");
        super::line("(a) HTTP ingest, nobody tailing", &alone);
        super::line(
            &format!("(b) HTTP ingest, {} tails", args.subscribers),
            &tailed,
        );
        println!(
            "    tails received {} events and were told of {} missed (of {} sent to them); b/a = {:.2}",
            heard.events.load(Ordering::Relaxed),
            heard.missed.load(Ordering::Relaxed),
            args.events * args.subscribers,
            tailed.rate() / alone.rate()
        );
        ratios.push(tailed.rate() / alone.rate());
    }
    ratios.sort_by(f64::total_cmp);
    println!("  median b/a = {:.2}", ratios[ratios.len() / 2]);
    let result = latency(&args, &databases).await;
    databases.drop_all().await;
    result
}

async fn fresh(databases: &Databases, purpose: &str) -> anyhow::Result<StoreLocation> {
    let url = databases.fresh(purpose).await?;
    databases.checkpoint().await;
    Ok(StoreLocation::Postgres(url))
}

async fn ingest(
    args: &TailBenchArgs,
    databases: &Databases,
    workload: &Workload,
    subscribers: usize,
) -> anyhow::Result<(Measured, Arc<Heard>)> {
    let purpose = format!("tail{subscribers}");
    let server = Running::start(fresh(databases, &purpose).await?, None).await?;
    let heard = Arc::new(Heard::default());
    let tails: Vec<_> = (0..subscribers)
        .map(|_| {
            tokio::spawn(listen(
                server.base.clone(),
                server.key.clone(),
                String::new(),
                heard.clone(),
                None,
            ))
        })
        .collect();
    // Every tail subscribed before the first event is sent.
    wait_for_subscribers(&server, subscribers).await?;
    let measured = server.post_all(workload, args.clients).await?;
    server.stop().await?;
    for tail in tails {
        tail.abort();
    }
    Ok((measured, heard))
}

/// The server has no count to ask for; a subscriber answers its first keep-alive once
/// subscribed, so a short wait after the requests are sent suffices and is checked by
/// the counts printed.
async fn wait_for_subscribers(_server: &Running, subscribers: usize) -> anyhow::Result<()> {
    if subscribers > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// Reads a tail until aborted, counting events and what it is told it missed; with
/// `arrivals`, sends the `user_id` of each event as it arrives.
async fn listen(
    base: String,
    key: String,
    query: String,
    heard: Arc<Heard>,
    arrivals: Option<tokio::sync::mpsc::UnboundedSender<(String, Instant)>>,
) -> anyhow::Result<()> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(format!("{base}/api/v1/logs/tail{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Empty::new())?;
    let response = client.request(request).await?;
    if !response.status().is_success() {
        bail!("the tail answered {}", response.status());
    }
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut missed_next = false;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        buffer.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            if line.starts_with("event: missed") || line.starts_with("event:missed") {
                missed_next = true;
            } else if let Some(data) = line.strip_prefix("data:") {
                let value: serde_json::Value = serde_json::from_str(data.trim())?;
                if std::mem::take(&mut missed_next) {
                    heard
                        .missed
                        .fetch_add(value["missed"].as_u64().unwrap_or(0), Ordering::Relaxed);
                } else {
                    heard.events.fetch_add(1, Ordering::Relaxed);
                    if let (Some(arrivals), Some(user)) = (&arrivals, value["user_id"].as_str()) {
                        let _ = arrivals.send((user.to_owned(), Instant::now()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// With the subscribers reading, one event at a time: from sending it to its arrival.
async fn latency(args: &TailBenchArgs, databases: &Databases) -> anyhow::Result<()> {
    let server = Running::start(fresh(databases, "tail_latency").await?, None).await?;
    let heard = Arc::new(Heard::default());
    let mut tails: Vec<_> = (0..args.subscribers.saturating_sub(1))
        .map(|_| {
            tokio::spawn(listen(
                server.base.clone(),
                server.key.clone(),
                String::new(),
                heard.clone(),
                None,
            ))
        })
        .collect();
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    tails.push(tokio::spawn(listen(
        server.base.clone(),
        server.key.clone(),
        "?event_type=PROBE".into(),
        heard.clone(),
        Some(arrivals),
    )));
    wait_for_subscribers(&server, args.subscribers).await?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut waits = Vec::with_capacity(args.probes);
    for i in 0..args.probes {
        let user = format!("probe-{i}");
        let body = serde_json::json!({"event_type": "PROBE", "user_id": user}).to_string();
        let request = Request::post(format!("{}/api/v1/events", server.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let sent = Instant::now();
        let response = client.request(request).await?;
        if !response.status().is_success() {
            bail!("ingest answered {}", response.status());
        }
        let (got, at) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
            .await
            .context("a probe did not arrive on the tail within 10 s")?
            .context("the probe tail ended")?;
        if got != user {
            bail!("the tail sent {got} where {user} was expected");
        }
        waits.push(at - sent);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for tail in tails {
        tail.abort();
    }
    server.stop().await?;
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nDelivery with {} tails open, {} events sent one at a time: send to arrival \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target: within 1000 ms of commit)",
        args.subscribers,
        waits.len(),
        ms(waits[waits.len() / 2]),
        ms(waits[waits.len() * 99 / 100]),
        ms(*waits.last().unwrap()),
    );
    Ok(())
}
